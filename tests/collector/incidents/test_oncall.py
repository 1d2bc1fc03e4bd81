"""On-call run without a shell (issue 18 item 5), in process: the real timeline, engine, escalator and store
with the fake clock of test_incidents.World.

test_incidents.ONCALL: schedule ops, li and wang in 1-day turns from 2026-06-29 09:00 Shanghai (turn 2, li's,
begins 07-01 09:00), wang covering 07-01 09:00-12:00 by an override. T0 = 07-01 10:00 Shanghai: wang is on
call until 12:00, then li. The asset `srv` is high: a critical availability incident, 1 h deadline; three
failing results 10 s apart open it at D = T0 + 20 s, paging level 1 (ops: wang) on wecom and email.
"""
from __future__ import annotations

from datetime import timedelta

from opsmon.collector.config.oncall import Oncall
from opsmon.collector.core.states import UP
from opsmon.collector.incidents.read import list_incidents, show_incident
from opsmon.collector.store import Store
from tests.collector.incidents.test_incidents import ONCALL, T0, World, fail, info

D = T0 + timedelta(seconds=20)
NOON = T0 + timedelta(hours=2)  # 12:00 Shanghai: the override ends, li's turn


def test_follow_ups_after_a_handoff_go_to_the_person_paged(store: Store) -> None:
    """Paged: wang (on call at D). Acknowledged by wang at D+50 s. At 12:00 li comes on call; the asset is up
    at 12:00:30: the resolved notice goes to wang, who was paged, on level 1's channels. Before: to li, who
    was on call when it resolved and had never heard of it (the engineer paged never heard it was over)."""
    w = World(store, {"srv": info(criticality="high")})
    w.advance(fail(w, "srv", T0))
    [inc] = list_incidents(store)
    w.engine.acknowledge(inc["id"], "wang", at=D + timedelta(seconds=50))
    w.advance(NOON)
    assert ONCALL.schedules["ops"].on_call(NOON) == "li"
    w.clock.now = NOON + timedelta(seconds=30)
    w.result("srv", UP, w.clock.now)
    assert [(e, who, ch) for _i, e, _l, who, ch in w.sent] == [
        ("opened", ["wang"], ["wecom", "email"]), ("acknowledged", ["wang"], ["wecom", "email"]),
        ("resolved", ["wang"], ["wecom", "email"])]


def test_follow_ups_reach_everyone_paged_even_after_a_restart(store: Store) -> None:
    """Never acknowledged: level 1 pages wang at D, level 2 the lead at D+30 min. The collector restarts
    (a new engine reads the incident and its trail) after noon; li is on call now. The asset is up at
    12:00:30: resolved goes to wang and the lead (the people paged, read back from the trail), not li."""
    w = World(store, {"srv": info(criticality="high")})
    w.advance(fail(w, "srv", T0))
    w.advance(D + timedelta(minutes=30))
    assert [(e, who) for _i, e, _l, who, _c in w.sent] == [("opened", ["wang"]), ("escalated", ["lead"])]
    again = World(store, {"srv": info(criticality="high")})
    again.engine.load()
    again.clock.now = NOON + timedelta(seconds=30)
    # the restarted timeline has no state for srv: it fails again, then recovers (an up transition)
    inc = next(iter(again.engine.by_id.values()))
    assert inc.paged == ["wang", "lead"] and inc.paged_at == D + timedelta(minutes=30)
    again.engine.on_transition("srv", again.clock.now, again.clock.now, "down", UP, "")
    assert [(e, who, ch) for _i, e, _l, who, ch in again.sent] == [("resolved", ["wang", "lead"], ["wecom", "email"])]


