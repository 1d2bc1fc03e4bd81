"""The state machine, scenario by scenario, with times computed by hand."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from opsmon.collector.core.maintenance import MaintenanceBook, WindowSpec
from opsmon.collector.core.states import (
    DEGRADED,
    DOWN,
    MAINTENANCE,
    UNKNOWN,
    UNREACHABLE,
    UP,
    Observation,
)
from opsmon.collector.timeline.engine import CheckConf, Timeline
from tests.conftest import MemorySink, utc

T0 = utc(2026, 7, 1, 0, 0, 0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make(windows: list[WindowSpec] | None = None, down_after: int = 3, up_after: int = 1,
         interval: float = 10.0) -> tuple[Timeline, MemorySink]:
    sink = MemorySink()
    tl = Timeline(sink, MaintenanceBook(windows or [], "Asia/Shanghai"))
    tl._conf = lambda cid="c": CheckConf(cid, interval, down_after, up_after)  # type: ignore[attr-defined]
    return tl, sink


def add(tl: Timeline, asset: str, parent: str | None = None, checks: tuple[str, ...] = ("c",), site: str | None = None,
        tags: tuple[str, ...] = (), t: float = 0) -> None:
    tl.upsert_asset(asset, parent, site, tags, [tl._conf(c) for c in checks], at(t))  # type: ignore[attr-defined]


def obs(tl: Timeline, asset: str, t: float, status: str, check: str = "c") -> None:
    tl.observe(Observation(asset, check, at(t), status, "" if status == UP else f"{status} at {t}"))


def test_debounce_down_needs_three_and_is_dated_to_the_first_failure() -> None:
    """Two failures change nothing; the third confirms down from the first failure's time."""
    tl, sink = make()
    add(tl, "a")
    obs(tl, "a", 5, UP)
    obs(tl, "a", 15, DOWN)
    obs(tl, "a", 25, DOWN)
    assert tl.tracks["a"].state == UP
    obs(tl, "a", 35, DOWN)
    assert sink.states("a") == [(UNKNOWN, at(0), at(5)), (UP, at(5), at(15)), (DOWN, at(15), None)]
    # The transition is dated to the first failure and records when it was detected.
    asset, (when, detected, old, new, _reason) = sink.transitions[-1]
    assert (when, detected, old, new) == (at(15), at(35), UP, DOWN)


def test_one_good_result_brings_it_back_up() -> None:
    tl, sink = make()
    add(tl, "a")
    for t in (5, 15, 25):
        obs(tl, "a", t, DOWN)
    obs(tl, "a", 35, UP)
    assert sink.states("a") == [(UNKNOWN, at(0), at(5)), (DOWN, at(5), at(35)), (UP, at(35), None)]


def test_flapping_never_reaches_down() -> None:
    """down, down, up, down, down, up ... never three in a row: the asset stays up."""
    tl, sink = make()
    add(tl, "a")
    obs(tl, "a", 1, UP)
    for i in range(10):
        base = 10 + i * 30
        obs(tl, "a", base, DOWN)
        obs(tl, "a", base + 10, DOWN)
        obs(tl, "a", base + 20, UP)
    assert sink.states("a") == [(UNKNOWN, at(0), at(1)), (UP, at(1), None)]


def test_mixed_checks_make_degraded_and_all_failing_make_down() -> None:
    tl, sink = make(down_after=1)
    add(tl, "a", checks=("icmp", "http"))
    obs(tl, "a", 1, UP, "icmp")
    obs(tl, "a", 1, UP, "http")
    obs(tl, "a", 10, DOWN, "http")
    assert tl.tracks["a"].state == DEGRADED
    obs(tl, "a", 20, DOWN, "icmp")
    assert tl.tracks["a"].state == DOWN
    assert [s for s, _, _ in sink.states("a")] == [UNKNOWN, UP, DEGRADED, DOWN]
    assert sink.states("a")[2][1:] == (at(10), at(20))


def test_parent_down_makes_child_unreachable_not_down() -> None:
    tl, sink = make()
    add(tl, "link")
    add(tl, "srv", parent="link")
    for t in (1,):
        obs(tl, "link", t, UP)
        obs(tl, "srv", t, UP)
    for t in (10, 20, 30):
        obs(tl, "link", t, DOWN)
        obs(tl, "srv", t + 2, DOWN)
    assert tl.tracks["link"].state == DOWN
    assert tl.tracks["srv"].state == UNREACHABLE
    assert sink.states("srv") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(12)), (UNREACHABLE, at(12), None)]
    assert DOWN not in [s for s, _, _ in sink.states("srv")]


