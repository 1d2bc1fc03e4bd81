"""A storm of faults: its openings committed together at the tick, and maintenance asked only when it can change.

Why (issue 25 item 5): `bench/scheduler_bench.py --targets 20000` opens 10,000 incidents within a minute (its closed
ports). Each opening was its own transaction on the event loop (incident row, trail entry, commit, beside the store
writer's batches on SQLite's one write lock), and every tick asked the maintenance windows of every open incident:
24-39 ms of each second at 10,000 open. Now the openings of one tick are committed in one transaction at the tick's
end, and nothing says an incident exists before its opening is committed: the tick does not return it for notices,
the hooks do not hear it, /metrics and the API do not show it, a person cannot act on it by id. The tick asks
maintenance of every active incident only when the windows in force (or the inventory) change, else only of those
opened or reopened since the last tick.

In-process, fake clock, a real SQLite store; statements and commits counted with SQLAlchemy's engine events.
The stop's commit: an in-process collector (Service.run on loopback, no inventory), about 2 s.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from opsmon.collector.config.schema import IncidentsConfig
from opsmon.collector.core.errors import NotFound
from opsmon.collector.core.maintenance import MaintenanceBook, UntrackedAsset, WindowSpec
from opsmon.collector.core.states import DOWN, UNKNOWN, UP
from opsmon.collector.incidents.engine import AssetInfo, IncidentEngine
from opsmon.collector.incidents.read import show_incident
from opsmon.collector.outputs.metrics import CollectorMetrics
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.models import Incident, IncidentEvent

T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)  # 10:00 on 2026-07-01 in Shanghai: ids INC-20260701-...
DAY = "INC-20260701-"


class Rig:
    """An engine as the service wires it: maintenance from a book, with the book's stamp; hooks recorded."""

    def __init__(self, store: Store) -> None:
        self.now = T0
        self.book = MaintenanceBook((), "UTC")
        self.asked: list[str] = []  # every asset maintenance was asked of
        self.heard: list[tuple[str, str]] = []  # (incident, action) as the hooks heard them
        info = AssetInfo("host", "server", "urumqi", "medium", None)
        self.engine = IncidentEngine(store, lambda: self.now, lambda _a: info, IncidentsConfig(), lambda _kind: 1800.0,
                                     timezone="Asia/Shanghai", maintenance=self._maintenance,
                                     maintenance_stamp=self.book.stamp)
        self.engine.on_change.append(lambda inc, action, _actor, _detail: self.heard.append((inc.id, action)))

    def _maintenance(self, asset_id: str, at: datetime) -> str | None:
        self.asked.append(asset_id)
        occ = self.book.covering(UntrackedAsset(asset_id, site="urumqi"), at)
        return occ.id if occ is not None else None

    def down(self, asset: str, at: datetime) -> str:
        self.now = at
        self.engine.on_transition(asset, at, at, UNKNOWN, DOWN, "connection refused")
        return self.engine.by_fp[f"{asset}:availability"].id

    def up(self, asset: str, at: datetime) -> None:
        self.now = at
        self.engine.on_transition(asset, at, at, DOWN, UP, "")

    def tick(self, at: datetime) -> list[str]:
        self.now = at
        return [inc.id for inc in self.engine.tick(at)]


@pytest.fixture
def commits(store: Store) -> Iterator[list[str]]:
    """One entry per transaction committed on the store's engine."""
    seen: list[str] = []

    def note(_conn: object) -> None:
        seen.append("commit")

    event.listen(store.engine, "commit", note)
    yield seen
    event.remove(store.engine, "commit", note)


def stored(store: Store) -> list[tuple[str, str, str]]:
    """(incident, action, ts) of every trail row, in the order the rows were written (their ids)."""
    with store.session() as s:
        return [(r.incident_id, r.action, r.ts.isoformat())
                for r in s.scalars(select(IncidentEvent).order_by(IncidentEvent.id))]


def test_a_storm_of_openings_is_one_commit_at_the_tick_and_told_only_then(store: Store, commits: list[str]) -> None:
    """30 assets down 30 ms apart (T0 .. T0+0.87 s): before the tick nothing is stored, nothing heard, nothing
    shown (the gauge of open incidents counts 0, the id is not found); the tick at T0+1 s commits the 30 in one
    transaction (1 commit, against 30 before) with ids -0001 .. -0030 in the order they opened, each opened at its
    own time, and returns all 30 to be notified; the hooks hear 30 "opened", in that order."""
    rig = Rig(store)
    metrics = CollectorMetrics()
    metrics.watch_incidents(rig.engine)
    times = [T0 + timedelta(milliseconds=30 * i) for i in range(30)]
    ids = [rig.down(f"host-{i:02d}", at) for i, at in enumerate(times)]
    assert ids == [f"{DAY}{n:04d}" for n in range(1, 31)]
    assert stored(store) == [] and commits == [] and rig.heard == []
    assert metrics.registry.get_sample_value(
        "opsmon_incidents_open", {"severity": "major", "kind": "availability", "status": "open"}) is None
    with pytest.raises(NotFound):
        rig.engine.acknowledge(ids[0], "li.wei")
    assert rig.tick(T0 + timedelta(seconds=1)) == ids
    assert len(commits) == 1
    assert stored(store) == [(i, "opened", at.isoformat()) for i, at in zip(ids, times, strict=True)]
    assert rig.heard == [(i, "opened") for i in ids]
    assert metrics.registry.get_sample_value(
        "opsmon_incidents_open", {"severity": "major", "kind": "availability", "status": "open"}) == 30
    with store.session() as s:
        assert [r.opened_ts for r in s.scalars(select(Incident).order_by(Incident.id))] == times


