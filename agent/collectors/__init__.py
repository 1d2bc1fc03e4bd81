"""Agent collectors by name; building the set from the config is explicit, no discovery."""
from __future__ import annotations

from opsmon.agent.collectors.base import Collector, Registry
from opsmon.agent.collectors.hardware import Sensors
from opsmon.agent.collectors.network import Network
from opsmon.agent.collectors.services import Services
from opsmon.agent.collectors.storage import DiskIO, Filesystems, Smart
from opsmon.agent.collectors.system import Cpu, Memory, Uptime

COLLECTORS: dict[str, type[Collector]] = {}
for _cls in (Cpu, Memory, Uptime, Filesystems, DiskIO, Network, Sensors, Services, Smart):
    if _cls.name in COLLECTORS:
        raise RuntimeError(f"agent collector {_cls.name!r} registered twice")
    COLLECTORS[_cls.name] = _cls


def build(services: list[str], smartctl: str | None = None) -> Registry:
    return Registry([Cpu(), Memory(), Uptime(), Filesystems(), DiskIO(), Network(), Sensors(),
                     Services(services), Smart(smartctl)])


__all__ = ["COLLECTORS", "Collector", "Registry", "build"]
