"""A watch on the collector's event loop: a stall is logged once, with where the loop stood.

Why: everything the collector answers (agents' reports, the API, the pages, the health check) runs on one
asyncio loop. A callback that holds it (a synchronous store access waiting on a locked SQLite, a long
computation) delays every answer at once, and nothing said which callback it was. A thread outside the loop
sees the loop's beat stop and reads the loop thread's stack while the stall lasts: the log then names the
function, which no after-the-fact timing can.

Bounded under a flood: one line when a stall is seen and one when it ends, at most LOG_EVERY apart (the
stalls between are counted, and the next line says how many were not logged). The stack is file, line and
function only, never source text or local values (nothing secret reaches the log).
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from opsmon.collector.core.throttle import Throttle

log = logging.getLogger(__name__)

THRESHOLD = 1.0  # seconds without a beat that count as a stall (a beat is due every PERIOD)
PERIOD = 0.25
LOG_EVERY = 60.0
INNER = 4  # innermost frames of the loop thread's stack in the log line, whoever's
OURS = 6  # and then opsmon's own innermost frames below them
PACKAGE = str(Path(__file__).resolve().parents[2]) + os.sep  # the package root: opsmon's own frames


def where(frame: object | None, inner: int = INNER, ours: int = OURS) -> str:
    """The loop thread's stack as `file:line function`, innermost first: the `inner` innermost frames (what
    waits: sqlite3, a lock, an import), then the `ours` innermost frames of opsmon's own code below them (who
    called it). No source text, no values."""
    if frame is None:
        return "unknown (the loop thread has no frame)"
    stack = list(reversed(traceback.extract_stack(frame)))  # type: ignore[arg-type]
    shown = stack[:inner]
    shown += [f for f in stack[inner:] if _ours(f.filename)][:ours]
    return " < ".join(f"{_short(f.filename)}:{f.lineno} {f.name}" for f in shown)


def _ours(path: str) -> bool:
    """A file of opsmon's package (in a checkout, not of the libraries in its venv)."""
    return path.startswith(PACKAGE) and not any(d in path for d in ("site-packages", "dist-packages"))


def _short(path: str) -> str:
    """opsmon's files from the package root (`collector/store/db.py`); others from their library root."""
    if _ours(path):
        return path[len(PACKAGE):]
    parts = path.replace(os.sep, "/").split("/")
    for anchor in ("site-packages", "dist-packages"):
        if anchor in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(anchor):])
    return "/".join(parts[-2:])


class LoopWatch:
    """Beats on the loop every PERIOD; a thread reads the beat and, past THRESHOLD, the loop thread's stack."""

    def __init__(self, threshold: float = THRESHOLD, period: float = PERIOD, log_every: float = LOG_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.period, self.log_every, self.clock = threshold, period, log_every, clock
        self.stalls = 0  # stalls seen since start
        self.longest = 0.0  # the longest, in seconds
        self._beat = clock()
        self._loop_thread: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stalled_at: float | None = None
        self._throttle = Throttle(log_every, clock)
        self._stall_logged = False

    @property
    def lag(self) -> float:
        """Seconds the loop is late on its beat now (0 while it keeps time)."""
        return max(0.0, self.clock() - self._beat - self.period)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called on the loop's own thread (its stack is the one read during a stall)."""
        self._loop, self._loop_thread = loop, threading.get_ident()
        self._beat = self.clock()
        loop.call_soon(self._on_beat)
        self._thread = threading.Thread(target=self._watch, name="opsmon-loopwatch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2 * self.period + 1)

    def _on_beat(self) -> None:
        self._beat = self.clock()
        if not self._stop.is_set() and self._loop is not None:
            self._loop.call_later(self.period, self._on_beat)

    def _watch(self) -> None:
        while not self._stop.wait(self.period / 2):
            self.check()

    def check(self) -> None:
        """One look at the beat (the watch thread's step; tests call it directly)."""
        lag = self.lag
        if self._stalled_at is None and lag > self.threshold:
            self._stalled_at = self._beat + self.period
            self.stalls += 1
            held = self._throttle.ask()
            self._stall_logged = held is not None
            if held is None:
                return
            frame = sys._current_frames().get(self._loop_thread or -1)
            extra: dict[str, object] = {"stalled_s": round(lag, 2), "where": where(frame)}
            if held:
                extra["stalls_not_logged"] = held
            log.warning("event loop stalled", extra=extra)
        elif self._stalled_at is not None and lag <= self.threshold:
            lasted = self._beat - self._stalled_at
            self.longest = max(self.longest, lasted)
            self._stalled_at = None
            if self._stall_logged:
                log.warning("event loop runs again", extra={"stalled_s": round(lasted, 2)})
