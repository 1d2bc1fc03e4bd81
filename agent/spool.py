"""Store and forward: a bounded on-disk queue of reports not yet accepted by the collector.

One file per report, named by sequence number, written atomically (temp file +
rename) so a crash never leaves half a report. Bounded by total bytes and by age;
when full, the oldest are dropped first and counted (the count survives restarts).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


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
            f.unlink(missing_ok=True)
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
        path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._files())

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self._files())
