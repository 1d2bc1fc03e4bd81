"""Agents' report streams: which report is new, which is a replay, and which stream looks wrong.

Each agent numbers its reports on a *stream* (a random id kept in its spool) and stamps each with its
own clock (`ts`). A report the agent sends again (its answer was lost, or it sat in the spool) is the
same body: same stream, same `seq`, same `ts`. Per (agent, stream) we keep the highest sequence number
and the highest agent timestamp (in ms) accepted so far: `max_seq` and `max_ts_ms`.

The rule (also in docs/agent.md):

- a report is a **replay** (answered "duplicate", stored nothing) when `seq <= max_seq` **and**
  `ts <= max_ts_ms`. A real replay always is: its first copy was accepted, so both maxima are at least
  its own values.
- any other report is **new**, and raises both maxima (never lowers them):
  - `seq > max_seq`: the normal case, as before;
  - `seq <= max_seq` but `ts` newer than anything accepted: not a replay but a stream that went
    **back**: a second process took numbers ahead of the running one (an agent older than the spool
    lock, run with `--once` beside the service), a restored spool, a cloned host. Before this rule
    every such report was dropped as a duplicate until the stream passed its old maximum (up to 100
    reports, 50 minutes at 30 s), and nobody was told. Now the first live report is taken.
- a new report whose `seq` is more than JUMP_SLACK beyond what its time explains (one per `interval`
  since the last accepted) is a **jump**: it is accepted as before; it is only worth telling.

Both anomalies are counted (`opsmon_agent_stream_anomalies_total{kind}`) and logged at most once per
agent per LOG_EVERY, with how many were not logged. The rule never refuses a report the old rule took
(`seq > max_seq`), and answers "duplicate" only to reports the old rule also refused, so exactly-once
holds for replays. It relies on a resend being the same report: the agent resends the body it kept
(spool, transport retry) unchanged; a client that stamps a resend anew gets it stored again. While
two processes send on one stream, a report newer than all taken is taken (both are stored), and each
one below the highest number counts as `back`.

A stream stored before `max_ts_ms` existed (NULL) follows the old rule until its next accepted report.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from opsmon.collector.core.messages import StreamPosition

log = logging.getLogger(__name__)

Anomaly = Literal["jump", "back"]
ANOMALIES: tuple[Anomaly, ...] = ("jump", "back")
# The agent reserves sequence numbers on disk in blocks (agent/runner.py SEQ_BLOCK = 100): a restart
# continues after the reserved block, so it skips up to 100 numbers. Twice that is never a restart.
JUMP_SLACK = 200
LOG_EVERY = 3600.0  # seconds between two log lines about one agent's streams


@dataclass(slots=True)
class Position:
    """How far one stream has come: the highest sequence number and agent timestamp (ms) accepted."""

    max_seq: int
    max_ts_ms: int | None


@dataclass(slots=True)
class _Quiet:
    """When an agent's anomalies were last logged, and how many since then were not."""

    logged_at: float
    unlogged: int = 0


@dataclass(slots=True)
class StreamBook:
    """The positions of every agent stream, owned by the event loop (like Ingest, which asks it)."""

    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    anomalies: dict[Anomaly, int] = field(default_factory=lambda: dict.fromkeys(ANOMALIES, 0))
    _quiet: dict[str, _Quiet] = field(default_factory=dict)

    def load(self, rows: Iterable[tuple[str, str, int, int | None]]) -> None:
        """(agent, stream, max_seq, max_ts_ms) rows, as stored."""
        for agent, stream, seq, ts_ms in rows:
            self.positions[(agent, stream)] = Position(seq, ts_ms)

    def is_replay(self, agent: str, stream: str, seq: int, ts: float) -> bool:
        """True when this report is one already accepted (see the module's rule)."""
        pos = self.positions.get((agent, stream))
        if pos is None or seq > pos.max_seq:
            return False
        ts_ms = _ms(ts)
        return pos.max_ts_ms is None or ts_ms is None or ts_ms <= pos.max_ts_ms

    def advance(self, agent: str, stream: str, seq: int, ts: float, interval: float,
                now: datetime) -> StreamPosition:
        """Take a new report (is_replay said False, and Ingest accepted it): the position to store."""
        ts_ms = _ms(ts)
        pos = self.positions.get((agent, stream))
        if pos is None:
            pos = self.positions[(agent, stream)] = Position(seq, ts_ms)
        else:
            kind = _anomaly(pos, seq, ts_ms, interval)
            if kind is not None:
                self._tell(agent, stream, kind, seq, pos, now)
            pos.max_seq = max(pos.max_seq, seq)
            if ts_ms is not None and (pos.max_ts_ms is None or ts_ms > pos.max_ts_ms):
                pos.max_ts_ms = ts_ms
        return StreamPosition(agent, stream, pos.max_seq, now, pos.max_ts_ms)

    def _tell(self, agent: str, stream: str, kind: Anomaly, seq: int, pos: Position, now: datetime) -> None:
        self.anomalies[kind] += 1
        at = now.timestamp()
        quiet = self._quiet.get(agent)
        if quiet is not None and at - quiet.logged_at < LOG_EVERY:
            quiet.unlogged += 1
            return
        unlogged = quiet.unlogged if quiet is not None else 0
        self._quiet[agent] = _Quiet(at)
        message = ("agent stream went back: another process numbered it ahead (an agent without the spool lock "
                   "beside the service, a restored spool, a cloned host); taking its newer reports"
                   if kind == "back" else "agent stream jumped further than a restart or a full spool explains")
        log.warning(message, extra={"agent": agent, "stream": stream, "kind": kind, "seq": seq,
                                    "max_seq": pos.max_seq, "not_logged_since": unlogged})


def _anomaly(pos: Position, seq: int, ts_ms: int | None, interval: float) -> Anomaly | None:
    if seq <= pos.max_seq:
        return "back"  # not a replay (is_replay said so): newer than anything taken on this stream
    explained = 0.0
    if ts_ms is not None and pos.max_ts_ms is not None and ts_ms > pos.max_ts_ms:
        explained = (ts_ms - pos.max_ts_ms) / 1000.0 / interval  # reports made meanwhile (a spool that dropped some)
    return "jump" if seq - pos.max_seq > JUMP_SLACK + explained else None


def _ms(ts: float) -> int | None:
    """The agent's timestamp in whole ms: a replay carries the same float, so the same integer."""
    return round(ts * 1000) if math.isfinite(ts) else None
