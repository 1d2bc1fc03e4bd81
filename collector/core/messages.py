"""The typed messages that flow from the inputs through the timeline to the store and the incidents.

Every producer has one way out, `publish(message)`; the service's routing table
(`opsmon.collector.service.routes`) says who hears each type. The store writer
dispatches on the type, so a message's fields are read by name, never by position.

Frozen and slotted: a message is a fact about the past, shared by its consumers, and
thousands a second are made at full agent load.

Who produces what:

- inputs (checks, SNMP, agents' reports, the HJ 212 receiver): `Observation` (a check result, in
  `core.states`), `Backlog`, `HardwareSignal`, `Event` (and `EventRepeated`), `StreamPosition`, `Facts`,
  `BaselineResults`, `SecurityFinding`, `Hj212Data`, `Hj212Frame`, `FlowTop` (its rows: `FlowRow`, in
  `core.flow_rows`);
- the timeline: `ResultRecorded`, `IntervalOpened`, `IntervalClosed`,
  `IntervalRelabelled`, `IntervalsMerged`, `GapFilled`, `Recombined`, `Transition`;
- the service: `Heartbeat`, `Prune`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsmon.collector.core.flow_rows import FlowRow
from opsmon.collector.core.incidents import MAJOR
from opsmon.collector.core.states import Observation

__all__ = [
    "Backlog", "BaselineResults", "Event", "EventRepeated", "Facts", "FlowRow", "FlowTop", "GapFilled",
    "HardwareSignal", "Heartbeat", "IntervalClosed", "Hj212Data", "Hj212Frame", "Hj212Value", "IntervalOpened",
    "IntervalRelabelled", "IntervalsMerged", "Message", "Observation", "Prune", "Recombined", "ResultRecorded",
    "SecurityFinding", "StreamPosition", "Transition", "Written",
]


# -- from the timeline: state intervals tile time per asset -------------------------------------
@dataclass(frozen=True, slots=True)
class IntervalOpened:
    """A new open interval from `start` (the previous one was closed at the same instant)."""

    asset_id: str
    state: str
    start: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class IntervalClosed:
    """The asset's open interval ends at `end`."""

    asset_id: str
    end: datetime


@dataclass(frozen=True, slots=True)
class IntervalRelabelled:
    """The open interval gets another state and reason (a change dated at or before its start)."""

    asset_id: str
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class IntervalsMerged:
    """The open interval is dropped and the closed one [prev_start, prev_end) is open again."""

    asset_id: str
    prev_start: datetime
    prev_end: datetime


@dataclass(frozen=True, slots=True)
class GapFilled:
    """[start, end), inside the asset's closed `collector not running` interval(s), takes `state`: an agent's
    spool replayed reports stamped in that time (docs/timeline.md, rule 7). Only that unknown time changes;
    what the collector saw itself is never rewritten."""

    asset_id: str
    start: datetime
    end: datetime
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class Recombined:
    """[start, end) of a link's closed intervals takes `state` and `reason`: the site poller's results for that time
    (its replayed spool, late only in arriving) combined with what the centre saw there alone (docs/timeline.md,
    rule 9). Only a link measured from both ends is rewritten so, and only its up, down and degraded time."""

    asset_id: str
    start: datetime
    end: datetime
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class Transition:
    """An asset's effective state changed at `at` (when the fault began), seen at `detected`."""

    asset_id: str
    at: datetime
    detected: datetime
    old: str
    new: str
    reason: str


@dataclass(frozen=True, slots=True)
class ResultRecorded:
    """A check result as the timeline took it (its time never before the check's previous one), with who observed
    it ("" the collector, else a site poller's name)."""

    asset_id: str
    check_id: str
    ts: datetime
    status: str
    reason: str
    latency_ms: float | None
    observer: str = ""


