"""The routing table: which consumers hear each type of message, in order.

Producers know only `publish`. A message goes to its consumers synchronously, on the
publisher's thread (the event loop), in the order the table lists them: the store
writer first, so what the incident engine acts on is already queued for the store.

A consumer marked `guarded` is isolated: its failure is logged (once per consumer and
message type until it succeeds again) and does not reach the producer. The timeline
and the writer are not guarded: a failure there is a bug that must not pass silently.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    take: Callable[[Any], None]
    guarded: bool = False


class Router:
    """publish(message) -> every consumer of its type; an unrouted type is a programming error.

    The table can be given after the router is made (`route`), so producers built before their
    consumers can already hold `publish`. Each type's consumers are compiled into one callable: a type
    heard by one unguarded consumer is delivered by a single call (3 messages per agent report, thousands
    a second, pass here).
    """

    def __init__(self, table: Mapping[type, Iterable[Consumer]] | None = None) -> None:
        self.table: dict[type, tuple[Consumer, ...]] = {}
        self._deliver: dict[type, Callable[[Any], None]] = {}
        self._failing: set[tuple[str, type]] = set()
        if table is not None:
            self.route(table)

    def route(self, table: Mapping[type, Iterable[Consumer]]) -> None:
        """Set the whole table (replacing any before)."""
        self.table = {kind: tuple(c) for kind, c in table.items()}
        self._deliver = {kind: self._compile(kind, consumers) for kind, consumers in self.table.items()}

    def publish(self, message: Any) -> None:
        try:
            deliver = self._deliver[type(message)]
        except KeyError:
            raise TypeError(f"no route for {type(message).__name__}") from None
        deliver(message)

    def _compile(self, kind: type, consumers: tuple[Consumer, ...]) -> Callable[[Any], None]:
        takes = [self._guard(c, kind) if c.guarded else c.take for c in consumers]
        if len(takes) == 1:
            return takes[0]

        def all_of(message: Any) -> None:
            for take in takes:
                take(message)

        return all_of

    def _guard(self, consumer: Consumer, kind: type) -> Callable[[Any], None]:
        key = (consumer.name, kind)

        def guarded(message: Any) -> None:
            try:
                consumer.take(message)
            except Exception:
                if key not in self._failing:
                    self._failing.add(key)
                    log.exception("a consumer failed on a message; the producer goes on",
                                  extra={"consumer": consumer.name, "message_type": kind.__name__,
                                         "asset": getattr(message, "asset_id", "")})
                return
            if self._failing:
                self._failing.discard(key)

        return guarded

    def describe(self) -> list[tuple[str, list[str]]]:
        """The table in words (for docs and tests): message type -> consumer names."""
        return [(kind.__name__, [c.name for c in consumers]) for kind, consumers in self.table.items()]
