"""Host facts for the inventory: sent at start and whenever they change."""
from __future__ import annotations

import platform
import socket
from pathlib import Path
from typing import Any

import psutil

from opsmon.agent.compat import os_release


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _serial() -> str | None:
    for path in ("/sys/class/dmi/id/product_serial", "/sys/class/dmi/id/board_serial"):
        try:
            value = Path(path).read_text().strip()  # root-only on most Linux hosts
        except OSError:
            continue
        if value and value.lower() not in ("none", "to be filled by o.e.m.", "default string"):
            return value
    return None


def host_facts() -> dict[str, Any]:
    addresses: list[dict[str, str]] = []
    for nic, addrs in psutil.net_if_addrs().items():
        for a in addrs:
            if a.family in (socket.AF_INET, socket.AF_INET6):
                addresses.append({"interface": nic, "ip": a.address.split("%")[0]})
            elif getattr(psutil, "AF_LINK", None) == a.family:
                addresses.append({"interface": nic, "mac": a.address})
    return {
        "hostname": socket.gethostname(),
        "os": platform.system(),
        "os_release": _os_release(),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": psutil.cpu_count() or 0,
        "memory_bytes": psutil.virtual_memory().total,
        "addresses": addresses,
        "serial": _serial(),
    }


def _os_release() -> str:
    try:
        info = os_release()
        return info.get("PRETTY_NAME") or info.get("NAME", "")
    except (OSError, AttributeError):
        return platform.version()