# -- from the inputs, beside the timeline ------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HardwareSignal:
    """A component reports a hardware fault (agent or SNMP): a 1-hour incident, the host stays up.

    A polled fault repeats every poll and clears when it is no longer seen (`source` "opsmon", the incidents'
    own); a fault a trap reported (`source` "trap") is said once and stays until its recovery trap
    (`cleared`) says so.
    """

    asset_id: str
    component: str
    ts: datetime
    problem: str
    cleared: bool = False
    source: str = "opsmon"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened once (trap, file change, brute force, config change, ...): stored, listed."""

    asset_id: str | None
    ts: datetime
    source: str
    kind: str
    name: str
    severity: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventRepeated:
    """A stored event happened again: its row gets these details (a trap storm's count and last time).

    Why not a row per copy: a storm of one trap is one event with a count (issue 16). The row is the one
    with this source, kind, name and ts whose details hold this group id (`details["group"]`).
    """

    source: str
    kind: str
    name: str
    ts: datetime
    group: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SecurityFinding:
    """A security check turned failing (or passing again): opens or resolves a security incident.

    key: what the finding is about, unique per asset (`baseline:<check>`, `ssh_host_key:<host>`).
    """

    asset_id: str
    key: str
    failing: bool
    at: datetime
    cause: str
    severity: str = MAJOR


@dataclass(frozen=True, slots=True)
class Backlog:
    """The report just observed for (asset, check) came from its agent's spool with `remaining` more to
    follow (the agent says so after an outage): its silence is not judged while they drain."""

    asset_id: str
    check_id: str
    remaining: int
    at: datetime


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """How far an agent's spool stream has come (de-duplication after a restart): the highest accepted
    sequence number and agent timestamp in ms (inputs/agents/streams.py says why both)."""

    agent: str
    stream: str
    seq: int
    at: datetime
    max_ts_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What an agent reports about its host (OS, CPU, memory, ...), kept on the asset."""

    asset_id: str
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BaselineResults:
    """One baseline run of a host: the result rows to keep, and the status changes to append to history."""

    asset_id: str
    rows: tuple[dict[str, Any], ...]
    changed: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Hj212Value:
    """One factor's values in an HJ 212 upload, as the strings sent (`0.000` is not `0`: a value is evidence).

    The fields the standard names get their own (Rtd, Avg, Min, Max, Cou, ZsAvg, Flag); any other
    (ZsRtd, ZsMin, SampleTime, EFlag, RS, ...) is kept in `extra`.
    """

    factor: str
    rtd: str | None = None
    avg: str | None = None
    min: str | None = None
    max: str | None = None
    cou: str | None = None
    zs_avg: str | None = None
    flag: str | None = None
    extra: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hj212Data:
    """A DAU's data for one point at one DataTime (a whole message: split parts already joined).

    Stored once by (mn, cn, data_time, point, factor): a resent hour changes nothing (the first copy stays).
    `crc` is `ok`, or `modbus_le` when the unit's policy accepted the Modbus dialect (the data are marked).
    """

    asset_id: str
    mn: str
    point: str
    cn: str
    data_time: datetime  # UTC (the unit's local DataTime read in hj212.timezone)
    received: datetime
    crc: str
    values: tuple[Hj212Value, ...]


@dataclass(frozen=True, slots=True)
class Hj212Frame:
    """An accepted HJ 212 frame as received (`##` to CRC), kept for audit for hj212.raw_retention."""

    asset_id: str
    mn: str
    cn: str
    qn: str | None
    received: datetime
    peer: str
    crc: str
    oversize: bool
    raw: bytes


@dataclass(frozen=True, slots=True)
class FlowTop:
    """A link's closed flow interval (inputs/flows/): its top keys by bytes and the `other` row, no flow itself."""

    link: str
    start: datetime
    end: datetime
    rows: tuple[FlowRow, ...]


# -- from the service --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The collector is alive: written with every batch, and on its own when nothing else is."""


@dataclass(frozen=True, slots=True)
class Prune:
    """Delete observations, events, raw HJ 212 frames and flow intervals older than these instants (None: keep)."""

    observations_before: datetime | None
    events_before: datetime | None
    hj212_frames_before: datetime | None = None
    flow_top_before: datetime | None = None


# What the store writer takes.
Written = (IntervalOpened | IntervalClosed | IntervalRelabelled | IntervalsMerged | GapFilled | Recombined | Transition
           | ResultRecorded | HardwareSignal | Event | EventRepeated | StreamPosition | Facts | BaselineResults
           | Heartbeat | Prune | Hj212Data | Hj212Frame | FlowTop)
# Everything that is published.
Message = Written | Observation | SecurityFinding | Backlog
