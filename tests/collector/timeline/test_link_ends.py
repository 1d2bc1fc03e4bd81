"""A WAN link measured from both ends, and a site poller's own silence (issue 22 item 4; docs/timeline.md, rules 9-10).

Fake clock, in process. The link `wan` has the centre's check `c` and its far end `from-site` (the site poller p-hotan
probing the centre, `far_end`); both every 10 s, down after 1 result, up after 1, silence after 3 intervals (30 s).
"""
from __future__ import annotations

from opsmon.collector.core.states import DEGRADED, DOWN, UNKNOWN, UP, Observation
from opsmon.collector.timeline.engine import CheckConf
from tests.collector.timeline.test_timeline import at, make

FAR = "from-site"


def link(tl, t: float = 0) -> None:  # type: ignore[no-untyped-def]
    tl.upsert_asset("wan", None, "hotan", (), [CheckConf("c", 10, 1, 1), CheckConf(FAR, 10, 1, 1, far_end=True)],
                    at(t))


def centre(tl, t: float, status: str) -> None:  # type: ignore[no-untyped-def]
    tl.observe(Observation("wan", "c", at(t), status, "" if status == UP else "connection refused"))


def far(tl, t: float, status: str) -> None:  # type: ignore[no-untyped-def]
    reason = {UP: "", DOWN: "connection refused", DEGRADED: "loss 40% > 20%"}[status]
    tl.observe(Observation("wan", FAR, at(t), status, reason, None, "p-hotan"))


def centre_sees_the_link_fail():  # type: ignore[no-untyped-def]
    """Both ends up (the centre at 1, the far end at 2), then the centre's probe fails at 11: down from 11, the far
    end's latest result (2) being older than that. An inventory reload at 12 (no result) keeps that view."""
    tl, sink = make(interval=10.0)
    link(tl)
    centre(tl, 1, UP)
    far(tl, 2, UP)
    centre(tl, 11, DOWN)
    assert tl.tracks["wan"].state == DOWN
    link(tl, 12)
    assert tl.tracks["wan"].state == DOWN
    return tl, sink


def test_a_cut_is_down_from_the_centres_first_failure_and_the_agreeing_replay_changes_nothing() -> None:
    """The link is cut from t=10 to t=60; the poller's probes of the centre (every 10 s from 2) fail in between and
    the reports that carry them are spooled, then replayed after the cut.

    - live: c up 1 -> up from 1 (the far end unknown: the centre alone); from-site up 2 -> both up: up.
    - c down 11: confirmed, dated 11. from-site's latest result (2) is older than 11: it says nothing of the time
      being decided (it is cut off with the link), so the centre decides alone: down from 11, not degraded.
    - c down 21, 31, 41, 51; tick 35: from-site's silence (2 + 30 = 32 <= 35) -> unknown from 12; the link
      stays down (the centre alone). c up 61 -> up from 61 (from-site unknown).
    - replay, arriving after 61: from-site down 12, 22, 32, 42, 52, then live up 62. Spans of one status: [12, 52)
      down, with the centre's down there: both agree, the history stays; [2, 12) and [52, 62) change status
      (when is unknown): left as the centre saw them. The open up interval is not touched by results older than
      its start (12 .. 52 < 61); from-site up 62 >= 61: both up.
    - link: unknown [0, 1), up [1, 11), down [11, 61), up [61, open). Before this rule the stale up of the poller
      made degraded [11, 12) live, and the replay relabelled the open interval degraded [61, 62).
    """
    tl, sink = centre_sees_the_link_fail()
    for t in (21, 31):
        centre(tl, t, DOWN)
    tl.tick(at(35))
    assert tl.tracks["wan"].checks[FAR].confirmed == UNKNOWN
    for t in (41, 51):
        centre(tl, t, DOWN)
    centre(tl, 61, UP)
    for t in (12, 22, 32, 42, 52):
        far(tl, t, DOWN)
        assert tl.tracks["wan"].state == UP, t
    far(tl, 62, UP)
    assert sink.states("wan") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(11)), (DOWN, at(11), at(61)),
                                  (UP, at(61), None)]
    assert not [row for row in sink.intervals["wan"] if row[0] == DEGRADED]


