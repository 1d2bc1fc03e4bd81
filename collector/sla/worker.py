"""Quarter-to-date SLA figures (and the HJ 212 hour counts) for /metrics, computed in a process of their own.

Why a process, not a thread: measure() over 10,000 assets is ~0.8 s of Python (row
conversion, per-asset figures, sorting). On a worker thread it still holds the GIL, and
the event loop, which needs it for every request, then waits up to the switch interval
each time it wakes: agent reports answered in 100-500 ms for as long as it runs, every
`sla.refresh` seconds. In another process it costs the loop nothing.

The figures are the same: the worker runs the same quarter_figures() on its own
connection to the same database, with the service's clock reading passed in. An
in-memory SQLite database cannot be opened from another process; there (tests and
tools only) the figures are computed on a thread as before.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from opsmon.collector.sla.hj212_live import Hj212Figures, hj212_figures
from opsmon.collector.sla.results import PeriodResult
from opsmon.collector.store import Store, open_store

log = logging.getLogger(__name__)

_store: Store | None = None  # the worker process's own connection
T = TypeVar("T")


def quarter_figures(store: Store, targets_path: Path | str, timezone: str, now: datetime) -> PeriodResult:
    """The target table measured over the quarter containing `now` (what /metrics shows)."""
    from opsmon.collector.sla.engine import measure
    from opsmon.collector.sla.periods import containing
    from opsmon.collector.sla.targets import load_targets

    return measure(store, load_targets(Path(targets_path)), containing("quarter", now, timezone), now)


def _init(url: str, connect_timeout: float, parent: int) -> None:
    """Worker start: Ctrl-C is the collector's to handle (it stops the worker); open the store once."""
    global _store
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), name="opsmon-sla-parent-watch", daemon=True).start()
    _store = open_store(url, connect_timeout, migrate=False)


def _watch_parent(parent: int) -> None:
    """End this worker when the collector is gone (kill -9, crash): nothing else would.

    The pool's pipes stay open in the worker itself, so it never sees end-of-file, and an
    orphan would keep its database connection (and, on PostgreSQL, a session) forever.
    """
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _in_worker(targets_path: str, timezone: str, now: datetime) -> PeriodResult:
    assert _store is not None
    return quarter_figures(_store, targets_path, timezone, now)


def _hj212_in_worker(targets_path: str, timezone: str, now: datetime) -> Hj212Figures:
    assert _store is not None
    return hj212_figures(_store, targets_path, timezone, now)


def shareable_url(store: Store) -> str | None:
    """The store's URL with its password, when another process can open the same database; else None."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"
                                               or url.query.get("mode") == "memory"):
        return None
    return url.render_as_string(hide_password=False)


class SlaWorker:
    """One long-lived worker process (started at the first refresh) that computes quarter_figures()."""

    def __init__(self, store: Store, connect_timeout: float = 10.0) -> None:
        self.store = store
        self.url = shareable_url(store)
        self.connect_timeout = connect_timeout
        self._pool: ProcessPoolExecutor | None = None

    async def figures(self, targets_path: Path | str, timezone: str, now: datetime) -> PeriodResult:
        """The quarter's target figures."""
        return await self._run(quarter_figures, _in_worker, targets_path, timezone, now)

    async def hj212(self, targets_path: Path | str, timezone: str, now: datetime) -> Hj212Figures:
        """The HJ 212 hour counts of the running half-month (sla/hj212_live.py), in the same process."""
        return await self._run(hj212_figures, _hj212_in_worker, targets_path, timezone, now)

    async def _run(self, here: Callable[..., T], there: Callable[..., T], targets_path: Path | str, timezone: str,
                   now: datetime) -> T:
        if self.url is None:
            return await asyncio.to_thread(here, self.store, targets_path, timezone, now)
        if self._pool is None:
            # spawn, not fork: the collector has threads (store writer, executors) whose locks a fork would copy.
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init, initargs=(self.url, self.connect_timeout, os.getpid()))
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, there, str(targets_path), timezone, now)
        except BrokenProcessPool:
            log.error("SLA worker process died; starting a new one at the next refresh")
            self._pool.shutdown(wait=False)
            self._pool = None
            raise

    def close(self) -> None:
        """Stop the worker (a refresh in progress is abandoned: its figures would not be used)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
