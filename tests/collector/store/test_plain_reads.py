"""The reads a CLI read command makes without SQLAlchemy (store/dbapi.py, issue 25 item 2) give what the ORM gave,
on SQLite and on the real PostgreSQL peer: the same SQL runs on the plain driver (PlainStore) and on the
collector's pooled connection (Store.reader()), and both are checked against the mapped classes read through
the ORM, as main read them, and against hand-listed answers.

The estate (T0 = 2026-12-06 00:00 UTC, so T0 - 30 min is 2026-12-06 07:30 in Shanghai):
  a1 network at s1, live: down [T0-2h, T0-1h), then up since T0-1h ("ok");
  a2 server at s2, live: down since T0-30min ("timeout");
  a3 server at s1, removed at T0: one closed interval, nothing open.
  heartbeat at T0.
Incidents, newest first (opened_ts descending):
  i4 a1 degraded (no severity) acknowledged; opened T0-10min, deadline T0+50min, acked T0-5min by bob: in time
  i3 a2 degraded minor merged; opened T0-20min, deadline T0-25min, never acked: merged is no fault, not late
  i2 a2 down critical open; opened T0-30min, deadline T0-15min, never acked: late at T0 (deadline < T0)
  i1 a1 down major resolved; opened T0-2h, deadline T0-1h, acked T0-30min by alice: late (after its deadline)
  i5 a3 down major closed; opened T0-3h, no deadline: never late
"""
from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from opsmon.collector.core.errors import StoreError
from opsmon.collector.incidents.read import IncidentFilter, incident_doc, list_incidents
from opsmon.collector.store import Store
from opsmon.collector.store import models as m
from opsmon.collector.store.assets import AssetLine, asset_lines
from opsmon.collector.store.dbapi import SCHEMA_REVISION, PlainStore, open_reading_store, pyformat
from opsmon.collector.store.history import Span, current_states, last_heartbeat
from tests.collector.store.plain_pair import cli_outputs, plain_store, postgres_estate, sqlite_estate
from tests.conftest import write_config

T0 = datetime(2026, 12, 6, tzinfo=UTC)
H, MIN = timedelta(hours=1), timedelta(minutes=1)
# (filter, since, until, limit) -> the ids listed, by hand from the table in the module's docstring
LISTINGS: tuple[tuple[IncidentFilter, datetime | None, datetime | None, int, list[str]], ...] = (
    (IncidentFilter(), None, None, 100, ["i4", "i3", "i2", "i1", "i5"]),
    (IncidentFilter(status="active"), None, None, 100, ["i4", "i2"]),  # open and acknowledged
    (IncidentFilter(status="merged"), None, None, 100, ["i3"]),
    (IncidentFilter(asset="a2"), None, None, 100, ["i3", "i2"]),
    (IncidentFilter(severity="major"), None, None, 100, ["i1", "i5"]),
    (IncidentFilter(kind="degraded"), None, None, 100, ["i4", "i3"]),
    (IncidentFilter(acknowledged_by="bob"), None, None, 100, ["i4"]),
    (IncidentFilter(site="s1"), None, None, 100, ["i4", "i1", "i5"]),  # a1 and a3
    (IncidentFilter(category="server"), None, None, 100, ["i3", "i2", "i5"]),  # a2 and a3
    (IncidentFilter(site="s1", category="server"), None, None, 100, ["i5"]),  # a3 alone
    (IncidentFilter(breached=True), None, None, 100, ["i2", "i1"]),
    (IncidentFilter(breached=False), None, None, 100, ["i4", "i3", "i5"]),
    (IncidentFilter(), T0 - 30 * MIN, None, 100, ["i4", "i3", "i2"]),  # opened at or after T0-30min
    (IncidentFilter(), None, T0 - 30 * MIN, 100, ["i1", "i5"]),  # before it
    (IncidentFilter(), None, None, 2, ["i4", "i3"]),
)


