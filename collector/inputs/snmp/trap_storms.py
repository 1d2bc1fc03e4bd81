"""Storm grouping: the same trap again and again within a window is one stored event with a count.

Why: a flapping link or a looping device sends the same trap many times a second, and every one was an
event row kept 400 days. The same trap is the same source, trap OID and varbinds, time values apart
(sysUpTime.0 and any TimeTicks: they differ in every copy). The first one is published at once as an
`Event` whose details carry count 1, first, last and a group id; later copies within `window` seconds of
the first only raise the count, written at most once a second (`EventRepeated`, which the store applies to
that first row). After the window the next copy starts a new event, so a storm of an hour is sixty rows
with their counts, not one row that hides when it happened.

What the receiver does with a trap (a link going down, a restart) is not grouped: it acts on every copy.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from opsmon.collector.core.messages import Event, EventRepeated, Message


def storm_key(source: str, trap_oid: str, varbinds: list[tuple[str, Any]]) -> bytes:
    """A short digest of what makes two traps the same (values may be big: only the digest is kept)."""
    doc = json.dumps([source, trap_oid, varbinds], default=str, separators=(",", ":"))
    return hashlib.blake2b(doc.encode(), digest_size=16).digest()


@dataclass
class _Group:
    event: Event  # the first trap's event, as published
    opened: float  # monotonic time of the first
    count: int = 1
    last: str = ""
    written: int = 1  # the count the store has


class Storms:
    """Open groups by key; `add()` per trap, `tick()` about once a second, `close()` at the end."""

    def __init__(self, window: float, publish: Callable[[Message], None], max_groups: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.publish = publish
        self.max_groups = max_groups
        self.clock = clock
        self.groups: dict[bytes, _Group] = {}
        self.grouped = 0  # traps that only raised a count

    def add(self, key: bytes, ts: datetime, make: Callable[[], Event]) -> bool:
        """Publish the trap's event (`make()`: only built when it is stored), or count it in its open group;
        True when it was published."""
        now = self.clock()
        group = self.groups.get(key)
        if group is not None and now - group.opened < self.window:
            group.count += 1
            group.last = ts.isoformat()
            self.grouped += 1
            return False
        if group is not None:
            self._write(group)
            del self.groups[key]
        event = make()
        stamp = event.ts.isoformat()
        first = replace(event, details={**event.details, "count": 1, "first": stamp, "last": stamp,
                                        "group": os.urandom(8).hex()})
        self.publish(first)
        if len(self.groups) < self.max_groups:  # beyond: stored one by one rather than held in memory
            self.groups[key] = _Group(first, now, last=stamp)
        return True

    def tick(self) -> None:
        """Write the counts that grew; forget the groups whose window is over."""
        now = self.clock()
        for key, group in list(self.groups.items()):
            self._write(group)
            if now - group.opened >= self.window:
                del self.groups[key]

    def close(self) -> None:
        for group in self.groups.values():
            self._write(group)
        self.groups.clear()

    def _write(self, group: _Group) -> None:
        if group.count == group.written:
            return
        first = group.event
        self.publish(EventRepeated(first.source, first.kind, first.name, first.ts, first.details["group"],
                                   {**first.details, "count": group.count, "last": group.last}))
        group.written = group.count
