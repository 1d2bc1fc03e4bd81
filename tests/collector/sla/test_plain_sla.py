"""The SLA engine's document is the same bytes whichever store it reads: the full store (SQLAlchemy's pooled
connections, as the running collector and the console read it) and the plain DB-API driver `opsmon sla` opens
without SQLAlchemy (store/dbapi.py, issue 25 item 2), on SQLite and on the real PostgreSQL peer.

No figure here is new: the hand-computed figures of every rule are in the engine's own tests (test_sla_scenarios,
test_asset_life, test_service_hours, test_exclusion_edges, test_hj212_rates, test_survey_figure...). This test
proves that moving the reads changed nothing: the document of one estate touching every read the engine makes
(assets' lives with a joining time, a removal, imported history and a restored absence; a stale heartbeat; a state
outside the vocabulary; an approved outage exclusion and an incident exclusion, a pending one; hardware faults;
service hours; count and manual values; an HJ 212 DAU with hourly values and an exemption; survey invitations and
answers) is compared byte for byte with the document the engine gave at 2e76a62 (before the reads moved) for
it, recorded below as its SHA-256, and the plain store's document with the full store's.

The estate is random but seeded (random.Random(25)), so it is the same on every run and in both databases.
"""
from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from opsmon.collector.config.basics import bundled_targets_path
from opsmon.collector.sla import engine
from opsmon.collector.sla.engine import evaluate
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.service_hours import Inside, ServiceHours
from opsmon.collector.sla.targets import TargetTable, load_targets
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.dbapi import PlainStore, open_reading_store
from opsmon.collector.store.exclusions import ExclusionRequest, approve_exclusion, request_exclusion
from opsmon.collector.store.models import (
    Asset,
    AssetAbsence,
    Heartbeat,
    Hj212Datum,
    Hj212Exemption,
    Incident,
    StateInterval,
    TargetValue,
)
from opsmon.collector.store.surveys import SurveyLinks
from opsmon.collector.store.types import from_ms, to_ms
from tests.conftest import utc
from tests.peers.postgres import own_database

TZ = "Asia/Shanghai"
PERIOD = parse_period("2026Q3", TZ)  # [2026-06-30T16:00Z, 2026-09-30T16:00Z)
NOW = utc(2026, 9, 10, 4)  # inside the quarter: as_of = NOW, a running period
BEAT = NOW - timedelta(hours=2)  # stale (older than 60 s): open intervals end here
S, E = PERIOD.start, PERIOD.end
CATEGORIES = ("server", "computer", "peripheral", "network", "security", "link", "system")
STATES = ("up", "up", "up", "down", "degraded", "maintenance", "unknown", "unreachable")
DAU_CHECK = {"type": "hj212", "mn": "MN0001", "credential": "c", "enterprise": "某企业",
             "points": {"ww1": {"factors": {"w01018": {}, "w21003": {}}}}}
# The document of the engine at 2e76a62 (before the reads moved) for this estate, the same on SQLite and on
# PostgreSQL: SHA-256 of json.dumps(evaluate(...), default=str).
GOLDEN = "3e92dc54718cef2defb55d01421f6f23fb1a6d2c32855d8e425345dfe3703f82"


def _table() -> TargetTable:
    """The bundled table, with office hours for computers (so the service-hours sums run)."""
    table = load_targets(bundled_targets_path())
    return table.model_copy(update={"service_hours": {
        "computer": ServiceHours(hours=("08:30-12:00", "13:30-18:00"), days="workdays")}})


