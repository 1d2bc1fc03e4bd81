"""Store and forward: a bounded on-disk queue of reports not yet accepted by the collector.

One file per report, named by sequence number, written atomically (temp file +
rename) so a crash never leaves half a report. Bounded by total bytes and by age;
when full, the oldest are dropped first and counted (the count survives restarts).

One process per spool (SpoolLock): the spool also keeps the report stream (stream.json, see
runner.py), and two processes numbering one stream make the collector take one's reports as
replays of the other's (issue 16 item 6).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, Any

from opsmon.agent.compat import unlink_missing_ok
from opsmon.agent.errors import SpoolBusy

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

LOCK_FILE = "agent.lock"
_WINDOWS_LOCK_AT = 1 << 20  # Windows locks bytes and a locked byte cannot be read: lock one far past the pid


class Spool:
    def __init__(self, directory: str, max_bytes: int, max_age: float) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._state = self.dir / "state.json"
        state = self._read_state()
        self.dropped = int(state.get("dropped", 0))

    def _read_state(self) -> dict[str, Any]:
        try:
            return json.loads(self._state.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        tmp = self._state.with_suffix(".tmp")
        tmp.write_text(json.dumps({"dropped": self.dropped}))
        os.replace(tmp, self._state)

    def _files(self) -> list[Path]:
        return sorted(self.dir.glob("*.report"))

    def put(self, seq: int, body: bytes) -> None:
        path = self.dir / f"{seq:020d}.report"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self.enforce()

    def enforce(self, now: float | None = None) -> int:
        """Drop the oldest reports beyond the age or size bound; returns how many were dropped."""
        now = now or time.time()
        files = self._files()
        sizes = {f: f.stat().st_size for f in files}
        total = sum(sizes.values())
        dropped = 0
        for f in files:
            too_old = now - f.stat().st_mtime > self.max_age
            if not too_old and total <= self.max_bytes:
                break
            total -= sizes[f]
            unlink_missing_ok(f)
            dropped += 1
        if dropped:
            self.dropped += dropped
            self._save_state()
        return dropped

    def oldest(self, limit: int = 100) -> list[tuple[Path, bytes]]:
        out = []
        for f in self._files()[:limit]:
            try:
                out.append((f, f.read_bytes()))
            except OSError:
                continue
        return out

    def remove(self, path: Path) -> None:
        unlink_missing_ok(path)

    def __len__(self) -> int:
        return len(self._files())

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self._files())


class SpoolLock:
    """An OS lock on `<spool>/agent.lock`, held for the life of the process.

    The kernel releases it however the process ends (kill -9 included), so unlike a pid file it is
    never stale. The holder writes its pid into the file, only to name it in the refusal; the lock,
    not the pid, decides. Usage:

        lock = SpoolLock.acquire("/var/lib/opsmon-agent/spool")   # raises SpoolBusy(spool, pid)
        ...                                                       # run the agent
        lock.release()                                            # or let the process end
    """

    def __init__(self, path: Path, fh: IO[str]) -> None:
        self.path = path
        self._fh = fh

    @classmethod
    def acquire(cls, directory: str) -> SpoolLock:
        spool = Path(directory)
        spool.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = spool / LOCK_FILE
        fh = open(path, "a+")  # not "w": truncating would erase the holder's pid before we know we lost
        try:
            _lock(fh)
        except OSError:
            fh.seek(0)
            text = fh.read(32).strip()
            fh.close()
            raise SpoolBusy(str(spool), int(text) if text.isdigit() else None) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        return cls(path, fh)

    def release(self) -> None:
        self._fh.close()  # closing the file releases the lock; the file stays (removing it would race)


def _lock(fh: IO[str]) -> None:
    """Take the lock without waiting; OSError when another process has it."""
    if fcntl is not None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:  # pragma: no cover - Windows only
        fh.seek(_WINDOWS_LOCK_AT)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
