"""A store that refuses a read on the plain DB-API connection (store/dbapi.py's Reader, which the SLA engine,
the surveys and the incident listings use) answers 503 with Retry-After, as SQLAlchemy's refusals always did,
never a 500: the driver's own OperationalError is not wrapped by SQLAlchemy there."""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from opsmon.collector.outputs.api.app import create_app, store_refusals
from opsmon.collector.store import open_store, tokens
from tests.collector.cli.test_cli_local_time import KNOWN, _populate
from tests.conftest import write_config


def test_the_drivers_refusals_are_the_stores() -> None:
    """sqlite3's and (installed with the postgres extra) psycopg's OperationalError, beside SQLAlchemy's."""
    psycopg = pytest.importorskip("psycopg")
    assert {sqlite3.OperationalError, psycopg.OperationalError} <= set(store_refusals())


def test_a_locked_store_on_a_plain_read_is_a_503_not_a_500(tmp_path: Path) -> None:
    db = tmp_path / "opsmon.db"
    _populate(db)
    store = open_store(f"sqlite:///{db}")
    token = tokens.create(store, "reader", "operator", "test")

    @contextmanager
    def locked() -> Iterator[None]:  # what sqlite3 raises after the busy timeout while a writer holds the lock
        raise sqlite3.OperationalError("database is locked")
        yield

    face = SimpleNamespace(store=store, max_body_bytes=1 << 20, timezone="Asia/Shanghai", now=lambda: KNOWN)
    app = create_app(face)  # type: ignore[arg-type]

    async def get(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get(path, headers={"Authorization": f"Bearer {token}"})

    try:
        assert asyncio.run(get("/api/v1/incidents")).status_code == 200  # the same read, the store answering
        store.reader = locked  # type: ignore[method-assign]
        answer = asyncio.run(get("/api/v1/incidents"))
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "10"
        assert "OperationalError" in answer.json()["detail"] and "try again later" in answer.json()["detail"]
    finally:
        store.close()


def test_a_locked_store_on_a_plain_read_is_a_sentence_on_the_command_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The same refusal on the command line (`opsmon incidents list` on the plain driver): the CLI's database
    error, exit 1, not a traceback (the driver's error is not the store's StoreError the CLI knew). The store that
    refuses is a stand-in raising sqlite3's own error, as the API test's above: a real lock on a WAL store blocks
    no reader, and one that does would hold the read for the plain driver's 10 s busy timeout first."""
    from opsmon.collector.cli import main
    from opsmon.collector.store import dbapi

    class Locked:
        dialect = "sqlite"

        @contextmanager
        def reader(self) -> Iterator[None]:
            raise sqlite3.OperationalError("database is locked")
            yield

    _populate(tmp_path / "opsmon.db")
    config = write_config(tmp_path, f"timezone: Asia/Shanghai\ndatabase:\n  path: {tmp_path / 'opsmon.db'}\n")
    assert main(["--config", str(config), "incidents", "list"]) == 0  # the same read, the store answering
    capsys.readouterr()
    monkeypatch.setattr(dbapi, "open_reading_store", lambda *_: Locked())
    assert main(["--config", str(config), "incidents", "list"]) == 1
    assert capsys.readouterr().err == "opsmon: database error: database is locked\n"
