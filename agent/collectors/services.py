"""Presence of configured services or processes, matched by process name.

A full process scan costs about 50 µs a process; rather than scan every
interval, remember the pid that matched each name and only confirm that pid
(same name, same start time) next time. A full scan happens only when a
remembered process is gone.
"""
from __future__ import annotations

import psutil

from agent.collectors.base import Collector


class Services(Collector):
    name = "services"

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._seen: dict[str, psutil.Process] = {}

    def _still_running(self, name: str) -> bool:
        proc = self._seen.get(name)
        if proc is None:
            return False
        try:
            # is_running() compares the creation time, so a recycled pid does not count.
            return proc.is_running() and proc.name() == name
        except psutil.Error:
            return False

    def collect(self) -> dict[str, bool]:
        if not self.names:
            return {}
        result = {n: self._still_running(n) for n in self.names}
        if not all(result.values()):
            for proc in psutil.process_iter(["name"]):
                name = proc.info.get("name")
                if name in result and not result[name]:
                    result[name] = True
                    self._seen[name] = proc
            for name, present in result.items():
                if not present:
                    self._seen.pop(name, None)
        return result
