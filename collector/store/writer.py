"""Batched, ordered writes of typed messages (`core.messages`) on a thread of their own.

Why a thread: SQLAlchemy is synchronous; committing on the event loop would stall every
check. The timeline and the inputs publish messages in order; this writer applies them in
that order, many per transaction, and bumps the heartbeat in the same transaction, so the
heartbeat is never older than what it has written. A batch the database cannot take now is
retried, never dropped; an operation it will never take is set aside alone.

Group commit: `durable()` gives a future resolved once everything queued before it is
committed, so a door answers its sender only after the data is on disk, while the batching
stays (every waiter of a batch is answered by that batch's one commit).
"""
from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError, wait
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from opsmon.collector.core.messages import (
    BaselineResults,
    Event,
    EventRepeated,
    Facts,
    FlowTop,
    GapFilled,
    HardwareSignal,
    Heartbeat,
    Hj212Data,
    Hj212Frame,
    IntervalClosed,
    IntervalOpened,
    IntervalRelabelled,
    IntervalsMerged,
    Prune,
    Recombined,
    ResultRecorded,
    StreamPosition,
    Transition,
    Written,
)
from opsmon.collector.core.states import DOWN, UP
from opsmon.collector.store.db import Store
from opsmon.collector.store.gaps import fill_gap
from opsmon.collector.store.models import (
    AgentStream,
    Asset,
    BaselineChange,
    BaselineResult,
    FlowTopRow,
    Hj212Datum,
    Hj212FrameRow,
    Observation,
    StateInterval,
)
from opsmon.collector.store.models import Event as EventRow
from opsmon.collector.store.models import Heartbeat as HeartbeatRow
from opsmon.collector.store.models import Transition as TransitionRow

log = logging.getLogger(__name__)
RETRY_MAX = 2.0  # seconds between two attempts at a failing commit
PRUNE_CHUNK = 5000  # rows per table per prune transaction
STALLED = 1.0  # seconds a commit may take before the store counts as in trouble (see StoreWriter.trouble)
RETRY_LOG_EVERY = 60.0  # seconds between two log lines of the same failing commit

_STOP = object()  # the sentinel that ends the thread after what was queued before it


class _Waiter:
    """In the queue behind the messages it waits for: resolved once they are committed."""

    __slots__ = ("future",)

    def __init__(self) -> None:
        self.future: Future[None] = Future()


class StoreRefused(Exception):
    """A durable() waiter's batch had an operation the store refused (set aside, counted as dropped)."""


