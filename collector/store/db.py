"""Engine setup and schema migrations.

SQLite (the embedded default) runs in WAL mode so the API can read while the
writer commits; PostgreSQL is chosen by URL. Alembic migrations run at start,
so an upgraded collector brings its database along by itself.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import (
    ArgumentError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker

from opsmon.collector.core.errors import StoreError
from opsmon.collector.store.dbapi import SCHEMA_REVISION, DbapiReader, Reader, postgres_connect_args

log = logging.getLogger(__name__)

__all__ = ["SCHEMA_REVISION", "Store", "open_store", "safe_url"]  # SCHEMA_REVISION: store/dbapi.py's


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    """An engine plus a session factory; the one handle every component receives."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """The reads of store/dbapi.py on a pooled connection: the same SQL the plain driver runs for a CLI read
        (run on the connection's own DB-API connection, so it is one query on both paths)."""
        with self.engine.connect() as conn:
            yield DbapiReader(conn.connection.driver_connection, self.dialect)

    def own_reader(self, scratch: bool = False) -> Any:
        """reader(): each is a pooled connection of its own already (and may make temporary tables)."""
        return self.reader()

    @property
    def shared(self) -> bool:
        """Whether other connections see this one's database (not so for an in-memory SQLite database)."""
        return self.dialect != "sqlite" or self.engine.url.database not in (None, "", ":memory:")

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("opsmon.collector.store") / "migrations"))
        logging.getLogger("alembic").setLevel(logging.WARNING)
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"schema migration failed on {safe_url(str(self.engine.url))}: {_short(exc)}") from None

    def revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:
            return None  # a new database: no version table yet

    def close(self) -> None:
        self.engine.dispose()


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


def open_store(url: str, connect_timeout: float = 10.0, migrate: bool = True) -> Store:
    """Connect (creating the SQLite file and its folder if needed) and migrate.

    Raises StoreError with a one-line reason and the URL without its password.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError("the database URL cannot be parsed") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # A new folder 0700 and a new file 0600: the store holds token hashes, configurations and the
            # audit log; SQLite creates its -wal and -shm files with the database file's mode.
            db_file = Path(parsed.database)
            try:
                db_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                if not db_file.exists():
                    os.close(os.open(db_file, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise StoreError(f"cannot create the folder for {parsed.database}: {exc.strerror}") from None
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    elif parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs["connect_args"] = postgres_connect_args(connect_timeout)
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StoreError(f"no driver for {safe_url(url)}: {exc} (install opsmon[postgres])") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, SQLAlchemyError) as exc:
        engine.dispose()
        raise StoreError(f"cannot connect to database {safe_url(url)}: {_short(exc)}") from None
    store = Store(engine)
    if migrate and store.revision() != SCHEMA_REVISION:
        store.migrate()
    return store
