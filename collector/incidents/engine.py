"""The incident engine: faults in, incidents with their response trail out.

Inputs (all read-only facts from elsewhere):
- state transitions of the timeline: down or degraded opens (or updates) the asset's
  availability incident, up resolves it, unreachable attaches the asset to the
  incident of the ancestor at fault;
- `hardware` observations (agent and SNMP): one incident per asset and component,
  resolved when the signal has been absent for `hardware_clear_after` (not while the site poller polling the
  asset is silent or replaying its spool: `observer_late`);
- Prometheus alerts through Alertmanager's webhook: one incident per alert fingerprint.

De-duplication is by fingerprint: an incident that is open or acknowledged takes
every new signal of its fault; one resolved less than `quiet_time` ago is reopened
(same id, same response record); after that it is closed for good.

A reopen continues the episode (issue 18): an acknowledged incident stays acknowledged;
an unacknowledged one keeps its deadline and its escalation levels count again from the
reopen (`escalate_from`), so a flap never fires a level at once. `flap_reopens` reopens
within `flap_window` mark it flapping: one notice, then quiet until no reopen or recovery
has happened for `flap_settle` (one notice again).

Maintenance covers every incident of what it covers (issue 18 item 2): an incident of an
asset inside a window is opened marked under maintenance, and one open when a window
starts is marked then. Marked, it is not escalated nor notified and its response clock
stops: when the window ends, its deadline moves by the time spent under maintenance and
its levels count from the end. The SLA leaves it out of response figures unless it breached.

Notifications are dependency-aware: a new availability incident whose ancestor has
failing results not yet confirmed is held (at most `hold_max`), so when a WAN link
and the fifty hosts behind it fail together, the hosts end up attached to the
link's incident and on-call hears once.

State lives in memory for the running incidents and is written through at every
change, with an append-only trail (incident_events) naming the actor.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from opsmon.collector.core.actors import person
from opsmon.collector.core.deadlines import in_time, response_seconds
from opsmon.collector.core.errors import Conflict, InvalidInput, NotFound
from opsmon.collector.core.incidents import (
    ALERT,
    AVAILABILITY,
    CRITICAL,
    HARDWARE,
    MAJOR,
    MINOR,
    NOT_FAULTS,
    RANK,
    SECURITY,
)
from opsmon.collector.core.states import DEGRADED, DOWN, UNREACHABLE, UP
from opsmon.collector.store import Store, audit
from opsmon.collector.store.models import Incident, IncidentEvent

log = logging.getLogger(__name__)
SYSTEM = "opsmon"
ACTIVE = ("open", "acknowledged")
PAGE_STEPS = ("escalated", "repeated", "reassigned", "taken_over")  # trail rows that say who was paged or owns


@dataclass
class AssetInfo:
    name: str
    category: str
    site: str
    criticality: str
    parent: str | None


@dataclass(frozen=True)
class _Step:
    """One entry of an incident's trail, waiting for its commit."""

    action: str
    actor: str
    detail: dict[str, Any]
    at: datetime
    operator: bool


@dataclass
class Active:
    """A non-closed incident as the engine tracks it."""

    id: str
    fingerprint: str
    asset_id: str
    kind: str
    severity: str
    status: str
    opened: datetime
    fault: datetime | None
    deadline: datetime | None
    cause: str
    level: int = 0
    acknowledged: datetime | None = None
    acknowledged_by: str | None = None
    resolved: datetime | None = None
    resolved_by: str | None = None
    note: str = ""
    attached: list[str] = field(default_factory=list)
    reopened: int = 0
    last_seen: datetime | None = None
    source: str = SYSTEM
    held_since: datetime | None = None  # notifications waiting for an ancestor to be decided
    breached: datetime | None = None  # when the deadline passed unacknowledged (stored: recorded once)
    escalate_from: datetime | None = None  # the last reopen while unacknowledged: levels count from here
    flapping: datetime | None = None  # marked flapping since: no notices until it settles
    reopens: list[datetime] = field(default_factory=list)  # recent reopens, counted against flap_window
    changed: datetime | None = None  # the last reopen or recovery: a flapping incident settles after it
    maintenance_window: str | None = None  # the window(s) that covered it (kept after they end)
    maintenance_since: datetime | None = None  # under maintenance now, since then: quiet, clock stopped
    paged: list[str] = field(default_factory=list)  # everyone paged about it: follow-ups go to them (issue 18)
    paged_at: datetime | None = None  # the last page (a level or a repeat): repeat_every counts from here
    owner: str | None = None  # given by reassign or take over; else whoever acknowledged owns it
    response_recorded: datetime | None = None  # a response recorded after the fault healed: when it was recorded
    response_evidence: str | None = None  # ... and the evidence of the time it claims
    alert_labels: dict[str, str] | None = None  # opened by an Alertmanager alert: its labels, to silence it on ack

    @property
    def quiet(self) -> bool:
        """Flapping or under maintenance: nothing is sent about it but the notice that says so."""
        return self.flapping is not None or self.maintenance_since is not None

    @property
    def clock_start(self) -> datetime:
        """Where escalation levels' `after` counts from: the opening, or the last reopen while unacknowledged."""
        return self.escalate_from or self.opened


