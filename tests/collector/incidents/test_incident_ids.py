"""Incident ids (INC-<local day>-<n>) in a storm: the day's incidents are counted once, not at every opening.

Why (issue 25 item 5): `bench/scheduler_bench.py --targets 20000` confirms 10,000 closed ports down within one
interval; the engine opened each incident after counting the day's incidents again (`count(*) ... LIKE
'INC-<day>-%'`, a scan of the day's ids: 3.3 ms at 10,000), so a storm of n faults cost O(n^2) on the event loop.
The count now happens once per day (the first opening of that day since the start); after it, the next number
is kept in memory, and a stored id in the way (an imported incident) is skipped by a primary-key look-up.

Counted, not timed: SQL statements seen by the store's engine (SQLAlchemy's before_cursor_execute).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from opsmon.collector.config.schema import IncidentsConfig
from opsmon.collector.core.states import DOWN, UNKNOWN
from opsmon.collector.incidents.engine import AssetInfo, IncidentEngine
from opsmon.collector.store import Store
from opsmon.collector.store.models import Incident

T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)  # 10:00 on 2026-07-01 in Shanghai: ids INC-20260701-...


def engine(store: Store, now: list[datetime]) -> IncidentEngine:
    return IncidentEngine(store, lambda: now[0], lambda a: AssetInfo(a, "server", "urumqi", "medium", None),
                          IncidentsConfig(), lambda _kind: 1800.0, timezone="Asia/Shanghai")


@pytest.fixture
def statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: object, _cursor: object, sql: str, *_rest: object) -> None:
        seen.append(sql.lower())

    event.listen(store.engine, "before_cursor_execute", note)
    yield seen
    event.remove(store.engine, "before_cursor_execute", note)


def down(eng: IncidentEngine, asset: str, at: datetime) -> str:
    eng.on_transition(asset, at, at, UNKNOWN, DOWN, "connection refused")
    return eng.by_fp[f"{asset}:availability"].id


def test_a_storm_counts_the_days_incidents_once(store: Store, statements: list[str]) -> None:
    """30 assets down in a row: ids INC-20260701-0001 .. -0030 as before, and one count of the day's incidents
    (before: 30, one per opening, each scanning every id of the day)."""
    now = [T0]
    eng = engine(store, now)
    ids = [down(eng, f"host-{i:02d}", T0 + timedelta(seconds=i)) for i in range(30)]
    assert ids == [f"INC-20260701-{n:04d}" for n in range(1, 31)]
    counts = [s for s in statements if "count(" in s and "incidents" in s]
    assert len(counts) == 1
    with store.session() as s:
        assert s.query(Incident).count() == 30


def test_numbering_goes_on_after_a_restart_and_skips_a_stored_id(store: Store) -> None:
    """A restart counts the day once: 3 stored -> the next is 0004. An incident stored meanwhile with an id the
    engine takes later (an import while it runs, here 0006): 0005 next, then 0006 is skipped for 0007 (before: the
    count, 5 with the import, gave 0006 and the opening overwrote the imported incident). A new local day
    (16:00 UTC is 00:00 in Shanghai) starts again at 0001."""
    now = [T0]
    first = engine(store, now)
    assert [down(first, f"a{i}", T0) for i in range(3)] == ["INC-20260701-0001", "INC-20260701-0002",
                                                            "INC-20260701-0003"]
    again = engine(store, now)  # a restart (nothing loaded: load() would only add the 3 to by_id)
    assert down(again, "b0", T0) == "INC-20260701-0004"
    with store.session() as s:
        s.add(Incident(id="INC-20260701-0006", asset_id="imported", kind="availability", severity="minor",
                       status="closed", opened_ts=T0, cause="imported"))
        s.commit()
    assert down(again, "b1", T0) == "INC-20260701-0005"
    assert down(again, "b2", T0) == "INC-20260701-0007"
    with store.session() as s:
        assert s.get(Incident, "INC-20260701-0006").asset_id == "imported"  # not overwritten
    midnight = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    now[0] = midnight
    assert down(again, "c0", midnight) == "INC-20260702-0001"
    assert down(again, "c1", midnight) == "INC-20260702-0002"


def test_a_late_opening_of_the_day_before_takes_its_own_days_next_free_number(store: Store,
                                                                              statements: list[str]) -> None:
    """Shanghai's day ends at 16:00 UTC: 15:59:59 is still INC-20260701, 16:00 is INC-20260702. After the new day's
    first opening, one stamped the day before (a poller's spool replayed after midnight) takes the day before's next
    free number: 0001 and 0002 are the engine's, 0004 was imported meanwhile (a history import of that day), so the
    count (3) gives 0004, taken, and 0005 it is; the new day then goes on at 0002. Each change of day counts its ids
    once: 4 counts for the 5 openings (07-01, 07-02, 07-01 again, 07-02 again), none of an id reused."""
    now = [T0]
    eng = engine(store, now)
    last_second = datetime(2026, 7, 1, 15, 59, 59, tzinfo=UTC)
    midnight = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert [down(eng, "a0", T0), down(eng, "a1", last_second)] == ["INC-20260701-0001", "INC-20260701-0002"]
    now[0] = midnight
    assert down(eng, "c0", midnight) == "INC-20260702-0001"
    with store.session() as s:
        s.add(Incident(id="INC-20260701-0004", asset_id="imported", kind="availability", severity="minor",
                       status="closed", opened_ts=T0, cause="imported"))
        s.commit()
    assert down(eng, "late", T0 + timedelta(hours=1)) == "INC-20260701-0005"
    assert down(eng, "c1", midnight) == "INC-20260702-0002"
    assert len([s for s in statements if "count(" in s and "incidents" in s]) == 4
    with store.session() as s:
        assert s.get(Incident, "INC-20260701-0004").asset_id == "imported"  # not overwritten
        assert sorted(s.scalars(select(Incident.id))) == [
            "INC-20260701-0001", "INC-20260701-0002", "INC-20260701-0004", "INC-20260701-0005",
            "INC-20260702-0001", "INC-20260702-0002"]