def test_repeat_every_sends_again_while_unacknowledged(store: Store) -> None:
    """repeat_every 10 min, levels: 0 s (ops), 30 min (lead). Unacknowledged from D: level 1 at D, repeats
    of level 1 at D+10 and D+20 min (to the one on call), level 2 at D+30 min (the repeat clock restarts
    there), repeats of level 2 at D+40 and D+50 min; acknowledged at D+55 min: nothing after. Over the hour
    D..D+60 min: 6 pages, 4 of them repeats. Ticks every 10 s, as the service's tick would (not 1 s: cheaper,
    and each due moment falls on a tick since D is on one)."""
    oncall = Oncall.model_validate(ONCALL.model_dump() | {"policies": {"default": {"repeat_every": "10m", "levels": [
        {"after": "0s", "notify": ["schedule:ops"], "channels": ["wecom"]},
        {"after": "30m", "notify": ["person:lead"], "channels": ["email"]}]}}})
    w = World(store, {"srv": info(criticality="high")}, oncall=oncall)
    w.advance(fail(w, "srv", T0))
    inc_id = w.sent[0][0]
    t = D
    while t < D + timedelta(minutes=55):
        t += timedelta(seconds=10)
        w.advance(t)
    w.engine.acknowledge(inc_id, "lead", at=t)
    for _ in range(30):
        t += timedelta(seconds=10)
        w.advance(t)
    pages = [(e, lvl, who) for _i, e, lvl, who, _c in w.sent if e != "acknowledged"]
    assert pages == [("opened", 1, ["wang"]), ("repeated", 1, ["wang"]), ("repeated", 1, ["wang"]),
                     ("escalated", 2, ["lead"]), ("repeated", 2, ["lead"]), ("repeated", 2, ["lead"])]
    trail = show_incident(store, inc_id)["trail"]
    assert [e["ts"] for e in trail if e["action"] == "repeated"] == [
        (D + timedelta(minutes=m)).isoformat() for m in (10, 20, 40, 50)]
    # the acknowledgement went to everyone paged: wang and the lead
    assert [who for _i, e, _l, who, _c in w.sent if e == "acknowledged"] == [["wang", "lead"]]


def test_reassign_and_take_over_tell_the_new_owner_and_are_audited(store: Store) -> None:
    """Acknowledged by wang at D+50 s; reassigned to li by the lead at D+2 min: li is told (reassigned);
    a reopen afterwards goes to li, the owner, not wang. li's colleague lead then takes it over: the lead
    is told, and the audit log has both changes with their actors."""
    from sqlalchemy import select

    from opsmon.collector.store.models import AuditEntry

    w = World(store, {"srv": info(criticality="high")})
    w.advance(fail(w, "srv", T0))
    inc_id = w.sent[0][0]
    w.engine.acknowledge(inc_id, "wang", at=D + timedelta(seconds=50))
    w.clock.now = D + timedelta(minutes=2)
    w.engine.reassign(inc_id, "lead", "li", "wang is off at noon")
    assert w.sent[-1][1:4] == ("reassigned", 1, ["li"])
    w.clock.now = D + timedelta(minutes=3)
    w.result("srv", UP, w.clock.now)
    w.advance(fail(w, "srv", D + timedelta(minutes=3, seconds=4), n=3, step=4))
    assert [(e, who) for _i, e, _l, who, _c in w.sent[-2:]] == [("resolved", ["wang"]), ("reopened", ["li"])]
    w.engine.take_over(inc_id, "lead")
    assert w.sent[-1][1:4] == ("taken_over", 1, ["lead"])
    doc = show_incident(store, inc_id)
    assert doc["acknowledged_by"] == "wang"  # the response on record is not rewritten
    with store.session() as s:
        rows = [(a.actor, a.action, a.detail.get("from"), a.detail.get("to")) for a in s.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(("incident.reassigned", "incident.taken_over"))))]
    assert rows == [("lead", "incident.reassigned", "wang", "li"), ("lead", "incident.taken_over", "li", "lead")]


