"""Presence of configured services or processes, matched by process name.

The name is psutil's Process.name(): on Linux the kernel's comm (at most 15 bytes), extended to
the base name of argv[0] when comm is 15 characters long and argv[0]'s base name starts with it
("prometheus-node" becomes "prometheus-node-exporter").

Each name's last matching pid is remembered and only that pid is confirmed next time (its name
read again); any process of that name answers for it, so a reused pid with the same name is still
a correct "running". A name that is not confirmed needs a look at every process, every collection
until it appears: a service that starts is seen at the next collection, one that stops is seen
absent at the next collection.

On Linux that look reads /proc/<pid>/comm with plain system calls (about 20x cheaper than
psutil.process_iter, which builds a Process object and reads /proc/<pid>/stat twice per process),
and reads /proc/<pid>/cmdline only for a process whose comm is a truncated configured name. It
reads every process rather than only pids new since the last look, because exec() changes a
process's name but not its pid (a wrapper script that `exec`s the service, or a collection that
falls between fork and exec). Other platforms (Windows, macOS) use psutil.
"""
from __future__ import annotations

import os
import sys

import psutil

from opsmon.agent.collectors.base import Collector

COMM_LEN = 15  # the kernel truncates comm to TASK_COMM_LEN - 1 bytes
PROC = "/proc"


def procfs_usable() -> bool:
    return sys.platform.startswith("linux") and os.path.isfile(f"{PROC}/self/comm")


def _read(path: str, size: int) -> bytes:
    """One read of a /proc file; raises OSError when the process is gone."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


def _argv0_base(pid: str) -> bytes | None:
    """Base name of argv[0] parsed as psutil's Linux cmdline() does; None when unreadable or empty."""
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as fh:
            data = fh.read()
    except OSError:  # gone, or not readable (psutil then keeps the truncated name)
        return None
    if not data:
        return None
    sep = b"\x00" if data.endswith(b"\x00") else b" "
    if data.endswith(sep):
        data = data[:-1]
    args = data.split(sep)
    if sep == b"\x00" and len(args) == 1 and b" " in data:
        args = data.split(b" ")
    return os.path.basename(args[0])


class Services(Collector):
    name = "services"

    def __init__(self, names: list[str], use_procfs: bool | None = None) -> None:
        self.names = names
        self.procfs = procfs_usable() if use_procfs is None else use_procfs
        # psutil path: name -> Process; /proc path: name -> pid (as the /proc entry's name).
        self._seen: dict[str, psutil.Process] = {}
        self._pids: dict[str, str] = {}
        self._encoded = {n: os.fsencode(n) for n in names}
        self._wanted = {b: n for n, b in self._encoded.items()}
        # comm of a process whose psutil name may be longer than comm: a long configured name's
        # first 15 bytes (a 15-byte configured name too, since argv[0] may extend it).
        self._truncated = {b[:COMM_LEN] for b in self._wanted if len(b) >= COMM_LEN}

    def collect(self) -> dict[str, bool]:
        if not self.names:
            return {}
        return self._collect_procfs() if self.procfs else self._collect_psutil()

    # -- Linux: /proc ----------------------------------------------------------------------

    def _name_of(self, pid: str, comm: bytes | None = None) -> bytes | None:
        """psutil's Process.name() of pid, as bytes (comm if already read); None when the process is gone."""
        if comm is None:
            try:
                comm = _read(f"{PROC}/{pid}/comm", 64)
            except OSError:
                return None
            if comm.endswith(b"\n"):
                comm = comm[:-1]
        if comm in self._truncated and len(os.fsdecode(comm)) >= COMM_LEN:
            base = _argv0_base(pid)
            if base is not None and base.startswith(comm):
                return base
        return comm

    def _collect_procfs(self) -> dict[str, bool]:
        result = dict.fromkeys(self.names, False)
        for name in result:
            pid = self._pids.get(name)
            if pid is not None and self._name_of(pid) == self._encoded[name]:
                result[name] = True
            else:
                self._pids.pop(name, None)
        missing = sum(1 for present in result.values() if not present)
        if not missing:
            return result
        wanted, truncated = self._wanted, self._truncated
        with os.scandir(PROC) as entries:
            for entry in entries:
                pid = entry.name
                if not pid.isdigit():
                    continue
                try:
                    comm = _read(f"{PROC}/{pid}/comm", 64)
                except OSError:  # exited since the listing
                    continue
                if comm.endswith(b"\n"):
                    comm = comm[:-1]
                if comm not in wanted and comm not in truncated:
                    continue
                full = self._name_of(pid, comm)
                name = wanted.get(full) if full is not None else None
                if name is not None and not result[name]:
                    result[name] = True
                    self._pids[name] = pid
                    missing -= 1
                    if not missing:
                        break
        return result

    # -- other platforms: psutil -------------------------------------------------------------

    def _still_running(self, name: str) -> bool:
        proc = self._seen.get(name)
        if proc is None:
            return False
        try:
            # is_running() compares the creation time, so a recycled pid does not count.
            return proc.is_running() and proc.name() == name
        except psutil.Error:
            return False

    def _collect_psutil(self) -> dict[str, bool]:
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
