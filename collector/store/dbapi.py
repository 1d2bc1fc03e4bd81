"""Store reads on the plain DB-API driver (sqlite3; psycopg for PostgreSQL), each query written once.

Why: a read command (`opsmon status`, `incidents list`) must answer in under 0.3 s above the interpreter's
start (issue 25 item 2), and importing SQLAlchemy with the store's mapped classes alone costs ~0.36 s. So the
reads those commands use are plain SQL strings (`:name` parameters) run through `Reader.rows()`, and the
running collector runs the very same strings: `Store.reader()` (store/db.py) hands the pooled connection's
own DB-API connection to the same Reader. There is no second copy of a query.

`open_reading_store()` opens the plain driver when it can serve (a SQLite file that exists or a PostgreSQL URL,
the driver importable, the schema at SCHEMA_REVISION); otherwise (a new or older database, a URL it does not
know, a failed connection) it opens the full store, which creates, migrates or says why it cannot connect,
with the same messages as before.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import quote

# The newest migration. Checking it costs one query; running Alembic costs ~0.2 s and its imports, so commands
# only migrate when the database is behind (a test keeps this equal to Alembic's head). Here, not in db.py,
# so that the plain-driver reads check it without importing SQLAlchemy; store/db.py re-exports it.
SCHEMA_REVISION = "0027"

Row = tuple[Any, ...]
_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class Reader(Protocol):
    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...


class Readable(Protocol):
    """What the reads take: the full store (store/db.Store) or the plain one (PlainStore)."""

    @property
    def dialect(self) -> str: ...

    def reader(self) -> Any: ...  # a context manager giving a Reader


def pyformat(sql: str) -> str:
    """The query for psycopg, whose parameters are %(name)s: `:name` rewritten, a literal % doubled."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


def in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`(:p0, :p1, ...)` and its parameters, for an IN over a list of values."""
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(f":{k}" for k in params) + ")", params


class DbapiReader:
    """A Reader over one DB-API connection (sqlite3 or psycopg)."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.postgres = dialect == "postgresql"

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(pyformat(sql) if self.postgres else sql, dict(params or {}))
            return list(cursor.fetchall())
        finally:
            cursor.close()


def postgres_connect_args(connect_timeout: float) -> dict[str, Any]:
    """psycopg's connection settings, the same for both stores: keepalives and a send timeout, so that a collector
    cut off from its database notices within seconds (and stops, having lost its lock: docs/operations.md),
    instead of waiting on TCP for hours."""
    return {"connect_timeout": max(1, int(connect_timeout)), "keepalives": 1, "keepalives_idle": 5,
            "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 15000}


class PlainStore:
    """One DB-API connection, read only, for a command that reads and exits."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self._dialect = dialect

    @property
    def dialect(self) -> str:
        return self._dialect

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        try:
            yield DbapiReader(self.connection, self._dialect)
        finally:
            self.connection.rollback()  # a read: nothing to keep, and PostgreSQL's snapshot ends here

    def close(self) -> None:
        self.connection.close()


def _connect(url: str, connect_timeout: float) -> PlainStore | None:
    """The plain driver's connection, or None when it cannot serve this URL as it stands."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path or path == ":memory:" or "?" in path:
            return None
        import sqlite3

        try:  # mode=rw: a missing file is the full store's to create (0600, with its folder) and migrate
            conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=10)
        except sqlite3.Error:
            return None
        return PlainStore(conn, "sqlite")
    for scheme in ("postgresql://", "postgresql+psycopg://"):
        if url.startswith(scheme):
            try:
                import psycopg
            except ImportError:
                return None
            try:
                pg = psycopg.connect("postgresql://" + url[len(scheme):], **postgres_connect_args(connect_timeout))
            except psycopg.Error:
                return None
            return PlainStore(pg, "postgresql")
    return None


def open_reading_store(url: str, connect_timeout: float = 10.0) -> Any:
    """A store to read: the plain one when it can serve, else store/db.open_store's (PlainStore or Store)."""
    plain = _connect(url, connect_timeout)
    if plain is not None:
        try:
            with plain.reader() as r:
                current = r.rows("SELECT version_num FROM alembic_version")
        except Exception:  # noqa: BLE001 - no version table (a new database) or a driver error: the full path says
            current = []
        if current == [(SCHEMA_REVISION,)]:
            return plain
        plain.close()
    from opsmon.collector.store.db import open_store

    return open_store(url, connect_timeout)