def test_a_change_committed_at_once_takes_what_is_staged_along_first(store: Store, commits: list[str]) -> None:
    """a down at T0, b down at T0+0.1 s (both staged), a up at T0+0.2 s: the resolve commits at once (as before),
    after the two staged openings, committed first in one transaction (2 commits; 3 before, one per change); the
    trail rows keep the order things happened in: a opened, b opened, a resolved. The hooks hear them in that order;
    the next tick has nothing to commit."""
    rig = Rig(store)
    a = rig.down("a", T0)
    b = rig.down("b", T0 + timedelta(seconds=0.1))
    rig.up("a", T0 + timedelta(seconds=0.2))
    assert len(commits) == 2
    assert stored(store) == [(a, "opened", T0.isoformat()), (b, "opened", (T0 + timedelta(seconds=0.1)).isoformat()),
                             (a, "resolved", (T0 + timedelta(seconds=0.2)).isoformat())]
    assert rig.heard == [(a, "opened"), (b, "opened"), (a, "resolved")]
    assert rig.tick(T0 + timedelta(seconds=1)) == [b]
    assert len(commits) == 2


def test_an_opening_the_store_refuses_is_not_notified_until_it_is_stored(store: Store) -> None:
    """The store refuses the tick's commit at T0+1 s (a locked file): the opening stays in memory, waits, and the
    tick returns nothing to notify (before, the tick returned an opening whose commit had failed, and it was paged
    while not stored). At T0+2 s the store takes it: stored, heard, returned to be notified; opened at T0."""
    rig = Rig(store)
    commit_many = rig.engine._commit_many
    refuse = [1]

    def flaky(pairs: Any) -> None:
        if refuse[0]:
            refuse[0] -= 1
            raise OperationalError("INSERT INTO incidents", {}, Exception("database is locked"))
        commit_many(pairs)

    rig.engine._commit_many = flaky  # type: ignore[method-assign]
    inc = rig.down("a", T0)
    assert rig.tick(T0 + timedelta(seconds=1)) == []
    assert stored(store) == [] and rig.heard == []
    assert rig.tick(T0 + timedelta(seconds=2)) == [inc]
    assert stored(store) == [(inc, "opened", T0.isoformat())] and rig.heard == [(inc, "opened")]


def test_a_kill_loses_only_what_nothing_told_and_the_fault_opens_again(store: Store) -> None:
    """a opens at T0 and is committed by the tick at T0+1 s; b opens at T0+1.5 s and the collector is killed before
    the next tick (no flush). After the restart a is loaded (durable before the kill: kept); b was never stored,
    so never told; its fault, seen again by the restarted timeline at T0+90 s, opens it again with the next free
    number of the day (-0002: the day holds one stored incident)."""
    rig = Rig(store)
    a = rig.down("a", T0)
    rig.tick(T0 + timedelta(seconds=1))
    assert rig.down("b", T0 + timedelta(seconds=1.5)) == f"{DAY}0002"
    again = Rig(store)  # the kill: the first engine's memory is gone
    again.engine.load()
    assert list(again.engine.by_id) == [a]
    assert again.down("b", T0 + timedelta(seconds=90)) == f"{DAY}0002"
    assert again.tick(T0 + timedelta(seconds=91)) == [a, f"{DAY}0002"]
    assert stored(store) == [(a, "opened", T0.isoformat()),
                             (f"{DAY}0002", "opened", (T0 + timedelta(seconds=90)).isoformat())]