def _populate(store: Store) -> None:
    rng = random.Random(25)
    created = S - timedelta(days=200)
    lo, hi = to_ms(S - timedelta(days=3)), to_ms(NOW + timedelta(hours=1))
    with store.session.begin() as s:
        for i in range(48):
            aid = f"a{i:02d}"
            category = CATEGORIES[i % len(CATEGORIES)]
            made, removed, joined = created, None, None
            if i == 5:
                removed = utc(2026, 8, 10)  # removed mid-quarter: its life cuts the period
            if i == 6:
                joined = utc(2026, 7, 20)  # a known joining time inside the quarter
            if i == 7:
                made = utc(2026, 8, 1)  # created inside the quarter, history imported from before
            s.add(Asset(id=aid, name=aid, category=category, site=f"s{i % 3}", address=None,
                        tags=["core"] if i % 4 == 0 else [], criticality="medium", parent_id=None, checks=[],
                        created_at=made, updated_at=made, removed_at=removed, joined_at=joined))
            t = lo
            while t < hi:
                end = min(hi, t + rng.randint(60_000, 5 * 86_400_000))
                state = "flapping" if (i == 9 and t == lo) else rng.choice(STATES)
                s.add(StateInterval(asset_id=aid, state=state, start_ts=from_ms(t),
                                    end_ts=from_ms(end) if end < hi else None, reason=""))
                t = end
        s.add(AssetAbsence(asset_id="a08", start_ts=utc(2026, 7, 5), end_ts=utc(2026, 7, 9)))
        s.add(Heartbeat(id=1, ts=BEAT, started_ts=S, pid=1))
        kinds = ("hardware", "availability", "security", "connectivity", "alert")
        for k in range(40):
            opened = S + timedelta(minutes=rng.randint(0, int((NOW - S).total_seconds() // 60) - 600))
            acked = opened + timedelta(minutes=rng.randint(1, 90)) if k % 5 else None
            s.add(Incident(id=f"i{k:02d}", asset_id=f"a{rng.randrange(48):02d}", kind=kinds[k % len(kinds)],
                           severity=("critical", "major", "minor")[k % 3],
                           status=("open", "acknowledged", "resolved", "closed", "merged")[k % 5],
                           opened_ts=opened, fault_ts=opened - timedelta(minutes=2), acknowledged_ts=acked,
                           resolved_ts=opened + timedelta(hours=rng.randint(1, 72)) if k % 3 else None,
                           maintenance_window="w1" if k == 11 else None,
                           response_recorded_ts=opened + timedelta(minutes=5) if k == 13 else None, cause=""))
        for k, at in enumerate((utc(2026, 7, 15), utc(2026, 8, 15), utc(2026, 9, 1))):
            s.add(TargetValue(target_id="monitoring_analysis_reports", kind="event", ts=at, value=1.0 + k,
                              note="", entered_by="cli:test", entered_at=at))
        for target in ("self_monitoring_publication_rate", "data_transmission_effective_rate"):
            s.add(TargetValue(target_id=target, kind="value", period_start=S, period_end=E, value=0.97, note="n",
                              entered_by="cli:test", entered_at=S + timedelta(days=3), evidence="http://x/e",
                              evidence_sha256=None))
        s.add(Asset(id="dau1", name="数采仪", category="dau", site="s1", address=None, tags=[], criticality="medium",
                    parent_id=None, checks=[DAU_CHECK], created_at=created, updated_at=created))
        for h in range(72):
            at = utc(2026, 9, 1) + timedelta(hours=h)
            for factor in ("w01018", "w21003")[: 1 if h % 7 == 0 else 2]:
                s.add(Hj212Datum(asset_id="dau1", mn="MN0001", cn="2061", point="ww1", factor=factor, data_time=at,
                                 avg="1.0", flag="D" if h % 11 == 0 else "N", crc="ok",
                                 received=at + timedelta(minutes=30 if h % 13 else 200)))
        s.add(Hj212Exemption(asset_id="dau1", point="ww1", factor=None, start_ts=utc(2026, 9, 2),
                             end_ts=utc(2026, 9, 2, 6), kind="maintenance", reason="r", proof="p",
                             entered_by="cli:test", entered_at=utc(2026, 9, 2)))
    ask = utc(2026, 9, 5)
    for req in (ExclusionRequest("停电", asset="a10", start=utc(2026, 7, 10), end=utc(2026, 7, 11, 6)),
                ExclusionRequest("误报", incident="i03"), ExclusionRequest("待批", asset="a12", start=utc(2026, 7, 1),
                                                                        end=utc(2026, 7, 2))):
        doc = request_exclusion(store, req, "cli:alice", ask)
        if req.reason != "待批":
            approve_exclusion(store, int(str(doc["id"])), "cli:bob", ask)
    links = SurveyLinks(store, b"k" * 32, ttl=30 * 86400)
    for i in range(6):
        nonce, token = links.invite(PERIOD, f"d{i % 2}", f"p{i}", f"p{i}@env.gov.cn", utc(2026, 7, 2))
        links.mark(nonce, None if i < 5 else "550")
        if i < 4:
            links.answer(token, ("satisfied", "fair", "dissatisfied", "satisfied")[i], "", utc(2026, 7, 3))


def _document(store: object) -> str:
    return json.dumps(evaluate(store, _table(), PERIOD, NOW), default=str)  # type: ignore[arg-type]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _both(url: str, dialect: str, refused: type[Exception]) -> None:
    """The full store's document is 2e76a62's; the plain driver's (opened as `opsmon sla` opens it) is the same
    bytes; and the plain connection is still read only, as are its connections of their own (the two halves'),
    after the service hours' temporary tables were made on its scratch connection. On SQLite that one opens the
    file read-only (mode=ro) and refuses a write to it too; on PostgreSQL a read-only transaction may not create
    a temporary table, so the scratch connection may write (only service_hours.py's statements run on it).
    `refused`: the driver's error for a write on a read-only connection."""
    store = open_store(url)
    try:
        _populate(store)
        full = _document(store)
        assert _digest(full) == GOLDEN
        plain = open_reading_store(url)
        assert isinstance(plain, PlainStore) and plain.dialect == dialect
        try:
            assert _document(plain) == full
            with pytest.raises(refused, match="(?i)read.?only"), plain.reader() as r:
                r.run("DELETE FROM heartbeat")
            with pytest.raises(refused, match="(?i)read.?only"), plain.own_reader() as r:
                r.run("DELETE FROM heartbeat")
            if dialect == "sqlite":
                with pytest.raises(refused, match="(?i)read.?only"), plain.own_reader(scratch=True) as r:
                    r.run("DELETE FROM heartbeat")
            # Once the service hours' sums have made their tables, the scratch connection refuses a write to the
            # store on both (SQLite: mode=ro; PostgreSQL: its transaction turned read only after the CREATEs).
            # One window [S, S + 1 day) over a00's intervals: its sums are whatever they are; the write is refused.
            with plain.own_reader(scratch=True) as r:
                day = to_ms(S)
                assert Inside([(day, day + 86_400_000)]).sums(r, dialect, ["a00"], {
                    "ps": day, "asof": to_ms(NOW), "open_until": to_ms(BEAT)})
                with pytest.raises(refused, match="(?i)read.?only"):
                    r.run("DELETE FROM heartbeat")
            with plain.reader() as r:
                assert r.rows("SELECT COUNT(*) FROM heartbeat") == [(1,)]  # nothing was deleted
        finally:
            plain.close()
    finally:
        store.close()


def test_the_document_on_sqlite_is_the_one_before_the_move_on_both_stores(tmp_path: Path) -> None:
    _both(f"sqlite:///{tmp_path / 'opsmon.db'}", "sqlite", sqlite3.OperationalError)


def test_the_document_on_postgresql_is_the_one_before_the_move_on_both_stores(postgres_url: str) -> None:
    import psycopg

    _both(own_database(postgres_url, "plain_sla"), "postgresql", psycopg.errors.ReadOnlySqlTransaction)


def _one_connection_a_thread(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,100 assets, each removed ten days into the quarter, with one open `up` interval from the day before the
    quarter: every life is cut, so the pass reads them in three statements of 500, 500 and 100 ids (the lives-
    clipped sums) besides its two halves: five statements on connections of their own, on at most three threads.
    The plain driver opens one connection a thread and keeps it for the measurement: at most three, not five
    (before: one a statement, on PostgreSQL a new backend and login each). Each asset's figures are its ten
    days: up 10 x 86,400 = 864,000 s, nothing else (the open interval ends at the removal)."""
    store = open_store(url)
    try:
        with store.session.begin() as s:
            for i in range(1100):
                aid = f"r{i:04d}"
                s.add(Asset(id=aid, name=aid, category="server", site=None, address=None, tags=[],
                            criticality="medium", parent_id=None, checks=[], created_at=S - timedelta(days=30),
                            updated_at=S, removed_at=S + timedelta(days=10)))
                s.add(StateInterval(asset_id=aid, state="up", start_ts=S - timedelta(days=1), end_ts=None,
                                    reason=""))
        plain = open_reading_store(url)
        assert isinstance(plain, PlainStore)
        opened: list[str] = []
        statements: list[str] = []
        ids: list[int] = []  # the asset ids each statement names (in_list's :id0, :id1, ...)
        connect, read = plain._connect, engine._Aside._read

        def counted_connect(scratch: bool) -> object:
            opened.append(threading.current_thread().name)
            return connect(scratch)

        def counted_read(self: engine._Aside, sql: str, params: dict[str, object]) -> list[object]:
            statements.append(threading.current_thread().name)
            ids.append(sum(1 for key in params if key.startswith("id")))
            return read(self, sql, params)

        monkeypatch.setattr(plain, "_connect", counted_connect)
        monkeypatch.setattr(engine._Aside, "_read", counted_read)
        try:
            ev = engine.Evaluation(plain, PERIOD, NOW)
        finally:
            plain.close()
        assert len(statements) == 5 and 1 <= len(set(statements)) <= 3
        assert sorted(ids) == [0, 0, 100, 500, 500]  # the two halves, then the lives in 500, 500 and 100 ids
        assert sorted(opened) == sorted(set(statements))  # one connection for each thread that read, no more
        assert len(ev.times) == 1100
        assert all(t.by_state == {"up": 864_000.0} for t in ev.times.values())
    finally:
        store.close()


def test_the_pass_reads_on_one_connection_a_thread_on_sqlite(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _one_connection_a_thread(f"sqlite:///{tmp_path / 'opsmon.db'}", monkeypatch)


def test_the_pass_reads_on_one_connection_a_thread_on_postgresql(postgres_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _one_connection_a_thread(own_database(postgres_url, "plain_sla_threads"), monkeypatch)
