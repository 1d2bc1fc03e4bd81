"""CPU, load, memory, swap, uptime and process count."""
from __future__ import annotations

import os
import time
from typing import Any

import psutil

from opsmon.agent.collectors.base import Collector


class Cpu(Collector):
    name = "cpu"

    def collect(self) -> dict[str, Any]:
        total = psutil.cpu_times()._asdict()
        per_core = [t._asdict() for t in psutil.cpu_times(percpu=True)]
        load = os.getloadavg() if hasattr(os, "getloadavg") else None  # not on Windows
        return {"seconds": total, "per_core": per_core, "count": psutil.cpu_count() or len(per_core),
                "load": list(load) if load else None}


class Memory(Collector):
    name = "memory"

    def collect(self) -> dict[str, Any]:
        vm = psutil.virtual_memory()
        sw = psutil.swap_memory()
        return {"total": vm.total, "available": vm.available, "used": vm.used,
                "swap_total": sw.total, "swap_used": sw.used, "swap_in": getattr(sw, "sin", 0),
                "swap_out": getattr(sw, "sout", 0)}


class Uptime(Collector):
    name = "system"

    def collect(self) -> dict[str, Any]:
        boot = psutil.boot_time()
        return {"boot_time": boot, "uptime": max(0.0, time.time() - boot), "procs": len(psutil.pids())}
