"""The store on both databases: migrations, UTC storage, and the same behaviour on PostgreSQL."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from opsmon.collector.config.inventory import import_file
from opsmon.collector.core.errors import StoreError
from opsmon.collector.core.maintenance import MaintenanceBook
from opsmon.collector.core.states import Observation
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.history import asset_history
from opsmon.collector.store.lock import InstanceLock
from opsmon.collector.store.models import Base, StateInterval
from opsmon.collector.store.writer import StoreWriter
from opsmon.collector.timeline.engine import CheckConf, Timeline
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


def test_a_standby_waits_for_the_lock_and_takes_it_when_the_holder_dies(postgres_url: str) -> None:
    """database.standby: the second collector waits (told once), and has the lock within a poll of the
    holder's session ending; the lock's session asks the server for keepalives (a vanished host's lock is
    freed in 5 + 3 x 2 s)."""
    import threading

    store, other = open_store(postgres_url), open_store(postgres_url)
    holder, standby = InstanceLock(store), InstanceLock(other)
    holder.acquire()
    assert holder._conn.execute(text("SHOW tcp_keepalives_idle")).scalar() == "5"
    assert holder._conn.execute(text("SHOW tcp_keepalives_count")).scalar() == "3"
    told: list[str] = []
    taken = threading.Event()
    thread = threading.Thread(target=lambda: (standby.acquire(wait=True, poll=0.1, waiting=told.append),
                                              taken.set()))
    thread.start()
    deadline = time.monotonic() + 10
    while not told and time.monotonic() < deadline:
        time.sleep(0.05)
    assert told == ["another collector is running on this database (advisory lock held)"]
    time.sleep(0.5)  # five more polls, all refused
    assert not taken.is_set() and told == [told[0]]
    pid = holder._conn.execute(text("SELECT pg_backend_pid()")).scalar()
    ended = time.monotonic()
    with store.engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    assert taken.wait(5)
    assert time.monotonic() - ended < 2  # a poll (0.1 s) and a connection
    thread.join()
    assert standby.held() and not holder.held()
    holder._conn = None
    standby.release()
    store.close()
    other.close()


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

    from opsmon.collector.store.db import SCHEMA_REVISION

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("opsmon.collector.store") / "migrations"))
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


def _store_at(url: str, revision: str) -> Store:
    """A store migrated up to `revision` only: what an older collector left, for an upgrade test."""
    from importlib import resources

    from alembic import command
    from alembic.config import Config

    store = open_store(url, migrate=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("opsmon.collector.store") / "migrations"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return store


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_to_0010_keeps_baseline_results_as_history(backend: str, tmp_path: Path, request) -> None:
    """A collector upgraded with baseline results already stored starts their history from them."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'u.db'}"
    else:  # a database of its own: the shared one is already at head
        import psycopg

        shared = request.getfixturevalue("postgres_url")
        with psycopg.connect(shared, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS opsmon_upgrade")
            conn.execute("CREATE DATABASE opsmon_upgrade")
        url = shared.rsplit("/", 1)[0] + "/opsmon_upgrade"
    store = _store_at(url, "0009")
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


def test_every_stored_message_type_lands_in_its_table(tmp_path: Path) -> None:
    """Each message the routing table sends to the store, written by a real writer, read back by hand."""
    from opsmon.collector.core import messages as m
    from opsmon.collector.inputs.agents.auth import enroll
    from opsmon.collector.store.models import (
        AgentStream,
        Asset,
        BaselineChange,
        BaselineResult,
        Event,
        Heartbeat,
        Hj212FrameRow,
        Transition,
    )
    from opsmon.collector.store.models import Observation as ObservationRow

    store = open_store(f"sqlite:///{tmp_path / 'msg.db'}")
    enroll(store, "srv-1", "server", None, "test")  # the asset the facts land on
    t1, t2, t3 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2), T0 + timedelta(seconds=3)
    writer = StoreWriter(store, T0, clock=lambda: t3)
    writer.start()
    for msg in (
        m.IntervalOpened("srv-1", "unknown", T0, "waiting"),
        m.IntervalClosed("srv-1", t1),
        m.IntervalOpened("srv-1", "up", t1, ""),
        m.IntervalRelabelled("srv-1", "down", "no reply"),
        m.Transition("srv-1", t1, t2, "unknown", "down", "no reply"),
        m.ResultRecorded("srv-1", "icmp", t1, "down", "no reply", 1.5),
        m.HardwareSignal("srv-1", "disk sda", t2, "SMART health FAILED"),
        m.Event("srv-1", t2, "agent", "fim", "modified", "warning", "modified: /etc/passwd", {"path": "/etc/passwd"}),
        m.Event(None, t2, "10.0.0.9", "trap", "coldStart", "info", "device restarted"),
        m.StreamPosition("srv-1", "ab12cd34", 7, t2),
        m.StreamPosition("srv-1", "ab12cd34", 5, t3),  # an older position in the same batch does not win
        m.Facts("srv-1", {"os": "Kylin V10"}),
        m.BaselineResults("srv-1", ({"asset_id": "srv-1", "check_id": "ia.x", "policy": "p", "status": "fail",
                                     "evidence": "e", "ran_at": t2, "since": t2},),
                          ({"asset_id": "srv-1", "check_id": "ia.x", "policy": "p", "status": "fail",
                            "since": t2},)),
        m.Heartbeat(),
        # HJ 212 audit copies received at t1 and t3: the prune below (hj212.raw_retention) keeps only the later
        m.Hj212Frame("srv-1", "MN1", "2011", "q1", t1, "127.0.0.1", "ok", False, b"##0020QN=1;CN=2011;CP=&&&&ABCD"),
        m.Hj212Frame("srv-1", "MN1", "2011", "q3", t3, "127.0.0.1", "ok", False, b"##0020QN=3;CN=2011;CP=&&&&ABCD"),
    ):
        writer.put(msg)
    assert writer.flush() and writer.stop()
    assert writer.dropped == 0 and writer.failures == 0
    with store.session() as s:
        assert [(r.state, r.start_ts, r.end_ts, r.reason) for r in s.scalars(
            select(StateInterval).where(StateInterval.asset_id == "srv-1").order_by(StateInterval.start_ts))] == [
            ("unknown", T0, t1, "waiting"), ("down", t1, None, "no reply")]
        assert [(r.at_ts, r.detected_ts, r.old_state, r.new_state) for r in s.scalars(select(Transition))] == [
            (t1, t2, "unknown", "down")]
        assert sorted((r.check_id, r.status, r.kind, r.reason) for r in s.scalars(select(ObservationRow))) == [
            ("hw:disk sda", "down", "hardware", "SMART health FAILED"), ("icmp", "down", "check", "no reply")]
        assert sorted((r.asset_id or "", r.kind, r.name, r.details) for r in s.scalars(select(Event))) == [
            ("", "trap", "coldStart", {}), ("srv-1", "fim", "modified", {"path": "/etc/passwd"})]
        assert [(r.stream, r.max_seq) for r in s.scalars(select(AgentStream))] == [("ab12cd34", 7)]
        assert s.get(Asset, "srv-1").facts == {"os": "Kylin V10"}
        assert [(r.check_id, r.status) for r in s.scalars(select(BaselineResult))] == [("ia.x", "fail")]
        assert [(r.check_id, r.since) for r in s.scalars(select(BaselineChange))] == [("ia.x", t2)]
        assert s.get(Heartbeat, 1).ts == t3
    # Prune: observations and events older than the given instants go, newer ones stay (a chunk at a time,
    # PRUNE_CHUNK rows per table per transaction, between batches).
    import opsmon.collector.store.writer as writer_module

    writer_module.PRUNE_CHUNK = 1  # type: ignore[misc]  # a chunk per row of this store
    try:
        writer = StoreWriter(store, T0, clock=lambda: t3)
        writer.start()
        writer.put(m.Prune(t2, t2 + timedelta(milliseconds=1), t2))
        assert writer.flush()
        deadline = time.monotonic() + 30
        while writer.pruning and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        writer_module.PRUNE_CHUNK = 5000  # type: ignore[misc]
    assert not writer.pruning and writer.stop()
    with store.session() as s:
        assert [r.check_id for r in s.scalars(select(ObservationRow))] == ["hw:disk sda"]
        assert list(s.scalars(select(Event))) == []
        assert [r.qn for r in s.scalars(select(Hj212FrameRow))] == ["q3"]
    store.close()