def test_a_replay_that_disagrees_with_the_centre_rewrites_the_cut_degraded() -> None:
    """Same down seen by the centre from 11 to 61, but the poller reached the centre throughout (its probe up every
    10 s from 2); its reports did not get through (say the collector refused them, 503) and are replayed late.

    - live: as above, down [11, 61), up from 61; from-site silent from 12 (tick 35).
    - replay 12, 22, ..., 52 up, then 62 up, after 61. Each span between two up results at most 30 s apart was up at
      the far end: [2, 12) .. [52, 62). Combined with the centre's history: [2, 11) up and up: unchanged;
      [11, 52) down at the centre, up at the far end: the ends disagree -> degraded, the centre's reason kept
      (Recombined pieces [11, 12), [12, 22), ... [42, 52), one row: touching, one state and reason).
      [52, 61): the last piece of the centre's down, 9 s <= its 10 s interval, followed by the centre's up (61):
      the far end saw the recovery first (out of phase) -> up, not a disagreement. [61, 62) is the open
      interval's: not history.
    - link: unknown [0, 1), up [1, 11), degraded [11, 52), up [52, 61), up [61, open) (the rewritten piece and the
      open interval are two rows).
    """
    tl, sink = make(interval=10.0)
    link(tl)
    centre(tl, 1, UP)
    far(tl, 2, UP)
    for t in (11, 21, 31):
        centre(tl, t, DOWN)
    tl.tick(at(35))
    for t in (41, 51):
        centre(tl, t, DOWN)
    centre(tl, 61, UP)
    for t in (12, 22, 32, 42, 52, 62):
        far(tl, t, UP)
    assert sink.states("wan") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(11)), (DEGRADED, at(11), at(52)),
                                  (UP, at(52), at(61)), (UP, at(61), None)]
    assert sink.intervals["wan"][2][3] == "c: connection refused"
    assert tl.tracks["wan"].state == UP


def test_live_disagreement_and_a_far_end_over_its_loss_threshold_are_degraded() -> None:
    """The far end keeps reporting live.

    - c up 1, from-site up 2: up from 1.
    - c down 11 (the centre's probe fails, dated 11): from-site's latest (2) is older: down from 11 for now.
      from-site up 12: the same status as at 2, 10 s before: the far end reached the centre all of [2, 12), so the
      down from 11 was the ends disagreeing: the open interval relabelled degraded from 11.
    - c up 21: both up -> up from 21.
    - from-site degraded 22 (its probe: loss over the link's threshold), confirmed at once: degraded from 22.
      from-site up 32: up from 32.
    - link: unknown [0, 1), up [1, 11), degraded [11, 21), up [21, 22), degraded [22, 32), up [32, open).
    """
    tl, sink = centre_sees_the_link_fail()
    far(tl, 12, UP)
    assert tl.tracks["wan"].state == DEGRADED
    centre(tl, 21, UP)
    far(tl, 22, DEGRADED)
    assert tl.tracks["wan"].reason == f"{FAR}: loss 40% > 20%"
    far(tl, 32, UP)
    assert sink.states("wan") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(11)), (DEGRADED, at(11), at(21)),
                                  (UP, at(21), at(22)), (DEGRADED, at(22), at(32)), (UP, at(32), None)]


def poller_and_link(tl, link_down_after: int) -> None:  # type: ignore[no-untyped-def]
    """wan checked by the centre every 10 s; p-hotan's report check every 5 s, silence down (as an agent's),
    behind wan."""
    tl.upsert_asset("wan", None, "hotan", (), [CheckConf("c", 10, link_down_after, 1)], at(0))
    tl.upsert_asset("p-hotan", None, "hotan", (), [CheckConf("agent", 5, 1, 1, DOWN, "agent not reporting",
                                                             behind=("wan",))], at(0))


def report(tl, t: float) -> None:  # type: ignore[no-untyped-def]
    tl.observe(Observation("p-hotan", "agent", at(t), UP))


