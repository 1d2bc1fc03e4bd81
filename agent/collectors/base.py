"""The collector protocol: each reads one part of the host and returns a JSON-ready section.

A collector that cannot read something returns what it could and counts the
error; it never breaks the report (psutil's lesson: fewer metrics, not none).
"""
from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

log = logging.getLogger(__name__)


class Collector:
    name: ClassVar[str]

    def collect(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Registry:
    """Runs every collector, timing each and counting failures per collector."""

    def __init__(self, collectors: list[Collector]) -> None:
        self.collectors = collectors
        self.errors: dict[str, int] = {c.name: 0 for c in collectors}
        self.last_seconds: dict[str, float] = {}

    def collect(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for c in self.collectors:
            t0 = time.perf_counter()
            try:
                out[c.name] = c.collect()
            except Exception as exc:  # one broken collector must not cost the whole report
                self.errors[c.name] += 1
                log.warning("collector failed", extra={"collector": c.name, "error": str(exc)[:200]})
            self.last_seconds[c.name] = time.perf_counter() - t0
        return out
