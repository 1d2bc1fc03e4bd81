"""Temperatures and fans where the platform exposes them (psutil's sensors_* are optional)."""
from __future__ import annotations

from typing import Any

import psutil

from opsmon.agent.collectors.base import Collector


class Sensors(Collector):
    name = "sensors"

    def collect(self) -> dict[str, Any] | None:
        temps_fn = getattr(psutil, "sensors_temperatures", None)
        fans_fn = getattr(psutil, "sensors_fans", None)
        if temps_fn is None and fans_fn is None:
            return None
        temps = []
        for chip, readings in (temps_fn() if temps_fn else {}).items():
            for i, r in enumerate(readings):
                temps.append({"sensor": f"{chip}/{r.label or i}", "celsius": r.current,
                              "high": r.high, "critical": r.critical})
        fans = []
        for chip, readings in (fans_fn() if fans_fn else {}).items():
            for i, r in enumerate(readings):
                fans.append({"fan": f"{chip}/{r.label or i}", "rpm": r.current})
        return {"temperatures": temps, "fans": fans}