def test_a_poller_silent_behind_its_cut_link_is_unknown_and_down_once_the_link_is_back() -> None:
    """Rule 10. wan: up 1, down 11 (confirmed at once, dated 11) .. 51, up 61. p-hotan reports every 5 s, 4 and 9,
    then nothing (it died during the cut; nothing is replayed).

    - tick 25: p-hotan's last report 9 + 3 x 5 = 24 <= 25: silent; its link is down -> unknown from 9 + 5 = 14,
      not down: behind a cut link silence is no evidence its host is down.
    - wan up 61. tick 70: the poller has 15 s from 61 to report (61 + 15 = 76 > 70): still unknown.
      tick 80 >= 76: down from 61 + 5 = 66 ("agent not reporting"): the link carries, the poller does not.
    - p-hotan: unknown [0, 4), up [4, 14), unknown [14, 66), down [66, open).
    """
    tl, sink = make(interval=10.0)
    poller_and_link(tl, 1)
    tl.observe(Observation("wan", "c", at(1), UP))
    report(tl, 4)
    report(tl, 9)
    tl.observe(Observation("wan", "c", at(11), DOWN, "connection refused"))
    tl.tick(at(25))
    assert tl.tracks["p-hotan"].state == UNKNOWN
    assert "behind its cut link (wan down)" in tl.tracks["p-hotan"].reason
    for t in (21, 31, 41, 51):
        tl.observe(Observation("wan", "c", at(t), DOWN, "connection refused"))
    tl.observe(Observation("wan", "c", at(61), UP))
    tl.tick(at(70))
    assert tl.tracks["p-hotan"].state == UNKNOWN
    tl.tick(at(80))
    assert sink.states("p-hotan") == [(UNKNOWN, at(0), at(4)), (UP, at(4), at(14)), (UNKNOWN, at(14), at(66)),
                                      (DOWN, at(66), None)]
    assert tl.tracks["p-hotan"].reason == "agent: agent not reporting"


def test_a_cut_confirmed_after_the_poller_was_judged_down_explains_it_and_the_replay_fills_it() -> None:
    """The link's down needs 3 results (down_after 3): wan up 1; down 11, 21 (pending); the poller's last report 9.

    - tick 25: p-hotan silent (9 + 15 = 24 <= 25), the link still up -> down from 14 ("agent not reporting").
    - wan down 31: the third, confirmed, dated 11. tick 32: the cut began (11) before the poller's silence (14):
      it explains it -> unknown from 14 (the down interval relabelled): the poller is not charged the cut.
    - wan up 61; the poller's spool replays its reports 14, 19, ..., 59 and goes on live at 64: the first replayed
      one (14) is 0 s after the silence began (<= (3 - 1) x 5 = 10 s): undone from its start, merged into up.
    - p-hotan: unknown [0, 4), up [4, open); its transitions: up at 4, down at 14, unknown at 14, and up dated 4
      (the merge reopens the up interval from 4, and a transition names the start of the interval it opens).
    """
    tl, sink = make(interval=10.0)
    poller_and_link(tl, 3)
    tl.observe(Observation("wan", "c", at(1), UP))
    report(tl, 4)
    report(tl, 9)
    for t in (11, 21):
        tl.observe(Observation("wan", "c", at(t), DOWN, "connection refused"))
    tl.tick(at(25))
    assert tl.tracks["p-hotan"].state == DOWN
    tl.observe(Observation("wan", "c", at(31), DOWN, "connection refused"))
    tl.tick(at(32))
    assert tl.tracks["p-hotan"].state == UNKNOWN
    assert sink.states("p-hotan")[-1] == (UNKNOWN, at(14), None)
    tl.observe(Observation("wan", "c", at(61), UP))
    for t in range(14, 65, 5):
        report(tl, t)
    assert sink.states("p-hotan") == [(UNKNOWN, at(0), at(4)), (UP, at(4), None)]
    moves = [(when, new) for asset, (when, _detected, _old, new, _reason) in sink.transitions if asset == "p-hotan"]
    assert moves == [(at(4), UP), (at(14), DOWN), (at(14), UNKNOWN), (at(4), UP)]


def out_of_phase_cut_at_15():  # type: ignore[no-untyped-def]
    """The centre probes at 1, 11, 21 ...; the poller at 7, 17 ...; the link is cut at 15. Live: c up 1, 11 and
    from-site up 7: up from 1; c down 21: down from 21 (from-site's 7 is older); tick 40: from-site silent
    (7 + 30 = 37 <= 40), unknown from 17; c down 31, 41, 51."""
    tl, sink = make(interval=10.0)
    link(tl)
    centre(tl, 1, UP)
    far(tl, 7, UP)
    centre(tl, 11, UP)
    for t in (21, 31):
        centre(tl, t, DOWN)
    tl.tick(at(40))
    for t in (41, 51):
        centre(tl, t, DOWN)
    return tl, sink


