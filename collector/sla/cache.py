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

The console never waits on the engine for long (issue 24: every page under 300 ms with 10,000 assets, where
a month's measurement takes seconds): its pages `ask()`, which measures in the background (one measurement at
a time, on a thread of its own) and waits at most WAIT for it. Not done by then, the page gets the period's
last entry when only the clock has moved since (as of its own time, said on the page), or none when a
change has (the page says the figures are being measured and reloads itself): a figure a person changed is
never shown as it was before the change. The API and the report measure on the request as before.
"""
from __future__ import annotations

import gc
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, wait
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

log = logging.getLogger(__name__)

SETTLED = 3600.0  # seconds a settled period's figures are kept at most
WAIT = 0.1  # seconds a console page waits for a background measurement before it answers without it
# Audit actions that change no figure: a person's session and language. Left out of the change stamp, or every
# login would empty the cache and the first page after it would measure again.
SESSION_ACTIONS = "console.%"
SIZE = 8  # periods kept: the picker offers six, the API asks for a few more; each holds a loaded Evaluation


@dataclass(frozen=True)
class Measured:
    evaluation: Evaluation
    result: PeriodResult


@dataclass(frozen=True)
class Answer:
    """What a console page shows of a period: `result` None while it is first measured (the page says so and
    reloads itself); `fresh` False for the period's previous entry, kept while only the clock has moved since,
    shown as of its own time while the newer one is measured. `evaluation` (the per-asset figures behind a
    click-through) is None for the SLA worker's snapshot of this quarter, which is a result only."""

    result: PeriodResult | None
    evaluation: Evaluation | None
    fresh: bool


@dataclass(frozen=True)
class _Entry:
    stamp: tuple[int, int]
    made: datetime  # the collector's clock when measured
    settled: bool
    measured: Measured


