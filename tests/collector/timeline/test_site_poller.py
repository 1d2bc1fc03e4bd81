"""Assets a site poller observes (issue 22 item 2): a WAN cut is the link's, never the assets'.

Fake clock, in process. Checks every 10 s, down after 3 results, up after 1, silence after 3 intervals
(the timeline's default `stale_after_intervals`).
"""
from __future__ import annotations

from opsmon.collector.core.states import DOWN, UNKNOWN, UNREACHABLE, UP, Observation
from tests.collector.timeline.test_timeline import add, at, make


def seen(tl, asset: str, t: float, status: str, observer: str) -> None:  # type: ignore[no-untyped-def]
    tl.observe(Observation(asset, "c", at(t), status, "" if status == UP else f"{status} at {t}", None, observer))


def test_replayed_poller_results_replace_the_cut_and_the_asset_is_never_unreachable() -> None:
    """The link (observed by the collector) is down from t=10 to t=100; srv, behind it, is observed by the
    poller `p-hotan`, whose results stop arriving during the cut and are replayed after it, in order.

    - link: up at 1, down at 10, 20, 30 (confirmed at 30, dated 10), up at 100 -> down [10, 100).
    - srv: poller results every 10 s from t=1, all up. Live: 1 only; then nothing arrives. The tick at t=50
      judges its silence: last result 1 + 3 x 10 = 31 <= 50 -> unknown from 1 + 10 = 11.
    - The replay (t=11 .. 91, then live 101): the first, at 11, is 0 s after the silence began, within
      (3 - 1) x 10 = 20 s, so the silence is undone from its start: the unknown interval is merged back
      into the up one. srv: unknown [0, 1), up [1, open); never unreachable, never down.
    """
    tl, sink = make(interval=10.0)
    add(tl, "link")
    add(tl, "srv", parent="link")
    tl.observe(Observation("link", "c", at(1), UP))
    seen(tl, "srv", 1, UP, "p-hotan")
    for t in (10, 20, 30):
        tl.observe(Observation("link", "c", at(t), DOWN, "no reply"))
    tl.tick(at(50))
    assert tl.tracks["srv"].state == UNKNOWN  # the gap, while the poller's results are on their way
    for t in range(11, 100, 10):
        seen(tl, "srv", t, UP, "p-hotan")
    tl.observe(Observation("link", "c", at(100), UP))
    seen(tl, "srv", 101, UP, "p-hotan")
    assert sink.states("link") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(10)), (DOWN, at(10), at(100)),
                                   (UP, at(100), None)]
    assert sink.states("srv") == [(UNKNOWN, at(0), at(1)), (UP, at(1), None)]


def test_a_down_the_poller_saw_is_the_assets_own_but_the_collectors_is_the_links() -> None:
    """Same link cut from t=10. srv-a is observed by the poller, srv-b by the collector; both fail from t=12
    (results 12, 22, 32 down, confirmed at 32, dated 12).

    - srv-b: the link's fault (dated 10, its last good result 1) explains it: unreachable from 12.
    - srv-a: the poller beside it saw it down: down from 12, not unreachable.
    """
    tl, sink = make(interval=10.0)
    add(tl, "link")
    add(tl, "srv-a", parent="link")
    add(tl, "srv-b", parent="link")
    tl.observe(Observation("link", "c", at(1), UP))
    seen(tl, "srv-a", 1, UP, "p-hotan")
    seen(tl, "srv-b", 1, UP, "")
    for t in (10, 20, 30):
        tl.observe(Observation("link", "c", at(t), DOWN, "no reply"))
        seen(tl, "srv-a", t + 2, DOWN, "p-hotan")
        seen(tl, "srv-b", t + 2, DOWN, "")
    assert sink.states("srv-a") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(12)), (DOWN, at(12), None)]
    assert sink.states("srv-b") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(12)), (UNREACHABLE, at(12), None)]



