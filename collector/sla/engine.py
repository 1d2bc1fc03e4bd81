"""Evaluate the target table for a period: one pass over the intervals, then pure arithmetic.

The intervals are summed per asset and state in SQL (integer milliseconds,
clipped to the period), one row an asset, so a quarter of a million-interval estate costs one
aggregate pass, not a million Python objects; the pass runs in two halves of the asset ids on
connections of their own while this one reads the rest (_Aside; docs/sla.md, "How fast").

measure() returns typed results (opsmon.collector.sla.results), read by the CLI, the report and
/metrics; evaluate() is their JSON document.
"""
from __future__ import annotations

import gc
import heapq
import json
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter, truediv
from typing import TYPE_CHECKING, Any, NamedTuple

from opsmon.collector.core.deadlines import response_seconds
from opsmon.collector.core.incidents import CRITICAL, HARDWARE, MAJOR, NOT_FAULTS
from opsmon.collector.core.states import DEGRADED, DOWN, MAINTENANCE, STATES, UP
from opsmon.collector.core.workdays import WorkCalendar
from opsmon.collector.sla.availability import AssetTime, Figures, asset_figures, budget_left, fleet
from opsmon.collector.sla.hj212_rates import Counts, Group, RateRules, Series, groups
from opsmon.collector.sla.hj212_read import read_counts, rules_of
from opsmon.collector.sla.lives import Life, lived_in
from opsmon.collector.sla.periods import Period
from opsmon.collector.sla.responses import IncidentTimes, Judged, judge, longest_response, response_rate
from opsmon.collector.sla.results import (
    AssetFigure,
    AvailabilityDetail,
    CountDetail,
    HealedIncident,
    Hj212Detail,
    ManualDetail,
    PeriodResult,
    ResponseDetail,
    SlowIncident,
    TargetResult,
    WorstAsset,
    WorstPoint,
)
from opsmon.collector.sla.service_hours import Inside, ServiceHours, merge
from opsmon.collector.sla.survey import read_surveys, survey_result
from opsmon.collector.sla.targets import Target, TargetTable, judged_threshold
from opsmon.collector.sla.verdicts import measured_period, result, verdict
from opsmon.collector.store.dbapi import Reader, in_list
from opsmon.collector.store.exclusions import in_force
from opsmon.collector.store.history import HEARTBEAT
from opsmon.collector.store.millis import from_ms, from_ms_or_none, to_ms

if TYPE_CHECKING:
    from opsmon.collector.store.dbapi import Readable

# The engine reads the store through store/dbapi.py's Reader only (SQL strings, integer milliseconds as stored),
# so `opsmon sla` runs it on the plain driver without SQLAlchemy, and the running collector runs the very same
# strings on its pooled connections (Store.reader(), Store.own_reader()): one text per query (issue 25 item 2).
STALE_HEARTBEAT = 60.0  # seconds: an older heartbeat means no collector is running
_NOT_FAULTS = ", ".join(f"'{s}'" for s in NOT_FAULTS)
COUNTED_WHERE = (f"incidents.status NOT IN ({_NOT_FAULTS})"  # merged into a parent's, or withdrawn: no fault
                 # Covered by a maintenance window (declared work: nobody was paged, its clock stopped), unless
                 # it breached.
                 " AND (incidents.maintenance_window IS NULL OR incidents.breached_ts IS NOT NULL)")
"""Which stored incidents the response figures judge (the report lists the same ones: text(COUNTED_WHERE))."""
# The incidents opened in [:ps, :pe) that the response figures judge, oldest first.
_INCIDENTS = f"""
SELECT incidents.id, incidents.asset_id, incidents.kind, incidents.opened_ts, incidents.acknowledged_ts,
       incidents.resolved_ts, incidents.response_recorded_ts
FROM incidents WHERE incidents.opened_ts >= :ps AND incidents.opened_ts < :pe AND {COUNTED_WHERE}
ORDER BY incidents.opened_ts, incidents.id
"""
# The open hardware faults of major or critical severity that overlap [:ps, :asof).
_HARDWARE_FAULTS = f"""
SELECT incidents.asset_id, incidents.fault_ts, incidents.opened_ts, incidents.resolved_ts FROM incidents
WHERE incidents.kind = :hardware AND incidents.severity IN (:major, :critical)
  AND incidents.status NOT IN ({_NOT_FAULTS}) AND incidents.opened_ts < :asof
  AND (incidents.resolved_ts IS NULL OR incidents.resolved_ts > :ps)
"""
# The assets once, for their scope and their lives: id, category, site, tags as their JSON text (decoded once per
# distinct value), then lives.py's LIFE_COLUMNS (created, removed, joined). No ORDER BY: the assets' own order.
_ASSETS = ("SELECT assets.id, assets.category, assets.site, CAST(assets.tags AS TEXT), assets.created_at, "
           "assets.removed_at, assets.joined_at FROM assets")
# A count target's events in [:s, :e) and a manual target's values covering [:s, :e).
_EVENTS = ("SELECT target_values.value FROM target_values WHERE target_values.target_id = :target "
           "AND target_values.kind = 'event' AND target_values.ts >= :s AND target_values.ts < :e")
_VALUES = ("SELECT target_values.value, target_values.entered_by, target_values.entered_at, "
           "target_values.period_start, target_values.period_end, target_values.note, target_values.evidence, "
           "target_values.evidence_sha256 FROM target_values WHERE target_values.target_id = :target "
           "AND target_values.kind = 'value' AND target_values.period_start <= :s AND target_values.period_end >= :e")
