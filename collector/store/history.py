"""Reading the timeline back: current states and an asset's history over a range.

Plain SQL on store/dbapi.py's Reader: the running collector (API, console) and a CLI read without SQLAlchemy
(`opsmon status`, `history show`: issue 25 item 2) run the same queries.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from opsmon.collector.core.states import GAP_REASON, STATES, UNKNOWN
from opsmon.collector.store.dbapi import Readable, in_list
from opsmon.collector.store.millis import from_ms, from_ms_or_none, to_ms

# The open interval of every asset (ux_intervals_one_open: at most one each).
OPEN_INTERVALS = "SELECT asset_id, state, start_ts, reason FROM state_intervals WHERE end_ts IS NULL"
HEARTBEAT = "SELECT ts FROM heartbeat WHERE id = 1"
# An asset's intervals overlapping [:start, :end), in time order.
HISTORY = ("SELECT state, start_ts, end_ts, reason FROM state_intervals WHERE asset_id = :asset AND start_ts < :end "
           "AND (end_ts IS NULL OR end_ts > :start) ORDER BY start_ts, id")
ASSET_EXISTS = "SELECT 1 FROM assets WHERE id = :asset"


@dataclass(frozen=True)
class Span:
    state: str
    start: datetime
    end: datetime | None  # None: still open
    reason: str


_When = TypeVar("_When", int, datetime)


def life_start(created: _When, joined: _When | None, first_interval: _When | None) -> _When:
    """When an asset's life began (the one rule: the SLA's opsmon.collector.sla.lives and the removal's
    checks read it): its known joining time, else its creation or its first interval if that is earlier
    (history imported after the inventory was loaded)."""
    if joined is not None:
        return joined
    return created if first_interval is None else min(created, first_interval)


def current_states(store: Readable, asset_ids: Collection[str] | None = None) -> dict[str, Span]:
    """The open interval of every asset (or of just `asset_ids`, 500 ids a query), as stored (the service's
    view lags by under a second)."""
    wanted = None if asset_ids is None else list(asset_ids)
    out: dict[str, Span] = {}
    with store.reader() as r:
        for i in range(0, 1 if wanted is None else len(wanted), 500):
            sql, params = OPEN_INTERVALS, dict[str, str]()
            if wanted is not None:
                ids, params = in_list("a", wanted[i:i + 500])
                sql += f" AND asset_id IN {ids}"
            for asset_id, state, start, reason in r.rows(sql, params):
                out[asset_id] = Span(state, from_ms(start), None, reason)
    return out


def last_heartbeat(store: Readable) -> datetime | None:
    with store.reader() as r:
        beat = r.rows(HEARTBEAT)
    return from_ms(beat[0][0]) if beat else None


def asset_history(store: Readable, asset_id: str, start: datetime, end: datetime,
                  now: datetime | None = None, live_until: datetime | None = None,
                  ) -> tuple[list[Span], dict[str, float]]:
    """Intervals overlapping [start, end), clipped to it, and seconds per state.

    The open interval counts up to `now` (never the future). When the collector
    is not running, pass its last heartbeat as `live_until`: the open interval
    then ends there and the rest is shown as unknown, as the next start will record it.
    """
    now = now or datetime.now(UTC)
    with store.reader() as r:
        rows = r.rows(HISTORY, {"asset": asset_id, "start": to_ms(start), "end": to_ms(end)})
    spans: list[Span] = []
    totals = {s: 0.0 for s in STATES}
    for state, start_ms, end_ms, reason in rows:
        began, ended = from_ms(start_ms), from_ms_or_none(end_ms)
        s = max(began, start)
        e_raw = ended if ended is not None else max(now, began)
        e = min(e_raw, end)
        if e < s:
            continue
        spans.append(Span(state, s, e if (ended is not None or e < e_raw) else None, reason))
        totals[state] += (e - s).total_seconds()
    if live_until is not None and spans and spans[-1].end is None and live_until < now:
        last = spans[-1]
        cut = max(last.start, min(live_until, end))
        totals[last.state] -= ((min(now, end)) - cut).total_seconds()
        spans[-1] = Span(last.state, last.start, cut, last.reason)
        if cut < min(now, end):
            spans.append(Span(UNKNOWN, cut, None, GAP_REASON))
            totals[UNKNOWN] += (min(now, end) - cut).total_seconds()
    return spans, totals


def asset_exists(store: Readable, asset_id: str) -> bool:
    """Whether the inventory holds it, removed or not."""
    with store.reader() as r:
        return bool(r.rows(ASSET_EXISTS, {"asset": asset_id}))
