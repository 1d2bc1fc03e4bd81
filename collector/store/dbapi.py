"""Store reads on the plain DB-API driver (sqlite3; psycopg for PostgreSQL), each query written once.

Why: a read command (`opsmon status`, `incidents list`) must answer in under 0.3 s above the interpreter's
start (issue 25 item 2), and importing SQLAlchemy with the store's mapped classes alone costs ~0.36 s. So the
reads those commands use are plain SQL strings (`:name` parameters) run through `Reader.rows()`, and the
running collector runs the very same strings: `Store.reader()` (store/db.py) hands the pooled connection's
own DB-API connection to the same Reader. There is no second copy of a query.

`open_reading_store()` opens the plain driver when it can serve (a SQLite file that exists or a PostgreSQL URL,
the driver importable, the schema at SCHEMA_REVISION); otherwise (a new or older database, a URL it does not
know) it opens the full store, which creates, migrates or says why it cannot connect, with the same messages as
before. A PostgreSQL server the plain driver cannot reach is said at once, in the full store's words, rather than
waited for a second time. The plain connection refuses writes (PlainStore).
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import quote

from opsmon.collector.store.millis import from_ms_or_none

# The newest migration. Checking it costs one query; running Alembic costs ~0.2 s and its imports, so commands
# only migrate when the database is behind (a test keeps this equal to Alembic's head). Here, not in db.py,
# so that the plain-driver reads check it without importing SQLAlchemy; store/db.py re-exports it.
SCHEMA_REVISION = "0027"

Row = tuple[Any, ...]
# A quoted literal or identifier (kept as written: a `:x` inside is text, not a parameter), or a `:name` parameter
# (not the `::` of a PostgreSQL cast, nor a `a:b` inside a word).
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(?<![:\w]):([A-Za-z_]\w*)")


class Reader(Protocol):
    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    def run(self, sql: str, params: Sequence[Mapping[str, Any]] = ()) -> None: ...


class Readable(Protocol):
    """What the reads take: the full store (store/db.Store) or the plain one (PlainStore)."""

    @property
    def dialect(self) -> str: ...

    def reader(self) -> Any: ...  # a context manager giving a Reader

    def own_reader(self, scratch: bool = False) -> Any:
        """A context manager giving a Reader on a connection of its own (the SLA engine's passes read on such
        connections while its own reads the rest); `scratch`: one on which temporary tables may be made."""
        ...

    @property
    def shared(self) -> bool:
        """Whether a connection of its own sees this store's data (not so for an in-memory SQLite database)."""
        ...


def pyformat(sql: str) -> str:
    """The query for psycopg, whose parameters are %(name)s: `:name` rewritten outside quoted literals and
    identifiers (as sqlite3 and SQLAlchemy's text() read them), every literal % doubled, inside quotes too:
    psycopg reads its placeholders across the whole string, quotes or not."""
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(sql):
        out.append(sql[pos:match.start()].replace("%", "%%"))
        out.append(f"%({match[1]})s" if match[1] else match[0].replace("%", "%%"))
        pos = match.end()
    out.append(sql[pos:].replace("%", "%%"))
    return "".join(out)


def json_value(value: Any) -> Any:
    """A JSON column read back as SQLAlchemy's JSON type gives it: SQLite holds the text, psycopg parses a json
    column itself; NULL (and JSON's null) is None."""
    if isinstance(value, str):
        return json.loads(value)
    return value


def row_values(names: Iterable[str], row: Row, *, json: Collection[str] = (), times: Collection[str] = (),
               flags: Collection[str] = ()) -> dict[str, Any]:
    """A row of the columns `names` as {name: value}, as the mapped classes read it back: `json` cells as values
    (json_value), `times` (stored milliseconds) as UTC datetimes or None, `flags` as bools (SQLite's 0 or 1).
    A name to convert that is no column of `names` is a KeyError: a misspelt one would leave SQLite's text or
    milliseconds unconverted where psycopg hands over values, so the two databases would answer differently."""
    values = dict(zip(names, row, strict=True))
    for said, read in ((json, json_value), (times, from_ms_or_none), (flags, bool)):
        for name in said:
            values[name] = read(values[name])
    return values