def _populate(store: Store) -> None:
    def asset(aid: str, category: str, site: str, removed: datetime | None = None) -> m.Asset:
        return m.Asset(id=aid, name=f"{category} {aid}", category=category, site=site, address=None, tags=[],
                       criticality="high", parent_id=None, checks=[], created_at=T0 - 10 * H, updated_at=T0 - 10 * H,
                       removed_at=removed)

    def incident(iid: str, aid: str, kind: str, severity: str | None, status: str, opened: datetime,
                 deadline: datetime | None, acked: datetime | None = None, by: str | None = None, **more: Any
                 ) -> m.Incident:
        return m.Incident(id=iid, asset_id=aid, kind=kind, severity=severity, status=status, opened_ts=opened,
                          deadline_ts=deadline, acknowledged_ts=acked, acknowledged_by=by, cause=f"cause of {iid}",
                          fault_ts=opened - MIN, **more)

    with store.session.begin() as s:
        s.add_all([asset("a1", "network", "s1"), asset("a2", "server", "s2"), asset("a3", "server", "s1", T0)])
        s.add_all([m.StateInterval(asset_id="a1", state="down", start_ts=T0 - 2 * H, end_ts=T0 - H, reason="x"),
                   m.StateInterval(asset_id="a1", state="up", start_ts=T0 - H, end_ts=None, reason="ok"),
                   m.StateInterval(asset_id="a2", state="down", start_ts=T0 - 30 * MIN, end_ts=None, reason="timeout"),
                   m.StateInterval(asset_id="a3", state="up", start_ts=T0 - 5 * H, end_ts=T0, reason="")])
        s.add(m.Heartbeat(id=1, ts=T0, started_ts=T0 - 10 * H, pid=1))
        s.add_all([
            incident("i4", "a1", "degraded", None, "acknowledged", T0 - 10 * MIN, T0 + 50 * MIN, T0 - 5 * MIN, "bob",
                     maintenance_window="w1", maintenance_ts=T0 - 6 * MIN),
            incident("i3", "a2", "degraded", "minor", "merged", T0 - 20 * MIN, T0 - 25 * MIN),
            incident("i2", "a2", "down", "critical", "open", T0 - 30 * MIN, T0 - 15 * MIN, attached=["a1", "a3"]),
            incident("i1", "a1", "down", "major", "resolved", T0 - 2 * H, T0 - H, T0 - 30 * MIN, "alice",
                     resolved_ts=T0 - 10 * MIN, resolved_by="alice", reopened=1, level=2, note="夜间处理"),
            incident("i5", "a3", "down", "major", "closed", T0 - 3 * H, None, closed_ts=T0 - 2 * H, attached=None),
        ])


def _check(full: Store, plain: Any) -> None:
    """Both stores give what the ORM gives and what the docstring lists."""
    with full.session() as s:  # the ORM reads, as main made them
        orm_open = {r.asset_id: Span(r.state, r.start_ts, None, r.reason)
                    for r in s.scalars(select(m.StateInterval).where(m.StateInterval.end_ts.is_(None)))}
        orm_lines = [AssetLine(a.id, a.name, a.category, a.site)
                     for a in s.scalars(select(m.Asset).order_by(m.Asset.id))]
        orm_docs = {r.id: incident_doc(r) for r in s.scalars(select(m.Incident))}
    assert orm_open == {"a1": Span("up", T0 - H, None, "ok"), "a2": Span("down", T0 - 30 * MIN, None, "timeout")}
    assert [a.id for a in orm_lines] == ["a1", "a2", "a3"]
    for store in (plain, full):
        assert current_states(store) == orm_open
        assert current_states(store, ["a2", "a3"]) == {"a2": orm_open["a2"]}  # a3 has no open interval
        assert current_states(store, []) == {}
        assert last_heartbeat(store) == T0
        assert asset_lines(store) == orm_lines[:2]  # a3 is removed
        assert asset_lines(store, include_removed=True) == orm_lines
        for where, since, until, limit, ids in LISTINGS:
            docs = list_incidents(store, where, since=since, until=until, limit=limit, now=T0)
            assert [d["id"] for d in docs] == ids, where
            assert docs == [orm_docs[i] for i in ids], where  # every field as the ORM row gave it
    assert orm_docs["i2"]["attached"] == ["a1", "a3"] and orm_docs["i5"]["attached"] == []
    assert orm_docs["i1"]["breached"] and orm_docs["i2"]["breached"] and not orm_docs["i4"]["breached"]