class StoreWriter:
    GATHER = 0.05  # seconds a batch gathers operations after its first one
    GATHER_WAITED = 0.002  # ... when a sender waits for a commit: what queues during one commit is the next batch

    def __init__(self, store: Store, started: datetime, clock: Callable[[], datetime] | None = None,
                 max_batch: int = 5000, max_delay: float = 0.5) -> None:
        self.store = store
        self.started = started
        self.clock = clock or (lambda: datetime.now(UTC))
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.queue: queue.Queue[Any] = queue.Queue()
        self.batches = 0
        self.failures = 0
        self.dropped = 0
        self.failing: str | None = None  # why the last commit failed, until one succeeds
        self._commit_since: float | None = None  # monotonic start of the commit under way
        self._waited = threading.Event()  # a sender waits for a commit: gather briefly
        self._atomic = threading.Lock()
        self._pruning: Prune | None = None  # the retention prune under way, done a chunk at a time
        self._thread = threading.Thread(target=self._run, name="opsmon-store-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, msg: Written) -> None:
        self.queue.put(msg)

    def atomic(self) -> AbstractContextManager[Any]:
        """Held while the event loop publishes the messages of one input (an agent's report): the writer drains
        its queue under the same lock, so they are never split across two commits. Split, a kill -9 between the
        commits could keep a report's stream position without its data; its resend, taken for a replay, would
        then be lost."""
        return self._atomic

    def durable(self, hurry: bool = True) -> Future[None]:
        """A future resolved once everything put before this call is committed (or set aside as refused).

        `hurry`: the batch it lands in gathers GATHER_WAITED, not GATHER (a door answering one sender at a time,
        the agents'). False: it goes with the batch as it comes (the HJ 212 receiver, which gathers the frames of
        many connections for one commit itself: inputs/hj212/receiver.py GATHER)."""
        waiter = _Waiter()
        self.queue.put(waiter)
        if hurry:
            self._waited.set()
        return waiter.future

    def stop(self, timeout: float = 30.0) -> bool:
        """Flush everything queued, write a last heartbeat, end the thread; False if that did not finish."""
        self.queue.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive() and self.queue.qsize() == 0

    @property
    def pruning(self) -> bool:
        """A retention prune is under way (done a chunk at a time; a stop leaves the rest to the next one)."""
        return self._pruning is not None

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def trouble(self) -> str | None:
        """Why the store cannot be written now, or None: the last commit failed, or the one under way has waited
        more than STALLED seconds (a SQLite file locked by another process makes it wait busy_timeout, 10 s,
        before it fails: the door, the health and the timeline must know at once, not then)."""
        if self.failing is not None:
            return self.failing
        since = self._commit_since
        waited = time.monotonic() - since if since is not None else 0.0
        return f"a commit has waited {waited:.0f} s: the store is locked or slow" if waited > STALLED else None

    @property
    def healthy(self) -> bool:
        """Alive, and the store can be written (degraded from the first failed or stalled write, ok at the next
        good one)."""
        return self._thread.is_alive() and self.trouble is None

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what is queued now is committed (for tests and shutdown): a durable() waiter."""
        done, _ = wait([self.durable()], timeout)
        return bool(done)

    def _run(self) -> None:
        while True:
            try:
                # a prune under way goes on while nothing else waits: a chunk, then look again
                first = self.queue.get(timeout=self.max_delay) if self._pruning is None else self.queue.get_nowait()
            except queue.Empty:
                self._prune_chunk()
                continue
            got = [first]
            # Let the batch gather for 50 ms (2 ms when a sender waits for its commit), then take
            # what came. Not a blocking get() per operation: each one woke this thread, which then
            # fought the event loop for the GIL once per operation (4,000 a second at 2,000 agent
            # reports/s).
            if first is not _STOP and self.queue.qsize() < self.max_batch:
                waited = self._waited.is_set()
                self._waited.clear()
                time.sleep(self.GATHER_WAITED if waited else self.GATHER)
            with self._atomic:  # never in the middle of one input's messages (see atomic())
                while len(got) < self.max_batch:
                    try:
                        got.append(self.queue.get_nowait())
                    except queue.Empty:
                        break
            stopping = any(op is _STOP for op in got)
            waiters = [op.future for op in got if isinstance(op, _Waiter)]
            dropped = self.dropped
            try:
                self._commit_with_retry([op for op in got if op is not _STOP and not isinstance(op, _Waiter)])
                if self.dropped > dropped:
                    # An operation was set aside: whose, the waiters cannot tell, so none is told "committed"
                    # (the agents' door then answers 503; a resend whose first copy was committed is a duplicate).
                    refused = StoreRefused(f"the store refused {self.dropped - dropped} operation(s) of this batch")
                    for future in waiters:
                        _settle(future, refused)
                    waiters = []
            except Exception as exc:  # never let the thread die: later batches must still be written
                log.exception("store writer: unexpected error; batch set aside")
                self.dropped += len(got) - len(waiters)
                for future in waiters:
                    _settle(future, exc)
                waiters = []
            for future in waiters:
                _settle(future, None)
            for _ in got:
                self.queue.task_done()
            if stopping:
                return
            self._prune_chunk()  # under steady load too, a chunk between two batches

    def _commit_with_retry(self, batch: list[Written]) -> None:
        """Retry what may pass later (database away, locked); set aside what never will.

        A permanent error in one operation (a value the schema or the driver refuses: an SQLAlchemy
        error, or Python's own, such as an OverflowError for an integer beyond 64 bits) must not hold
        back the rest: the batch is then written one operation at a time, and only the bad ones are
        logged and counted as dropped.
        """
        delay = 0.5
        logged, unlogged = -math.inf, 0
        while True:
            try:
                self._commit_since = time.monotonic()
                try:
                    self._commit(batch)
                finally:
                    self._commit_since = None
                self.batches += 1
                if self.failing is not None:
                    log.warning("store writes again", extra={"after": self.failing})
                    self.failing = None
                return
            except (OperationalError, InterfaceError) as exc:
                self.failures += 1
                self.failing = _reason(exc)
                if time.monotonic() - logged >= RETRY_LOG_EVERY:  # a long fault: a line a minute, not one a retry
                    log.error("store write failed; retrying", extra={
                        "error": self.failing, "ops": len(batch), "retry_in": delay, "failed_since_logged": unlogged})
                    logged, unlogged = time.monotonic(), 0
                else:
                    unlogged += 1
                time.sleep(delay)
                # Capped low: while the store fails, the agents' door answers 503, so the first good commit after
                # the fault (space freed, lock released) must come within seconds, not after a 30 s back-off.
                delay = min(delay * 2, RETRY_MAX)
            except (SQLAlchemyError, ArithmeticError, ValueError, TypeError) as exc:
                self.failures += 1
                if len(batch) == 1:
                    self.dropped += 1
                    log.error("store refused an operation; dropped",
                              extra={"error": _reason(exc), "op": type(batch[0]).__name__,
                                     "asset": getattr(batch[0], "asset_id", "")})
                    return
                for op in batch:
                    self._commit_with_retry([op])
                return

    def _prune_chunk(self) -> None:
        """Delete up to PRUNE_CHUNK rows of each table the pending Prune names, in a transaction of their own.

        One DELETE of a year's backlog can hold SQLite's write lock for many seconds: every report waiting for
        its commit would be answered 503 and the store would look in trouble. A chunk at a time, between
        batches, keeps each commit short; the prune is done when a pass deletes nothing.
        """
        prune = self._pruning
        if prune is None:
            return
        deleted = 0
        try:
            with self.store.engine.begin() as conn:
                for table, column, before in ((Observation, Observation.ts, prune.observations_before),
                                              (EventRow, EventRow.ts, prune.events_before),
                                              (Hj212FrameRow, Hj212FrameRow.received, prune.hj212_frames_before),
                                              (FlowTopRow, FlowTopRow.start_ts, prune.flow_top_before)):
                    if before is not None:
                        ids = select(table.id).where(column < before).limit(PRUNE_CHUNK).scalar_subquery()
                        deleted += conn.execute(delete(table).where(table.id.in_(ids))).rowcount or 0
        except SQLAlchemyError as exc:  # tried again after the next batch
            log.warning("prune chunk failed; trying again", extra={"error": _reason(exc)})
            return
        if deleted == 0 and self._pruning is prune:
            self._pruning = None

    def _commit(self, batch: list[Written]) -> None:
        observations: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        repeated: list[EventRepeated] = []  # applied after this batch's inserts: its first row may be among them
        streams: dict[tuple[str, str], dict[str, Any]] = {}  # one row per agent stream per batch, not per report
        hj212: list[dict[str, Any]] = []  # values of HJ 212 uploads, inserted once per key (resends ignored)
        frames: list[dict[str, Any]] = []
        flow_rows: list[dict[str, Any]] = []
        # rows nothing later in the batch reads or changes: one executemany at its end, in their order (a storm's
        # 10,000 transitions were 10,000 statements built and run one by one on this thread)
        transitions: list[dict[str, Any]] = []
        with self.store.engine.begin() as conn:
            for msg in batch:
                match msg:
                    case ResultRecorded(asset, check_id, ts, status, reason, latency, observer):
                        observations.append({"asset_id": asset, "check_id": check_id, "ts": ts, "status": status,
                                             "reason": reason, "latency_ms": latency, "kind": "check",
                                             "observer": observer})
                    case HardwareSignal(asset, component, ts, problem, cleared):
                        observations.append({"asset_id": asset, "check_id": f"hw:{component}"[:128], "ts": ts,
                                             "status": UP if cleared else DOWN, "reason": problem,
                                             "latency_ms": None, "kind": "hardware", "observer": ""})
                    case StreamPosition(agent, stream, seq, at, max_ts_ms):
                        prev = streams.get((agent, stream))
                        if prev is None or (seq, max_ts_ms or 0) > (prev["max_seq"], prev["max_ts_ms"] or 0):
                            streams[(agent, stream)] = {"agent": agent, "stream": stream, "max_seq": seq,
                                                        "max_ts_ms": max_ts_ms, "updated_at": at}
                    case Facts(asset, facts):
                        conn.execute(update(Asset).where(Asset.id == asset).values(facts=facts))
                    case IntervalOpened(asset, state, start, reason):
                        conn.execute(insert(StateInterval).values(asset_id=asset, state=state, start_ts=start,
                                                                  end_ts=None, reason=reason))
                    case IntervalClosed(asset, end):
                        conn.execute(update(StateInterval)
                                     .where(StateInterval.asset_id == asset, StateInterval.end_ts.is_(None))
                                     .values(end_ts=end))
                    case IntervalRelabelled(asset, state, reason):
                        conn.execute(update(StateInterval)
                                     .where(StateInterval.asset_id == asset, StateInterval.end_ts.is_(None))
                                     .values(state=state, reason=reason))
                    case IntervalsMerged(asset, prev_start, prev_end):
                        conn.execute(delete(StateInterval)
                                     .where(StateInterval.asset_id == asset, StateInterval.end_ts.is_(None)))
                        conn.execute(update(StateInterval)
                                     .where(StateInterval.asset_id == asset, StateInterval.start_ts == prev_start,
                                            StateInterval.end_ts == prev_end)
                                     .values(end_ts=None))
                    case GapFilled() | Recombined():
                        fill_gap(conn, msg)
                    case Transition(asset, at, detected, old, new, reason):
                        transitions.append({"asset_id": asset, "at_ts": at, "detected_ts": detected,
                                            "old_state": old, "new_state": new, "reason": reason})
                    case Event(asset, ts, source, kind, name, severity, summary, details):
                        events.append({"ts": ts, "asset_id": asset or None, "source": source[:128], "kind": kind,
                                       "name": name[:128], "severity": severity, "summary": summary,
                                       "details": details})
                    case EventRepeated():
                        repeated.append(msg)
                    case BaselineResults(asset, rows, changed):
                        if changed:
                            conn.execute(insert(BaselineChange), list(changed))
                        if rows:
                            upsert = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(BaselineResult)
                            conn.execute(upsert.on_conflict_do_update(
                                index_elements=["asset_id", "check_id"],
                                set_={c: getattr(upsert.excluded, c) for c in
                                      ("policy", "status", "evidence", "ran_at", "since")}), list(rows))
                    case Hj212Data():
                        hj212.extend(_hj212_rows(msg))
                    case Hj212Frame(asset, mn, cn, qn, received, peer, crc, oversize, raw):
                        frames.append({"asset_id": asset, "mn": mn[:64], "cn": cn[:8], "qn": qn[:32] if qn else qn,
                                       "received": received, "peer": peer[:64], "crc": crc, "oversize": oversize,
                                       "raw": raw})
                    case FlowTop(link, start, end, rows):
                        flow_rows.extend({"link": link, "start_ts": start, "end_ts": end, "src": r.src[:45],
                                          "dst": r.dst[:45], "dst_port": r.dst_port, "protocol": r.protocol,
                                          "bytes": r.bytes, "packets": r.packets, "flows": r.flows} for r in rows)
                    case Prune():
                        self._pruning = msg  # done a chunk at a time between batches: see _prune_chunk
                    case Heartbeat():
                        pass
                    case _:  # pragma: no cover - a programming error: the routing table sent the wrong type
                        raise TypeError(f"the store writer does not take {type(msg).__name__}")
            if streams:
                upsert = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(AgentStream)
                conn.execute(upsert.on_conflict_do_update(
                    index_elements=["agent", "stream"],
                    set_={"max_seq": upsert.excluded.max_seq, "max_ts_ms": upsert.excluded.max_ts_ms,
                          "updated_at": upsert.excluded.updated_at}),
                    list(streams.values()))
            if hj212:
                # Insert-or-ignore on the key (SQLite's OR IGNORE, PostgreSQL's ON CONFLICT DO NOTHING): a resent
                # hour, in this batch or an earlier one, leaves the first copy as it is.
                ignore = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(Hj212Datum)
                conn.execute(ignore.on_conflict_do_nothing(index_elements=["mn", "cn", "data_time", "point",
                                                                           "factor"]), hj212)
            if frames:
                conn.execute(insert(Hj212FrameRow), frames)
            if flow_rows:
                conn.execute(insert(FlowTopRow), flow_rows)
            if observations:
                conn.execute(insert(Observation), observations)
            if transitions:
                conn.execute(insert(TransitionRow), transitions)
            if events:
                conn.execute(insert(EventRow), events)
            for again in repeated:
                conn.execute(update(EventRow)
                             .where(EventRow.ts == again.ts, EventRow.source == again.source[:128],
                                    EventRow.kind == again.kind, EventRow.name == again.name[:128],
                                    EventRow.details["group"].as_string() == again.group)
                             .values(details=again.details))
            now = self.clock()
            values = {"ts": now, "started_ts": self.started, "pid": os.getpid()}
            updated = conn.execute(update(HeartbeatRow).where(HeartbeatRow.id == 1).values(**values))
            if updated.rowcount == 0:
                conn.execute(insert(HeartbeatRow).values(id=1, **values))


def _hj212_rows(msg: Hj212Data) -> list[dict[str, Any]]:
    """The rows of one upload, one per factor (a factor sent twice in one message: its first values)."""
    rows: dict[str, dict[str, Any]] = {}
    for v in msg.values:
        if v.factor[:64] not in rows:
            rows[v.factor[:64]] = {
                "asset_id": msg.asset_id, "mn": msg.mn[:64], "cn": msg.cn[:8], "data_time": msg.data_time,
                "point": msg.point[:64], "factor": v.factor[:64], "rtd": _cut(v.rtd), "avg": _cut(v.avg),
                "min": _cut(v.min), "max": _cut(v.max), "cou": _cut(v.cou), "zs_avg": _cut(v.zs_avg),
                "flag": v.flag[:16] if v.flag is not None else None, "extra": dict(v.extra) or None,
                "crc": msg.crc, "received": msg.received}
    return list(rows.values())


def _cut(value: str | None) -> str | None:
    return value[:64] if value is not None else None


def _settle(future: Future[None], error: BaseException | None) -> None:
    """Answer a waiter, unless it gave up (a door's wait timed out and cancelled it): never raise here."""
    try:
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