def test_child_confirmed_before_parent_is_relabelled_when_the_parent_fault_began_earlier() -> None:
    """Child checks every 10 s fail from t=12; the link (checked later) fails from t=10.

    The child is confirmed down first (t=32), the link at t=40 dated t=10: the
    child's open down interval began after the link fault, so it becomes unreachable.
    """
    tl, sink = make()
    add(tl, "link")
    add(tl, "srv", parent="link")
    obs(tl, "link", 1, UP)
    obs(tl, "srv", 2, UP)
    for t in (12, 22, 32):
        obs(tl, "srv", t, DOWN)
    assert tl.tracks["srv"].state == DOWN
    for t in (10, 25, 40):
        obs(tl, "link", t, DOWN)
    assert sink.states("srv") == [(UNKNOWN, at(0), at(2)), (UP, at(2), at(12)), (UNREACHABLE, at(12), None)]


def test_child_down_before_parent_keeps_its_own_down_time() -> None:
    """The server fails at 10 while the link still answers at 20; the link fails at 50.

    The link's fault began after its last good result (20): the server is down until then, and
    unreachable after (the link is presumed the cause from the moment it may have failed)."""
    tl, sink = make(down_after=1)
    add(tl, "link")
    add(tl, "srv", parent="link")
    obs(tl, "link", 1, UP)
    obs(tl, "srv", 1, UP)
    obs(tl, "srv", 10, DOWN)
    obs(tl, "link", 20, UP)
    obs(tl, "link", 50, DOWN)
    assert sink.states("srv") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(10)), (DOWN, at(10), at(20)),
                                  (UNREACHABLE, at(20), None)]


def test_child_failing_first_inside_the_parents_fault_window_is_never_down() -> None:
    """Checks run out of phase: link up at 0, server fails at 3, link fails at 5 (confirmed at 25).

    The link may have failed any time after 0; the server's failure at 3 is inside that window."""
    tl, sink = make(down_after=3)
    add(tl, "link")
    add(tl, "srv", parent="link")
    obs(tl, "link", 0, UP)
    obs(tl, "srv", 1, UP)
    for t in (3, 13, 23):
        obs(tl, "srv", t, DOWN)
    assert tl.tracks["srv"].state == DOWN
    for t in (5, 15, 25):
        obs(tl, "link", t, DOWN)
    assert [s for s, _, _ in sink.states("srv")] == [UNKNOWN, UP, UNREACHABLE]
    assert sink.states("srv")[-1] == (UNREACHABLE, at(3), None)


def test_a_new_parent_explains_an_existing_fault_at_once() -> None:
    tl, sink = make(down_after=1)
    add(tl, "link")
    add(tl, "srv")
    obs(tl, "link", 1, DOWN)
    obs(tl, "srv", 2, DOWN)
    assert tl.tracks["srv"].state == DOWN
    add(tl, "srv", parent="link", t=10)
    assert tl.tracks["srv"].state == UNREACHABLE


def test_no_spurious_down_after_parent_recovery_with_up_after_two() -> None:
    tl, sink = make(down_after=1, up_after=2)
    add(tl, "link")
    add(tl, "srv", parent="link")
    obs(tl, "link", 1, DOWN)
    obs(tl, "srv", 2, DOWN)
    obs(tl, "link", 10, UP)
    obs(tl, "link", 11, UP)
    obs(tl, "srv", 12, UP)
    obs(tl, "srv", 13, UP)
    assert [s for s, _, _ in sink.states("srv")] == [UNKNOWN, UNREACHABLE, UP]
    assert all(new != DOWN for asset, (_, _, _, new, _) in sink.transitions if asset == "srv")


def test_child_stays_unreachable_after_parent_recovers_until_its_own_result() -> None:
    tl, sink = make(down_after=1)
    add(tl, "link")
    add(tl, "srv", parent="link")
    obs(tl, "link", 1, DOWN)
    obs(tl, "srv", 2, DOWN)
    assert tl.tracks["srv"].state == UNREACHABLE
    obs(tl, "link", 30, UP)
    assert tl.tracks["srv"].state == UNREACHABLE  # not charged with the parent's recovery
    obs(tl, "srv", 32, UP)
    assert sink.states("srv")[-2:] == [(UNREACHABLE, at(2), at(32)), (UP, at(32), None)]