def severity_for(kind: str, state: str, criticality: str) -> str:
    """Asset criticality to incident severity: degraded one step below down; hardware at least major."""
    if kind == HARDWARE:
        return CRITICAL if criticality in ("critical", "high") else MAJOR
    base = {"critical": CRITICAL, "high": CRITICAL, "medium": MAJOR}.get(criticality, MINOR)
    if state == DEGRADED:
        base = {CRITICAL: MAJOR, MAJOR: MINOR}.get(base, MINOR)
    return base


class IncidentEngine:
    def __init__(self, store: Store, clock: Callable[[], datetime], asset_info: Callable[[str], AssetInfo | None],
                 settings: Any, response_limit: Callable[[str], float | None],
                 pending_fault: Callable[[str], bool] = lambda _a: False, timezone: str = "UTC",
                 maintenance: Callable[[str, datetime], str | None] = lambda _a, _t: None) -> None:
        self.store = store
        self.timezone = timezone
        self.clock = clock
        self.asset_info = asset_info
        self.settings = settings
        self.response_limit = response_limit
        self.pending_fault = pending_fault  # does this asset have failing results not yet confirmed?
        self.maintenance = maintenance  # the window(s) covering this asset at this instant, if any
        # is what observes this asset's hardware (a site poller) silent or replaying its spool at this instant?
        # Then a polled fault's absence is the WAN's, not the device's: its clear waits (the service sets it)
        self.observer_late: Callable[[str, datetime], bool] = lambda _a, _t: False
        self.by_fp: dict[str, Active] = {}
        self.by_id: dict[str, Active] = {}
        self.on_change: list[Callable[[Active, str, str, dict[str, Any]], None]] = []
        self.breaches = 0
        self._unsaved: dict[str, tuple[Active, list[_Step]]] = {}  # steps the store refused, to commit again
        self._flush_failing = False
        self._next_number = ("", 1)  # the last opening's id prefix (its local day) and the next number to try

    # -- loading and saving ------------------------------------------------
    def load(self) -> None:
        """Take up the incidents that are not closed (after a restart, nothing is lost)."""
        with self.store.session() as session:
            rows = list(session.scalars(select(Incident).where(Incident.status.in_((*ACTIVE, "resolved")),
                                                               Incident.fingerprint.is_not(None))))
            flapping = [r.id for r in rows if r.flapping_ts is not None]
            reopens = session.execute(select(IncidentEvent.incident_id, IncidentEvent.ts).where(
                IncidentEvent.incident_id.in_(flapping), IncidentEvent.action == "reopened")).all() if flapping else []
        for r in rows:
            inc = self._from_row(r)
            self.by_fp[inc.fingerprint] = inc
            self.by_id[inc.id] = inc
        for incident_id, ts in reopens:
            self.by_id[incident_id].reopens.append(ts)
        self._load_pages()

    def _load_pages(self) -> None:
        """Who was paged and when, and who owns it, from the trails (they are kept there, not in columns)."""
        ids = list(self.by_id)
        if not ids:
            return
        with self.store.session() as session:
            steps = session.execute(select(IncidentEvent.incident_id, IncidentEvent.ts, IncidentEvent.action,
                                           IncidentEvent.detail).where(
                IncidentEvent.incident_id.in_(ids), IncidentEvent.action.in_(PAGE_STEPS))
                .order_by(IncidentEvent.id)).all()
        for incident_id, ts, action, detail in steps:
            inc = self.by_id[incident_id]
            if action in ("reassigned", "taken_over"):
                inc.owner = (detail or {}).get("to")
                continue
            inc.paged += [p for p in (detail or {}).get("to", []) if p not in inc.paged]
            inc.paged_at = ts

    def _from_row(self, r: Incident) -> Active:
        return Active(r.id, r.fingerprint or "", r.asset_id, r.kind, r.severity or MAJOR, r.status, r.opened_ts,
                      r.fault_ts, r.deadline_ts, r.cause, r.level, r.acknowledged_ts, r.acknowledged_by,
                      r.resolved_ts, r.resolved_by, r.note, list(r.attached or []), r.reopened,
                      last_seen=self.clock(), source=r.source, escalate_from=r.escalate_from_ts,
                      flapping=r.flapping_ts, changed=self.clock() if r.flapping_ts else None,
                      breached=r.breached_ts, maintenance_window=r.maintenance_window,
                      maintenance_since=r.maintenance_ts, response_recorded=r.response_recorded_ts,
                      response_evidence=r.response_evidence, alert_labels=r.alert_labels)

    def _new_id(self, at: datetime) -> str:
        """INC-<local day>-<n>: n one past the day's incidents, counted once a day and then kept in memory (the
        collector is the one writer of its ids). Counted at every opening, a storm of n faults (a site's hosts,
        the scheduler bench's 10,000 closed ports) scanned the day's ids n times over: O(n^2) on the event loop,
        3.3 ms an opening at 10,000. A number stored meanwhile (an imported incident) is skipped by its key; one
        written in the instant between this look and the opening's commit (a history import of today's ids
        while the collector runs) would still be overwritten, as before this change (a wider window then)."""
        from zoneinfo import ZoneInfo

        day = at.astimezone(ZoneInfo(self.timezone)).strftime("%Y%m%d")
        prefix = f"INC-{day}-"
        last, n = self._next_number
        with self.store.session() as session:
            if prefix != last:  # the day's first opening since the start, or since another day's: one count
                n = (session.scalar(select(func.count(Incident.id)).where(Incident.id.like(prefix + "%"))) or 0) + 1
            while f"{prefix}{n:04d}" in self.by_id or session.scalar(
                    select(Incident.id).where(Incident.id == f"{prefix}{n:04d}")) is not None:
                n += 1  # taken: an active incident, or one stored meanwhile (an import): not reused
        self._next_number = (prefix, n + 1)
        return f"{prefix}{n:04d}"

    def _save(self, inc: Active, action: str, actor: str, detail: dict[str, Any], at: datetime,
              operator: bool = False) -> None:
        """Commit the incident as it is in memory, with `action` on its trail; then tell the hooks.

        When the store refuses (locked, full, away) the exception goes to the caller, and:
        - a change of the rules' own (a transition, a signal, an alert, the tick) stays in memory, and the
          step waits in `_unsaved` to be committed with the incident's next save or at the next tick (flush):
          memory never disagrees with the timeline, which has moved on already (undone, a resolve that failed
          left the incident open for ever on an asset that was up);
        - a person's change (operator) is undone by the caller (`_undone_on_failure`): they are answered 503
          and may try again.
        """
        steps = [*self._unsaved.get(inc.id, (inc, []))[1], _Step(action, actor, detail, at, operator)]
        try:
            self._commit(inc, steps)
        except Exception:
            if not operator:
                self._unsaved[inc.id] = (inc, steps)
            raise
        self._unsaved.pop(inc.id, None)
        self._tell(inc, steps)

    def _tell(self, inc: Active, steps: list[_Step]) -> None:
        for step in steps:
            for hook in self.on_change:
                try:
                    hook(inc, step.action, step.actor, step.detail)
                except Exception:  # noqa: BLE001 - an output must never stop incident handling
                    log.exception("incident hook failed", extra={"incident": inc.id})

    def flush(self) -> None:
        """Commit every change the store refused before; raises (the store's error) while it still refuses."""
        for inc_id, (inc, steps) in list(self._unsaved.items()):
            self._commit(inc, steps)
            del self._unsaved[inc_id]
            if inc.status in ("closed", "merged", "withdrawn"):
                self._forget(inc)  # what the failed save's caller would have done after it
            self._tell(inc, steps)

    @contextmanager
    def _undone_on_failure(self, inc: Active) -> Iterator[None]:
        """A person's change to `inc`, undone in memory if it cannot be saved (they are told 503, nothing else)."""
        before = replace(inc, attached=list(inc.attached), reopens=list(inc.reopens))
        try:
            yield
        except Exception:
            for f in fields(inc):
                setattr(inc, f.name, getattr(before, f.name))
            raise

    def _commit(self, inc: Active, steps: list[_Step]) -> None:
        with self.store.session() as session:
            row = session.get(Incident, inc.id)
            if row is None:  # added, not merged: a merge of a new row looked it up a second time
                row = Incident(id=inc.id)
                session.add(row)
            row.asset_id, row.kind, row.severity, row.status = inc.asset_id, inc.kind, inc.severity, inc.status
            row.opened_ts, row.fault_ts, row.deadline_ts, row.cause = inc.opened, inc.fault, inc.deadline, inc.cause
            row.acknowledged_ts, row.acknowledged_by = inc.acknowledged, inc.acknowledged_by
            row.resolved_ts, row.resolved_by, row.note = inc.resolved, inc.resolved_by, inc.note
            row.fingerprint, row.level, row.attached, row.reopened = inc.fingerprint, inc.level, list(inc.attached), \
                inc.reopened
            row.source = inc.source
            row.escalate_from_ts, row.flapping_ts, row.breached_ts = inc.escalate_from, inc.flapping, inc.breached
            row.maintenance_window, row.maintenance_ts = inc.maintenance_window, inc.maintenance_since
            row.response_recorded_ts, row.response_evidence = inc.response_recorded, inc.response_evidence
            row.alert_labels = inc.alert_labels
            if inc.status in ("closed", "merged"):
                row.closed_ts = row.closed_ts or next(
                    (s.at for s in steps if s.action in ("closed", "merged")), steps[-1].at)
            for step in steps:
                session.add(IncidentEvent(incident_id=inc.id, ts=step.at, actor=step.actor, action=step.action,
                                          detail=step.detail))
                if step.operator:
                    audit.record(session, step.actor, f"incident.{step.action}", inc.id, step.detail, step.at)
            session.commit()

    def _forget(self, inc: Active) -> None:
        self.by_fp.pop(inc.fingerprint, None)
        self.by_id.pop(inc.id, None)

    # -- inputs --------------------------------------------------------------
    def on_transition(self, asset_id: str, at: datetime, detected: datetime, old: str, new: str, reason: str) -> None:
        fp = f"{asset_id}:{AVAILABILITY}"
        if new in (DOWN, DEGRADED):
            self._fault(fp, asset_id, AVAILABILITY, new, reason, at, detected)
        elif new == UP:
            inc = self.by_fp.get(fp)
            if inc is not None and inc.status in ACTIVE:
                if inc.fault is not None and at <= inc.fault:
                    self._withdraw(inc, at)
                else:
                    self._resolve(inc, SYSTEM, "the asset is up again", detected, auto=True)
        elif new == UNREACHABLE:
            self._attach(asset_id, detected)

    def on_hardware(self, asset_id: str, component: str, ts: datetime, problem: str, cleared: bool = False,
                    source: str = SYSTEM) -> None:
        """A hardware fault seen (again), or its recovery (`cleared`, from a recovery trap): one incident per
        asset and component. A polled fault (`source` SYSTEM) resolves itself when no longer seen; one a
        trap said (`source` trap) stays open until its recovery or an operator."""
        fp = f"{asset_id}:hw:{component}"
        inc = self.by_fp.get(fp)
        if cleared:
            if inc is not None and inc.status in ACTIVE:
                self._resolve(inc, source, f"recovered: {problem}", ts, auto=True)
            return
        if inc is not None and inc.status in ACTIVE:
            inc.last_seen = self.clock()
            # The latest word decides how it ends: a trap's fault waits for its recovery, a polled one clears
            # when no longer seen (a poll seeing it again after a trap takes over, and the other way round).
            inc.source = source
            return
        inc = self._fault(fp, asset_id, HARDWARE, DOWN, f"{component}: {problem}", ts, self.clock(), source=source)
        inc.source = source  # a reopened incident too

    def on_security(self, asset_id: str, key: str, failing: bool, at: datetime, cause: str,
                    severity: str = MAJOR) -> None:
        """A security finding opens an incident of kind `security`, one per asset and `key` (the source and cause:
        `baseline:<check>`, `bruteforce:<address>`, `fim:<path>`, `config:<name>`, `ssh_host_key:<host>`); the
        same key again while it is active only updates it. A finding that clears (a check passing again, the
        trusted host key offered again) resolves it; the one-shot ones (brute force, a file or configuration
        change) stay until a person resolves them. It never touches the asset's availability."""
        fp = f"{asset_id}:sec:{key}"
        if failing:
            self._fault(fp, asset_id, SECURITY, DOWN, cause, at, self.clock(), severity=severity)
            return
        inc = self.by_fp.get(fp)
        if inc is not None and inc.status in ACTIVE:
            self._resolve(inc, SYSTEM, cause or "the check passes again", at, auto=True)

    def on_alert(self, alert: dict[str, Any], now: datetime) -> str | None:
        """One alert of an Alertmanager webhook: firing opens or keeps, resolved resolves."""
        labels = alert.get("labels") or {}
        if labels.get("alertname") == "OpsmonIncident":
            return None  # our own notification coming back through Alertmanager: never a new incident
        fp = "alert:" + str(alert.get("fingerprint") or sorted(labels.items()))
        asset = str(labels.get("asset") or labels.get("instance") or labels.get("job") or "prometheus")[:128]
        annotations = alert.get("annotations") or {}
        text = annotations.get("summary") or annotations.get("description") or ""
        cause = f"{labels.get('alertname', 'alert')}: {text}"
        if alert.get("status") == "resolved":
            inc = self.by_fp.get(fp)
            if inc is not None and inc.status in ACTIVE:
                self._resolve(inc, "alertmanager", "the alert resolved", now, auto=True)
            return inc.id if inc else None
        kind = HARDWARE if labels.get("kind") == HARDWARE else ALERT
        sev = {CRITICAL: CRITICAL, MAJOR: MAJOR, "warning": MINOR, MINOR: MINOR}.get(str(labels.get("severity", MAJOR)),
                                                                                   MAJOR)
        inc = self._fault(fp, asset, kind, DOWN, cause.strip(": "), now, now, severity=sev, source="prometheus",
                          alert_labels={str(k): str(v) for k, v in labels.items()})
        return inc.id

    # -- rules -------------------------------------------------------------
    def _fault(self, fp: str, asset_id: str, kind: str, state: str, cause: str, at: datetime, detected: datetime,
               severity: str | None = None, source: str = SYSTEM, alert_labels: dict[str, str] | None = None) -> Active:
        """`alert_labels`: the labels of the Alertmanager alert behind a new incident (its fingerprint names the same
        label set, so an incident it keeps or reopens has them already)."""
        info = self.asset_info(asset_id)
        sev = severity or severity_for(kind, state, info.criticality if info else "medium")
        inc = self.by_fp.get(fp)
        if inc is not None and inc.status in ACTIVE:
            changed = {}
            if RANK[sev] > RANK[inc.severity]:
                changed["severity"] = [inc.severity, sev]
                inc.severity = sev
            if cause and cause != inc.cause:
                changed["cause"] = cause
                inc.cause = cause
            inc.last_seen = detected
            if changed:
                self._save(inc, "updated", SYSTEM, changed, detected)
            return inc
        quiet = timedelta(seconds=self.settings.quiet_time)
        if inc is not None and inc.status == "resolved" and inc.resolved and detected - inc.resolved <= quiet:
            self._reopen(inc, sev, cause, detected)
            return inc
        if inc is not None:
            self._close(inc, detected)
        limit = self.response_limit(kind)
        inc = Active(self._new_id(detected), fp, asset_id, kind, sev, "open", detected, at,
                     detected + timedelta(seconds=limit) if limit else None, cause, last_seen=detected, source=source,
                     alert_labels=alert_labels)
        if kind == AVAILABILITY and self._held(asset_id):
            inc.held_since = detected
        window = self.maintenance(asset_id, detected)
        if window is not None:
            inc.maintenance_window, inc.maintenance_since = window, detected
        self.by_fp[fp] = inc
        self.by_id[inc.id] = inc
        detail = {"cause": cause, "severity": sev, "kind": kind, "fault_at": at.isoformat()}
        self._save(inc, "opened", SYSTEM, detail | ({"maintenance": window} if window else {}), detected)
        return inc

    def _reopen(self, inc: Active, severity: str, cause: str, at: datetime) -> None:
        """The fault is back within quiet_time: the same episode goes on (issue 18 item 1).

        Acknowledged stays acknowledged (someone owns it; only they are told). Unacknowledged keeps its
        deadline, but its levels count again from now: a 12 s flap an hour in must not fire level 2 and the
        only_if_breached level 3 at once. The Nth reopen within flap_window marks it flapping.
        """
        inc.status = "acknowledged" if inc.acknowledged is not None else "open"
        inc.resolved, inc.resolved_by = None, None
        inc.reopened += 1
        inc.cause, inc.last_seen, inc.changed = cause, at, at
        if RANK[severity] > RANK[inc.severity]:
            inc.severity = severity
        if inc.acknowledged is None:
            inc.escalate_from = at
            inc.held_since = at if self._held(inc.asset_id) else None
        window = timedelta(seconds=self.settings.flap_window)
        inc.reopens = [t for t in inc.reopens if at - t < window] + [at]
        starts = (inc.flapping is None and self.settings.flap_reopens > 0
                  and len(inc.reopens) >= self.settings.flap_reopens)
        if starts:
            inc.flapping = at
        self._save(inc, "reopened", SYSTEM, {"cause": cause, "flapping": inc.flapping is not None}, at)
        if starts:
            self._save(inc, "flapping", SYSTEM, {"reopens": len(inc.reopens),
                                                 "within_seconds": self.settings.flap_window}, at)

    def _settle(self, inc: Active, now: datetime) -> None:
        """No reopen or recovery for flap_settle: notices resume (one now, saying where it stands); an
        unacknowledged incident's levels count again from here, as after a reopen."""
        since = inc.flapping
        inc.flapping = None
        inc.reopens.clear()
        if inc.status == "open":
            inc.escalate_from = now
        self._save(inc, "settled", SYSTEM, {"status": inc.status,
                                            "flapping_since": since.isoformat() if since else None}, now)

    def _follow_maintenance(self, inc: Active, now: datetime) -> None:
        """A window began over an active incident: mark it (escalation stops). Its window ended: unmark it,
        move its deadline by the time spent under maintenance, and count its levels from now."""
        window = self.maintenance(inc.asset_id, now)
        if window is not None and inc.maintenance_since is None:
            inc.maintenance_window, inc.maintenance_since = window, now
            self._save(inc, "maintenance", SYSTEM, {"window": window}, now)
        elif window is None and inc.maintenance_since is not None:
            paused = now - inc.maintenance_since
            inc.maintenance_since = None
            if inc.deadline is not None and inc.breached is None:
                inc.deadline += paused
            if inc.status == "open":
                inc.escalate_from = now
            self._save(inc, "maintenance_ended", SYSTEM, {
                "window": inc.maintenance_window, "paused_seconds": round(paused.total_seconds(), 3),
                "deadline": inc.deadline.isoformat() if inc.deadline else None}, now)

    def _held(self, asset_id: str) -> bool:
        """An ancestor is failing but not yet confirmed: wait before telling anyone about this asset."""
        seen: set[str] = set()
        info = self.asset_info(asset_id)
        parent = info.parent if info else None
        while parent is not None and parent not in seen:
            seen.add(parent)
            if self.pending_fault(parent):
                return True
            pinfo = self.asset_info(parent)
            parent = pinfo.parent if pinfo else None
        return False

    def _attach(self, asset_id: str, at: datetime) -> None:
        """The asset is unreachable: its fault belongs to the nearest ancestor with an open incident."""
        seen: set[str] = set()
        info = self.asset_info(asset_id)
        parent = info.parent if info else None
        target: Active | None = None
        while parent is not None and parent not in seen:
            seen.add(parent)
            cand = self.by_fp.get(f"{parent}:availability")
            if cand is not None and cand.status in ACTIVE:
                target = cand
                break
            pinfo = self.asset_info(parent)
            parent = pinfo.parent if pinfo else None
        if target is None:
            return
        if asset_id not in target.attached:
            target.attached.append(asset_id)
            self._save(target, "attached", SYSTEM, {"asset": asset_id}, at)
        own = self.by_fp.get(f"{asset_id}:availability")
        if own is not None and own.status in ACTIVE and own.acknowledged is None:
            # Its own incident was opened in the race before the parent was confirmed: folded into the parent's.
            own.status, own.resolved, own.resolved_by = "merged", at, SYSTEM
            own.note = f"attached to {target.id}"
            self._save(own, "merged", SYSTEM, {"into": target.id}, at)
            self._forget(own)

    def _withdraw(self, inc: Active, up_since: datetime) -> None:
        """The asset's fault was relabelled away (up since before the fault began: a replayed report arrived
        late in the collector but on time at the host): the incident was false. Withdrawn, it leaves every
        response figure and those who were paged are told (escalation.py)."""
        now = max(self.clock(), inc.opened)  # `detected` is the replayed result's own (early) time
        inc.status, inc.resolved, inc.resolved_by = "withdrawn", now, SYSTEM
        note = (f"withdrawn: results that arrived late show the asset up since {up_since.isoformat()}, "
                "before the fault began")
        inc.note = (inc.note + "\n" if inc.note else "") + note
        self._save(inc, "withdrawn", SYSTEM, {"note": note, "up_since": up_since.isoformat()}, now)
        self._forget(inc)

    def _resolve(self, inc: Active, actor: str, note: str, at: datetime, auto: bool = False) -> None:
        at = max(at, inc.opened)  # a result stamped before the incident opened resolves it no earlier
        inc.status, inc.resolved, inc.resolved_by = "resolved", at, actor
        inc.changed = at
        if note:
            inc.note = (inc.note + "\n" if inc.note else "") + note
        self._save(inc, "resolved", actor, {"note": note, "auto": auto}, at, operator=not auto)

    def _close(self, inc: Active, at: datetime) -> None:
        inc.status = "closed"
        self._save(inc, "closed", SYSTEM, {}, at)
        self._forget(inc)

    # -- time --------------------------------------------------------------
    def tick(self, now: datetime) -> list[Active]:
        """Close quiet incidents, clear absent hardware signals, release held ones, settle flapping ones; return
        those due to notify (open, not held, not flapping, not under maintenance)."""
        quiet = timedelta(seconds=self.settings.quiet_time)
        clear = timedelta(seconds=self.settings.hardware_clear_after)
        hold_max = timedelta(seconds=self.settings.hold_max)
        settle = timedelta(seconds=self.settings.flap_settle)
        if self._unsaved:
            try:
                self.flush()
                if self._flush_failing:
                    log.warning("incident changes the store refused are stored now")
                self._flush_failing = False
            except Exception as exc:  # noqa: BLE001 - tried again at the next tick
                if not self._flush_failing:
                    log.error("incident changes wait for the store", extra={"error": str(exc)[:200],
                                                                             "incidents": len(self._unsaved)})
                self._flush_failing = True
        for inc in list(self.by_id.values()):
            if inc.flapping is not None and inc.changed is not None and now - inc.changed >= settle:
                self._settle(inc, now)
            if inc.status == "resolved" and inc.resolved and now - inc.resolved > quiet:
                self._close(inc, now)
            elif (inc.kind == HARDWARE and inc.source == SYSTEM and inc.status in ACTIVE
                  and inc.last_seen and now - inc.last_seen > clear and not self.observer_late(inc.asset_id, now)):
                self._resolve(inc, SYSTEM, "the hardware signal has not been seen again", now, auto=True)
            elif inc.held_since is not None and (not self._held(inc.asset_id) or now - inc.held_since > hold_max):
                inc.held_since = None
            if inc.status in ACTIVE:
                self._follow_maintenance(inc, now)
            if (inc.status in ACTIVE and inc.deadline and inc.acknowledged is None and not in_time(now, inc.deadline)
                    and inc.breached is None and inc.maintenance_since is None):
                inc.breached = now
                self.breaches += 1
                self._save(inc, "breached", SYSTEM, {"deadline": inc.deadline.isoformat()}, now)
        return [i for i in self.by_id.values() if i.status == "open" and i.held_since is None and not i.quiet]

    # -- people ------------------------------------------------------------
    def get(self, incident_id: str) -> Active:
        inc = self.by_id.get(incident_id)
        if inc is None:
            raise NotFound(f"no open incident {incident_id!r} (closed ones are read with `incidents show`)")
        return inc

    def acknowledge(self, incident_id: str, actor: str, note: str = "", at: datetime | None = None,
                    context: dict[str, Any] | None = None) -> Active:
        """`context`: how it came (a link's source address and user agent), kept on the trail and audit row."""
        inc = self.get(incident_id)
        at = at or self.clock()
        if inc.status != "open":
            raise InvalidInput(f"incident {incident_id} is {inc.status}; only an open incident can be acknowledged")
        with self._undone_on_failure(inc):
            inc.status, inc.acknowledged, inc.acknowledged_by = "acknowledged", at, actor
            inc.held_since = None
            if note:
                inc.note = (inc.note + "\n" if inc.note else "") + note
            within = inc.deadline is None or in_time(at, inc.deadline)
            self._save(inc, "acknowledged", actor, {"note": note, "within_deadline": within,
                                                    "response_seconds": response_seconds(inc.opened, at)}
                       | (context or {}), at, operator=True)
        return inc

    def record_response(self, incident_id: str, actor: str, responded_at: datetime | None, evidence: str,
                        note: str = "") -> Active:
        """The response to a fault that healed before anyone acknowledged it, recorded after the fact (issue 18
        item 3). It can no longer be acknowledged live, so the engineer says when they responded.

        The time counted (acknowledged) is the time claimed only with evidence (a call log, a ticket, a chat
        message: printed in the report for the auditor); a claim without evidence is capped at the moment it
        is recorded, which opsmon witnessed itself. The claim, the evidence and the recording time stay on the
        trail and in the audit log. docs/sla.md ("A fault that healed") says why.
        """
        now = self.clock()
        inc = self.by_id.get(incident_id)
        if inc is None:
            with self.store.session() as session:
                row = session.get(Incident, incident_id)
                if row is None:
                    raise NotFound(f"no incident {incident_id!r}")
                inc = self._from_row(row)
        if inc.status in ACTIVE or inc.status in NOT_FAULTS:
            hint = "; acknowledge it instead" if inc.status == "open" else ""
            raise InvalidInput(f"incident {incident_id} is {inc.status}: a response is recorded after the fact only "
                               f"for a resolved or closed incident{hint}")
        if inc.acknowledged is not None:
            raise Conflict(f"incident {incident_id} has a response already: {inc.acknowledged_by} at "
                           f"{inc.acknowledged.isoformat()}")
        claimed = responded_at or now
        if claimed < inc.opened or claimed > now:
            raise InvalidInput(f"responded_at: must lie between the opening ({inc.opened.isoformat()}) and now")
        evidence = evidence.strip()
        counted = claimed if evidence else now
        with self._undone_on_failure(inc):
            inc.acknowledged, inc.acknowledged_by = counted, actor
            inc.response_recorded, inc.response_evidence = now, evidence or None
            if note:
                inc.note = (inc.note + "\n" if inc.note else "") + note
            self._save(inc, "response_recorded", actor, {
                "claimed": claimed.isoformat(), "counted": counted.isoformat(), "evidence": evidence,
                "capped": counted != claimed, "note": note, "response_seconds": response_seconds(inc.opened, counted),
                "within_deadline": inc.deadline is None or in_time(counted, inc.deadline)}, now, operator=True)
        return inc

    def resolve(self, incident_id: str, actor: str, note: str) -> Active:
        inc = self.get(incident_id)
        if inc.status not in ACTIVE:
            raise InvalidInput(f"incident {incident_id} is {inc.status}; it cannot be resolved again")
        if not note.strip():
            raise InvalidInput("resolving by hand needs a note saying what was done")
        with self._undone_on_failure(inc):
            self._resolve(inc, actor, note, self.clock())
        return inc

    def reassign(self, incident_id: str, actor: str, to: str, note: str = "", action: str = "reassigned") -> Active:
        """Give the incident to `to` (its owner from now: follow-ups go to them; they are told). Audited."""
        inc = self.get(incident_id)
        if inc.status not in ACTIVE:
            raise InvalidInput(f"incident {incident_id} is {inc.status}; only an active incident can be reassigned")
        with self._undone_on_failure(inc):
            before = inc.owner or person(inc.acknowledged_by or "") or None
            inc.owner = to
            self._save(inc, action, actor, {"from": before, "to": to, "note": note}, self.clock(), operator=True)
        return inc

    def take_over(self, incident_id: str, actor: str, note: str = "") -> Active:
        """`actor` takes the incident: acknowledged by them if still open (the response), and theirs from now."""
        if self.get(incident_id).status == "open":
            self.acknowledge(incident_id, actor, note or "taken over")
        return self.reassign(incident_id, actor, actor, note, action="taken_over")

    def add_note(self, incident_id: str, actor: str, note: str) -> Active:
        inc = self.get(incident_id)
        if not note.strip():
            raise InvalidInput("the note is empty")
        with self._undone_on_failure(inc):
            inc.note = (inc.note + "\n" if inc.note else "") + note
            self._save(inc, "note", actor, {"note": note}, self.clock(), operator=True)
        return inc

    def record(self, incident_id: str, action: str, detail: dict[str, Any], at: datetime,
               level: int | None = None) -> None:
        """A step of the response (escalation, delivery) on the incident's trail."""
        inc = self.by_id.get(incident_id)
        if inc is not None and level is not None and level > inc.level:
            inc.level = level
        if inc is not None:
            self._save(inc, action, SYSTEM, detail, at)
            return
        with self.store.session() as session:
            session.add(IncidentEvent(incident_id=incident_id, ts=at, actor=SYSTEM, action=action, detail=detail))
            session.commit()