def change_stamp(store: Store) -> tuple[int, int]:
    """The newest audit entry's id (it moves with every person's change; a login or a language switch, which
    changes no figure, is passed over) and the newest incident event's (an incident merged or withdrawn by the
    engine leaves the response figures without a person): two reads from the end of the primary keys."""
    with store.session() as session:
        return (int(session.scalar(select(AuditEntry.id).where(AuditEntry.action.not_like(SESSION_ACTIONS))
                                   .order_by(AuditEntry.id.desc()).limit(1)) or 0),
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
        self._jobs: dict[tuple[object, ...], Future[Measured]] = {}  # background measurements running, by key
        self._one = threading.Lock()  # held by the one background measurement running

    def measured(self, store: Store, targets_path: Path, period: Period, now: datetime, live: bool = False,
                 target: str | None = None) -> Measured:
        """The period measured as of `now`, from the cache when its entry still holds; `live`: an unsettled
        period is measured afresh (the API answers as of now), a settled one still comes from the cache.

        `target` (a click-through): for an availability target, the whole period's entry when one holds, else
        that target alone over the assets of its scope (a third of the estate or less for a category), kept
        under its own entry, whose result holds that one target; any other target reads the whole period."""
        key, stamp, table, hit = self._lookup(store, targets_path, period, now, live, target)
        if hit is not None:
            return hit.measured
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

    def ask(self, store: Store, targets_path: Path, period: Period, now: datetime, target: str | None = None,
            within: float = WAIT) -> Answer:
        """A console page's read: the entry when it holds; else the measurement is started in the background (or
        joined, when one for the same entry and change stamp runs) and waited for at most `within` seconds (WAIT;
        a small estate is measured within it, so its pages never lag); not done by then, the
        previous entry if only the clock has moved since it (its change stamp is still the store's), else none.
        The measurement goes on and fills the cache, so the page's reload finds it."""
        key, stamp, _, hit = self._lookup(store, targets_path, period, now, False, target)
        if hit is not None:
            return Answer(hit.measured.result, hit.measured.evaluation, True)
        # Keyed with the stamp: a measurement begun before a change is not taken for one after it.
        job = self._background((*key, stamp), lambda: self.measured(store, targets_path, period, now, False, target))
        if wait([job], timeout=within).done:
            done = job.result()  # a failed measurement raises here, as on the request itself
            return Answer(done.result, done.evaluation, True)
        with self._lock:  # the whole period's entry serves a click-through too
            for older in (self._entries.get(key), self._entries.get(key[:7])):
                if older is not None and older.stamp == stamp:
                    return Answer(older.measured.result, older.measured.evaluation, False)
        return Answer(None, None, False)

    def warm(self, store: Store, targets_path: Path, period: Period, now: datetime) -> Future[Measured] | None:
        """Measure `period` in the background unless its entry holds (the collector warms this quarter at its
        start, so the first click-through behind one of its figures reads it); its measurement, or None."""
        key, stamp, _, hit = self._lookup(store, targets_path, period, now, False, None)
        return None if hit is not None else self._background((*key, stamp), lambda: self.measured(
            store, targets_path, period, now))

    def _background(self, key: tuple[object, ...], work: Callable[[], Measured]) -> Future[Measured]:
        """The running background measurement of `key`, or a new one on a daemon thread (a collector stopping
        does not wait for it). One at a time across periods: the collector has two cores and a loop to serve."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                return job
            job = self._jobs[key] = Future()

        def run() -> None:
            with self._one:
                try:
                    done = work()
                except Exception as exc:  # a store closed under a stopping collector, a database gone
                    log.warning("period measurement failed", extra={"period": str(key[0]), "error": str(exc)})
                    self._forget(key)
                    job.set_exception(exc)
                    return
                # Forgotten before its result is out: a later request is never handed this finished job (measured
                # as of an older clock) in place of its own.
                self._forget(key)
                job.set_result(done)
                _settle_heap()  # after the result: the page waiting on it does not wait for the collection

        threading.Thread(target=run, name="opsmon-period-cache", daemon=True).start()
        return job

    def _forget(self, key: tuple[object, ...]) -> None:
        with self._lock:
            self._jobs.pop(key, None)

    def _lookup(self, store: Store, targets_path: Path, period: Period, now: datetime, live: bool,
                target: str | None) -> tuple[tuple[object, ...], tuple[int, int], TargetTable | None, _Entry | None]:
        """(key, the store's change stamp, the target table if read, the entry if it holds) of a request."""
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
                    return key, stamp, table, entry
            key = (*key, target)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._holds(entry, stamp, now, live):
                self._entries.move_to_end(key)
                return key, stamp, table, entry
        return key, stamp, table, None

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


def _settle_heap() -> None:
    """After a background measurement: one full garbage collection, then everything alive frozen (gc.freeze), so
    the collector's later collections leave the cached Evaluations alone.

    Why: Python's full collection walks every tracked object, each cached Evaluation at 10,000 assets is about
    70,000 of them, and a measurement allocates enough to set one off several times: in bench/console_bench.py
    (load 6-9) full collections grew to 220-524 ms, during which no page answered, and the first visits that
    met one went over 300 ms. With this, later full collections took 2-53 ms and 20 of 20 first visits were
    under 300 ms. Unfrozen first, so an entry dropped since the last freeze is collected if it holds a cycle:
    nothing stays frozen past the next background measurement. Process-wide (the gc is), done only here, on
    the background thread: the API's measurements on the request do not pay for the collection."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


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
    if _is_quarter(snapshot, period):
        assert snapshot is not None
        return snapshot
    return cache.measured(store, targets_path, period, now).result


def offered(cache: PeriodCache, snapshot: PeriodResult | None, store: Store, targets_path: Path, period: Period,
            now: datetime, target: str | None = None) -> Answer:
    """What a console page shows of `period` without waiting on the engine (PeriodCache.ask): the table of this
    quarter is the SLA worker's snapshot, as table_of's; a click-through (`target`) needs the per-asset figures
    of an Evaluation, which the worker's process keeps to itself, so it reads the cache."""
    if target is None and _is_quarter(snapshot, period):
        return Answer(snapshot, None, True)
    return cache.ask(store, targets_path, period, now, target)


def _is_quarter(snapshot: PeriodResult | None, period: Period) -> bool:
    return snapshot is not None and (snapshot.period.label, snapshot.period.start) == (period.label, period.start)