def test_child_still_failing_after_parent_recovers_becomes_down_from_its_own_result() -> None:
    tl, sink = make(down_after=1)
    add(tl, "link")
    add(tl, "srv", parent="link")
    obs(tl, "link", 1, DOWN)
    obs(tl, "srv", 2, DOWN)
    obs(tl, "link", 30, UP)
    obs(tl, "srv", 35, DOWN)
    assert sink.states("srv")[-2:] == [(UNREACHABLE, at(2), at(35)), (DOWN, at(35), None)]


def test_grandchildren_follow_the_chain() -> None:
    tl, _ = make(down_after=1)
    add(tl, "link")
    add(tl, "switch", parent="link")
    add(tl, "srv", parent="switch")
    for a in ("link", "switch", "srv"):
        obs(tl, a, 1, DOWN)
    assert [tl.tracks[a].state for a in ("link", "switch", "srv")] == [DOWN, UNREACHABLE, UNREACHABLE]


def test_maintenance_overlapping_a_down_state_is_cut_at_the_window_edges() -> None:
    """Down from t=100; window [200, 500); still down after: down, maintenance, down — exact edges."""
    window = WindowSpec(id="w", assets=("a",), start=at(200), end=at(500))
    tl, sink = make([window], down_after=1, interval=60)
    add(tl, "a")
    obs(tl, "a", 50, UP)
    obs(tl, "a", 100, DOWN)
    for now in (150, 201.5, 300, 499, 500.7, 600):
        tl.tick(at(now))
        obs(tl, "a", now, DOWN)
    assert sink.states("a") == [
        (UNKNOWN, at(0), at(50)), (UP, at(50), at(100)), (DOWN, at(100), at(200)),
        (MAINTENANCE, at(200), at(500)), (DOWN, at(500), None),
    ]


def test_recurring_window_in_local_time() -> None:
    """'0 2 * * sun' in Asia/Shanghai = Saturday 18:00 UTC; 2026-07-04 is a Saturday."""
    window = WindowSpec(id="w", tags=("db",), cron="0 2 * * sun", duration="1h")
    tl, sink = make([window], interval=86400 * 7)
    add(tl, "a", tags=("db",))
    obs(tl, "a", 1, UP)
    start = utc(2026, 7, 4, 18, 0, 0)
    for minutes in (-1, 0.5, 30, 59, 61):
        now = start + timedelta(minutes=minutes)
        tl.tick(now)
        tl.observe(Observation("a", "c", now, UP))
    states = sink.states("a")
    assert states[-3:] == [(UP, at(1), start), (MAINTENANCE, start, start + timedelta(hours=1)),
                           (UP, start + timedelta(hours=1), None)]


def test_silent_check_becomes_unknown() -> None:
    tl, sink = make()
    add(tl, "a")
    obs(tl, "a", 1, UP)
    tl.tick(at(30))
    assert tl.tracks["a"].state == UP  # 3 intervals (30 s) not yet passed
    tl.tick(at(31))
    assert sink.states("a")[-1] == (UNKNOWN, at(11), None)  # unknown from when the next result was due


def test_clock_stepping_back_never_makes_intervals_run_backwards() -> None:
    tl, sink = make(down_after=1)
    add(tl, "a", t=100)
    obs(tl, "a", 110, UP)
    obs(tl, "a", 50, DOWN)  # the clock went back 60 s
    rows = sink.states("a")
    for _state, start, end in rows:
        assert end is None or end >= start
    assert tl.tracks["a"].state == DOWN


def test_removed_asset_closes_its_interval() -> None:
    tl, sink = make()
    add(tl, "a")
    obs(tl, "a", 1, UP)
    tl.remove_asset("a", at(40))
    assert sink.states("a") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(40))]
    obs(tl, "a", 50, DOWN)  # a late result for a removed asset is ignored
    assert sink.states("a")[-1][2] == at(40)