# An asset's intervals overlapping [:lo, :hi), for the time of a restored asset's absence.
_ASSET_INTERVALS = """
SELECT state_intervals.state, state_intervals.start_ts, state_intervals.end_ts FROM state_intervals
WHERE state_intervals.asset_id = :asset AND state_intervals.start_ts < :hi
  AND (state_intervals.end_ts IS NULL OR state_intervals.end_ts > :lo)
"""
# An asset's up and degraded intervals overlapping [lo, hi) ms, for its hardware faults (_load_faults): one
# statement an asset with a fault, so it is plain SQL on the driver (store/dbapi.py), not an ORM statement built
# and compiled each time (0.2 s of `opsmon sla`'s CPU when 350 assets had one). No ORDER BY: the rows come in
# the order the same statement gave them through the ORM.
_FAULT_INTERVALS = """
SELECT state_intervals.state, state_intervals.start_ts, state_intervals.end_ts FROM state_intervals
WHERE state_intervals.asset_id = :asset AND state_intervals.state IN (:up, :degraded)
  AND state_intervals.start_ts < :hi AND (state_intervals.end_ts IS NULL OR state_intervals.end_ts > :lo)
"""

# One pass over the intervals: seconds per asset and state, clipped to [ps, asof) (an open interval to
# open_until): MIN(COALESCE(end_ts, :open_until), :asof) - MAX(start_ts, :ps), written as CASE because SQLite
# calls a function for each MIN and MAX of every row (CASE is inline: 10 % of the pass at 5 M intervals).
# Every caller passes open_until <= asof (the last heartbeat, or asof itself), so `start_ts < :asof AND
# start_ts < :open_until` is `start_ts < :open_until`, and an open interval ends at open_until: one comparison
# a row fewer than spelling both out, the same rows and sums (one half at 5 M alone on SQLite: 0.80-0.85 s of
# CPU against 0.86-1.08 s; inside the noise of the whole bench on this shared machine, docs/sla.md "How fast").
_SUM = """
SELECT asset_id, state,
       CAST(SUM(CASE WHEN end_ts IS NULL THEN :open_until WHEN end_ts < :asof THEN end_ts ELSE :asof END
                - CASE WHEN start_ts > :ps THEN start_ts ELSE :ps END) AS BIGINT) AS ms
FROM state_intervals
WHERE start_ts < :open_until AND (end_ts IS NULL OR end_ts > :ps){where}
GROUP BY asset_id, state
"""
# The same, clipped to each asset's life as well (joined_at .. removed_at: opsmon.collector.sla.lives), for
# the few assets whose life begins or ends inside the period: joining the assets table in the pass over
# every interval doubled its time (bench/sla_bench.py, 1 M intervals), so the clip reads only their rows.
# Restored assets' absences are taken out after (_absent_seconds). This is PostgreSQL's text, the one it always
# was: its plan, and so the order its groups come in, stay as they were.
_SUM_LIVES = """
SELECT asset_id, state, CAST(SUM(hi - lo) AS BIGINT) AS ms FROM (
  SELECT i.asset_id AS asset_id, i.state AS state,
         LEAST(COALESCE(i.end_ts, :open_until), :asof, COALESCE(a.removed_at, :asof)) AS hi,
         GREATEST(i.start_ts, :ps, COALESCE(a.joined_at, :ps)) AS lo
  FROM state_intervals i JOIN assets a ON a.id = i.asset_id
  WHERE i.asset_id IN {ids}
    AND i.start_ts < :asof AND i.start_ts < :open_until AND (i.end_ts IS NULL OR i.end_ts > :ps)
) clipped
WHERE hi > lo
GROUP BY asset_id, state
"""
# SQLite's: the same rows, sums and order, for a third less CPU (0.16-0.17 s -> 0.11-0.12 s for the 2,440 cut
# assets at 50k, docs/sla.md "How fast"). `assets CROSS JOIN state_intervals` (SQLite's way to fix the join order)
# makes each asset the outer loop, read once, then its intervals from ix_intervals_sla_cover: joined the other way,
# its planner looked the asset's row up (index, then table) again for every interval. The outer loop goes through
# the ids in order and the index gives each asset's intervals by state, so GROUP BY a.id, state needs no sort:
# the groups come in (asset, state) order as before. The clip is written as CASE (inline, where a 3-argument MIN or
# MAX is a function call a row), the same values as min(end or open_until, asof, removed) and max(start, ps,
# joined), given open_until <= asof (every caller's, as _SUM relies on): a NULL removed_at or joined_at fails every
# comparison, so it never wins, as COALESCE(.., :asof or :ps) made sure. The unary plus on start_ts keeps the
# planner off ix_intervals_asset_start (asset_id, start_ts), which holds neither state nor end_ts (session 11).
_SUM_LIVES_SQLITE = """
SELECT asset_id, state, CAST(SUM(hi - lo) AS BIGINT) AS ms FROM (
  SELECT a.id AS asset_id, i.state AS state,
         CASE WHEN i.end_ts IS NULL THEN (CASE WHEN a.removed_at < :open_until THEN a.removed_at ELSE :open_until END)
              WHEN a.removed_at < i.end_ts AND a.removed_at < :asof THEN a.removed_at
              WHEN i.end_ts < :asof THEN i.end_ts ELSE :asof END AS hi,
         CASE WHEN a.joined_at > i.start_ts AND a.joined_at > :ps THEN a.joined_at
              WHEN i.start_ts > :ps THEN i.start_ts ELSE :ps END AS lo
  FROM assets a CROSS JOIN state_intervals i ON i.asset_id = a.id
  WHERE a.id IN {ids}
    AND +i.start_ts < :asof AND +i.start_ts < :open_until AND (i.end_ts IS NULL OR i.end_ts > :ps)
) clipped
WHERE hi > lo
GROUP BY asset_id, state
"""


# The asset id in the middle of the estate (the database's own order): where the pass is split in two.
_MIDDLE = "SELECT id FROM assets ORDER BY id LIMIT 1 OFFSET (SELECT COUNT(*) FROM assets) / 2"

_BY_NAME = tuple(sorted(STATES))
"""The vocabulary of states in the order _SUM's rows of one asset come in (its GROUP BY reads the covering index
in order): each asset's seconds per state are kept in this order, so their float sums are the same as before."""
_THOUSANDS = (1000,) * len(_BY_NAME)
"""Each state's milliseconds over this: its seconds (truediv of the integer milliseconds, as `int(ms) / 1000`)."""