def contains(value: str) -> str:
    """The LIKE pattern of `column LIKE :p ESCAPE '/'` matching `value` anywhere in the column, its own %, _ and /
    taken literally (what SQLAlchemy's contains(autoescape=True) sends)."""
    return "%" + value.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


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

    def run(self, sql: str, params: Sequence[Mapping[str, Any]] = ()) -> None:
        """A statement that returns no rows, once per parameter set (or once without): a transaction's settings
        (the SLA pass's SET TRANSACTION, its snapshot) and service_hours.py's temporary tables, nothing else; the
        plain connection refuses every other write."""
        cursor = self.connection.cursor()
        try:
            text = pyformat(sql) if self.postgres else sql
            if params:
                cursor.executemany(text, [dict(p) for p in params])
            else:
                cursor.execute(text, {})  # with parameters, so psycopg turns pyformat's %% back into %
        finally:
            cursor.close()


def driver_refusals() -> tuple[type[Exception], ...]:
    """The drivers' own errors of a store that refused for now (locked past its timeout, connection lost): reads
    on the DB-API connection raise them unwrapped, where SQLAlchemy would have wrapped them. psycopg's only once
    something imported it: before that no PostgreSQL store was opened, and a read command must not import it."""
    import sqlite3

    psycopg = sys.modules.get("psycopg")
    return (sqlite3.OperationalError, psycopg.OperationalError) if psycopg else (sqlite3.OperationalError,)


def postgres_connect_args(connect_timeout: float) -> dict[str, Any]:
    """psycopg's connection settings, the same for both stores: keepalives and a send timeout, so that a collector
    cut off from its database notices within seconds (and stops, having lost its lock: docs/operations.md),
    instead of waiting on TCP for hours."""
    return {"connect_timeout": max(1, int(connect_timeout)), "keepalives": 1, "keepalives_idle": 5,
            "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 15000}


class PlainStore:
    """One DB-API connection, read only, for a command that reads and exits: the connection itself refuses writes
    (SQLite's query_only, PostgreSQL's read-only transactions), so a statement through reader() cannot change the
    store, whatever its text."""

    def __init__(self, connection: Any, dialect: str, connect: Any = None) -> None:
        self.connection = connection
        self._dialect = dialect
        self._connect = connect  # (scratch: bool) -> another DB-API connection to the same store

    @property
    def dialect(self) -> str:
        return self._dialect

    @property
    def shared(self) -> bool:
        return True  # a file or a server: never an in-memory database

    @contextmanager
    def own_reader(self, scratch: bool = False) -> Iterator[Reader]:
        """A Reader on a new connection, closed after. Read only as this one, except a `scratch` connection,
        which may make temporary tables: on SQLite it opens the file read-only (mode=ro: the file cannot be
        written through it; its temporary tables are its own); on PostgreSQL it is a connection whose
        transactions may write (a read-only one may not create a temporary table), on which only
        service_hours.py's fixed statements run: its temporary tables made, then `SET TRANSACTION READ ONLY`,
        filled and read, and dropped by the rollback."""
        conn = self._connect(scratch)
        try:
            yield DbapiReader(conn, self._dialect)
        finally:
            conn.close()

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

        def lite(scratch: bool) -> Any:
            if scratch:  # temporary tables of its own; the file itself opened read-only
                return sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=10,
                                       check_same_thread=False)
            conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=10, check_same_thread=False)
            # not mode=ro: a reader of a WAL database must be able to create its -shm file; query_only refuses
            # every write (and schema change) on this connection instead
            conn.execute("PRAGMA query_only=ON")
            return conn

        try:  # mode=rw: a missing file is the full store's to create (0600, with its folder) and migrate
            conn = lite(False)
        except sqlite3.Error:
            return None
        return PlainStore(conn, "sqlite", lite)
    for scheme in ("postgresql://", "postgresql+psycopg://"):
        if url.startswith(scheme):
            try:
                import psycopg
            except ImportError:
                return None
            try:
                pg = psycopg.connect("postgresql://" + url[len(scheme):], **postgres_connect_args(connect_timeout))
            except psycopg.Error as exc:
                # The full store would connect with the same settings and fail the same way, after waiting
                # connect_timeout a second time: say it now, in its words (store/db.open_store).
                from opsmon.collector.core.errors import StoreError
                from opsmon.collector.store.db import _short, safe_url

                raise StoreError(f"cannot connect to database {safe_url(url)}: {_short(exc)}") from None
            pg.read_only = True  # every transaction of this connection: BEGIN READ ONLY
            target = "postgresql://" + url[len(scheme):]

            def server(scratch: bool, target: str = target) -> Any:
                other = psycopg.connect(target, **postgres_connect_args(connect_timeout))
                other.read_only = not scratch
                return other

            return PlainStore(pg, "postgresql", server)
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