@pytest.mark.parametrize("down_after", [1, 2, 5])
def test_down_after_is_configurable(down_after: int) -> None:
    tl, _ = make(down_after=down_after)
    add(tl, "a")
    obs(tl, "a", 1, UP)
    for i in range(down_after - 1):
        obs(tl, "a", 10 + i, DOWN)
        assert tl.tracks["a"].state == UP
    obs(tl, "a", 100, DOWN)
    assert tl.tracks["a"].state == DOWN


def test_agent_silence_is_down_and_a_replay_from_within_an_interval_undoes_it() -> None:
    """Reports every 10 s; the path to the collector breaks after t=10; down from t=20 (next report due).

    The agent spooled and replays t=20, 30, ... once the path is back: the first replay is within one
    interval of the silence's start, so the down interval is relabelled up from its start."""
    sink = MemorySink()
    tl = Timeline(sink, MaintenanceBook([], "UTC"))
    tl.upsert_asset("h", None, None, (), [CheckConf("agent", 10.0, 1, 1, DOWN, "agent not reporting")], at(0))
    obs(tl, "h", 0, UP, "agent")
    obs(tl, "h", 10, UP, "agent")
    tl.tick(at(41))
    assert sink.states("h")[-1] == (DOWN, at(20), None)
    for t in (20, 30, 40, 50):
        obs(tl, "h", t, UP, "agent")
    # One up interval from the first report: the false down was merged back into it.
    assert sink.states("h") == [(UP, at(0), None)]


@pytest.mark.parametrize("first_replay, undone", [(30, True), (40, True), (41, False)])
def test_a_late_first_replay_undoes_the_silence_only_if_stamped_before_it_was_due(first_replay: int,
                                                                                  undone: bool) -> None:
    """Last report at t=10, interval 10 s, silence due at t=40 (3 intervals) and dated t=20. A replay
    starting at t=30 or t=40 (a starved agent's reports came late) shows no 30 s silence ever happened;
    one starting at t=41 is a real gap: down from t=20 to t=41."""
    sink = MemorySink()
    tl = Timeline(sink, MaintenanceBook([], "UTC"))
    tl.upsert_asset("h", None, None, (), [CheckConf("agent", 10.0, 1, 1, DOWN, "agent not reporting")], at(0))
    obs(tl, "h", 0, UP, "agent")
    obs(tl, "h", 10, UP, "agent")
    tl.tick(at(45))
    assert sink.states("h")[-1] == (DOWN, at(20), None)
    obs(tl, "h", first_replay, UP, "agent")
    if undone:
        assert sink.states("h") == [(UP, at(0), None)]
    else:
        assert sink.states("h") == [(UP, at(0), at(20)), (DOWN, at(20), at(41)), (UP, at(41), None)]


def test_agent_back_after_a_real_outage_keeps_the_outage() -> None:
    """The host rebooted: its next report comes 5 minutes after the silence began, so the down stays."""
    sink = MemorySink()
    tl = Timeline(sink, MaintenanceBook([], "UTC"))
    tl.upsert_asset("h", None, None, (), [CheckConf("agent", 10.0, 1, 1, DOWN, "agent not reporting")], at(0))
    obs(tl, "h", 5, UP, "agent")
    tl.tick(at(40))
    obs(tl, "h", 320, UP, "agent")
    assert sink.states("h")[-2:] == [(DOWN, at(15), at(320)), (UP, at(320), None)]


def _agent_timeline(started: float | None) -> tuple[Timeline, MemorySink]:
    sink = MemorySink()
    tl = Timeline(sink, MaintenanceBook([], "UTC"), started=None if started is None else at(started))
    tl.upsert_asset("h", None, None, (), [CheckConf("agent", 10.0, 1, 1, DOWN, "agent not reporting")],
                    at(started or 0))
    return tl, sink


