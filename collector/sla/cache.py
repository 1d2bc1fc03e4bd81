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
cache's stamp, and a new one anywhere empties it; the entries and events that change no figure (a login, a
notification delivered, an escalation step: TRAIL_ACTIONS) are passed over, or the stamp would move every few
seconds while incidents are active and no page would ever find its figures current. What no
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
never shown as it was before the change. A measurement that failed is remembered FAILED_FOR seconds: the
page names the error instead of starting another one on each reload. The API and the report measure on the
request as before.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from opsmon.collector.core.throttle import Throttle
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
# Incident events that change no figure: a notice delivered, dropped or failed, an escalation step, a new owner,
# a note (engine.record, escalation._page, IncidentEngine.reassign/note). One is written every few seconds while
# incidents are active; in the stamp they kept every cached figure from counting as "only the clock moved".
# A person's reassignment or note is audited too (incident.<action>): passed over there as well.
TRAIL_ACTIONS = ("delivered", "dropped", "delivery_failed", "escalated", "repeated", "reassigned", "taken_over",
                 "note")
FAILED_FOR = 30.0  # seconds a failed background measurement is remembered (the page names it meanwhile)
WARN_EVERY = 60.0  # seconds between two warnings of one period's failures
FAILED_LINE = ("考核期指标计算失败（每个考核期每分钟至多一行）/ "
               "period measurement failed (a line a minute per period at most)")
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
    error: str = ""  # the background measurement failed (remembered FAILED_FOR seconds): why; result is None


@dataclass(frozen=True)
class _Entry:
    stamp: tuple[int, int]
    made: datetime  # the collector's clock when measured
    settled: bool
    measured: Measured


@dataclass(eq=False)
class _Job:
    """A background measurement: queued (stamp None) until it starts, then running as of the stamp it read.
    `work` is the newest asker's (its clock): a request finding the job queued replaces it."""

    store: Store
    work: Callable[[], tuple[Measured, bool]]
    future: Future[Measured] = field(default_factory=Future)
    stamp: tuple[int, int] | None = None


def change_stamp(store: Store) -> tuple[int, int]:
    """The newest audit entry's id (it moves with every person's change; a login or a language switch, which
    changes no figure, is passed over) and the newest incident event's (an incident merged or withdrawn by the
    engine leaves the response figures without a person; a delivery or an escalation step, TRAIL_ACTIONS, is
    passed over): two reads from the end of the primary keys."""
    with store.session() as session:
        return (int(session.scalar(select(AuditEntry.id).where(
                    AuditEntry.action.not_like(SESSION_ACTIONS),
                    AuditEntry.action.not_in([f"incident.{a}" for a in TRAIL_ACTIONS]))
                    .order_by(AuditEntry.id.desc()).limit(1)) or 0),
                int(session.scalar(select(IncidentEvent.id).where(IncidentEvent.action.not_in(TRAIL_ACTIONS))
                                   .order_by(IncidentEvent.id.desc()).limit(1)) or 0))


def targets_key(targets_path: Path) -> tuple[str, int, int]:
    """The target table file as the cache keys it: its path, modification time and size."""
    stat = targets_path.stat()
    return str(targets_path), stat.st_mtime_ns, stat.st_size


