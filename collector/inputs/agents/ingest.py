"""Agent reports in: validate, de-duplicate, correct the clock, feed the timeline.

- Schema and size are checked before anything is stored; a bad report is a 4xx.
- De-duplication: per agent spool stream the highest accepted sequence number and
  agent timestamp are kept; a report at or below both is a replay, answered
  "duplicate" and stored once. A report at or below the sequence but newer is a
  stream that went back (another process numbered it ahead): taken, counted and
  logged. The rule and why: streams.py (StreamBook).
- Clock: the agent stamps each send with its clock (X-Opsmon-Sent-At). The
  difference to ours is its offset; every report's timestamp is corrected by it,
  so an agent 1 h fast reports at the right time, and a replayed report keeps
  its own (corrected) time. Without the header, a timestamp more than
  MAX_FUTURE ahead of us is refused.
- A report means the host is up at its time (the pseudo-check "agent"); silence
  for 3 intervals makes that check down ("agent not reporting"). An agent replaying
  its spool says how many reports follow (X-Opsmon-Backlog): its silence is not
  judged while they drain, so a collector's restart opens no false incidents.
- A site poller's report also carries the results of the checks it runs (`observations`, docs/poller.md):
  each is published with the poller as its observer and its time corrected by the report's offset; a
  result for a check the poller did not own at the result's time (the inventory changed since it fetched
  its share; another poller of its site had the asset then: poller/group.py) is dropped and counted, and logged
  at most a line a minute per poller (a 3-day replay refuses results in thousands of reports). They ride the
  report's stream, so a replayed one is stored once with it. The hardware faults its SNMP polls found
  (`polled_hardware`: device, poll check, component, problem, time) and its SSH checks' host key events and
  findings (`polled_events`) are judged the same way, by the owner of the check at their time, and published as
  the collector's own hubs publish them (HardwareSignal; Event of kind security, SecurityFinding).
- A site poller's report may carry the SNMP traps it received (`traps`): handed to `on_traps`
  (inputs/poller/trap_ingest.py) with the report's offset, in the report's commit.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.messages import Backlog, Event, Facts, HardwareSignal, Message, SecurityFinding
from opsmon.collector.core.states import UP, Observation
from opsmon.collector.inputs.agents.streams import StreamBook
from opsmon.collector.inputs.poller.share import MAX_EXTRAS, MAX_OBSERVATIONS, PolledEvent, PolledFault, PolledResult
from opsmon.collector.inputs.poller.trap_wire import MAX_TRAPS, ForwardedTrap
from opsmon.collector.inputs.security import SecurityIn
from opsmon.collector.inputs.snmp.trap_refusals import Refusals
from opsmon.collector.store import Store
from opsmon.collector.store.models import AgentStream

log = logging.getLogger(__name__)

MAX_BYTES = 1 << 20
MAX_FUTURE = 300.0
MAX_SEQ = 2 ** 63 - 1  # the store's 64-bit sequence column
MAX_BACKLOG = 10 ** 9  # reports an agent may say are still in its spool
MAX_TS = 253402300799.0  # 9999-12-31T23:59:59Z: the last second datetime (and the store) can hold
CHECK_ID = "agent"
NOT_COUNTED = ("站点轮询器结果未计入（每个轮询器每分钟至多一行）/ site poller results not counted (a line a minute per "
               "poller at most): not_owner, not its check at their time; future, dated in the future")


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


class AgentReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_: Literal[1] = Field(alias="schema")
    stream: str = Field(pattern=r"^[0-9a-f]{8,64}$")
    seq: int = Field(ge=1, le=MAX_SEQ)
    ts: float
    interval: float = Field(gt=0, le=86400)
    metrics: dict[str, Any]
    hardware: list[dict[str, str]] = Field(default_factory=list, max_length=1000)
    facts: dict[str, Any] | None = None
    agent: dict[str, Any] = Field(default_factory=dict)
    security: SecurityIn | None = None
    observations: list[PolledResult] | None = Field(None, max_length=MAX_OBSERVATIONS)
    polled_hardware: list[PolledFault] | None = Field(None, max_length=MAX_EXTRAS["polled_hardware"])
    polled_events: list[PolledEvent] | None = Field(None, max_length=MAX_EXTRAS["polled_events"])
    traps: list[ForwardedTrap] | None = Field(None, max_length=MAX_TRAPS)


@dataclass(slots=True)
class AgentState:
    """What the collector keeps per agent between reports.

    The latest report's metrics are kept as the JSON text they arrived in, not as parsed
    objects: 10,000 agents' parsed metrics are millions of small long-lived dicts and lists,
    and every full GC pass walked them all (155-360 ms stalls of every thread). A bytes
    object is one untracked allocation; /metrics parses it again at scrape time, off the loop.
    """

    report_json: bytes = b"{}"  # the latest report (or a {"metrics": ...} document) as JSON
    last_ts: datetime | None = None
    arrived: datetime | None = None  # when its latest report arrived (ours): a site poller is online while they do
    offset: float = 0.0
    warned_offset: bool = False

    @property
    def metrics(self) -> dict[str, Any]:
        """The latest report's metrics, parsed on each call (for /metrics; not on the ingest path)."""
        return json.loads(self.report_json).get("metrics", {})