def test_a_backlog_replayed_after_a_restart_is_not_judged_silent_while_it_drains() -> None:
    """The collector was down from t=100 to t=200; the agent (interval 10 s) spooled t=100 ... t=190 and
    replays them at t=200, oldest first, each saying how many follow. Before the fix the first tick after the
    first replay (stamped t=100, more than 3 intervals old) declared "agent not reporting" from t=110: a down
    transition, an incident paged, then undone by the next replay."""
    from opsmon.collector.core.messages import Backlog

    tl, sink = _agent_timeline(started=None)  # the grace after a start is tested below: here only the backlog
    spooled = list(range(100, 200, 10))
    for i, t in enumerate(spooled):
        obs(tl, "h", t, UP, "agent")
        tl.backlog(Backlog("h", "agent", len(spooled) - i, at(200 + i * 0.1)))
        tl.tick(at(200 + i * 0.1 + 0.05))
    obs(tl, "h", 200, UP, "agent")  # the live report: no backlog
    tl.tick(at(201))
    assert sink.states("h") == [(UNKNOWN, at(0), at(100)), (UP, at(100), None)]
    assert [new for _a, (_w, _d, _o, new, _r) in sink.transitions] == [UP]
    # the host dies after its live report: silence judged as before, dated one interval after it
    tl.tick(at(229))
    assert sink.states("h")[-1] == (UP, at(100), None)
    tl.tick(at(230))
    assert sink.states("h")[-1] == (DOWN, at(210), None)


def test_an_agent_that_dies_while_replaying_is_judged_silent_after_the_wait() -> None:
    """The replay stops after the report stamped t=100 with 9 said to follow: silence is held for
    max(30 s, 3 intervals) = 30 s after that report arrived (t=200), then dated t=110 as always."""
    from opsmon.collector.core.messages import Backlog

    tl, sink = _agent_timeline(started=None)
    obs(tl, "h", 100, UP, "agent")
    tl.backlog(Backlog("h", "agent", 9, at(200)))
    tl.tick(at(229.9))
    assert sink.states("h")[-1] == (UP, at(100), None)
    tl.tick(at(230))
    assert sink.states("h")[-1] == (DOWN, at(110), None)


def test_silence_is_not_judged_before_three_intervals_after_the_collector_started() -> None:
    """An agent too old to say its backlog: the collector started at t=200 and the first replay, stamped
    t=100, comes at once. Silence is judged from max(last result, start) + 3 intervals = t=230, not at once;
    when it comes it is dated from the last result (t=120), which is before the open interval began at the
    start (the time before it is the restart's unknown gap): the open interval is relabelled down."""
    tl, sink = _agent_timeline(started=200)
    obs(tl, "h", 100, UP, "agent")
    tl.tick(at(201))
    obs(tl, "h", 110, UP, "agent")
    tl.tick(at(229.9))
    assert [s for s, _b, _e in sink.states("h")] == [UP]
    tl.tick(at(230))
    assert sink.states("h") == [(DOWN, at(200), None)]
    obs(tl, "h", 240, UP, "agent")  # after the start, the usual rule: due 3 intervals after the last result
    tl.tick(at(269.9))
    assert sink.states("h")[-1] == (UP, at(240), None)
    tl.tick(at(270))
    assert sink.states("h")[-1] == (DOWN, at(250), None)


def test_a_check_that_cannot_find_its_interface_says_so_instead_of_waiting() -> None:
    """Issue 21, item 7: a WAN link whose uplink names a mistyped interface got an `unknown` result with its
    reason at every poll, but the asset's state kept the start-up reason "waiting for the first check result"
    for ever. The first result, though unknown, replaces the waiting reason of the open interval (it explains
    that interval from its start: nothing else was known), and a later different unknown reason replaces it
    again; the state stays unknown from t=0 (one interval, no transition: unknown -> unknown is no change)."""
    tl, sink = make()
    add(tl, "wan")
    assert tl.tracks["wan"].reason == "waiting for the first check result"
    missing = "interface 'GE0/0/9' not found on core-sw"
    for t in (5, 15, 25):
        tl.observe(Observation("wan", "c", at(t), UNKNOWN, missing))
    assert (tl.tracks["wan"].state, tl.tracks["wan"].reason) == (UNKNOWN, missing)
    assert sink.intervals["wan"] == [[UNKNOWN, at(0), None, missing]]
    tl.observe(Observation("wan", "c", at(35), UNKNOWN, "core-sw: device not answering SNMP"))
    assert sink.intervals["wan"] == [[UNKNOWN, at(0), None, "core-sw: device not answering SNMP"]]
    # Fixed, the interface is found and up: one up result ends the unknown time at t=45.
    tl.observe(Observation("wan", "c", at(45), UP))
    assert sink.states("wan") == [(UNKNOWN, at(0), at(45)), (UP, at(45), None)]
    assert [t[1][2:4] for t in sink.transitions] == [(UNKNOWN, UP)]
