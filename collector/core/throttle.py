"""When a line that can repeat without end may be written: the first at once, then at most one per interval
per key, with a count of those held back in between (rsyslog's ratelimit.interval pattern).

Why one place: the receivers' refusals (traps, flows, HJ 212, a site poller's late results), the period
cache's failing measurement and the event loop's stalls each log something a flood or a reloading page can
repeat many times a second. The rule ("once, then once a minute, saying how many since") and its bound on
memory are the same for all of them, so they live here and nowhere else.

    throttle = Throttle(every=60.0)
    held = throttle.ask("2026Q3")      # 0: write the line now (nothing held back before it)
    held = throttle.ask("2026Q3")      # None: within the minute, counted, not written
    ... a minute later: throttle.ask("2026Q3") == 1, the one held back
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Per key: when its last line was written and how many were held back since. Safe across threads.

    At most `max_keys` keys are remembered (the least recently written is forgotten first), so a flood of
    distinct keys cannot grow memory; a forgotten key's next line is written at once, as a first one. None: a
    caller whose keys are already bounded (the receivers' labels: assets plus `max_sources`) keeps them all."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_keys: int | None = 4096) -> None:
        self.every = every
        self.clock = clock
        self.max_keys = max_keys
        self._lines: dict[str, tuple[float, int]] = {}  # key -> (written at, held back since)
        self._lock = threading.Lock()

    def ask(self, key: str = "") -> int | None:
        """None: hold this line back (it is counted). Otherwise write it now: the value is how many were held
        back since the key's previous line (0 for a first line)."""
        now = self.clock()
        with self._lock:
            written, held = self._lines.get(key, (float("-inf"), 0))
            if now - written < self.every:
                self._lines[key] = (written, held + 1)
                return None
            self._written(key, now)
            return held

    def due(self, key: str = "") -> bool:
        """Whether a line for `key` may be written now (for callers that keep their own pending counts and
        write later, from a tick, what waited a full interval)."""
        with self._lock:
            return self.clock() - self._lines.get(key, (float("-inf"), 0))[0] >= self.every

    def since(self, key: str = "") -> float | None:
        """Seconds since the key's last line, None if it has none (its next line is a first one)."""
        with self._lock:
            written = self._lines.get(key)
        return None if written is None else self.clock() - written[0]

    def written(self, key: str = "") -> None:
        """Record that the key's line was written now (with `due`)."""
        with self._lock:
            self._written(key, self.clock())

    def _written(self, key: str, now: float) -> None:
        self._lines.pop(key, None)  # re-inserted last: the dict's order is least recently written first
        self._lines[key] = (now, 0)
        while self.max_keys is not None and len(self._lines) > self.max_keys:
            del self._lines[next(iter(self._lines))]