def test_take_over_of_an_open_incident_acknowledges_it(store: Store) -> None:
    """Open (unacknowledged) at D; li takes it over at D+5 min: acknowledged by li (response 300 s), owner li."""
    w = World(store, {"srv": info(criticality="high")})
    w.advance(fail(w, "srv", T0))
    inc_id = w.sent[0][0]
    w.clock.now = D + timedelta(minutes=5)
    w.engine.take_over(inc_id, "li")
    doc = show_incident(store, inc_id)
    assert (doc["status"], doc["acknowledged_by"], doc["response_seconds"]) == ("acknowledged", "li", 300)
    assert w.engine.by_id[inc_id].owner == "li"


def test_now_and_next_per_schedule() -> None:
    """ops at T0 (10:00 Shanghai, wang by override): next li at 12:00 (override end); at 12:00 li until
    07-02 09:00 (turn 3, wang's); before the override (08:00) wang (turn 1) until 09:00, when the override
    keeps wang, so the next change is li at 12:00."""
    ops = ONCALL.schedules["ops"]
    assert ops.next_change(T0) == (NOON, "li")
    assert ops.next_change(NOON) == (NOON + timedelta(hours=21), "wang")
    early = T0 - timedelta(hours=2)
    assert ops.on_call(early) == "wang" and ops.next_change(early) == (NOON, "li")


def test_roster_reloads_a_valid_file_keeps_the_old_on_a_bad_one_and_tells_handoffs(store: Store, tmp_path) -> None:
    """The roster over a real file and store. At T0 (10:00 Shanghai, 07-01) wang is on call by the file's
    override; the first handoffs() only notes that. A stored override (li from 10:30 to 11:00) is taken up
    at the next reload: at 10:30 a handoff to li, at 11:00 one back to wang, at 12:00 (the file's override
    ends, turn 2 is li's) one to li. A file with a misspelt key is refused: the roster in force stays, every
    problem named with file:line and key; so is one naming a channel collector.yaml lacks. A good file is
    taken up: 2-day turns from 06-29 09:00 make 07-01 13:00 part of turn 1, wang's."""
    import yaml

    from opsmon.collector.incidents.roster import Roster
    from opsmon.collector.store.oncall import add_override

    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump(ONCALL.model_dump(mode="json", exclude_none=True), allow_unicode=True))
    roster = Roster(path, store)
    assert roster.handoffs(T0) == []
    add_override(store, roster.from_file.schedules, roster.from_file.people, "ops", "li", T0 + timedelta(minutes=30),
                 T0 + timedelta(hours=1), "dentist swap", "cli:test", T0)
    assert roster.reload() is True and roster.reload() is False  # taken up once; nothing new the second time
    assert [(h, roster.handoffs(t)) for h, t in (
        ("10:29", T0 + timedelta(minutes=29)), ("10:30", T0 + timedelta(minutes=30)),
        ("11:00", T0 + timedelta(hours=1)), ("12:00", NOON))] == [
        ("10:29", []), ("10:30", [("ops", "li")]), ("11:00", [("ops", "wang")]), ("12:00", [("ops", "li")])]
    good = path.read_text()
    path.write_text(good.replace("name: 王芳", "nmae: 王芳"))
    assert roster.reload() is False
    # the dumped file: `wang:` on line 12, its `name` (now `nmae`) on line 14; both problems, each named
    assert roster.errors == [f"{path}:12: people.wang.name: required key is missing",
                             f"{path}:14: people.wang.nmae: unknown key"]
    assert roster.current.schedules["ops"].on_call(T0 + timedelta(minutes=45)) == "li"  # the roster in force stays
    path.write_text(good.replace("- wecom\n", "- wecom-old\n"))
    roster.known_channels = {"wecom", "email"}  # as the service gives it: collector.yaml's channels
    assert roster.reload() is False and roster.errors == [
        f"{path}: policies: channel 'wecom-old' is not defined under notify.channels in collector.yaml"]
    path.write_text(good.replace("shift: 86400.0", "shift: 2d"))
    assert roster.reload() is True and roster.errors == []
    assert roster.current.schedules["ops"].on_call(NOON + timedelta(hours=1)) == "wang"
