"""A token bucket per source address, so one chatty or hostile sender cannot take the trap receiver.

Why per source: a device in a link-flap storm or a flood from one address must not crowd out the traps of
every other device. Why bounded: spoofed sources would otherwise make one bucket each without end; a full
bucket is the same as no bucket, so full ones are forgotten first, and when even that leaves too many,
new sources share one bucket (a flood from many addresses is then limited as a whole).

    buckets = SourceBuckets(rate=50, burst=200)
    if not buckets.take("10.0.0.2"):
        ...  # dropped, counted with reason "rate"
"""
from __future__ import annotations

import time
from collections.abc import Callable

SHARED = "*"  # the bucket of the sources beyond max_tracked


class SourceBuckets:
    def __init__(self, rate: float, burst: int, max_tracked: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_tracked = max_tracked
        self.clock = clock
        self._buckets: dict[str, list[float]] = {}  # source -> [tokens, when they were counted]

    def take(self, source: str) -> bool:
        """One token from the source's bucket: False when it is empty (the packet is beyond the rate)."""
        now = self.clock()
        bucket = self._buckets.get(source)
        if bucket is None:
            if len(self._buckets) >= self.max_tracked:
                self._forget_full(now)
            if len(self._buckets) >= self.max_tracked:
                source = SHARED
                bucket = self._buckets.get(SHARED)
            if bucket is None:
                bucket = self._buckets[source] = [self.burst, now]
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True

    def _forget_full(self, now: float) -> None:
        for source, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.burst:
                del self._buckets[source]

    def __len__(self) -> int:
        return len(self._buckets)
