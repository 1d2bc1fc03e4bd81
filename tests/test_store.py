"""The store on both databases: migrations, UTC storage, and the same behaviour on PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from collector.errors import StoreError
from collector.history import asset_history
from collector.inventory import import_file
from collector.maintenance import MaintenanceBook
from collector.states import Observation
from collector.store import open_store
from collector.store.lock import InstanceLock
from collector.store.models import Base, StateInterval
from collector.store.writer import StoreWriter
from collector.timeline import CheckConf, Timeline
from tests.conftest import utc, write_config

T0 = utc(2026, 7, 1, 0, 0, 0)


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """A model change without a migration would silently differ between new and upgraded databases."""
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Migration 0004 adds a SQLite-only covering index on purpose (see its docstring).
    diff = [d for d in diff if not (d[0] == "remove_index" and d[1].name == "ix_intervals_sqlite_sla_cover")]
    assert diff == []
    open_store(f"sqlite:///{tmp_path / 'm.db'}").close()  # migrating twice is a no-op
    store.close()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()


def test_timestamps_are_stored_as_utc_epoch_milliseconds(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'u.db'}")
    shanghai = timezone(timedelta(hours=8))
    with store.session.begin() as s:
        s.add(StateInterval(asset_id="a", state="up", start_ts=datetime(2026, 7, 1, 8, 0, tzinfo=shanghai),
                            end_ts=None, reason=""))
    with store.engine.connect() as conn:
        raw = conn.execute(text("SELECT start_ts FROM state_intervals")).scalar()
    assert raw == int(datetime(2026, 7, 1, 0, 0, tzinfo=UTC).timestamp() * 1000)
    with store.session() as s:
        assert s.scalar(select(StateInterval.start_ts)) == utc(2026, 7, 1, 0, 0)
    store.close()


def test_unreachable_database_is_a_store_error_without_password() -> None:
    from tests.conftest import closed_port

    with pytest.raises(StoreError) as err:
        open_store(f"postgresql://ops:hunter2@127.0.0.1:{closed_port()}/x", connect_timeout=2)
    assert "hunter2" not in str(err.value) and "***" in str(err.value)
    assert len(str(err.value).splitlines()) == 1


def test_unwritable_sqlite_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot"):
        open_store(f"sqlite:///{blocker / 'sub' / 'db.sqlite'}")


def _exercise(url: str, tmp_path: Path) -> None:
    store = open_store(url)
    with store.engine.begin() as conn:  # the session-wide PostgreSQL is shared: start clean
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    inv = write_config(tmp_path, """
        assets:
          - {id: link, category: link, address: 127.0.0.1, checks: [{type: icmp}]}
          - {id: srv, category: server, address: 127.0.0.1, parent: link, checks: [{type: tcp, port: 22}]}
    """, "assets.yaml")
    assert sorted(import_file(store, str(inv), "test")["created"]) == ["link", "srv"]
    assert import_file(store, str(inv), "test")["unchanged"] == ["link", "srv"]
    writer = StoreWriter(store, T0)
    writer.start()
    tl = Timeline(writer.put, MaintenanceBook([], "Asia/Shanghai"))
    tl.upsert_asset("link", None, None, (), [CheckConf("icmp", 10, 1, 1)], T0)
    tl.upsert_asset("srv", "link", None, (), [CheckConf("tcp:22", 10, 1, 1)], T0)
    for t, link, srv in [(5, "up", "up"), (15, "down", "down"), (25, "up", "down"), (35, "up", "up")]:
        tl.observe(Observation("link", "icmp", T0 + timedelta(seconds=t), link))
        tl.observe(Observation("srv", "tcp:22", T0 + timedelta(seconds=t + 1), srv))
    writer.stop()
    spans, totals = asset_history(store, "srv", T0, T0 + timedelta(seconds=100), now=T0 + timedelta(seconds=100))
    assert [(s.state, (s.start - T0).total_seconds()) for s in spans] == [
        ("unknown", 0), ("up", 6), ("unreachable", 16), ("down", 26), ("up", 36)]
    assert totals["unreachable"] == 10 and totals["down"] == 10 and totals["up"] == 10 + 64
    store.close()


def test_store_behaviour_on_sqlite(tmp_path: Path) -> None:
    _exercise(f"sqlite:///{tmp_path / 's.db'}", tmp_path)


def test_one_collector_per_database(tmp_path: Path, postgres_url: str) -> None:
    for url in (f"sqlite:///{tmp_path / 'l.db'}", postgres_url):
        first, second = open_store(url), open_store(url)
        lock = InstanceLock(first)
        lock.acquire()
        with pytest.raises(StoreError, match="another collector"):
            InstanceLock(second).acquire()
        assert lock.held()
        lock.release()
        again = InstanceLock(second)
        again.acquire()  # free once the holder lets go
        again.release()
        first.close()
        second.close()


def test_store_behaviour_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    _exercise(postgres_url, tmp_path)
    store = open_store(postgres_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    store.close()


def test_schema_revision_constant_is_alembic_head() -> None:
    from importlib import resources

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from collector.store.db import SCHEMA_REVISION

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("collector.store") / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_REVISION


def test_a_lost_postgresql_lock_session_is_noticed(postgres_url: str) -> None:
    """If the session holding the advisory lock dies, held() says so (the collector then stops)."""
    store, other = open_store(postgres_url), open_store(postgres_url)
    lock = InstanceLock(store)
    lock.acquire()
    assert lock.held()
    pid = lock._conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with other.engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    assert not lock.held()
    lock._conn = None
    store.close()
    other.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_to_0010_keeps_baseline_results_as_history(backend: str, tmp_path: Path, request) -> None:
    """A collector upgraded with baseline results already stored starts their history from them."""
    from importlib import resources

    from alembic import command
    from alembic.config import Config

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'u.db'}"
    else:  # a database of its own: the shared one is already at head
        import psycopg

        shared = request.getfixturevalue("postgres_url")
        with psycopg.connect(shared, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS opsmon_upgrade")
            conn.execute("CREATE DATABASE opsmon_upgrade")
        url = shared.rsplit("/", 1)[0] + "/opsmon_upgrade"
    store = open_store(url, migrate=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("collector.store") / "migrations"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009")
    with store.engine.begin() as conn:
        for check, status, since in (("ac.a", "pass", 1_780_000_000_000), ("ia.b", "fail", 1_780_000_100_000)):
            conn.execute(text("INSERT INTO baseline_results (asset_id, check_id, policy, status, evidence, ran_at, "
                              "since) VALUES ('srv-1', :c, 'opsmon-debian', :s, '', 1780000200000, :t)"),
                         {"c": check, "s": status, "t": since})
    store.migrate()
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT asset_id, check_id, policy, status, since FROM baseline_history "
                                 "ORDER BY id")).all()
    store.close()
    assert [tuple(r) for r in rows] == [("srv-1", "ac.a", "opsmon-debian", "pass", 1_780_000_000_000),
                                        ("srv-1", "ia.b", "opsmon-debian", "fail", 1_780_000_100_000)]
