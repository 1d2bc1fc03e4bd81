"""How the SLA engine reads its sums: the pass over every interval runs on connections of its own (on SQLite in
two halves of the asset ids, on two threads; on PostgreSQL in the measurement's own snapshot), one row an asset
with its sums side by side. Whatever the split, each asset's seconds per state are the ones its intervals hold,
clipped to the period, in the order the states are named (the float sums after them depend on that order).

Quarter 2026Q3 in Asia/Shanghai is [2026-06-30T16:00Z, 2026-09-30T16:00Z).
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from opsmon.collector.sla import engine
from opsmon.collector.sla.engine import Evaluation
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.models import Asset, StateInterval
from opsmon.collector.store.types import from_ms, to_ms
from tests.conftest import utc

S = utc(2026, 6, 30, 16)
E = utc(2026, 9, 30, 16)
AFTER = E + timedelta(days=30)
PERIOD = parse_period("2026Q3", "Asia/Shanghai")
STATES = ("up", "down", "degraded", "maintenance", "unknown", "unreachable")


def estate(n: int, seed: int = 7) -> tuple[list[tuple[str, datetime | None]], list[tuple[str, str, int, int | None]]]:
    """n assets tiling [S - 5 days, E + 5 days) with random spells (the last one open); asset 3 is removed
    mid-quarter (its life cuts the period: read by the clipped query), every other lives throughout."""
    rng = random.Random(seed)
    assets: list[tuple[str, datetime | None]] = []
    intervals: list[tuple[str, str, int, int | None]] = []
    lo, hi = to_ms(S - timedelta(days=5)), to_ms(E + timedelta(days=5))
    for i in range(n):
        aid = f"a{i:03d}"
        assets.append((aid, utc(2026, 8, 10) if i == 3 else None))
        t = lo
        while t < hi:
            end = min(hi, t + rng.randint(60_000, 9 * 86_400_000))
            intervals.append((aid, rng.choice(STATES), t, end if end < hi else None))
            t = end
    return assets, intervals


def seed(store: Store, assets: list[tuple[str, datetime | None]],
         intervals: list[tuple[str, str, int, int | None]]) -> None:
    created = S - timedelta(days=100)
    with store.session.begin() as s:
        for aid, removed in assets:
            s.add(Asset(id=aid, name=aid, category="server", site=None, address=None, tags=[], criticality="medium",
                        parent_id=None, checks=[], created_at=created, updated_at=created, removed_at=removed))
        for aid, state, start, end in intervals:
            s.add(StateInterval(asset_id=aid, state=state, start_ts=from_ms(start),
                                end_ts=from_ms(end) if end is not None else None, reason=""))


def by_hand(intervals: list[tuple[str, str, int, int | None]], removed: dict[str, datetime | None]
            ) -> dict[str, list[tuple[str, float]]]:
    """Each asset's seconds per state over the quarter (to its removal), states in name order."""
    ms: dict[str, dict[str, int]] = {}
    for aid, state, start, end in intervals:
        hi = to_ms(E) if removed.get(aid) is None else to_ms(removed[aid])  # type: ignore[arg-type]
        s, e = max(start, to_ms(S)), min(hi if end is None else end, hi)
        if e > s:
            ms.setdefault(aid, {}).setdefault(state, 0)
            ms[aid][state] += e - s
    return {aid: [(st, per[st] / 1000) for st in sorted(per)] for aid, per in ms.items()}


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    yield store
    store.close()


def test_each_asset_has_its_own_sums_whichever_half_read_it(file_store: Store) -> None:
    """40 assets on a file database: read in two halves on two threads (split at the middle asset id), each
    asset's seconds per state are the ones its intervals hold, in name order; the removed one only to its
    removal (read by the clipped query, on a third connection)."""
    assets, intervals = estate(40)
    seed(file_store, assets, intervals)
    with file_store.session() as s:
        assert s.execute(text(engine._MIDDLE)).scalar() == "a020"
    ev = Evaluation(file_store, PERIOD, AFTER)
    expected = by_hand(intervals, dict(assets))
    assert {a: list(t.by_state.items()) for a, t in ev.times.items()} == expected
    assert ev.times["a003"].exist == (utc(2026, 8, 10) - S).total_seconds()


def test_a_state_outside_the_vocabulary_still_counts(file_store: Store) -> None:
    """A state no opsmon code writes (a hand-made row) is summed like any other, and the asset's other states
    with it, as a state-by-state read gives them: it is known time, not missing data."""
    day = 86_400_000
    start = to_ms(S)
    seed(file_store, [("odd", None), ("plain", None)], [
        ("odd", "up", start - day, start + 10 * day), ("odd", "offline", start + 10 * day, start + 12 * day),
        ("odd", "down", start + 12 * day, None),
        ("plain", "up", start - day, start + 10 * day), ("plain", "down", start + 10 * day, None)])
    ev = Evaluation(file_store, PERIOD, AFTER)
    q = (to_ms(E) - start) / 1000
    assert list(ev.times["odd"].by_state.items()) == [("down", q - 12 * 86_400), ("offline", 2 * 86_400.0),
                                                       ("up", 10 * 86_400.0)]
    assert ev.times["odd"].no_data == 0.0
    assert list(ev.times["plain"].by_state.items()) == [("down", q - 10 * 86_400), ("up", 10 * 86_400.0)]


def test_an_in_memory_database_is_read_on_its_one_connection() -> None:
    """No other connection sees an in-memory SQLite database: its sums are read on the measurement's own, with
    the same figures."""
    store = open_store("sqlite:///:memory:")
    try:
        assets, intervals = estate(6)
        seed(store, assets, intervals)
        ev = Evaluation(store, PERIOD, AFTER)
        assert {a: list(t.by_state.items()) for a, t in ev.times.items()} == by_hand(intervals, dict(assets))
    finally:
        store.close()


def test_postgresql_reads_every_sum_in_the_measurements_snapshot(postgres_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL the sums run on connections of their own in the snapshot the measurement exported: an
    interval committed after the measurement began (here: just before each aside statement starts) is not in
    them, and every asset's sums are those of the estate as it was."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE sla_passes")
    admin.dispose()
    store = open_store(postgres_url.rsplit("/", 1)[0] + "/sla_passes")
    try:
        assets, intervals = estate(12)
        seed(store, assets, intervals)
        read = engine._Aside._read
        late = iter(range(10_000))

        def commit_first(self: engine._Aside, sql: str, params: dict[str, object]) -> list[object]:
            with store.session.begin() as s:  # another transaction, committed before this statement reads
                at = to_ms(S) + 86_400_000 + 2000 * next(late)  # inside the quarter: it would count
                s.add(StateInterval(asset_id="a000", state="down", start_ts=from_ms(at),
                                    end_ts=from_ms(at + 1000), reason="late"))
                s.add(Asset(id=f"late-{at}", name="late", category="server", site=None, address=None, tags=[],
                            criticality="medium", parent_id=None, checks=[], created_at=S, updated_at=S))
            return read(self, sql, params)

        monkeypatch.setattr(engine._Aside, "_read", commit_first)
        ev = Evaluation(store, PERIOD, AFTER)
        assert {a: list(t.by_state.items()) for a, t in ev.times.items()} == by_hand(intervals, dict(assets))
        assert not any(a.startswith("late-") for a in ev.times)
    finally:
        store.close()