def test_maintenance_is_asked_again_only_when_its_stamp_changes(store: Store) -> None:
    """50 incidents open at T0 (staged; maintenance asked once each at the opening: 50). Window `rack` over site
    urumqi from T0+10 s to T0+20 s, added at T0+5 s.
    - tick T0+1 s: the first tick asks every active incident: 50 (the openings' asks, 50, before it: 100 in all);
    - ticks T0+2 .. T0+9 s: nothing changed: 0 (before: 50 a tick, 400);
    - c opens at T0+9.5 s: 1 at its opening, 1 at the tick T0+10 s... which is also the window's start: the stamp
      changes, all 51 are asked and marked (51 "maintenance" steps, committed with the tick);
    - ticks T0+11 .. T0+19 s: 0;
    - tick T0+20 s: the window's end (its end is exclusive): 51 asked, 51 "maintenance_ended".
    """
    rig = Rig(store)
    for i in range(50):
        rig.down(f"h{i:02d}", T0)
    assert len(rig.asked) == 50
    rig.tick(T0 + timedelta(seconds=1))
    assert len(rig.asked) == 100
    rig.book.put(WindowSpec(id="rack", sites=("urumqi",), start=T0 + timedelta(seconds=10),
                            end=T0 + timedelta(seconds=20)))
    for s in range(2, 10):
        rig.tick(T0 + timedelta(seconds=s))
    assert len(rig.asked) == 100
    rig.down("c", T0 + timedelta(seconds=9.5))
    assert len(rig.asked) == 101
    rig.tick(T0 + timedelta(seconds=10))
    assert len(rig.asked) == 152
    marked = [i for i, action in rig.heard if action == "maintenance"]
    assert len(marked) == 51 and rig.tick(T0 + timedelta(seconds=10.5)) == []  # under maintenance: quiet
    for s in range(11, 20):
        rig.tick(T0 + timedelta(seconds=s))
    assert len(rig.asked) == 152
    rig.tick(T0 + timedelta(seconds=20))
    assert len(rig.asked) == 203
    assert len([a for _i, a in rig.heard if a == "maintenance_ended"]) == 51
    doc = show_incident(store, f"{DAY}0001")
    assert [e["action"] for e in doc["trail"]] == ["opened", "maintenance", "maintenance_ended"]
    assert doc["maintenance_window"] == "rack" and doc["under_maintenance_since"] is None


def test_a_reopened_incident_is_asked_at_the_next_tick_whatever_the_stamp(store: Store) -> None:
    """a down at T0 inside window `w` (T0-1 min .. T0+30 s): opened marked. a up at T0+10 s (resolved), the window
    ends at T0+30 s while it is resolved (not active: not followed), a down again at T0+60 s (within quiet time:
    reopened). The stamp is the same at T0+60 s as at T0+59 s (no window in force at either), yet the tick asks the
    reopened incident and ends its maintenance: still marked, it would stay quiet for ever."""
    rig = Rig(store)
    rig.book.put(WindowSpec(id="w", assets=("a",), start=T0 - timedelta(minutes=1), end=T0 + timedelta(seconds=30)))
    inc = rig.down("a", T0)
    rig.tick(T0 + timedelta(seconds=1))
    assert rig.engine.by_id[inc].maintenance_since == T0
    rig.up("a", T0 + timedelta(seconds=10))
    for s in (29, 30, 31, 59):
        rig.tick(T0 + timedelta(seconds=s))
    rig.down("a", T0 + timedelta(seconds=60))
    asked = len(rig.asked)
    assert rig.tick(T0 + timedelta(seconds=61)) == [inc]
    assert len(rig.asked) == asked + 1
    assert [a for _i, a in rig.heard] == ["opened", "resolved", "reopened", "maintenance_ended"]


def test_a_clean_stop_commits_the_openings_the_last_tick_left(tmp_path: Path) -> None:
    """An in-process collector (no inventory; `timeline.tick` an hour, so no tick runs while it is up): an
    Alertmanager alert opens an incident (staged: not stored) and the collector is told to stop at once. The stop
    commits it: after run() returns, the store holds the incident and its one "opened" trail row."""
    from opsmon.collector.config import load_config
    from opsmon.collector.service.service import Service
    from tests.conftest import write_config

    config = load_config(str(write_config(tmp_path, f"""
        database: {{path: {tmp_path / 'c.db'}}}
        listen: {{host: 127.0.0.1, port: 0}}
        timeline: {{tick: 3600}}
    """)))
    service = Service(config)
    service.prepare()
    alert = {"status": "firing", "fingerprint": "f1", "labels": {"alertname": "DiskFull", "asset": "db"},
             "annotations": {"summary": "/var full"}}
    opened: list[str | None] = []

    async def run() -> None:
        stop = asyncio.Event()

        async def open_then_stop() -> None:
            await asyncio.sleep(0.2)  # the service is running
            opened.append(service.incidents.on_alert(alert, service.clock()))
            assert stored(service.store) == []
            stop.set()

        task = asyncio.create_task(open_then_stop())
        await service.run(stop)
        await task

    asyncio.run(run())
    [inc] = opened
    db = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        assert [(i, a) for i, a, _ts in stored(db)] == [(inc, "opened")]
    finally:
        db.close()
