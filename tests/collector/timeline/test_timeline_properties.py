"""Property tests: whatever the observations, stored intervals tile time exactly."""
from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from opsmon.collector.core.maintenance import MaintenanceBook, WindowSpec
from opsmon.collector.core.states import STATES, Observation
from opsmon.collector.store import open_store
from opsmon.collector.store.models import StateInterval
from opsmon.collector.store.writer import StoreWriter
from opsmon.collector.timeline.engine import CheckConf, Timeline
from tests.conftest import MemorySink, utc

T0 = utc(2026, 9, 30, 15, 0, 0)
ASSETS = {"link": None, "switch": "link", "srv": "switch", "lone": None}

event = st.one_of(
    st.tuples(st.just("obs"), st.sampled_from(sorted(ASSETS)), st.sampled_from(["a", "b"]),
              st.sampled_from(["up", "up", "down", "degraded", "unknown"]), st.floats(0, 40)),
    st.tuples(st.just("tick"), st.floats(0, 90)),
    st.tuples(st.just("skew"), st.floats(-30, 0)),
)


def run_events(events: list[tuple], sink) -> tuple[Timeline, object]:
    windows = [
        WindowSpec(id="w1", assets=("srv",), start=T0 + timedelta(seconds=100), end=T0 + timedelta(seconds=400)),
        WindowSpec(id="w2", sites=("s1",), cron="*/10 * * * *", duration="2m"),
    ]
    tl = Timeline(sink, MaintenanceBook(windows, "Asia/Shanghai"), stale_after_intervals=3)
    for asset, parent in ASSETS.items():
        confs = [CheckConf(c, 10.0, 2, 1) for c in ("a", "b")]
        tl.upsert_asset(asset, parent, "s1" if asset == "lone" else None, (), confs, T0)
    now = T0
    for ev in events:
        if ev[0] == "obs":
            _, asset, check, status, dt = ev
            now += timedelta(seconds=dt)
            tl.observe(Observation(asset, check, now, status, status))
        elif ev[0] == "tick":
            now += timedelta(seconds=ev[1])
            tl.tick(now)
        else:  # the clock steps back: a result arrives stamped earlier than the last
            tl.observe(Observation("link", "a", now + timedelta(seconds=ev[1]), "down", "skewed"))
    return tl, now


def assert_tiles(rows: list[tuple[str, object, object]], asset: str) -> None:
    assert rows, f"{asset}: no intervals"
    assert rows[0][1] == T0, f"{asset}: does not start when tracking started"
    for (state, start, end), nxt in itertools.zip_longest(rows, rows[1:]):
        assert state in STATES
        if nxt is None:
            assert end is None, f"{asset}: last interval is not open"
        else:
            assert end is not None and end >= start, f"{asset}: bad interval {start}..{end}"
            assert end == nxt[1], f"{asset}: gap or overlap at {end} / {nxt[1]}"


@settings(max_examples=300, deadline=None)
@given(st.lists(event, max_size=120))
def test_intervals_tile_the_observed_period(events: list[tuple]) -> None:
    sink = MemorySink()
    tl, _ = run_events(events, sink)
    for asset in ASSETS:
        rows = sink.states(asset)
        assert_tiles(rows, asset)
        assert rows[-1][0] == tl.tracks[asset].state


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(event, min_size=1, max_size=80))
def test_the_store_holds_exactly_what_the_timeline_emitted(tmp_path_factory, events: list[tuple]) -> None:
    """The writer's SQL (close, relabel, merge) gives the same intervals as the reference sink."""
    path: Path = tmp_path_factory.mktemp("db") / "t.db"
    store = open_store(f"sqlite:///{path}")
    writer = StoreWriter(store, T0)
    writer.start()
    memory = MemorySink()

    def both(op):
        memory(op)
        writer.put(op)

    run_events(events, both)
    writer.stop()
    with store.session() as session:
        for asset in ASSETS:
            rows = session.scalars(select(StateInterval).where(StateInterval.asset_id == asset)
                                   .order_by(StateInterval.start_ts, StateInterval.id)).all()
            stored = [(r.state, r.start_ts, r.end_ts) for r in rows]
            expected = [(s, a, b) for s, a, b in memory.states(asset)]
            # Millisecond storage: compare at that precision.
            ms = lambda d: None if d is None else round(d.timestamp() * 1000)  # noqa: E731
            assert [(s, ms(a), ms(b)) for s, a, b in stored] == [(s, ms(a), ms(b)) for s, a, b in expected]
    store.close()
