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