class Ingest:
    """Owned by the event loop (like the timeline); the writer thread persists what it emits."""

    def __init__(self, store: Store, publish: Callable[[Message], None], clock: Callable[[], datetime],
                 ensure_tracked: Callable[[str], None] | None = None, on_security: Any = None,
                 atomic: Callable[[], AbstractContextManager[Any]] = nullcontext,
                 owner_of: Callable[[str, str, datetime], str | None] = lambda asset_id, check_id, at: None) -> None:
        """atomic: what keeps one report's messages in one store commit (StoreWriter.atomic).
        owner_of: the site poller that ran a check (asset, check) at a time, None when the collector did."""
        self.publish = publish
        self.atomic = atomic
        self.on_security = on_security
        self.ensure_tracked = ensure_tracked or (lambda asset_id: None)
        self.clock = clock
        self.agents: dict[str, AgentState] = {}
        self.streams = StreamBook()
        with store.session() as session:
            self.streams.load(session.execute(select(AgentStream.agent, AgentStream.stream, AgentStream.max_seq,
                                                     AgentStream.max_ts_ms)))
        self.owner_of = owner_of
        # a site poller's forwarded traps (poller, traps, offset, now): inputs/poller/trap_ingest.py
        self.on_traps: Callable[[str, list[ForwardedTrap], float, datetime], None] | None = None
        # a site poller's results and hardware faults the centre took from one report, before its traps: what its
        # SNMP polls saw, which a recovery trap asks (inputs/snmp/device_faults.py)
        self.on_polled: Callable[[list[Message]], None] | None = None
        self.accepted = 0
        self.duplicates = 0
        self.render_errors = 0
        self.polled = 0  # site pollers' results taken
        self.polled_refused = 0  # ... and dropped: not a check the sending poller owns, or dated in the future
        # per poller (enrolled, authenticated: bounded), their counts since the start, and its log line a minute
        self.polled_by: dict[str, list[int]] = {}
        self.refusals = Refusals(0, lambda poller: True, clock=lambda: self.clock().timestamp(), line=NOT_COUNTED)

    def parse(self, body: bytes) -> AgentReport:
        if len(body) > MAX_BYTES:
            raise InvalidInput(f"report larger than {MAX_BYTES} bytes")
        try:
            # NaN and Infinity are not JSON; they would also be refused by PostgreSQL's JSON type later.
            data = json.loads(body, parse_constant=_no_constants)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"not a JSON report: {str(exc)[:100]}") from None
        except RecursionError:
            raise InvalidInput("not a JSON report: nested too deep") from None
        try:
            return AgentReport.model_validate(data)
        except ValidationError as exc:
            e = exc.errors()[0]
            where = ".".join(str(p) for p in e["loc"]) or "(report)"
            raise InvalidInput(f"{where}: {e['msg']}") from None

    def accept(self, agent: str, asset_id: str, report: AgentReport, sent_at: str | None,
               body: bytes | None = None, backlog: str | None = None) -> str:
        """Returns 'accepted' or 'duplicate'; raises InvalidInput for an unusable timestamp or backlog.

        body: the JSON the report was parsed from; kept as the agent's latest metrics (see AgentState).
        backlog: X-Opsmon-Backlog, how many spooled reports follow this one (none: a live report).
        """
        remaining = 0
        if backlog is not None:
            if not backlog.isdigit() or int(backlog) > MAX_BACKLOG:
                raise InvalidInput(f"X-Opsmon-Backlog must be a count of reports, 0 to {MAX_BACKLOG}")
            remaining = int(backlog)
        state = self.agents.setdefault(agent, AgentState())
        now = self.clock()
        state.arrived = now  # a replay too: its sender is alive
        if self.streams.is_replay(agent, report.stream, report.seq, report.ts):
            self.duplicates += 1
            return "duplicate"
        offset = 0.0
        if sent_at is not None:
            try:
                agent_now = float(sent_at)
            except ValueError:
                raise InvalidInput("X-Opsmon-Sent-At must be Unix seconds") from None
            if not math.isfinite(agent_now) or not 0 <= agent_now <= MAX_TS:
                raise InvalidInput("X-Opsmon-Sent-At must be Unix seconds")
            offset = now.timestamp() - agent_now
            state.offset = offset
            if abs(offset) > 60 and not state.warned_offset:
                log.warning("agent clock is off; correcting its timestamps",
                            extra={"agent": agent, "offset_seconds": round(offset, 1)})
                state.warned_offset = True
        if not math.isfinite(report.ts):
            raise InvalidInput("ts must be Unix seconds")
        corrected = report.ts + offset
        if not 0 <= corrected <= MAX_TS:
            raise InvalidInput("ts must be Unix seconds between 1970 and 9999")
        if corrected > now.timestamp() + MAX_FUTURE:
            raise InvalidInput(f"ts is {corrected - now.timestamp():.0f}s in the future; is the agent's clock set?")
        ts = datetime.fromtimestamp(corrected, UTC)
        if report.security is not None and not all(
                math.isfinite(t) and 0 <= t + offset <= MAX_TS for t in report.security.times()):
            raise InvalidInput("security: ran_at and every ts must be Unix seconds between 1970 and 9999 "
                               "(after the agent's clock offset)")
        position = self.streams.advance(agent, report.stream, report.seq, report.ts, report.interval, now)
        with self.atomic():  # one report, one commit: see StoreWriter.atomic
            self._publish_report(agent, asset_id, report, body, state, ts, offset)
            self.publish(Observation(asset_id, CHECK_ID, ts, UP, ""))
            if remaining:
                self.publish(Backlog(asset_id, CHECK_ID, remaining, now))
            if report.observations or report.polled_hardware or report.polled_events:
                self._publish_polled(agent, report.observations or [], offset, remaining, now,
                                     [*(report.polled_hardware or ()), *(report.polled_events or ())])
            if report.traps and self.on_traps is not None:
                self.on_traps(agent, report.traps, offset, now)
            # last: should a commit ever hold this report's data without its position, a resend is stored again
            # rather than taken for a replay and lost
            self.publish(position)
        self.accepted += 1
        return "accepted"

    def _publish_polled(self, poller: str, results: list[PolledResult], offset: float, remaining: int,
                        now: datetime, found: list[PolledFault | PolledEvent] | None = None) -> None:
        """A site poller's results, observed by it; held from silence like its own check while a backlog drains.
        What its SNMP polls and SSH checks found (hardware faults, host key events and findings) counts only when
        their result would (the check's owner at their time)."""
        limit = now.timestamp() + MAX_FUTURE
        held: set[tuple[str, str]] = set()
        refused = {"not_owner": 0, "future": 0}  # one refuse() each: a line at once holds the first only
        taken: list[Message] = []  # for on_polled

        def owned(r: PolledResult | PolledFault | PolledEvent) -> datetime | None:
            corrected = r.ts + offset
            fits = math.isfinite(corrected) and 0 <= corrected <= limit
            at = datetime.fromtimestamp(corrected, UTC) if fits else None
            if at is None or self.owner_of(r.asset, r.check, at) != poller:
                refused["future" if at is None else "not_owner"] += 1
                return None
            return at

        for r in results:
            at = owned(r)
            if at is None:
                continue
            taken.append(Observation(r.asset, r.check, at, r.status, r.reason, r.latency_ms, poller))
            self.publish(taken[-1])
            self.polled += 1
            held.add((r.asset, r.check))
        for f in found or ():
            at = owned(f)
            if at is None:
                continue
            if isinstance(f, PolledFault):
                taken.append(HardwareSignal(f.asset, f.component, at, f.problem))
                self.publish(taken[-1])
            elif f.key is not None:
                self.publish(SecurityFinding(f.asset, f.key, f.failing, at, f.summary, f.severity))
            else:
                self.publish(Event(f.asset, at, "ssh", "security", f.name, f.severity, f.summary,
                                   {**f.details, "observer": poller}))
        if taken and self.on_polled is not None:
            self.on_polled(taken)
        counts = self.polled_by.setdefault(poller, [0, 0])
        counts[0] += len(results) + len(found or ()) - sum(refused.values())
        for why, n in refused.items():
            if n:  # a poller's results of a time another poller (or the centre) had the check: a line a minute
                self.polled_refused += n
                counts[1] += n
                self.refusals.refuse(why, poller, f"since start: {counts[0]} counted, {counts[1]} not", n)
        if remaining:  # after each check's last result: a result ends its hold (Timeline.observe)
            for asset_id, check_id in sorted(held):
                self.publish(Backlog(asset_id, check_id, remaining, now))

    def _publish_report(self, agent: str, asset_id: str, report: AgentReport, body: bytes | None,
                        state: AgentState, ts: datetime, offset: float) -> None:
        if report.facts is not None:
            self.publish(Facts(asset_id, report.facts))
        for fault in report.hardware:
            self.publish(HardwareSignal(asset_id, str(fault.get("component", "?"))[:100], ts,
                                        str(fault.get("problem", ""))[:500]))
        if report.security is not None and self.on_security is not None:
            try:
                self.on_security(asset_id, report.security, offset, ts)
            except Exception:
                log.exception("security part of a report could not be handled", extra={"agent": agent})
        if state.last_ts is None or ts >= state.last_ts:
            state.report_json = body if body is not None else json.dumps({"metrics": report.metrics}).encode()
            state.last_ts = ts
        self.ensure_tracked(asset_id)
