"""Hardware fault signals derived from a collection: what the 1-hour response target is about."""
from __future__ import annotations

from typing import Any


class FaultDetector:
    """Compares each collection with the previous one (a filesystem turning read-only)."""

    def __init__(self) -> None:
        self._rw: set[str] = set()

    def faults(self, m: dict[str, Any]) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for fs in m.get("filesystems") or []:
            mp = fs["mountpoint"]
            if fs.get("readonly") and mp in self._rw:
                out.append({"component": f"filesystem:{mp}", "problem": "remounted read-only (I/O errors?)"})
            if not fs.get("readonly"):
                self._rw.add(mp)
        for d in m.get("smart") or []:
            if d.get("healthy") is False:
                out.append({"component": f"disk:{d['device']}", "problem": "SMART overall health failed"})
        sensors = m.get("sensors") or {}
        for f in sensors.get("fans", []):
            if f["rpm"] == 0:
                out.append({"component": f"fan:{f['fan']}", "problem": "fan stopped"})
        for t in sensors.get("temperatures", []):
            if t.get("critical") and t["celsius"] >= t["critical"]:
                out.append({"component": f"sensor:{t['sensor']}",
                            "problem": f"temperature {t['celsius']:.0f}°C at or over critical {t['critical']:.0f}°C"})
        return out