def test_a_new_sqlite_store_is_private_to_its_user(tmp_path: Path) -> None:
    """The folder the store creates for itself 0700 (its missing parents get the usual mode), a new database file
    0600, and its WAL and shared-memory files the same."""
    import stat

    path = tmp_path / "new" / "deeper" / "opsmon.db"
    store = open_store(f"sqlite:///{path}")
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (x INTEGER)"))
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert modes["opsmon.db"] == 0o600 and all(m == 0o600 for m in modes.values()), modes
    store.close()


def test_upgrade_to_0023_masks_the_passwords_of_stored_hj212_frames(tmp_path: Path) -> None:
    """Frames stored before 0023 kept the unit's PW in clear; after it, no byte of the file holds it.

    The first frame is a split part with a 6-byte PW=123456 (5+6+8+10+6+7+7+6+7 = 62 bytes of segment, as
    long masked); the second has a 24-byte PW, 18 bytes more than the mask, so its length field goes from
    0048 (5+8+28+7) to 0030; the third has no PW (20 bytes) and stays as it was. The CRCs are left as they
    were (they need not match here)."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = _store_at(url, "0022")
    frames = [b"##0062QN=1;ST=32;CN=2061;PW=123456;MN=A1;Flag=7;PNUM=2;PNO=1;CP=&&&&1C80",
              b"##0048QN=2;CN=2011;PW=BF470F88957588DE902D1A52;CP=&&&&ABCD",
              b"##0020QN=3;CN=2011;CP=&&&&ABCD"]
    with store.engine.begin() as conn:
        for raw in frames:
            conn.execute(text("INSERT INTO hj212_frames (received, asset_id, mn, cn, qn, peer, crc, oversize, raw) "
                              "VALUES (1780000000000, 'dau-1', 'A1', '2061', '1', '127.0.0.1', 'ok', 0, :r)"),
                         {"r": raw})
    store.migrate()
    with store.engine.connect() as conn:
        rows = [bytes(r) for (r,) in conn.execute(text("SELECT raw FROM hj212_frames ORDER BY id"))]
    store.close()
    assert rows == [b"##0062QN=1;ST=32;CN=2061;PW=******;MN=A1;Flag=7;PNUM=2;PNO=1;CP=&&&&1C80",
                    b"##0030QN=2;CN=2011;PW=******;CP=&&&&ABCD",
                    b"##0020QN=3;CN=2011;CP=&&&&ABCD"]
    data = b"".join(f.read_bytes() for f in tmp_path.glob("m.db*"))
    assert b"PW=123456" not in data and b"BF470F88957588DE902D1A52" not in data


def test_a_links_recombined_piece_cuts_any_closed_row_and_joins_the_row_after_it(tmp_path: Path) -> None:
    """store/gaps.py for `Recombined` (docs/timeline.md rule 9), times in seconds after T:
    rows up [0, 10), down [10, 60) "c", up [60, open).

    - Recombined [8, 10) down "c" (the site saw the cut 2 s before the centre): cut out of the up row, which keeps
      [0, 8); it touches the closed down row [10, 60) of the same state and reason after its span: one row
      down [8, 60).
    - Recombined [20, 30) degraded "c": cut out of that row: down [8, 20), degraded [20, 30), down [30, 60).
    - The open row is never touched: up [60, open)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select

    from opsmon.collector.core.messages import Recombined
    from opsmon.collector.store.gaps import fill_gap
    from opsmon.collector.store.models import StateInterval as SI
    from opsmon.collector.store.types import to_ms

    t0 = datetime(2026, 7, 1, tzinfo=UTC)

    def t(s: float) -> datetime:
        return t0 + timedelta(seconds=s)

    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    with store.engine.begin() as conn:
        conn.execute(insert(SI), [dict(asset_id="wan", state="up", start_ts=t(0), end_ts=t(10), reason=""),
                                  dict(asset_id="wan", state="down", start_ts=t(10), end_ts=t(60), reason="c"),
                                  dict(asset_id="wan", state="up", start_ts=t(60), end_ts=None, reason="")])
        fill_gap(conn, Recombined("wan", t(8), t(10), "down", "c"))
        fill_gap(conn, Recombined("wan", t(20), t(30), "degraded", "c"))
    with store.engine.connect() as conn:
        rows = [(state, (to_ms(s) - to_ms(t0)) // 1000, None if e is None else (to_ms(e) - to_ms(t0)) // 1000)
                for state, s, e in conn.execute(select(SI.state, SI.start_ts, SI.end_ts).order_by(SI.start_ts))]
    store.close()
    assert rows == [("up", 0, 8), ("down", 8, 20), ("degraded", 20, 30), ("down", 30, 60), ("up", 60, None)]