def _pivoted(inner: str) -> str:
    """`inner` (_SUM's rows: asset, state, ms) side by side, one row an asset: its milliseconds per state of
    _BY_NAME (NULL: no interval in that state), then how many states outside the vocabulary it has. 50k rows
    reach Python instead of 300k, for the same sums: the outer GROUP BY only lays out what the inner summed."""
    states = ", ".join(f"'{s}'" for s in _BY_NAME)
    return ("SELECT asset_id" + "".join(f", MAX(CASE WHEN state = '{s}' THEN ms END)" for s in _BY_NAME)
            + f", COUNT(CASE WHEN state NOT IN ({states}) THEN 1 END) FROM ({inner}) s GROUP BY asset_id")


class _Aside:
    """Statements of one measurement read on connections of their own, each on a thread, while the
    measurement's own connection reads the rest: SQLite's calls release the GIL, so its passes over the
    intervals run on other cores; PostgreSQL's run in its server (a backend each) while this process does its
    Python.

    Each thread opens one connection at its first statement and keeps it until close(), however many statements
    it reads (the two halves, one per 500 assets whose life is cut): on the plain driver every connection is a
    new one (on PostgreSQL a new backend and login), not one a statement.

    On PostgreSQL every statement reads the snapshot of the measurement's own transaction (`snapshot`, exported
    by it): each connection's one transaction imports it before its first statement, so every statement of the
    measurement sees the same data as one connection reading it all. SQLite reads each statement whole from one
    snapshot, as it did on one connection (no transaction spans its SELECTs there). An in-memory SQLite database
    is seen by one connection only: there each statement is read at once, on `conn`."""

    def __init__(self, store: Readable, reader: Reader, snapshot: str | None) -> None:
        if snapshot is not None and not re.fullmatch(r"[0-9A-F-]+", snapshot):
            raise ValueError(f"unexpected snapshot id {snapshot!r}")
        self._store, self._reader, self._snapshot = store, reader, snapshot
        self._pool = (ThreadPoolExecutor(max_workers=3, thread_name_prefix="opsmon-sla-sums")
                      if store.shared else None)
        self._parts: list[Future[list[Any]]] = []
        self._mine = threading.local()  # this thread's Reader, once it has one
        self._held: list[ExitStack] = []  # every thread's connection, closed by close()
        self._held_lock = threading.Lock()

    def submit(self, sql: str, params: dict[str, Any]) -> Future[list[Any]]:
        """Start reading `sql` (named :parameters); its rows, when they are read."""
        if self._pool is None:
            f: Future[list[Any]] = Future()
            f.set_result(self._reader.rows(sql, params))
        else:
            f = self._pool.submit(self._read, sql, params)
        self._parts.append(f)
        return f

    def _read(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return self._connection().rows(sql, params)

    def _connection(self) -> Reader:
        """This thread's connection of its own, opened at its first statement (at the driver's level, no
        statement to compile: a pooled connection of the full store, or one of the plain driver's own,
        store/dbapi.py); on PostgreSQL in a transaction of the measurement's snapshot, kept until close()."""
        reader: Reader | None = getattr(self._mine, "reader", None)
        if reader is not None:
            return reader
        held = ExitStack()
        with self._held_lock:
            self._held.append(held)
        reader = held.enter_context(self._store.own_reader())
        if self._store.dialect != "sqlite":
            if self._snapshot is not None:
                reader.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                reader.run(f"SET TRANSACTION SNAPSHOT '{self._snapshot}'")
            reader.run("SET LOCAL jit = off")
            # The two halves are the parallelism: a parallel plan of each (partial aggregates gathered and
            # merged) cost 1.4-2.2 s of the server's CPU at 5 M intervals against 1.1-1.4 s without.
            reader.run("SET LOCAL max_parallel_workers_per_gather = 0")
        self._mine.reader = reader
        return reader

    def close(self) -> None:
        """Wait for every statement (none outlives its measurement, even one that failed), then close the
        threads' connections (rolled back on leaving)."""
        for f in self._parts:
            f.cancel()
        wait(self._parts)
        if self._pool is not None:
            self._pool.shutdown()
        with ExitStack() as every:
            for held in self._held:
                every.enter_context(held)


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a measurement makes its objects (a few per asset: 50k assets
    are some 10^6 objects, none in a cycle, freed by their reference counts). Left on, it ran its full
    collection 7 or 8 times a measurement, each going over every object made so far: a third of the Python
    time at 50k assets. Threads measuring at once share one pause; the collector is on again (if it was) once
    the last of them is done."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


class AssetInfo(NamedTuple):
    """What scopes an asset (a named tuple: one is made per asset, 50k at a province's scale)."""

    id: str
    category: str
    site: str | None
    tags: tuple[str, ...]
    live_end: datetime | None  # removed_at


_life_columns = itemgetter(0, 4, 5, 6)
"""lives.py's LIFE_COLUMNS of a row of the assets as _load reads them (id, category, site, tags, created, removed,
joined)."""
_tags_column = itemgetter(3)
_second = itemgetter(1)
_info = tuple.__new__
"""An AssetInfo from its five fields without the named tuple's own __new__ (a Python call; 50k assets)."""


def _absent_seconds(reader: Reader, lives: dict[str, Life], lo: int, hi: int) -> dict[tuple[str, str], int]:
    """Milliseconds per asset and state of the intervals inside [lo, hi) that fall in a restored asset's
    absence: _SUM counted them, the life does not. Absences are rare, so this reads only their intervals."""
    out: dict[tuple[str, str], int] = {}
    for life in lives.values():
        for s, e in life.absent(lo, hi):
            for state, start, stop in reader.rows(_ASSET_INTERVALS, {"asset": life.asset_id, "hi": e, "lo": s}):
                end = stop if stop is not None else hi
                ms = min(end, e) - max(start, s)
                if ms > 0:
                    out[(life.asset_id, state)] = out.get((life.asset_id, state), 0) + ms
    return out


def _minus(spans: list[tuple[int, int]], cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` (disjoint) less every span of `cuts`."""
    out = spans
    for cs, ce in cuts:
        nxt: list[tuple[int, int]] = []
        for s, e in out:
            if ce <= s or cs >= e:
                nxt.append((s, e))
                continue
            if s < cs:
                nxt.append((s, cs))
            if ce < e:
                nxt.append((ce, e))
        out = nxt
    return out


def in_scope(target: Target, a: AssetInfo) -> bool:
    s = target.scope
    return ((not s.categories or a.category in s.categories) and (not s.sites or a.site in s.sites)
            and (not s.tags or bool(set(s.tags) & set(a.tags))) and (not s.assets or a.id in s.assets))


class Evaluation:
    """Everything read from the store for one period, then evaluated target by target."""

    def __init__(self, store: Readable, period: Period, now: datetime | None = None, scope: Target | None = None
                 ) -> None:
        """`scope`: read only the assets in that availability target's scope (the console's click-through behind
        one figure, docs/sla.md "The period cache"): their figures are the same as in a whole measurement, but
        the Evaluation then answers for that target alone."""
        self.period = period
        self.scope = scope
        self.now = now or datetime.now(UTC)
        self.as_of = min(self.now, period.end)
        self.assets: dict[str, AssetInfo] = {}
        self.times: dict[str, AssetTime] = {}
        self.incidents: list[IncidentTimes] = []
        self._excluded_spans: dict[str, list[tuple[int, int]]] = {}  # approved outage exclusions, life-clipped
        self.excluded_incidents: frozenset[str] = frozenset()
        self._figures: dict[tuple[Any, ...], dict[str, Figures]] = {}
        self._bounds: dict[str, int] = {}
        self._lives: dict[str, Life] = {}
        self._inside: dict[ServiceHours, tuple[Inside, dict[str, AssetTime]]] = {}
        self._faults: dict[str, list[tuple[str, int, int]]] | None = None
        self._fault_seconds: dict[tuple[str, ServiceHours | None], float] = {}
        self._judged: dict[str, list[IncidentTimes]] = {}
        self._present: list[tuple[str, AssetInfo]] | None = None  # the assets that lived in the period
        self._by_category: dict[str, list[tuple[int, str]]] = {}  # _present's (position, asset) by category
        self._store: Readable = store
        with _gc_paused():
            self._load(store)

    def _load(self, store: Readable) -> None:
        # as_of = min(now, period end): nothing after it is counted, even if stamped so by a skewed clock.
        ps, asof = to_ms(self.period.start), to_ms(self.as_of)
        sqlite = store.dialect == "sqlite"
        sum_lives = _SUM_LIVES_SQLITE if sqlite else _SUM_LIVES
        with store.reader() as conn:
            snapshot = None
            if not sqlite:
                # One snapshot for every read of this measurement, those on connections of their own included.
                conn.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                # PostgreSQL's JIT compiles the aggregate anew on every call (0.1 s at 5 M intervals, more
                # than it saves: docs/sla.md, "How fast"); for this transaction only.
                conn.run("SET LOCAL jit = off")
                snapshot = conn.rows("SELECT pg_export_snapshot()")[0][0]
            # Read with the stored integer milliseconds as they are: per-row conversions were most of the Python
            # time at 50k assets (docs/sla.md, "How fast").
            # Open intervals last until now only while a collector runs; after a stop or crash
            # they end at its last heartbeat, and the rest is no data (as the next start records it).
            beat = conn.rows(HEARTBEAT)
            open_until = asof
            if beat and (self.now - from_ms(beat[0][0])).total_seconds() > STALE_HEARTBEAT:
                open_until = min(asof, int(beat[0][0]))
            bounds = {"ps": ps, "asof": asof, "open_until": open_until}  # open_until <= asof: _SUM relies on it
            aside = _Aside(store, conn, snapshot)
            try:
                whole: list[Future[list[Any]]] = []
                if self.scope is None:
                    # The pass over every interval starts first, on connections of its own (_Aside), while this
                    # one reads the rest: in two halves of the asset ids, one core each (each asset's sums come
                    # whole from one half).
                    query = _pivoted(_SUM.format(where="{where}"))
                    middle = conn.rows(_MIDDLE) if store.shared else []
                    mid = middle[0][0] if middle else None
                    if mid is None:
                        whole.append(aside.submit(query.format(where=""), bounds))
                    else:
                        whole.append(aside.submit(query.format(where=" AND asset_id < :mid"), {**bounds, "mid": mid}))
                        whole.append(aside.submit(query.format(where=" AND asset_id >= :mid"), {**bounds, "mid": mid}))
                # The assets once, for their scope and their lives; tags as their JSON text, decoded once per
                # distinct value (a few dozen), not once per asset.
                rows = conn.rows(_ASSETS)
                tags_of: dict[str | None, tuple[str, ...]] = {None: ()}
                for tags in set(map(_tags_column, rows)) - tags_of.keys():
                    tags_of[tags] = tuple(json.loads(tags) or ())
                kept: set[str] | None = None
                if self.scope is not None:
                    scope = self.scope
                    rows = [r for r in rows if in_scope(scope, AssetInfo(r[0], r[1], r[2], tags_of[r[3]], None))]
                    kept = {r[0] for r in rows}
                lives, exist = lived_in(conn, self.period.start, self.as_of, map(_life_columns, rows))
                # Only a life with a known joining time or a removal can be cut (Life.cuts): the rest not asked.
                cut = [a for a, life in lives.items() if (life.joined or life.end is not None) and life.cuts(ps, asof)]
                cut_set = set(cut)
                sums: list[Any] = []
                if kept is not None:  # the scope's assets only: index range reads, 500 ids a statement
                    cut = [a for a in cut if a in kept]
                    ids = sorted(kept - cut_set)
                    for i in range(0, len(ids), 500):
                        in_ids, names = in_list("id", ids[i:i + 500])
                        sums += conn.rows(_SUM.format(where=f" AND asset_id IN {in_ids}"), {**bounds, **names})
                clipped = []
                for i in range(0, len(cut), 500):
                    in_ids, names = in_list("id", cut[i:i + 500])
                    sql = sum_lives.format(ids=in_ids)
                    clipped.append(aside.submit(sql, {**bounds, **names}))
                absent = {a: life for a, life in lives.items() if life.absences}
                gone = _absent_seconds(conn, absent, ps, min(asof, open_until))
                self._bounds, self._lives = bounds, lives
                incs = conn.rows(_INCIDENTS, {"ps": ps, "pe": to_ms(self.period.end)})
                exclusions = in_force(conn, self.period.start, self.as_of)
                # Each outage exclusion: the seconds per state of its asset's intervals inside it (same query, one
                # asset). Clipped to the asset's life and less its restored absences, as the main pass counted them:
                # an exclusion crossing a (back-dated) removal or an absence takes out only time the figures hold.
                span_sums = []
                for x in exclusions:
                    life = lives.get(x.asset_id or "")
                    if life is None or x.start_ts is None or x.end_ts is None or (kept is not None and
                                                                                   life.asset_id not in kept):
                        continue
                    xs = max(ps, to_ms(x.start_ts), life.start)
                    xe = min(asof, to_ms(x.end_ts), asof if life.end is None else life.end)
                    if xe > xs:
                        per_state = conn.rows(
                            _SUM.format(where=" AND asset_id = :asset"),
                            {"ps": xs, "asof": xe, "open_until": max(xs, min(open_until, xe)), "asset": life.asset_id})
                        out = _absent_seconds(conn, {life.asset_id: life}, xs, max(xs, min(xe, open_until)))
                        span_sums.append((life.asset_id, xs, xe, [(a, st, int(ms) - out.get((a, st), 0))
                                                                  for a, st, ms in per_state]))
                        self._excluded_spans.setdefault(life.asset_id, []).append((xs, xe))
                assets, times = self.assets, self.times
                for aid, category, site, tags, _, removed, _ in rows:  # LIFE_COLUMNS: created, removed, joined
                    gone_at = None if removed is None else from_ms(removed)
                    assets[aid] = _info(AssetInfo, (aid, category, site, tags_of[tags], gone_at))
                    times[aid] = AssetTime(aid, exist.get(aid, 0.0), {})
                odd: list[str] = []  # assets with a state outside the vocabulary (none, unless written by hand)
                for part in as_completed(whole):  # the first half's seconds kept while the second is read
                    for row in part.result():
                        aid = row[0]
                        if row[-1]:
                            if aid not in cut_set:
                                odd.append(aid)
                            continue
                        t = times.get(aid)
                        if t is None or aid in cut_set:
                            continue
                        # In the order _SUM's rows come in (_BY_NAME), each state the asset has, as _SUM's row
                        # would give it.
                        if gone:
                            t.by_state = {state: ((int(ms) - gone[(aid, state)]) if (aid, state) in gone
                                                  else int(ms)) / 1000
                                          for state, ms in zip(_BY_NAME, row[1:-1], strict=True) if ms is not None}
                        else:  # no restored asset's absence to take out (most estates)
                            per_state = row[1:-1]
                            if None in per_state:  # a state it never was in: no entry, as _SUM gives it no row
                                t.by_state = {state: int(ms) / 1000 for state, ms in zip(_BY_NAME, per_state,
                                                                                         strict=True)
                                              if ms is not None}
                            else:  # every state (most assets of a busy estate): the dict built in C, same floats
                                t.by_state = dict(zip(_BY_NAME, map(truediv, per_state, _THOUSANDS), strict=True))
                for part in clipped:
                    sums += part.result()
            finally:
                aside.close()  # none of its statements outlives the measurement, even one that failed
            # An asset with a state outside the vocabulary (none, unless a row was written by hand) is read
            # again state by state, as _SUM gives them.
            for i in range(0, len(odd), 500):
                in_ids, names = in_list("id", odd[i:i + 500])
                sums += conn.rows(_SUM.format(where=f" AND asset_id IN {in_ids}"), {**bounds, **names})
        self.excluded_incidents = frozenset(x.incident_id for x in exclusions if x.incident_id is not None)
        for asset_id, state, ms in sums:
            t = times.get(asset_id)
            if t is not None:
                by_state = t.by_state
                by_state[state] = by_state.get(state, 0.0) + ((int(ms) - gone[(asset_id, state)]) if gone and (
                    asset_id, state) in gone else int(ms)) / 1000
        for asset_id, xs, xe, per_state in span_sums:
            self._take_out(asset_id, xs, xe, per_state, lives.get(asset_id))
        self.incidents = [IncidentTimes(iid, asset_id, kind, from_ms(opened), from_ms_or_none(acked),
                                        from_ms_or_none(resolved), recorded is not None)
                          for iid, asset_id, kind, opened, acked, resolved, recorded in incs]

    def _take_out(self, asset_id: str, xs: int, xe: int, per_state: Any, life: Life | None) -> None:
        """An approved outage exclusion over [xs, xe) ms: its time leaves the asset's figures as maintenance
        time does (out of both sides of the ratio and out of the expected time), whatever state the intervals
        say; maintenance time inside it stays maintenance. The intervals themselves are not touched."""
        t = self.times.get(asset_id)
        if t is None or life is None:
            return
        span = life.seconds(xs, xe)  # only time the asset existed (its absences cut out)
        kept_as_maintenance = 0.0
        for _, state, ms in per_state:
            seconds = int(ms) / 1000
            if state == MAINTENANCE:
                kept_as_maintenance += seconds
            else:
                t.by_state[state] = t.by_state.get(state, 0.0) - seconds
        t.taken_out += max(0.0, span - kept_as_maintenance)

    # -- targets -------------------------------------------------------------
    def evaluate(self, table: TargetTable, store: Readable) -> tuple[TargetResult, ...]:
        return tuple(self.target(t, table.floor(t), store, table) for t in table.targets)

    def target(self, t: Target, floor: float, store: Readable, table: TargetTable | None = None) -> TargetResult:
        if t.measure == "availability":
            return self._availability(t, floor, table)
        if t.measure in ("response_time", "response_rate"):
            return self._responses(t)
        if t.measure == "count":
            return self._count(t, store)
        if t.measure == "hj212_rate":
            return self._hj212(t, store)
        if t.measure == "survey":
            return survey_result(t, read_surveys(store, self.period))
        return self._manual(t, store)

    def assets_behind(self, t: Target, table: TargetTable | None = None) -> list[tuple[str, Figures]]:
        """The assets an availability figure sums, with each one's own figures (the console's click-through
        shows them: the fleet figure is these rows' good over their observed)."""
        return self._behind(t, table)[0]

    def _scoped(self, t: Target) -> list[str]:
        """The assets of `t`'s scope that lived in the period, in the order the fleet sums them (the assets'
        own): a scope of categories alone (every bundled availability target's) is its categories' lists,
        made once per Evaluation, not a pass over every asset per target."""
        if self._present is None:
            times_of = self.times
            self._present = [(a, info) for a, info in self.assets.items() if times_of[a].exist > 0]
            by_category: dict[str, list[tuple[int, str]]] = {}
            for i, (a, info) in enumerate(self._present):
                by_category.setdefault(info.category, []).append((i, a))
            self._by_category = by_category
        s = t.scope
        if s.categories and not (s.sites or s.tags or s.assets):
            parts = [self._by_category[c] for c in set(s.categories) if c in self._by_category]
            # Several categories: their lists merged back into the assets' order (by position), as one pass
            # over the assets would give them.
            return list(map(itemgetter(1), parts[0] if len(parts) == 1 else sorted(chain.from_iterable(parts))))
        return [a for a, info in self._present if in_scope(t, info)]

    def _behind(self, t: Target, table: TargetTable | None) -> tuple[list[tuple[str, Figures]], float, float]:
        """assets_behind, with the seconds outside service hours and under hardware faults (the detail's)."""
        per_asset: list[tuple[str, Figures]] = []
        scoped = self._scoped(t)
        # Service hours go by category: looked up once per category, not per asset.
        by_category: dict[str, ServiceHours | None] = {}
        hours_of: dict[str, ServiceHours | None] = {}
        by_hours: dict[ServiceHours, list[str]] = {}
        assets = self.assets
        hours_anywhere = t.service_hours is not None or (table is not None and bool(table.service_hours))
        for a in scoped if hours_anywhere else ():  # else every asset's hours are None: no lookup to make
            category = assets[a].category
            if category not in by_category:
                by_category[category] = table.hours_for(t, category) if table is not None else t.service_hours
            hours = hours_of[a] = by_category[category]
            if hours is not None:
                by_hours.setdefault(hours, []).append(a)
        caches = {h: self._figures.setdefault((t.degraded_as, t.unreachable_as, h, t.hardware_faults_as), {})
                  for h in {None, *by_category.values()}}
        faults = self._load_faults() if t.hardware_faults_as == "down" else None
        degraded_as, unreachable_as = t.degraded_as, t.unreachable_as
        times_of, fault_seconds = self.times, self._fault_seconds
        outside = faulty = 0.0
        if not by_hours and not faults:  # every hour counts and no fault moves time: the loop below, lean
            cache = caches[None]
            for asset_id in scoped:
                figures = cache.get(asset_id)
                if figures is None:
                    figures = cache[asset_id] = asset_figures(times_of[asset_id], degraded_as, unreachable_as)
                per_asset.append((asset_id, figures))
            return per_asset, outside, faulty
        for asset_id in scoped:
            hours = hours_of.get(asset_id)
            cache = caches[hours]
            figures = cache.get(asset_id)
            if figures is None:  # several targets share the options: compute once per asset
                times = times_of[asset_id]
                inside: Inside | None = None
                if hours is not None:
                    inside, timed = self._hours(hours, by_hours[hours],
                                                table.workdays if table is not None else WorkCalendar())
                    times = timed[asset_id]
                if faults is not None and asset_id in faults:
                    times = self._with_faults(times, inside, hours)
                figures = cache[asset_id] = asset_figures(times, degraded_as, unreachable_as)
            if hours is not None:
                outside += times_of[asset_id].exist - figures.expected - figures.maintenance
            if faults is not None:
                faulty += fault_seconds.get((asset_id, hours), 0.0)
            per_asset.append((asset_id, figures))
        return per_asset, outside, faulty

    def incidents_behind(self, t: Target) -> list[IncidentTimes]:
        """The incidents a response figure judges (the console's click-through lists them), newest first; kept
        per target, as the per-asset figures are, for an Evaluation the period cache keeps."""
        if t.id not in self._judged:
            judged = judge_target(t, self.incidents, self.assets, self.now, self.as_of, self.excluded_incidents)
            self._judged[t.id] = sorted((j.incident for j in judged), key=lambda i: i.opened, reverse=True)
        return self._judged[t.id]

    def _availability(self, t: Target, floor: float, table: TargetTable | None = None) -> TargetResult:
        per_asset, outside, faulty = self._behind(t, table)
        total = fleet(map(_second, per_asset))
        assets = self.assets
        live = 0
        # One pass for each asset's own value, coverage and observed time (Figures' properties written out: one
        # asset and target at a time, 50k at a province's scale; the same divisions, so the same floats).
        valued: list[tuple[str, Figures, float | None, float | None, float]] = []
        for a, f in per_asset:
            if assets[a].live_end is None:
                live += 1
            good, bad, _, _, _, expected, covered, _ = f
            observed = good + bad
            coverage = covered / expected if expected > 0 else None
            valued.append((a, f, good / observed if observed > 0 else None,
                           coverage if coverage is None or coverage < 1.0 else 1.0, observed))
        remaining = max(0.0, (self.period.end - self.as_of).total_seconds()) * live
        detail = AvailabilityDetail(
            assets=len(per_asset), up_seconds=total.good, down_seconds=total.bad, observed_seconds=total.observed,
            maintenance_seconds=total.maintenance, unknown_seconds=total.unknown,
            unreachable_excluded_seconds=total.excluded, expected_seconds=total.expected,
            exclusion_seconds=total.taken_out, outside_hours_seconds=outside, hardware_fault_seconds=faulty)
        value = total.value
        budget = budget_left(total.good, total.observed, t.threshold, remaining) if value is not None else None
        # The worst first (lowest value, then most down time, then id: never a tie, each asset once): the few
        # listed picked from the assets, not all of them sorted.
        # Compared as tuples, without a key function called per asset: (value, -down, id) decides (the ids differ),
        # so the Figures last are never compared.
        ranked = heapq.nsmallest(t.worst, [(v, -f.bad, a, f) for a, f, v, _, _ in valued if v is not None])
        worst = tuple(WorstAsset(a, v, f.bad) for v, _, a, f in ranked)
        passed, status = verdict(t, value, t.threshold, total.coverage, floor)
        valued.sort(key=itemgetter(0))
        per = tuple(AssetFigure(a, v, c, o, f.expected) for a, f, v, c, o in valued)
        return result(t, t.threshold, value, passed, status, coverage=total.coverage, budget_left_seconds=budget,
                      worst=worst, detail=detail, per_asset=per)

    # -- service hours and hardware faults (docs/sla.md) ---------------------
    def _hours(self, hours: ServiceHours, ids: list[str], calendar: WorkCalendar
               ) -> tuple[Inside, dict[str, AssetTime]]:
        """Seconds per state inside the service hours, for the assets `ids` (loaded once per distinct hours)."""
        if hours not in self._inside:
            windows = hours.windows(calendar, self.period.timezone, self.period.start, self.as_of)
            self._inside[hours] = (Inside(windows), {})
        inside, timed = self._inside[hours]
        missing = [a for a in ids if a not in timed]
        if missing:
            ps, asof = self._bounds["ps"], self._bounds["asof"]
            for a in missing:
                life = self._lives[a]
                s, e = max(life.start, ps), min(asof if life.end is None else life.end, asof)
                gone = sum(inside.within(gs, ge) for gs, ge in life.absent(ps, asof))
                timed[a] = AssetTime(a, max(0, inside.within(s, e) - gone) / 1000)
            with self._store.own_reader(scratch=True) as reader:
                for asset_id, state, ms in inside.sums(reader, self._store.dialect, missing, self._bounds):
                    timed[asset_id].by_state[state] = timed[asset_id].by_state.get(state, 0.0) + ms / 1000
        return inside, timed

    def _load_faults(self) -> dict[str, list[tuple[str, int, int]]]:
        """Per asset, its up and degraded time overlapping an open hardware fault of major or critical
        severity, as (state, start, end) in ms clipped to the period (few rows: faults are rare)."""
        if self._faults is not None:
            return self._faults
        b = self._bounds
        spans: dict[str, list[tuple[int, int]]] = {}
        with self._store.reader() as reader:
            for asset_id, fault, opened, resolved in reader.rows(_HARDWARE_FAULTS, {
                    "hardware": HARDWARE, "major": MAJOR, "critical": CRITICAL, "asof": to_ms(self.as_of),
                    "ps": to_ms(self.period.start)}):
                s = max(fault if fault is not None else opened, b["ps"])
                e = min(resolved if resolved is not None else b["asof"], b["asof"])
                if e > s:
                    spans.setdefault(asset_id, []).append((s, e))
            self._faults = {}
            for asset_id, faults in spans.items():
                # Only the asset's life counts, and time an approved exclusion took out is neither up nor down.
                life = self._lives.get(asset_id)
                if life is None:
                    continue
                cuts = [*self._excluded_spans.get(asset_id, ()), *life.absent(b["ps"], b["asof"])]
                lo_life, hi_life = life.start, b["asof"] if life.end is None else life.end
                faults = _minus([(max(s, lo_life), min(e, hi_life)) for s, e in merge(faults)
                                 if min(e, hi_life) > max(s, lo_life)], cuts)
                if not faults:
                    continue
                lo, hi = min(s for s, _ in faults), max(e for _, e in faults)
                rows = reader.rows(_FAULT_INTERVALS, {"asset": asset_id, "up": UP, "degraded": DEGRADED, "hi": hi,
                                                      "lo": lo})
                out = []
                for state, start, end in rows:
                    rs = max(start, b["ps"])
                    re_ = min(end if end is not None else b["open_until"], b["asof"])
                    for fs, fe in faults:
                        s, e = max(rs, fs), min(re_, fe)
                        if e > s:
                            out.append((state, s, e))
                self._faults[asset_id] = out
        return self._faults

    def _with_faults(self, times: AssetTime, inside: Inside | None, hours: ServiceHours | None) -> AssetTime:
        """`times` with the up (and degraded) time under an open major or critical hardware fault counted down:
        a jammed printer answers SNMP but is not working normally. Inside service hours only, when they apply."""
        moved: dict[str, float] = {}
        for state, s, e in self._load_faults().get(times.asset_id, ()):
            ms = inside.within(s, e) if inside is not None else e - s
            moved[state] = moved.get(state, 0.0) + ms / 1000
        if not moved:
            return times
        by_state = dict(times.by_state)
        for state, sec in moved.items():
            by_state[state] = by_state.get(state, 0.0) - sec
            by_state[DOWN] = by_state.get(DOWN, 0.0) + sec
        self._fault_seconds[(times.asset_id, hours)] = sum(moved.values())
        return AssetTime(times.asset_id, times.exist, by_state, times.taken_out)

    def _responses(self, t: Target) -> TargetResult:
        judged = judge_target(t, self.incidents, self.assets, self.now, self.as_of, self.excluded_incidents)
        rate, within, counted, pending = response_rate(judged)
        healed = tuple(HealedIncident(j.incident.id, j.incident.asset_id, j.incident.healed_seconds or 0.0,
                                      response_seconds(j.incident.opened, j.incident.acknowledged)
                                      if j.incident.acknowledged else None, j.incident.recorded_after,
                                      j.uncounted is None, j.within)
                       for j in judged if j.incident.self_healed and j.uncounted != "excluded")
        detail = ResponseDetail(
            incidents=len(judged), judged=counted, within_limit=within, pending=pending, limit_seconds=limit_of(t),
            unacknowledged_misses=sum(1 for j in judged if j.within is False and not j.acknowledged),
            excluded=tuple(j.incident.id for j in judged if j.uncounted == "excluded"), self_healed=healed,
            self_healed_under_seconds=float(t.self_healed_under or 0))
        slow = sorted((j for j in judged if j.within is not None), key=lambda j: -(j.seconds or 0))
        worst = tuple(SlowIncident(j.incident.id, j.incident.asset_id, j.incident.kind, j.seconds, j.acknowledged)
                      for j in slow[: t.worst])
        value = longest_response(judged) if t.measure == "response_time" else rate
        if counted == 0:
            # Nothing judged (no fault, or all pending, excluded or healed too fast): no data, as an availability
            # target with nothing observed reads; the detail says how many are pending (issue 19 item 8).
            passed, status = False, "no_data"
        else:
            passed, status = verdict(t, value, t.threshold, None, 0.0)
            if t.measure == "response_time" and detail.unacknowledged_misses:  # a bound at the limit misses
                passed, status = False, "fail"
        return result(t, t.threshold, value, passed, status, worst=worst, detail=detail)

    def _count(self, t: Target, store: Readable) -> TargetResult:
        with store.reader() as reader:
            rows = reader.rows(_EVENTS, {"target": t.id, "s": to_ms(self.period.start), "e": to_ms(self.period.end)})
        value = float(sum(r[0] for r in rows))
        threshold = judged_threshold(t, self.period.kind, self.period.seconds)
        passed, status = verdict(t, value, threshold, None, 0.0)
        return result(t, threshold, value, passed, status, detail=CountDetail(len(rows), t.period, t.threshold))

    def _hj212(self, t: Target, store: Readable) -> TargetResult:
        rules = rules_of(t.hj212, self.period.timezone)
        counts = read_counts(store, self.period.start, self.as_of, self.now, rules,
                             lambda a: a.id in self.assets and in_scope(t, self.assets[a.id]))
        region = groups(counts, "region", rules)
        points = [p for p in groups(counts, "point", rules) if p.rate is not None]
        detail = self._hj212_detail(counts, points, self._manual(t, store), rules)
        if not region or region[0].rate is None:
            return result(t, t.threshold, None, False, "no_data", detail=detail)
        value = region[0].rate
        passed, status = verdict(t, value, t.threshold, None, 0.0)
        worst = tuple(WorstPoint(p.key[2], p.key[1], p.key[3], p.rate or 0.0, p.counts.should, p.counts.transmitted,
                                 p.counts.effective)
                      for p in sorted(points, key=lambda p: (p.rate or 0.0, p.key))[: t.worst])
        return result(t, t.threshold, value, passed, status, worst=worst, detail=detail)

    @staticmethod
    def _hj212_detail(counts: dict[Series, Counts], points: list[Group], manual: TargetResult,
                      rules: RateRules) -> Hj212Detail:
        total = Counts()
        for c in counts.values():
            total.add(c)
        return Hj212Detail(
            points=len({(s.asset_id, s.point) for s in counts}), series=len(counts), should=total.should,
            transmitted=total.transmitted, effective=total.effective, exempt=total.exempt, late=total.late,
            transmission_rate=total.transmission_rate(), effective_rate=total.effective_rate(rules.denominator),
            points_below_90=sum(1 for p in points if (p.rate or 0.0) < 0.9),
            points_below_60=sum(1 for p in points if (p.rate or 0.0) < 0.6),
            points_at_0=sum(1 for p in points if (p.rate or 0.0) == 0.0),
            manual_value=manual.value)

    def _manual(self, t: Target, store: Readable) -> TargetResult:
        with store.reader() as reader:
            rows = reader.rows(_VALUES, {"target": t.id, "s": to_ms(self.period.start), "e": to_ms(self.period.end)})
        if not rows:
            return result(t, t.threshold, None, False, "no_data")
        # The shortest period covering this one, then the latest entered (in ms as stored: the same order the
        # datetimes gave, and the first row of a tie, as before).
        value, by, at, start, end, note, evidence, sha = min(rows, key=lambda r: ((r[4] - r[3]) / 1000, -r[2] / 1000))
        passed, status = verdict(t, value, t.threshold, None, 0.0)
        return result(t, t.threshold, value, passed, status, detail=ManualDetail(
            by, from_ms(at), from_ms(start), from_ms(end), note, evidence, sha))





def limit_of(t: Target) -> float:
    """The response limit a target judges by: its threshold (response_time) or its `limit` (response_rate)."""
    return t.threshold if t.measure == "response_time" else float(t.limit or 0)


def judge_target(t: Target, incidents: list[IncidentTimes], assets: dict[str, AssetInfo], now: datetime,
                 until: datetime, excluded: frozenset[str]) -> list[Judged]:
    """The incidents a response target holds (its kinds, its assets' scope), each judged: the SLA's figures and
    the report's incident list both come from here, so they cannot disagree."""
    asset_scoped = bool(t.scope.categories or t.scope.sites or t.scope.tags or t.scope.assets)
    held = [i for i in incidents
            if (not t.scope.kinds or i.kind in t.scope.kinds)
            and (in_scope(t, assets[i.asset_id]) if i.asset_id in assets else not asset_scoped)]
    # until: a running period has not ended (as_of)
    return judge(held, limit_of(t), now, until, float(t.self_healed_under or 0), excluded)


def measure(store: Readable, table: TargetTable, period: Period, now: datetime | None = None) -> PeriodResult:
    """Every target of `table` over `period`, as of `now` (default: the current time)."""
    return measured_with(Evaluation(store, period, now), table, store)


def measured_with(ev: Evaluation, table: TargetTable, store: Readable) -> PeriodResult:
    """The target table from an Evaluation already loaded (the period cache keeps it for the click-through)."""
    with _gc_paused():
        return PeriodResult(measured_period(ev.period, ev.now), ev.evaluate(table, store))


def evaluate(store: Readable, table: TargetTable, period: Period, now: datetime | None = None) -> dict[str, Any]:
    """measure() as its JSON document: what /api/v1/sla serves (the API reads this until it calls
    measure(...).as_document() itself)."""
    result = measure(store, table, period, now)
    with _gc_paused():
        return result.as_document()