def test_a_cut_leaves_out_the_centres_failing_checks_of_an_asset_the_poller_also_checks() -> None:
    """Two prefecture switches, each with `icmp` run by the poller p-hotan and `snmp` run by the centre, behind
    the link, which is cut from t=10 to t=100 (link: up 1; down 10, 20, 30, confirmed at 30, dated 10; up 100).

    sw-a, really up through the cut:
    - icmp up at 1 (live); snmp up at 2, then down at 12, 22, 32 (the centre's SNMP crosses the cut link),
      confirmed at 32, dated 12. Own state icmp up + snmp down = degraded, but the parent is down and sw-a has
      a poller's check: the centre's failing snmp is left out, icmp (up) remains -> up. Nothing changes.
    - tick 40: icmp's last result 1 + 3 x 10 = 31 <= 40 -> unknown from 1 + 10 = 11. snmp left out, no known
      check remains -> unreachable from 11.
    - replay: icmp up at 11 .. 91. The first is 0 s after the silence began (<= 20 s): undone from 11, icmp up
      -> up again from 11, merged back into the up interval from 1.
    - link up at 100: the parent's recovery does not decide (snmp still confirmed down; its next result
      does): icmp 101 (the poller's) decides nothing either; snmp up at 102 -> own up. No degraded time at all:
      sw-a = unknown [0, 1), up [1, open). Before the fix: degraded [12, 102), charged to the switch.
    sw-b, really down from t=11 (the poller saw it):
    - same until tick 40 (unreachable from 11); replay icmp down at 11, 21, 31: confirmed at 31, dated 11; the
      centre's snmp left out, the poller's icmp down remains -> down from 11 (its own fault, not the link's),
      the open unreachable interval relabelled: sw-b = unknown [0, 1), up [1, 11), down [11, open), its reason
      the poller's only. The link's recovery at 100 changes nothing (both checks down: down).
    """
    tl, sink = make(interval=10.0)
    add(tl, "link")
    for sw in ("sw-a", "sw-b"):
        add(tl, sw, parent="link", checks=("icmp", "snmp"))
    tl.observe(Observation("link", "c", at(1), UP))
    for sw in ("sw-a", "sw-b"):
        tl.observe(Observation(sw, "icmp", at(1), UP, "", None, "p-hotan"))
        tl.observe(Observation(sw, "snmp", at(2), UP))
    for t in (10, 20, 30):
        tl.observe(Observation("link", "c", at(t), DOWN, "no reply"))
        for sw in ("sw-a", "sw-b"):
            tl.observe(Observation(sw, "snmp", at(t + 2), DOWN, "snmp timeout"))
    assert tl.tracks["sw-a"].state == UP
    tl.tick(at(40))
    assert tl.tracks["sw-a"].state == UNREACHABLE
    for t in range(11, 100, 10):
        tl.observe(Observation("sw-a", "icmp", at(t), UP, "", None, "p-hotan"))
    for t in (11, 21, 31):
        tl.observe(Observation("sw-b", "icmp", at(t), DOWN, "no echo reply", None, "p-hotan"))
    tl.observe(Observation("link", "c", at(100), UP))
    tl.observe(Observation("sw-a", "icmp", at(101), UP, "", None, "p-hotan"))
    assert tl.tracks["sw-a"].state == UP  # the centre's snmp has not answered since the link returned
    tl.observe(Observation("sw-a", "snmp", at(102), UP))
    assert sink.states("sw-a") == [(UNKNOWN, at(0), at(1)), (UP, at(1), None)]
    assert sink.states("sw-b") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(11)), (DOWN, at(11), None)]
    assert tl.tracks["sw-b"].reason == "icmp: no echo reply"


def test_a_moved_assets_old_poller_replaying_late_decides_nothing_now() -> None:
    """srv is p-b's; p-b's path to the centre is cut after its result at 1 (up), while p-b goes on checking: it sees
    srv down at 21, 31, 41 and spools that. The silence is judged at the tick at 50 (1 + 3 x 10 = 31 <= 50): unknown
    from 11. The asset moves to p-a (issue 22 item 3), whose results are up at 60 and 70: up from 60. Then p-b's
    link returns and its spool arrives: the downs at 21, 31, 41 (of its own time, so counted: docs/poller.md).

    They are older than the check's latest result (70, p-a's): they are stored at their own times as evidence
    (a result recorded each, observer p-b), and decide nothing now. srv: unknown [0, 1), up [1, 11), unknown
    [11, 60), up [60, open). Before: each was taken as if at 70, three downs (down_after 3) confirmed srv down
    from 70 while p-a saw it up, and stored at 70, beside p-a's result of that instant."""
    from opsmon.collector.core.maintenance import MaintenanceBook
    from opsmon.collector.core.messages import ResultRecorded
    from opsmon.collector.timeline.engine import Timeline
    from tests.conftest import MemorySink

    sink = MemorySink()
    recorded: list[ResultRecorded] = []

    def publish(msg: object) -> None:
        if isinstance(msg, ResultRecorded):
            recorded.append(msg)
        sink(msg)  # type: ignore[arg-type]

    tl = Timeline(publish, MaintenanceBook([], "Asia/Shanghai"))
    tl._conf = make(interval=10.0)[0]._conf  # type: ignore[attr-defined]
    add(tl, "srv")
    seen(tl, "srv", 1, UP, "p-b")
    tl.tick(at(50))
    seen(tl, "srv", 60, UP, "p-a")
    seen(tl, "srv", 70, UP, "p-a")
    for t in (21, 31, 41):
        seen(tl, "srv", t, DOWN, "p-b")
    assert sink.states("srv") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(11)), (UNKNOWN, at(11), at(60)),
                                  (UP, at(60), None)]
    assert [(r.ts, r.status, r.observer) for r in recorded] == [
        (at(1), UP, "p-b"), (at(60), UP, "p-a"), (at(70), UP, "p-a"),
        (at(21), DOWN, "p-b"), (at(31), DOWN, "p-b"), (at(41), DOWN, "p-b")]