def basis(store: Store, targets_path: Path) -> tuple[tuple[int, int], tuple[str, int, int]]:
    """What a measurement starts from (the change stamp and the target table file): the service notes it before
    the SLA worker measures this quarter, and offered() shows that snapshot only while it is still the store's."""
    return change_stamp(store), targets_key(targets_path)


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
        # Background measurements by key (without the stamp): at most one queued and one running per key, so a
        # stamp moving faster than a measurement queues no more than one job behind it.
        self._queued: dict[tuple[object, ...], _Job] = {}
        self._running: dict[tuple[object, ...], _Job] = {}
        self._failed: dict[tuple[object, ...], tuple[float, str]] = {}  # key: (time.monotonic() failed, why)
        # The warning's: per period, when its last line was written and the failures since (one line a minute).
        self._warned = Throttle(WARN_EVERY, max_keys=4 * SIZE)
        self._one = threading.Lock()  # held by the one background measurement running

    def measured(self, store: Store, targets_path: Path, period: Period, now: datetime, live: bool = False,
                 target: str | None = None) -> Measured:
        """The period measured as of `now`, from the cache when its entry still holds; `live`: an unsettled
        period is measured afresh (the API answers as of now), a settled one still comes from the cache.

        `target` (a click-through): for an availability target, the whole period's entry when one holds, else
        that target alone over the assets of its scope (a third of the estate or less for a category), kept
        under its own entry, whose result holds that one target; any other target reads the whole period."""
        return self._measured(store, targets_path, period, now, live, target)[0]

    def _measured(self, store: Store, targets_path: Path, period: Period, now: datetime, live: bool = False,
                  target: str | None = None) -> tuple[Measured, bool]:
        """measured(), and whether the engine ran for it (a background job settles the heap only then)."""
        key, stamp, table, hit = self._lookup(store, targets_path, period, now, live, target)
        if hit is not None:
            return hit.measured, False
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
        failed = self.failed(key)
        if failed:  # not measured again on each reload: the page names the error until FAILED_FOR has passed
            return Answer(None, None, False, failed)
        job = self._background(key, stamp, store, lambda: self._measured(store, targets_path, period, now, False,
                                                                         target))
        if wait([job], timeout=within).done:
            if job.exception() is not None:
                return Answer(None, None, False, str(job.exception()))
            done = job.result()
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
        return None if hit is not None else self._background(key, stamp, store, lambda: self._measured(
            store, targets_path, period, now))

    def failed(self, key: tuple[object, ...]) -> str:
        """Why the last background measurement of `key` failed, if it did less than FAILED_FOR seconds ago."""
        with self._lock:
            failed = self._failed.get(key)
            if failed is not None and time.monotonic() - failed[0] >= FAILED_FOR:
                del self._failed[key]
                failed = None
        return "" if failed is None else failed[1]

    def _background(self, key: tuple[object, ...], stamp: tuple[int, int], store: Store,
                    work: Callable[[], tuple[Measured, bool]]) -> Future[Measured]:
        """The measurement of `key` a request with change stamp `stamp` can wait for: the running one when it
        started from that stamp, else the one queued behind it (given this request's `work`, the newest clock;
        it reads the stamp when it starts), else a new one on a daemon thread (a collector stopping does not wait
        for it). One at a time across periods: the collector has two cores and a loop to serve."""
        with self._lock:
            running = self._running.get(key)
            if running is not None and running.stamp == stamp:
                return running.future
            queued = self._queued.get(key)
            if queued is not None:
                queued.work = work
                return queued.future
            job = self._queued[key] = _Job(store, work)

        def run() -> None:
            with self._one:
                stamp: tuple[int, int] | None = None
                try:
                    try:
                        stamp = change_stamp(job.store)  # requests of this stamp join it (read before the work's)
                    finally:
                        with self._lock:
                            del self._queued[key]  # from now on a request queues a new job behind this one
                            self._running[key], job.stamp = job, stamp
                    done, ran = job.work()
                except Exception as exc:  # a store closed under a stopping collector, a database gone
                    with self._lock:
                        self._failed[key] = (time.monotonic(), str(exc))
                        while len(self._failed) > 4 * SIZE:  # bounded: the oldest failure is forgotten first
                            del self._failed[next(iter(self._failed))]
                    self._forget(key, job)
                    self._warn(str(key[0]), exc)
                    job.future.set_exception(exc)
                    return
                # Forgotten before its result is out: a later request is never handed this finished job (measured
                # as of an older clock) in place of its own.
                self._forget(key, job)
                job.future.set_result(done)
                if ran:
                    # After the result is out, but a page answering meanwhile still waits for the collection: it
                    # holds the GIL. Only after a real measurement: a job that found its entry already there
                    # allocated nothing worth collecting.
                    _settle_heap()

        threading.Thread(target=run, name="opsmon-period-cache", daemon=True).start()
        return job.future

    def _warn(self, period: str, exc: Exception) -> None:
        """The failure's warning, at most one a minute per period: a page reloading on it in several tabs
        writes one line, not one per tab per reload; the next line says how many failed since."""
        held = self._warned.ask(period)
        if held is not None:
            log.warning(FAILED_LINE, extra={"source": period, "error": str(exc), "failed_since": held + 1})

    def _forget(self, key: tuple[object, ...], job: _Job) -> None:
        with self._lock:
            if self._running.get(key) is job:
                del self._running[key]

    def _lookup(self, store: Store, targets_path: Path, period: Period, now: datetime, live: bool,
                target: str | None) -> tuple[tuple[object, ...], tuple[int, int], TargetTable | None, _Entry | None]:
        """(key, the store's change stamp, the target table if read, the entry if it holds) of a request."""
        key: tuple[object, ...] = (period.label, period.start, period.end, period.timezone,
                                   *targets_key(targets_path))
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
                 period: Period, now: datetime, stamp: tuple[int, int], live: bool) -> tuple[Measured, bool]:
        """The entry for `key` if it holds, else a new measurement kept under it (True: the engine ran); called
        holding key's lock. `table`: the request's reading of the target table (None: not read yet, read here on
        a miss only)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._holds(entry, stamp, now, live):
                self._entries.move_to_end(key)
                return entry.measured, False
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
        return done, True

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
    the background thread, after a measurement that ran the engine: the API's measurements on the request do
    not pay for the collection. A page answering meanwhile does wait for it (the collection holds the GIL)."""
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
            now: datetime, target: str | None = None, snapshot_basis: object = None) -> Answer:
    """What a console page shows of `period` without waiting on the engine (PeriodCache.ask): the table of this
    quarter is the SLA worker's snapshot, as table_of's, while `snapshot_basis` (basis() noted when its
    measurement started) is still the store's: after a person's change or an edit of the target table it reads
    the cache, which never shows figures from before the change. A click-through (`target`) needs the per-asset
    figures of an Evaluation, which the worker's process keeps to itself, so it reads the cache too."""
    if (target is None and _is_quarter(snapshot, period) and snapshot_basis is not None
            and snapshot_basis == basis(store, targets_path)):
        return Answer(snapshot, None, True)
    return cache.ask(store, targets_path, period, now, target)


def _is_quarter(snapshot: PeriodResult | None, period: Period) -> bool:
    return snapshot is not None and (snapshot.period.label, snapshot.period.start) == (period.label, period.start)
