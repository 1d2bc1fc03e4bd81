"""One collector per database.

Two collectors on one database would each "recover" the other's open intervals
and write conflicting timelines. The lock is taken before recovery: a file lock
next to a SQLite file, a session advisory lock on PostgreSQL. Both vanish with
the process, so a crash never leaves a stale lock behind.
"""
from __future__ import annotations

import fcntl
import os
from typing import Any

from sqlalchemy import text

from opsmon.collector.core.errors import StoreError
from opsmon.collector.store.db import Store

ADVISORY_KEY = 0x6F70736D6F6E  # "opsmon"


class InstanceLock:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._fd: int | None = None
        self._conn: Any = None

    def acquire(self) -> None:
        if self.store.dialect == "sqlite":
            path = self.store.engine.url.database
            if not path or path == ":memory:":
                return
            fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise StoreError(f"another collector (pid {holder}) is running on {path}") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            self._fd = fd
        else:
            conn = self.store.engine.connect()
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar():
                conn.close()
                raise StoreError("another collector is running on this database (advisory lock held)")
            conn.commit()
            self._conn = conn

    def held(self) -> bool:
        """Still ours? A file lock is while the process lives; an advisory lock while its session does."""
        if self._conn is None:
            return True
        try:
            return bool(self._conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                     "AND objid = :lo"), {"lo": ADVISORY_KEY & 0xFFFFFFFF}).scalar())
        except Exception:
            return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            # The connection goes back to the pool: unlock, or the lock would outlive us there.
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            self._conn.commit()
            self._conn.close()
            self._conn = None
