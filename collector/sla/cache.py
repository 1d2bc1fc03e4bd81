"""Measured periods kept in the collector's memory, so a page or an API call about a period does not run the SLA
engine each time (docs/sla.md, "The period cache").

Why: measuring a month of 10,000 assets takes 1.5 s here, a year 3.5 s (bench/console_bench.py); the console's
table for last month and every click-through behind a figure measured on each request. The cache keeps, per
period and target table, the loaded Evaluation (whose per-asset figures the click-through reads) and its
PeriodResult.

When an entry is reused: while nothing that can change its figures has changed. Every change a person makes to a
past figure (an exclusion asked, approved or removed, a set-value, a back-dated removal, a reclassified outage, a
history import, an acknowledgement) is written to the audit log in the same transaction (STYLE: every operator
change is audited), and every change to an incident writes an incident event: the newest id of each is the
cache's stamp, and a new one anywhere empties it. What no
person does moves figures too: the states still being written into an open period, and the response time of an
incident nobody has acknowledged yet (it grows with the clock). So an entry whose figures can still move that way
(the period not over, or an unacknowledged incident in it) is kept at most `refresh` seconds (`sla.refresh`, as
old as the quarter's figures /metrics shows), and a settled one at most SETTLED seconds (late HJ 212 uploads of a
past hour arrive without a person: they show within that).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from opsmon.collector.sla.engine import Evaluation, measured_with
from opsmon.collector.sla.periods import Period
from opsmon.collector.sla.results import PeriodResult
from opsmon.collector.sla.targets import TargetTable, load_targets
from opsmon.collector.store import Store
from opsmon.collector.store.models import AuditEntry, IncidentEvent

SETTLED = 3600.0  # seconds a settled period's figures are kept at most
SIZE = 8  # periods kept: the picker offers six, the API asks for a few more; each holds a loaded Evaluation


@dataclass(frozen=True)
class Measured:
    evaluation: Evaluation
    result: PeriodResult


@dataclass(frozen=True)
class _Entry:
    stamp: tuple[int, int]
    made: datetime  # the collector's clock when measured
    settled: bool
    measured: Measured


def change_stamp(store: Store) -> tuple[int, int]:
    """The newest audit entry's id (it moves with every person's change) and the newest incident event's (an
    incident merged or withdrawn by the engine leaves the response figures without a person): two indexed reads."""
    with store.session() as session:
        return (int(session.scalar(select(func.max(AuditEntry.id))) or 0),
                int(session.scalar(select(func.max(IncidentEvent.id))) or 0))


class PeriodCache:
    """Measured periods by (period, target table file); thread-safe (pages run on the thread pool), and one
    measurement per period at a time: a second request for the same period waits for the first's result."""

    def __init__(self, refresh: float) -> None:
        self.refresh = refresh
        self._entries: OrderedDict[tuple[object, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        # One lock per period being measured, with how many requests hold or wait on it: dropped when the last
        # leaves, so the map holds only the periods in flight (it grew by one lock per period ever asked).
        self._busy: dict[tuple[object, ...], tuple[threading.Lock, list[int]]] = {}
        self.measurements = 0  # how many times the engine ran (the tests read it)

    def measured(self, store: Store, targets_path: Path, period: Period, now: datetime, live: bool = False,
                 target: str | None = None) -> Measured:
        """The period measured as of `now`, from the cache when its entry still holds; `live`: an unsettled
        period is measured afresh (the API answers as of now), a settled one still comes from the cache.

        `target` (a click-through): for an availability target, the whole period's entry when one holds, else
        that target alone over the assets of its scope (a third of the estate or less for a category), kept
        under its own entry, whose result holds that one target; any other target reads the whole period."""
        stat = targets_path.stat()
        key: tuple[object, ...] = (period.label, period.start, period.end, period.timezone, str(targets_path),
                                   stat.st_mtime_ns, stat.st_size)
        stamp = change_stamp(store)
        # The table is read once per request and passed down: read twice, an edit landing between the two
        # readings could drop `target` from the second (a KeyError, a 500 on the click-through).
        table = load_targets(targets_path) if target is not None else None
        if table is not None and target is not None and _availability(table, target):
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and self._holds(entry, stamp, now, live):
                    self._entries.move_to_end(key)
                    return entry.measured
            key = (*key, target)
        with self._lock:
            busy, users = self._busy.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with busy:
                return self._measure(key, store, targets_path, table, period, now, stamp, live)
        finally:
            with self._lock:
                users[0] -= 1
                if users[0] == 0:
                    del self._busy[key]

    @property
    def locks_held(self) -> int:
        """Periods being measured or waited for now (the tests read it: it must fall back to 0)."""
        with self._lock:
            return len(self._busy)

    @property
    def entries_held(self) -> int:
        with self._lock:
            return len(self._entries)

    def _measure(self, key: tuple[object, ...], store: Store, targets_path: Path, table: TargetTable | None,
                 period: Period, now: datetime, stamp: tuple[int, int], live: bool) -> Measured:
        """The entry for `key` if it holds, else a new measurement kept under it; called holding key's lock.
        `table`: the request's reading of the target table (None: not read yet, read here on a miss only)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._holds(entry, stamp, now, live):
                self._entries.move_to_end(key)
                return entry.measured
        if table is None:
            table = load_targets(targets_path)
        scope = None
        if len(key) == 8:  # one availability target's click-through
            scope = table.get(str(key[7]))
            table = table.model_copy(update={"targets": [scope]})
        ev = Evaluation(store, period, now, scope)
        result = measured_with(ev, table, store)
        self.measurements += 1
        settled = now >= period.end and all(i.acknowledged is not None for i in ev.incidents)
        done = Measured(ev, result)
        with self._lock:
            self._entries[key] = _Entry(stamp, now, settled, done)
            self._entries.move_to_end(key)
            while len(self._entries) > SIZE:
                self._entries.popitem(last=False)
        return done

    def _holds(self, entry: _Entry, stamp: tuple[int, int], now: datetime, live: bool) -> bool:
        age = abs((now - entry.made).total_seconds())  # by the collector's clock: a test's fake clock moves it
        return entry.stamp == stamp and age < (SETTLED if entry.settled else 0.0 if live else self.refresh)


def _availability(table: TargetTable, target: str) -> bool:
    """Whether `target` is an availability target, the only kind measured over its scope's assets alone: a response
    figure judges the incidents of every asset (its click-through reads the whole period's entry). A target not
    in the table (removed since the page read it) reads the whole period too."""
    try:
        return table.get(target).measure == "availability"
    except KeyError:
        return False


def table_of(cache: PeriodCache, snapshot: PeriodResult | None, store: Store, targets_path: Path, period: Period,
             now: datetime) -> PeriodResult:
    """The target table over `period`: this quarter's figures as the SLA worker last measured them (what /metrics
    shows) when `period` is that quarter, else the cache's."""
    if snapshot is not None and (snapshot.period.label, snapshot.period.start) == (period.label, period.start):
        return snapshot
    return cache.measured(store, targets_path, period, now).result
