"""One collector per database.

Two collectors on one database would each "recover" the other's open intervals
and write conflicting timelines. The lock is taken before recovery: a file lock
next to a SQLite file, a session advisory lock on PostgreSQL. Both vanish with
the process, so a crash never leaves a stale lock behind.

A standby collector (`database.standby`) waits for the lock instead of refusing,
and takes over when it is free. On PostgreSQL the lock's session asks the server
for TCP keepalives of its own (idle 5 s, then 3 probes 2 s apart), so the lock of
a collector whose host vanished without closing its connection is freed within
about 11 s, not after the kernel's two hours.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from opsmon.collector.core.errors import StoreError
from opsmon.collector.store.db import Store

ADVISORY_KEY = 0x6F70736D6F6E  # "opsmon"
# The server-side keepalives of the lock's session: a dead peer is noticed after 5 + 3 x 2 = 11 s.
SESSION_KEEPALIVES = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 2, "tcp_keepalives_count": 3}

log = logging.getLogger("opsmon.store")


class InstanceLock:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._fd: int | None = None
        self._conn: Any = None
        self._owned = False

    def acquire(self, wait: bool = False, poll: float = 2.0,
                waiting: Callable[[str], None] | None = None) -> None:
        """Take the lock, or raise StoreError naming who holds it; with `wait`, try every `poll` seconds
        until it is free (a standby), calling `waiting(who)` once when the first try finds it taken."""
        if self._owned:
            return
        told = False
        while True:
            try:
                holder = self._try()
            except StoreError as exc:
                if not wait:
                    raise
                holder = str(exc)  # a standby keeps waiting through a database restart
            if holder is None:
                self._owned = True
                if told:
                    log.warning("standby: the database lock is free; taking over")
                return
            if not wait:
                raise StoreError(holder)
            if not told:
                told = True
                log.info("standby: another collector holds the database; waiting to take over",
                         extra={"holder": holder, "poll_seconds": poll})
                if waiting is not None:
                    waiting(holder)
            time.sleep(poll)

    def _try(self) -> str | None:
        """One try: None when the lock is ours now, else the sentence saying who holds it."""
        if self.store.dialect == "sqlite":
            path = self.store.engine.url.database
            if not path or path == ":memory:":
                return None
            fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                return f"another collector (pid {holder}) is running on {path}"
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            self._fd = fd
            return None
        try:
            conn = self.store.engine.connect()
        except SQLAlchemyError as exc:
            raise StoreError(f"the database cannot be reached for its lock ({type(exc).__name__})") from None
        try:
            for name, value in SESSION_KEEPALIVES.items():
                conn.execute(text(f"SET {name} = {int(value)}"))
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar():
                conn.close()
                return "another collector is running on this database (advisory lock held)"
            conn.commit()
        except SQLAlchemyError as exc:
            conn.close()
            raise StoreError(f"the database cannot be reached for its lock ({type(exc).__name__})") from None
        self._conn = conn
        return None

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
        self._owned = False
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            # The connection goes back to the pool: unlock, or the lock would outlive us there.
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            self._conn.commit()
            self._conn.close()
            self._conn = None
