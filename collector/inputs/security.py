"""Security results from agents: baseline checks, file integrity changes, authentication activity.

The agent runs its graded-protection (等级保护 2.0) baseline policy and reports each
check's status; this module keeps the latest result per host and check, scores each
host per control point (passed / (passed + failed); not-applicable and errors are not
counted), and turns changes into evidence:

- a check that turns from pass to fail is a `security` finding: an event, and an
  incident when its policy says so; it is resolved when the check passes again.
  "Turns" compares with the last pass or fail: a run that could not decide (error,
  e.g. a timed-out command) or a not-applicable one in between neither opens nor
  resolves anything, and does not hide the next real change;
- a file integrity change is an event (`fim`), a brute-force source an event (`auth`); both are
  also `security` findings (issue 23): a brute-force source opens an incident keyed by its
  address, a change to a path under `critical_paths` one keyed by the path. They are one-shot
  facts with nothing to clear them, so their incidents stay open until a person resolves them;
  the same source or path again while open only updates the incident (de-duplication);
- failed and successful logins and FIM changes are counted for /metrics, every host from 0 (see
  `counters`): an asset's counter must exist before its first event or increase() misses it.

Outputs (API, /metrics, reports) only read `latest` and the counters.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from opsmon.collector.core.incidents import CRITICAL, CRITICAL_PATHS, MAJOR
from opsmon.collector.core.messages import BaselineResults, Event, Message, SecurityFinding
from opsmon.collector.inputs.security_catalog import CheckInfo, security_catalog, tally  # noqa: F401 (re-exported)
from opsmon.collector.store import Store
from opsmon.collector.store.models import BaselineChange, BaselineResult

log = logging.getLogger(__name__)
Status = Literal["pass", "fail", "not_applicable", "error"]
DECIDED = ("pass", "fail")


def is_critical(path: str, critical: Iterable[str]) -> bool:
    """`path` is one of `critical` or inside one of them (a directory), compared by whole path segments."""
    return any(path == c or path.startswith(c.rstrip("/") + "/") for c in critical)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckResultIn(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    status: Status
    evidence: str = Field("", max_length=2000)


class BaselineIn(_Strict):
    policy: str = Field(max_length=64)
    policy_version: str = Field("", max_length=64)
    ran_at: float
    results: list[CheckResultIn] = Field(max_length=1000)


class FimChangeIn(_Strict):
    path: str = Field(max_length=4096)
    change: str = Field(max_length=32)
    detail: str = Field("", max_length=2000)
    ts: float


class AuthFailureIn(_Strict):
    source: str = Field(max_length=128)
    user: str = Field("", max_length=128)
    count: int = Field(ge=0)


class AuthLoginIn(_Strict):
    user: str = Field(max_length=128)
    source: str = Field("", max_length=128)
    ts: float


class BruteForceIn(_Strict):
    source: str = Field(max_length=128)
    count: int = Field(ge=0)
    window_s: float = Field(gt=0)


class AuthIn(_Strict):
    failures: list[AuthFailureIn] = Field(default_factory=list, max_length=1000)
    logins: list[AuthLoginIn] = Field(default_factory=list, max_length=1000)
    bruteforce: list[BruteForceIn] = Field(default_factory=list, max_length=100)


class SecurityIn(_Strict):
    """The `security` part of an agent report."""

    baseline: BaselineIn | None = None
    fim: list[FimChangeIn] = Field(default_factory=list, max_length=1000)
    auth: AuthIn | None = None

    def times(self) -> list[float]:
        """Every agent time the part carries (the baseline's run, file changes, logins): the door checks them,
        corrected by the agent's clock offset, before the report's commit, so a time no datetime can hold is a
        4xx naming it, not an error inside the commit (which lost the security part and logged a traceback)."""
        return ([self.baseline.ran_at] if self.baseline is not None else []) + [c.ts for c in self.fim] + (
            [login.ts for login in self.auth.logins] if self.auth is not None else [])


@dataclass
class HostResults:
    policy: str = ""
    ran_at: datetime | None = None
    checks: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)  # id -> (status, evidence, since)
    decided: dict[str, str] = field(default_factory=dict)  # id -> the last "pass" or "fail"


def turn(before: str | None, status: str) -> str | None:
    """A finding's edge: "failed" (pass -> fail), "passed" (fail -> pass), else None. `before` is the
    last decided status (pass or fail); runs that decided nothing never reach here."""
    if before == "pass" and status == "fail":
        return "failed"
    if before == "fail" and status == "pass":
        return "passed"
    return None


def last_changes(session: Any, before: datetime | None = None, decided_only: bool = False) -> list[Any]:
    """(asset_id, policy, check_id, status) of each host and check's latest baseline_history row, those
    dated before `before` if given, pass or fail only if `decided_only`. Ids grow with `since` per
    pair (older runs replayed late are refused), so the greatest id is the latest status."""
    last = select(func.max(BaselineChange.id)).group_by(BaselineChange.asset_id, BaselineChange.check_id)
    if before is not None:
        last = last.where(BaselineChange.since < before)
    if decided_only:
        last = last.where(BaselineChange.status.in_(DECIDED))
    return list(session.execute(select(BaselineChange.asset_id, BaselineChange.policy, BaselineChange.check_id,
                                       BaselineChange.status).where(BaselineChange.id.in_(last))).all())


class SecurityBook:
    def __init__(self, store: Store, publish: Callable[[Message], None],
                 catalog: Callable[[str, str], CheckInfo | None], critical_paths: Iterable[str] = CRITICAL_PATHS,
                 ) -> None:
        """catalog(policy, check) -> CheckInfo. A check whose policy opens incidents publishes a SecurityFinding
        keyed `baseline:<check>` when it turns failing and again when it passes. critical_paths: FIM changes
        under these open incidents."""
        self.publish = publish
        self.catalog = catalog
        self.critical_paths = tuple(critical_paths)
        self.latest: dict[str, HostResults] = {}
        self.auth_failures: dict[str, int] = {}
        self.logins: dict[str, int] = {}
        self.fim_changes: dict[str, int] = {}
        self._unshown: dict[str, tuple[int, int, int]] = {}  # a new host's first counts, held for one scrape
        with store.session() as session:
            for row in session.scalars(select(BaselineResult)):
                host = self.latest.setdefault(row.asset_id, HostResults(row.policy, row.ran_at))
                host.checks[row.check_id] = (row.status, row.evidence, row.since)
                if host.ran_at is None or row.ran_at > host.ran_at:
                    host.ran_at = row.ran_at
            for asset_id, _policy, check_id, status in last_changes(session, decided_only=True):
                if asset_id in self.latest:
                    self.latest[asset_id].decided[check_id] = status

    def accept(self, asset_id: str, security: SecurityIn, offset: float, ts: datetime) -> None:
        """One report's security part (ts: the report's corrected time); times are the agent's, corrected
        by its clock offset."""
        def when(agent_ts: float) -> datetime:
            return datetime.fromtimestamp(agent_ts + offset, UTC)

        new = asset_id not in self.fim_changes
        if security.baseline is not None:
            self._baseline(asset_id, security.baseline, when(security.baseline.ran_at))
        self.fim_changes[asset_id] = self.fim_changes.get(asset_id, 0) + len(security.fim)
        for change in security.fim:
            at = when(change.ts)
            summary = f"{change.change}: {change.path}"
            self.publish(Event(asset_id, at, "agent", "fim", change.change, "warning", summary,
                               {"path": change.path, "detail": change.detail}))
            if is_critical(change.path, self.critical_paths):
                self.publish(SecurityFinding(asset_id, f"fim:{change.path}", True, at,
                                             f"file integrity: {summary} {change.detail}".strip()[:500]))
        auth = security.auth or AuthIn()
        self.auth_failures[asset_id] = self.auth_failures.get(asset_id, 0) + sum(f.count for f in auth.failures)
        self.logins[asset_id] = self.logins.get(asset_id, 0) + len(auth.logins)
        for bf in auth.bruteforce:
            summary = f"{bf.count} failed logins from {bf.source} in {bf.window_s:g}s"
            self.publish(Event(asset_id, ts, "agent", "auth", "bruteforce", "critical", summary,
                               {"source": bf.source, "count": bf.count, "window_s": bf.window_s}))
            self.publish(SecurityFinding(asset_id, f"bruteforce:{bf.source}", True, ts,
                                         f"brute force: {summary}"[:500], CRITICAL))
        if new:
            self._unshown[asset_id] = (self.auth_failures[asset_id], self.logins[asset_id],
                                       self.fim_changes[asset_id])

    def enrolled(self, asset_id: str) -> None:
        """An agent's asset is known (enrolled, or in the inventory with an agent): its counters exist from 0."""
        for counts in (self.auth_failures, self.logins, self.fim_changes):
            counts.setdefault(asset_id, 0)

    def counters(self) -> dict[str, tuple[int, int, int]]:
        """(failed logins, logins, FIM changes) per host, for one scrape.

        A host first heard of in a report that already carried events is shown at 0 in the first scrape after
        it (then its true counts): a counter whose first sample is 3 is invisible to increase(), which needs
        two samples, so the dashboard's "changes in 24 h" said 0 after a host's first changes (issue 23)."""
        out = {a: (self.auth_failures.get(a, 0), self.logins.get(a, 0), n) for a, n in list(self.fim_changes.items())}
        held, self._unshown = self._unshown, {}
        for asset_id, first in held.items():
            if asset_id in out:
                out[asset_id] = tuple(now - then for now, then in zip(out[asset_id], first, strict=True))  # type: ignore[assignment]
        return out

    def _baseline(self, asset_id: str, run: BaselineIn, at: datetime) -> None:
        host = self.latest.setdefault(asset_id, HostResults())
        if host.ran_at is not None and at < host.ran_at:
            return  # a replayed older run must not overwrite a newer one
        rows, changed = [], []
        for r in run.results:
            prev = host.checks.get(r.id)
            since = prev[2] if prev is not None and prev[0] == r.status else at
            host.checks[r.id] = (r.status, r.evidence, since)
            rows.append({"asset_id": asset_id, "check_id": r.id, "policy": run.policy, "status": r.status,
                         "evidence": r.evidence[:2000], "ran_at": at, "since": since})
            if prev is None or prev[0] != r.status:
                changed.append({"asset_id": asset_id, "check_id": r.id, "policy": run.policy, "status": r.status,
                                "since": at})
            if r.status not in DECIDED:
                continue
            change = turn(host.decided.get(r.id), r.status)
            host.decided[r.id] = r.status
            info = self.catalog(run.policy, r.id)
            if change == "failed":
                title = info.title_en if info else r.id
                self.publish(Event(asset_id, at, "agent", "security", r.id, info.severity if info else MAJOR,
                                   f"baseline check failed: {title}",
                                   {"policy": run.policy, "evidence": r.evidence,
                                    "control": info.control if info else ""}))
                if info is not None and info.incident:
                    self.publish(SecurityFinding(asset_id, f"baseline:{r.id}", True, at,
                                                 f"{title}: {r.evidence}"[:500], info.severity))
            elif change == "passed" and info is not None and info.incident:
                self.publish(SecurityFinding(asset_id, f"baseline:{r.id}", False, at, ""))
        host.policy, host.ran_at = run.policy, at
        self.publish(BaselineResults(asset_id, tuple(rows), tuple(changed)))

    def scores(self) -> list[dict[str, Any]]:
        """Per host and control point: passed, failed, and the share passed (None when nothing counted)."""
        counts = tally(((asset, host.policy, check, status) for asset, host in self.latest.items()
                        for check, (status, _e, _s) in host.checks.items()), self.catalog)
        return [{"asset": asset, "control": control, "passed": p, "failed": f,
                 "score": p / (p + f) if p + f else None,
                 "ran_at": ran.isoformat() if (ran := self.latest[asset].ran_at) else None}
                for (asset, control), (p, f) in sorted(counts.items())]
