"""Filesystems (usage and inodes), disk I/O counters, and SMART health where smartctl exists."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from typing import Any

import psutil

from opsmon.agent.collectors.base import Collector

# Pseudo and overlay filesystems say nothing about the host's disks.
SKIP_FSTYPES = {"tmpfs", "devtmpfs", "squashfs", "overlay", "proc", "sysfs", "cgroup", "cgroup2", "nsfs",
                "autofs", "devpts", "mqueue", "debugfs", "tracefs", "securityfs", "pstore", "bpf", "fusectl",
                "configfs", "hugetlbfs", "ramfs", "binfmt_misc", "efivarfs", "rpc_pipefs"}


class Filesystems(Collector):
    name = "filesystems"

    def collect(self) -> list[dict[str, Any]]:
        out = []
        seen: set[str] = set()
        for part in psutil.disk_partitions(all=False):
            if part.fstype in SKIP_FSTYPES or part.mountpoint in seen:
                continue
            seen.add(part.mountpoint)
            try:
                usage = psutil.disk_usage(part.mountpoint)
            except OSError:
                continue  # unmounted between listing and reading, or no permission
            doc: dict[str, Any] = {"mountpoint": part.mountpoint, "device": part.device, "fstype": part.fstype,
                                   "size": usage.total, "avail": usage.free, "used": usage.used,
                                   "readonly": "ro" in part.opts.split(",")}
            if hasattr(os, "statvfs"):
                try:
                    st = os.statvfs(part.mountpoint)
                    doc["files"], doc["files_free"] = st.f_files, st.f_ffree
                except OSError:
                    pass
            out.append(doc)
        return out


class DiskIO(Collector):
    name = "disks"

    def collect(self) -> list[dict[str, Any]]:
        counters = psutil.disk_io_counters(perdisk=True) or {}
        return [{"device": dev, "read_bytes": c.read_bytes, "write_bytes": c.write_bytes,
                 "reads": c.read_count, "writes": c.write_count,
                 "io_ms": getattr(c, "busy_time", 0)} for dev, c in counters.items()
                if not dev.startswith(("loop", "ram"))]


class Smart(Collector):
    """`smartctl --json -H` per disk; present only where smartctl is installed and permitted.

    Running smartctl costs ~20 ms of CPU per disk and SMART health changes slowly, so the
    result is refreshed every `every` seconds (default 10 min) and reused in between.
    """

    name = "smart"

    def __init__(self, smartctl: str | None = None, every: float = 600.0) -> None:
        self.smartctl = smartctl or shutil.which("smartctl")
        self.every = every
        self._cached: list[dict[str, Any]] | None = None
        self._at = -1e18

    def collect(self) -> list[dict[str, Any]] | None:
        if not self.smartctl:
            return None
        if self._cached is not None and time.monotonic() - self._at < self.every:
            return self._cached
        self._cached = self._read()
        self._at = time.monotonic()
        return self._cached

    def _read(self) -> list[dict[str, Any]]:
        assert self.smartctl is not None
        scan = subprocess.run([self.smartctl, "--scan", "--json"], capture_output=True, text=True, timeout=20)
        devices = [d["name"] for d in json.loads(scan.stdout or "{}").get("devices", [])]
        out = []
        for dev in devices:
            proc = subprocess.run([self.smartctl, "--json", "-H", dev], capture_output=True, text=True, timeout=20)
            try:
                doc = json.loads(proc.stdout)
            except json.JSONDecodeError:
                continue
            passed = doc.get("smart_status", {}).get("passed")
            out.append({"device": dev, "healthy": passed})
        return out