def _guards(full: Store, plain: PlainStore, refused: type[Exception]) -> None:
    """The plain connection refuses writes, whatever the statement (a schema change, an UPDATE): the driver's
    read-only error (`refused`), and the full store then sees a1 still named "network a1" (_populate) and no table
    `scratch`.
    Quoted text is not a parameter and a % is a %, on both drivers; a parameter may have capitals."""
    for statement in ("CREATE TABLE scratch (a INTEGER)", "UPDATE assets SET name = 'changed' WHERE id = 'a1'"):
        with pytest.raises(refused), plain.reader() as r:
            r.rows(statement)
    with full.session() as s:
        assert s.get(m.Asset, "a1").name == "network a1"
    with full.reader() as r:
        tables = r.rows("SELECT name FROM sqlite_master WHERE type = 'table'" if full.dialect == "sqlite"
                        else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    assert ("scratch",) not in tables and ("assets",) in tables
    for store in (plain, full):  # the same SQL on the plain driver and on the pooled connection
        with store.reader() as r:
            assert r.rows("SELECT ':name', '50%', :Name, 'it''s :x %(y)s', \"id\" FROM assets WHERE id = :a1",
                          {"Name": 7, "a1": "a1"}) == [(":name", "50%", 7, "it's :x %(y)s", "a1")]


def test_pyformat_rewrites_parameters_only() -> None:
    """`:name` outside quotes becomes %(name)s (capitals too); quoted text and identifiers stay as written, a PostgreSQL
    cast (`::`) is no parameter, and every % is doubled for psycopg, in quotes or not."""
    assert pyformat("SELECT ':a', \"b:c\", :Big, x::text, '5%' WHERE y LIKE :p || '%'") == \
        "SELECT ':a', \"b:c\", %(Big)s, x::text, '5%%' WHERE y LIKE %(p)s || '%%'"
    assert pyformat("SELECT 'it''s :x', :_y1") == "SELECT 'it''s :x', %(_y1)s"


def test_an_unreachable_postgresql_is_waited_for_once() -> None:
    """A PostgreSQL server that takes the TCP connection and never answers (a listener nobody accepts from): the
    command fails after one connection attempt (one connect_timeout, not the plain driver's and then the full
    store's), with the full store's message."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        with pytest.raises(StoreError) as raised:
            open_reading_store(f"postgresql://opsmon:s3cret@127.0.0.1:{port}/opsmon", connect_timeout=1)
        assert str(raised.value).startswith(f"cannot connect to database postgresql://opsmon:***@127.0.0.1:{port}/"
                                            "opsmon: ")
        listener.setblocking(False)
        tries = 0
        while True:
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                break
            tries += 1
        assert tries == 1
    finally:
        listener.close()


# status (zh), incidents list as a table and as JSON, and the active ones in English.
CLI = (("status",), ("incidents", "list"), ("incidents", "list", "--format", "json"),
       ("--lang", "en", "incidents", "list", "--status", "active"))


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    yield from sqlite_estate(tmp_path_factory, "plain-reads", _populate, lambda _: "timezone: Asia/Shanghai\n")


def test_plain_reads_on_sqlite_give_what_the_orm_gave(sqlite_store: tuple[Store, Path]) -> None:
    full, _ = sqlite_store
    with plain_store(full, "sqlite") as plain:
        _check(full, plain)
        _guards(full, plain, sqlite3.OperationalError)


def test_status_and_incidents_list_print_the_estate(sqlite_store: tuple[Store, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The heartbeat is older than a minute, so `status` counts to it (T0): a1 up for 1 h (T0-1h to T0), a2 down
    for 30 min (T0-30min to T0); a3 is removed, not listed. Times in Shanghai: T0-30min is 07:30+08:00."""
    status, table, _, active = cli_outputs(sqlite_store[1], capsys, CLI)
    assert status.splitlines()[0] == "collector not running since 2026-12-06 08:00:00+08:00 (its last heartbeat): " \
                                     "states below are as it left them"
    assert status.splitlines()[3].split() == ["a1", "network", "a1", "network", "s1", "up", "1小时", "ok"]
    assert status.splitlines()[4].split() == ["a2", "server", "a2", "server", "s2", "down", "30分", "timeout"]
    assert len(status.splitlines()) == 5
    assert [line.split()[0] for line in table.splitlines()] == ["ID", "i4", "i3", "i2", "i1", "i5"]
    assert "a3 (server a3)" in table  # a removed asset still named
    assert [line.split()[0] for line in active.splitlines()] == ["ID", "i4", "i2"]
    assert "1h54m" not in active and "5m" in active  # i4 acknowledged 5 min after it opened, in English


def test_plain_reads_on_postgresql_give_what_the_orm_and_sqlite_gave(
        postgres_url: str, sqlite_store: tuple[Store, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same estate on the real PostgreSQL peer: the same answers, and the CLI prints the same bytes as on
    SQLite (psycopg through the plain driver; the URL as collector.yaml gives it)."""
    with postgres_estate(postgres_url, "plain_reads", _populate) as (full, url):
        with plain_store(full, "postgresql") as plain:
            _check(full, plain)
            _guards(full, plain, psycopg.errors.ReadOnlySqlTransaction)
        config = write_config(tmp_path, f"timezone: Asia/Shanghai\ndatabase:\n  url: {url}\n")
        assert cli_outputs(config, capsys, CLI) == cli_outputs(sqlite_store[1], capsys, CLI)


def test_a_store_the_plain_driver_cannot_serve_opens_the_full_store(tmp_path: Path) -> None:
    """A missing file is created (0600, with its folder) and migrated by the full store, as before; so is an
    existing file without the schema (no alembic_version: behind SCHEMA_REVISION): the plain driver never reads
    a schema older than its SQL. Once migrated, the plain driver serves it."""
    fresh = open_reading_store(f"sqlite:///{tmp_path / 'new' / 'opsmon.db'}")
    assert isinstance(fresh, Store) and (tmp_path / "new" / "opsmon.db").stat().st_mode & 0o777 == 0o600
    fresh.close()
    (tmp_path / "empty.db").touch()
    behind = open_reading_store(f"sqlite:///{tmp_path / 'empty.db'}")
    assert isinstance(behind, Store) and behind.revision() == SCHEMA_REVISION
    behind.close()
    for path in (tmp_path / "new" / "opsmon.db", tmp_path / "empty.db"):
        again = open_reading_store(f"sqlite:///{path}")
        assert isinstance(again, PlainStore)
        again.close()