def test_the_far_end_seeing_the_cut_first_moves_its_start_earlier() -> None:
    """Out of phase: the centre probes at 1, 11, 21 ...; the poller at 7, 17, 27 ... The link is cut from 15 to 60.

    - live: c up 1, 11; from-site up 7: up from 1. c down 21: from-site's latest (7) is older: down from 21.
      tick 40: from-site silent (7 + 30 = 37 <= 40), unknown from 17. c down 31 .. 51, up 61: up from 61.
    - replay after 61: from-site down 17, 27, 37, 47, 57. 7 -> 17 changes status: nothing said between them.
      [17, 27) down: [17, 21) is the end of the centre's up interval, 4 s <= its 10 s interval, and the centre's
      next interval is down: the far end saw the same cut 4 s earlier -> down (with the centre's reason, so the
      rows join); [21, 27) .. [47, 57) down and down: unchanged. from-site up 67 (live): 57 -> 67 changes status,
      nothing said between; the centre's up from 61 stands.
    - link: unknown [0, 1), up [1, 17), down [17, 61), up [61, open): the down is 44 s, the cut 45 s; the centre
      alone said 40 s (21 to 61).
    """
    tl, sink = out_of_phase_cut_at_15()
    centre(tl, 61, UP)
    for t in (17, 27, 37, 47, 57):
        far(tl, t, DOWN)
    far(tl, 67, UP)
    assert sink.states("wan") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(17)), (DOWN, at(17), at(61)),
                                  (UP, at(61), None)]
    assert sink.intervals["wan"][2][3] == "c: connection refused"


def test_a_replay_arriving_before_the_centre_sees_the_link_back_gives_the_same_cut() -> None:
    """The previous cut (centre at 1, 11, 21 ...; poller at 7, 17, 27 ...; cut from 15), but the poller's spool
    reaches the centre before the centre's own probe sees the link back (the path returned at 55, between its
    probes), and the poller's first live result (57) is its first to see the link back.

    - live as before: down from 21; from-site silent from 17 (tick 40); c down 41, 51.
    - replay 17 (after up 7: no span); 27: [17, 27) down, its part before the open interval (from 21), [17, 21),
      is the centre's up history: the far end saw the same cut 4 s earlier -> down (Recombined [17, 21)). From 27
      on both ends are heard and say down: down. 37, 47: down.
    - from-site up 57: the far end sees the link back first; the centre's latest (51) is older: up from 57, not
      degraded. c up 61: both up.
    - link: unknown [0, 1), up [1, 17), down [17, 21), down [21, 57), up [57, open): down from the first end to
      see the cut (17) to the first to see the link back (57), 40 s for a 40 s cut (15 to 55); the rewritten
      piece and the interval open then stay two rows of one state.
    """
    tl, sink = out_of_phase_cut_at_15()
    for t in (17, 27, 37, 47):
        far(tl, t, DOWN)
    far(tl, 57, UP)
    assert tl.tracks["wan"].state == UP
    centre(tl, 61, UP)
    assert sink.states("wan") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(17)), (DOWN, at(17), at(21)),
                                  (DOWN, at(21), at(57)), (UP, at(57), None)]


def test_a_late_far_end_replay_from_the_links_previous_poller_is_folded_into_the_history() -> None:
    """The far end moved from p-a to p-b (a handover) during the centre's down [11, 61); p-a's reports, spooled, are
    replayed after p-b's first result: ingest counted them (p-a owned the link then), the timeline gets them late.

    - live: c up 1, p-a's from-site up 2, c down 11, 21, 31, 41, 51 (down from 11), c up 61 (up from 61); p-b's
      from-site up 62 (its first; p-a's up 2 is kept as the previous poller's latest).
    - p-a's replay: up 12, 22, 32, each older than the check's latest (62) and from another observer: no live
      decision (the link stays up), but each follows p-a's result before it (2, 12, 22: 10 s <= 30 s apart, both
      up): [2, 12), [12, 22), [22, 32) up at the far end. Combined with the centre's history: [2, 11) up and up,
      unchanged; [11, 32) down at the centre, up at the far end: degraded; [32, 61) stays down (no far-end result
      covers it: p-b's 62 follows no p-b result).
    - link: unknown [0, 1), up [1, 11), degraded [11, 32), down [32, 61), up [61, open). Before the fix the late rule
      returned first: down [11, 61) untouched."""
    tl, sink = make(interval=10.0)
    link(tl)
    centre(tl, 1, UP)
    far(tl, 2, UP)  # observer p-hotan: the link's poller before the move
    for t in (11, 21, 31, 41, 51):
        centre(tl, t, DOWN)
    centre(tl, 61, UP)
    tl.observe(Observation("wan", FAR, at(62), UP, "", None, "p-b"))
    for t in (12, 22, 32):
        far(tl, t, UP)
        assert tl.tracks["wan"].state == UP, t
    assert sink.states("wan") == [(UNKNOWN, at(0), at(1)), (UP, at(1), at(11)), (DEGRADED, at(11), at(32)),
                                  (DOWN, at(32), at(61)), (UP, at(61), None)]
