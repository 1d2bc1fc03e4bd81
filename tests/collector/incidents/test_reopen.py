"""One episode, one escalation (issue 18 item 1): a reopen continues the same response record.

Driven through the real timeline and a real store with the fake clock of test_incidents.World. The policy is
test_incidents.ONCALL: level 1 at 0 s (schedule ops: wang until 12:00 Shanghai), level 2 at 30 min (lead),
level 3 at 60 min only once breached (head). The asset `srv` is high: a critical availability incident with
a 1 h response deadline. Three failing results 10 s apart confirm a fault at the third (D = T0 + 20 s).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from opsmon.collector.core.states import UP
from opsmon.collector.incidents.read import list_incidents, show_incident
from opsmon.collector.store import Store
from tests.collector.incidents.test_incidents import T0, World, fail, info

D = T0 + timedelta(seconds=20)  # the fault is confirmed, the incident opened, level 1 sent


def flap(w: World, up_at: datetime) -> datetime:
    """Up at `up_at`, then three failures 4 s apart from 4 s later: the reopen at up_at + 12 s (a 12 s flap)."""
    w.clock.now = up_at
    w.result("srv", UP, up_at)
    w.advance(up_at)
    back = fail(w, "srv", up_at + timedelta(seconds=4), n=3, step=4)
    w.advance(back)
    return back


def opened(w: World, store: Store) -> str:
    w.advance(fail(w, "srv", T0))
    [inc] = list_incidents(store)
    assert inc["opened_at"] == D.isoformat()
    return str(inc["id"])


def test_a_flap_of_an_acknowledged_incident_tells_its_owner_only(store: Store) -> None:
    """The tester's case: acknowledged within a minute, then a 12 s flap 61 min after opening (past the
    30 min of level 2 and the 60 min deadline of the only_if_breached level 3). Before: the reopen set the
    status back to open and both levels fired at once, paging the lead and the head of centre."""
    w = World(store, {"srv": info(criticality="high")})
    inc_id = opened(w, store)
    w.engine.acknowledge(inc_id, "wang", at=D + timedelta(seconds=50))
    w.advance(D + timedelta(seconds=50))
    back = flap(w, D + timedelta(minutes=61))
    w.advance(back + timedelta(minutes=5))
    assert [(e, lvl, who) for _i, e, lvl, who, _c in w.sent] == [
        ("opened", 1, ["wang"]), ("acknowledged", 1, ["wang"]), ("resolved", 1, ["wang"]),
        ("reopened", 1, ["wang"])]
    doc = show_incident(store, inc_id)
    assert (doc["status"], doc["acknowledged_by"], doc["reopened"], doc["level"]) == ("acknowledged", "wang", 1, 1)
    assert doc["breached"] is False and "breached" not in [e["action"] for e in doc["trail"]]


def test_a_reopened_unacknowledged_incident_counts_its_levels_from_the_reopen(store: Store) -> None:
    """Never acknowledged; up at D+25 min, back at D+29 min (reopen R). Level 2 is due 30 min after R
    (D+59 min), not at D+30 min, one minute after the reopen. The deadline stays D+60 min: the breach is
    recorded at D+60 min+1 s. Level 3 (60 min, only_if_breached) is due 60 min after R: D+89 min."""
    w = World(store, {"srv": info(criticality="high")})
    inc_id = opened(w, store)
    w.clock.now = D + timedelta(minutes=25)
    w.result("srv", UP, w.clock.now)
    reopen = fail(w, "srv", D + timedelta(minutes=28, seconds=40))
    assert reopen == D + timedelta(minutes=29)
    w.advance(reopen)
    assert [(e, lvl) for _i, e, lvl, _w, _c in w.sent] == [("opened", 1), ("resolved", 1), ("reopened", 1)]
    w.advance(D + timedelta(minutes=30))
    w.advance(D + timedelta(minutes=58, seconds=59))
    assert len(w.sent) == 3
    w.advance(D + timedelta(minutes=59))
    assert w.sent[-1] == (inc_id, "escalated", 2, ["lead"], ["email"])
    w.advance(D + timedelta(minutes=60, seconds=1))
    assert show_incident(store, inc_id)["deadline"] == (D + timedelta(hours=1)).isoformat()
    assert [e["action"] for e in show_incident(store, inc_id)["trail"]].count("breached") == 1
    w.advance(D + timedelta(minutes=88, seconds=59))
    assert [s[2] for s in w.sent if s[1] == "escalated"] == [2]
    w.advance(D + timedelta(minutes=89))
    assert w.sent[-1] == (inc_id, "escalated", 3, ["head"], ["email"])


def test_four_flaps_in_80_seconds_mark_the_incident_flapping_with_one_notice(store: Store) -> None:
    """flap_reopens 3 within flap_window 10 min, flap_settle 10 min (the defaults). Acknowledged; four 12 s
    flaps 20 s apart from D+61 min (reopens at +12, +32, +52, +72 s). Flaps 1 and 2: resolved and reopened,
    to the owner. Flap 3: resolved, then the third reopen marks it flapping: one notice instead of the
    reopen's. Flap 4: nothing. Settled 10 min after the last change (the fourth reopen): one notice."""
    w = World(store, {"srv": info(criticality="high")})
    inc_id = opened(w, store)
    w.engine.acknowledge(inc_id, "wang", at=D + timedelta(seconds=50))
    start = D + timedelta(minutes=61)
    last = start
    for k in range(4):
        last = flap(w, start + timedelta(seconds=20 * k))
    assert last == start + timedelta(seconds=72)
    events = [e for _i, e, _l, _w, _c in w.sent]
    assert events == ["opened", "acknowledged", "resolved", "reopened", "resolved", "reopened", "resolved",
                      "flapping"]
    assert all(who == ["wang"] for _i, _e, _l, who, _c in w.sent[1:])
    w.advance(last + timedelta(minutes=9, seconds=59))
    assert len(w.sent) == 8
    w.advance(last + timedelta(minutes=10))
    assert w.sent[-1][1:4] == ("settled", 1, ["wang"]) and len(w.sent) == 9
    doc = show_incident(store, inc_id)
    assert doc["flapping_since"] is None and doc["reopened"] == 4 and doc["status"] == "acknowledged"
    assert [e["action"] for e in doc["trail"]].count("flapping") == 1
    assert [e["action"] for e in doc["trail"]].count("settled") == 1


def test_time_to_resolve_is_observed_once_per_incident(store: Store) -> None:
    """Opened D; resolved at D+1 min, reopened at D+2 min, resolved again at D+3 min: one sample when the
    episode ends (closed after quiet_time, 30 min), opened to the last resolution = 180 s. Before: one
    sample per resolution, each from the first opening (60 s and 180 s)."""
    from opsmon.collector.outputs.metrics import CollectorMetrics

    w = World(store, {"srv": info(criticality="high")})
    metrics = CollectorMetrics()
    metrics.watch_incidents(w.engine)
    opened(w, store)
    w.clock.now = D + timedelta(minutes=1)
    w.result("srv", UP, w.clock.now)
    w.advance(fail(w, "srv", D + timedelta(minutes=2) - timedelta(seconds=20)))
    w.clock.now = D + timedelta(minutes=3)
    w.result("srv", UP, w.clock.now)
    labels = {"kind": "availability", "severity": "critical"}
    count = "opsmon_incident_time_to_resolve_seconds_count"
    assert metrics.registry.get_sample_value(count, labels) == 0  # the series exists from zero
    w.advance(D + timedelta(minutes=33, seconds=1))
    assert list_incidents(store)[0]["status"] == "closed"
    assert metrics.registry.get_sample_value(count, labels) == 1
    assert metrics.registry.get_sample_value("opsmon_incident_time_to_resolve_seconds_sum", labels) == 180
