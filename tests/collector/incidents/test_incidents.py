"""The incident lifecycle, driven through the real timeline with an injected clock and a real store.

Every figure (response time, deadline, escalation moment) is computed by hand from the
scenario's times; nothing sleeps.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from opsmon.collector.config.oncall import Oncall
from opsmon.collector.config.schema import IncidentsConfig
from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.maintenance import MaintenanceBook
from opsmon.collector.core.messages import Message, Transition
from opsmon.collector.core.states import DOWN, UP, Observation
from opsmon.collector.incidents.engine import AssetInfo, IncidentEngine
from opsmon.collector.incidents.escalation import Escalator
from opsmon.collector.incidents.links import AckLinks, LinkRefused
from opsmon.collector.incidents.read import IncidentFilter, list_incidents, show_incident
from opsmon.collector.sla.engine import evaluate
from opsmon.collector.sla.periods import containing
from opsmon.collector.sla.targets import load_targets
from opsmon.collector.store import Store
from opsmon.collector.store.models import AuditEntry
from opsmon.collector.timeline.engine import CheckConf, Timeline
from tests.conftest import ROOT, utc

T0 = utc(2026, 7, 1, 2, 0, 0)  # 10:00 in Shanghai

ONCALL = Oncall.model_validate({
    "people": {"li": {"name": "李伟", "email": "li@example.org", "mobile": "13800000001"},
               "wang": {"name": "王芳", "email": "wang@example.org"},
               "lead": {"name": "Team lead", "email": "lead@example.org"},
               "head": {"name": "Head of centre", "email": "head@example.org"}},
    "schedules": {"ops": {"rotation": {"people": ["li", "wang"], "shift": "1d", "start": "2026-06-29T09:00:00+08:00"},
                          "overrides": [{"person": "wang", "start": "2026-07-01T09:00:00+08:00",
                                         "end": "2026-07-01T12:00:00+08:00"}]}},
    "policies": {"default": {"levels": [
        {"after": "0s", "notify": ["schedule:ops"], "channels": ["wecom", "email"]},
        {"after": "30m", "notify": ["person:lead"], "channels": ["email"]},
        {"after": "60m", "notify": ["person:head"], "channels": ["email"], "only_if_breached": True}]}},
    "routes": [{"policy": "default"}],
})



def test_rotation_turns_and_overrides_by_hand() -> None:
    """li and wang take 1-day turns from 2026-06-29 09:00 Shanghai; wang covers 07-01 09:00-12:00."""
    ops = ONCALL.schedules["ops"]
    sh = timezone(timedelta(hours=8))
    cases = [
        (datetime(2026, 6, 29, 9, 0, tzinfo=sh), "li"),             # turn 0 begins
        (datetime(2026, 6, 30, 8, 59, 59, tzinfo=sh), "li"),        # its last second
        (datetime(2026, 6, 30, 9, 0, tzinfo=sh), "wang"),           # turn 1
        (datetime(2026, 7, 1, 8, 59, tzinfo=sh), "wang"),
        (datetime(2026, 7, 1, 9, 0, tzinfo=sh), "wang"),            # turn 2 is li's, but the override
        (datetime(2026, 7, 1, 11, 59, 59, tzinfo=sh), "wang"),
        (datetime(2026, 7, 1, 12, 0, tzinfo=sh), "li"),             # the override's end is exclusive
        (datetime(2026, 7, 2, 9, 0, tzinfo=sh), "wang"),            # turn 3
        (datetime(2026, 7, 31, 9, 0, tzinfo=sh), "li"),             # turn 32
        (datetime(2026, 6, 29, 8, 59, tzinfo=sh), "wang"),          # before the start: the turn before li's
        (datetime(2026, 7, 1, 1, 0, tzinfo=UTC), "wang"),           # 09:00 Shanghai, given in UTC
    ]
    assert [(at.isoformat(), ops.on_call(at)) for at, _ in cases] == [(at.isoformat(), who) for at, who in cases]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class World:
    """Timeline + incident engine + escalator, wired as service.py wires them."""

    def __init__(self, store: Store, assets: dict[str, AssetInfo], oncall: Oncall | None = ONCALL,
                 **settings: Any) -> None:
        self.clock = Clock(T0)
        self.sent: list[tuple[str, str, int, list[str], list[str]]] = []
        self.assets = assets
        targets = load_targets(ROOT / "rules" / "targets.yaml")
        self.book = MaintenanceBook((), "UTC")
        self.timeline = Timeline(self._emit, self.book, 3.0)
        self.engine = IncidentEngine(store, self.clock, assets.get, IncidentsConfig(**settings), targets.response_limit,
                                     self._pending, "Asia/Shanghai", self._maintenance)
        self.escalator = Escalator(self.engine, oncall, self._send, assets.get)
        for asset_id, info in assets.items():
            self.timeline.upsert_asset(asset_id, info.parent, info.site, (), [CheckConf("icmp", 10, 3, 1)], T0)

    def _emit(self, msg: Message) -> None:
        if isinstance(msg, Transition):
            self.engine.on_transition(msg.asset_id, msg.at, msg.detected, msg.old, msg.new, msg.reason)

    def _maintenance(self, asset_id: str, at: datetime) -> str | None:
        """As the service answers the engine: the windows covering the asset's track (or its bare name)."""
        from opsmon.collector.core.maintenance import UntrackedAsset

        track = self.timeline.tracks.get(asset_id)
        occ = self.book.covering(track if track is not None else UntrackedAsset(asset_id), at)
        return occ.id if occ is not None else None

    def _pending(self, asset_id: str) -> bool:
        track = self.timeline.tracks.get(asset_id)
        return track is not None and any(ct.pending == "bad" for ct in track.checks.values())

    def _send(self, inc: Any, event: str, level: int, who: list[str], channels: list[str]) -> None:
        self.sent.append((inc.id, event, level, who, channels))

    def result(self, asset_id: str, status: str, at: datetime) -> None:
        self.timeline.observe(Observation(asset_id, "icmp", at, status, "" if status == UP else "no reply"))

    def advance(self, to: datetime) -> None:
        self.clock.now = to
        self.escalator.step(to)


def info(parent: str | None = None, criticality: str = "medium", category: str = "server") -> AssetInfo:
    return AssetInfo("name", category, "urumqi", criticality, parent)


@pytest.fixture
def world(store: Store) -> Iterator[World]:
    yield World(store, {"srv": info(criticality="high")})


def fail(w: World, asset: str, start: datetime, n: int = 3, step: int = 10) -> datetime:
    """n failing results `step` s apart from `start`; the clock follows; returns the last result's time."""
    at = start
    for i in range(n):
        at = start + timedelta(seconds=step * i)
        w.clock.now = at
        w.result(asset, DOWN, at)
    return at


def test_down_opens_notifies_once_and_up_resolves(world: World, store: Store) -> None:
    detected = fail(world, "srv", T0)  # 3 strikes: confirmed at T0+20s, the fault dated T0
    world.advance(detected)
    [inc] = list_incidents(store)
    assert inc["status"] == "open" and inc["kind"] == "availability" and inc["severity"] == "critical"
    assert inc["fault_at"] == T0.isoformat() and inc["opened_at"] == detected.isoformat()
    assert inc["deadline"] == (detected + timedelta(hours=1)).isoformat()  # fault_response_rate limit: 1h
    # on call on 2026-07-01 10:00 +08:00: the override (wang, 09:00-12:00) beats the rotation (li)
    assert world.sent == [(inc["id"], "opened", 1, ["wang"], ["wecom", "email"])]
    world.advance(detected + timedelta(seconds=5))
    assert len(world.sent) == 1  # nothing more until the next level is due
    world.clock.now = detected + timedelta(seconds=40)
    world.result("srv", UP, world.clock.now)
    assert list_incidents(store)[0]["status"] == "resolved"
    assert list_incidents(store)[0]["resolved_by"] == "opsmon"


def test_fault_back_within_quiet_time_reopens_after_it_a_new_incident(world: World, store: Store) -> None:
    detected = fail(world, "srv", T0)
    world.advance(detected)
    first = list_incidents(store)[0]["id"]
    world.clock.now = T0 + timedelta(minutes=1)
    world.result("srv", UP, world.clock.now)
    # back 10 minutes later (< 30 min quiet time): the same incident, reopened
    again = fail(world, "srv", T0 + timedelta(minutes=11))
    world.advance(again)
    rows = list_incidents(store)
    assert [r["id"] for r in rows] == [first] and rows[0]["status"] == "open" and rows[0]["reopened"] == 1
    world.clock.now = T0 + timedelta(minutes=12)
    world.result("srv", UP, world.clock.now)
    world.advance(T0 + timedelta(minutes=12, seconds=1) + timedelta(minutes=30))  # quiet time over: closed
    assert list_incidents(store)[0]["status"] == "closed"
    later = fail(world, "srv", T0 + timedelta(hours=2))
    world.advance(later)
    rows = list_incidents(store)
    assert len(rows) == 2 and rows[0]["id"] != first and rows[0]["id"].startswith("INC-20260701-")


def test_escalation_levels_by_hand_computed_times(world: World, store: Store) -> None:
    from opsmon.collector.outputs.metrics import CollectorMetrics

    metrics = CollectorMetrics()
    metrics.watch_incidents(world.engine)

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels or None)

    detected = fail(world, "srv", T0)
    world.advance(detected)
    inc_id = list_incidents(store)[0]["id"]
    world.advance(detected + timedelta(minutes=29, seconds=59))
    assert [s[2] for s in world.sent] == [1]
    world.advance(detected + timedelta(minutes=30))
    assert world.sent[-1] == (inc_id, "escalated", 2, ["lead"], ["email"])
    world.advance(detected + timedelta(minutes=60))  # deadline is opened + 1h: not passed yet at exactly 60 min
    assert [s[2] for s in world.sent] == [1, 2]
    assert sample("opsmon_incident_breaches_total") == 0
    world.advance(detected + timedelta(minutes=60, seconds=1))
    assert world.sent[-1] == (inc_id, "escalated", 3, ["head"], ["email"])
    assert sample("opsmon_incident_breaches_total") == 1
    assert sample("opsmon_incident_unacknowledged_seconds", incident=inc_id, asset="srv", kind="availability",
                  severity=world.engine.by_id[inc_id].severity) == 3601
    world.engine.acknowledge(inc_id, "li.wei", "on it", detected + timedelta(minutes=61))
    severity = world.engine.by_id[inc_id].severity
    ack = {"kind": "availability", "severity": severity}
    assert sample("opsmon_incident_time_to_acknowledge_seconds_count", **ack) == 1
    assert sample("opsmon_incident_time_to_acknowledge_seconds_sum", **ack) == 61 * 60
    assert sample("opsmon_incident_time_to_acknowledge_seconds_bucket", **ack, le="3600.0") == 0
    assert sample("opsmon_incident_time_to_acknowledge_seconds_bucket", **ack, le="7200.0") == 1
    assert sample("opsmon_incident_breaches_total") == 1  # counted once, not per escalation step
    # the acknowledgement is told to everyone already involved, on their channels
    assert world.sent[-1] == (inc_id, "acknowledged", 3, ["wang", "lead", "head"], ["wecom", "email"])
    doc = show_incident(store, inc_id)
    assert doc["response_seconds"] == 61 * 60 and doc["breached"] is True
    actions = [(e["actor"], e["action"]) for e in doc["trail"]]
    assert actions == [("opsmon", "opened"), ("opsmon", "escalated"), ("opsmon", "escalated"),
                       ("opsmon", "breached"), ("opsmon", "escalated"), ("li.wei", "acknowledged")]
    with pytest.raises(InvalidInput):
        world.engine.acknowledge(inc_id, "li.wei")
    with store.session() as session:
        audit = [(a.actor, a.action, a.target) for a in session.query(AuditEntry).all()]
    assert ("li.wei", "incident.acknowledged", inc_id) in audit


def test_acknowledged_in_time_stops_escalation(world: World, store: Store) -> None:
    detected = fail(world, "srv", T0)
    world.advance(detected)
    inc_id = list_incidents(store)[0]["id"]
    world.engine.acknowledge(inc_id, "wang", at=detected + timedelta(minutes=12))
    world.advance(detected + timedelta(hours=3))
    assert [s[1] for s in world.sent] == ["opened", "acknowledged"]
    assert show_incident(store, inc_id)["breached"] is False


def test_parent_down_storm_gives_one_notification(store: Store) -> None:
    assets = {"wan": info(criticality="high", category="link")}
    assets.update({f"host-{i:02d}": info(parent="wan") for i in range(50)})
    w = World(store, assets)
    # Everything fails at once; the children are checked a moment before the link each round,
    # so all fifty children are confirmed down before their parent is.
    for n in range(3):
        at = T0 + timedelta(seconds=10 * n)
        w.clock.now = at
        for i in range(50):
            w.result(f"host-{i:02d}", DOWN, at)
            w.advance(at)  # the escalator runs in between, as the 1 s tick would
        w.result("wan", DOWN, at + timedelta(seconds=1))
    w.advance(T0 + timedelta(seconds=25))
    opened = [s for s in w.sent if s[1] == "opened"]
    assert len(opened) == 1
    link = [r for r in list_incidents(store, IncidentFilter(status="active"))]
    assert len(link) == 1 and link[0]["asset"] == "wan" and len(link[0]["attached"]) == 50
    assert opened[0][0] == link[0]["id"]
    # the children's own incidents, opened in the race, were folded in and do not count in the SLA
    merged = list_incidents(store, IncidentFilter(status="merged"), limit=1000)
    assert len(merged) == 50 and all(m["note"] == f"attached to {link[0]['id']}" for m in merged)


def test_hardware_fault_deduplicated_then_cleared_and_in_the_sla(store: Store) -> None:
    w = World(store, {"srv": info(criticality="medium")})
    for k in range(5):
        w.clock.now = T0 + timedelta(seconds=30 * k)
        w.engine.on_hardware("srv", "disk sda", w.clock.now, "SMART health FAILED")
    w.advance(T0 + timedelta(seconds=130))
    [inc] = list_incidents(store)
    assert inc["kind"] == "hardware" and inc["severity"] == "major" and inc["opened_at"] == T0.isoformat()
    assert inc["deadline"] == (T0 + timedelta(hours=1)).isoformat()  # hardware_fault_response_time: 3600 s
    w.engine.acknowledge(inc["id"], "li.wei", at=T0 + timedelta(minutes=42))
    w.advance(T0 + timedelta(seconds=120 + 601))  # last seen at T0+120s; cleared after 10 min
    assert list_incidents(store)[0]["status"] == "resolved"
    period = containing("quarter", T0, "Asia/Shanghai")
    result = evaluate(store, load_targets(ROOT / "rules" / "targets.yaml"), period, T0 + timedelta(hours=2))
    figures = {t["id"]: t for t in result["targets"]}
    assert figures["hardware_fault_response_time"]["value"] == 42 * 60
    assert figures["hardware_fault_response_time"]["pass"] is True


def test_a_trap_fault_stays_open_until_its_recovery_trap(store: Store) -> None:
    """A fault a trap said once (hwFanFail) is not "no longer seen" after hardware_clear_after (10 min): it
    stays open for 3 hours, then its recovery trap resolves it at the recovery's time; a repeat of the
    failing trap in between keeps the one incident. The 1-hour response clock runs from the first trap."""
    w = World(store, {"sw": info(criticality="medium")})
    w.engine.on_hardware("sw", "FAN 2", T0, "风扇故障 / fan failed: FAN 2", source="trap")
    w.advance(T0 + timedelta(hours=1, seconds=1))
    w.engine.on_hardware("sw", "FAN 2", T0 + timedelta(hours=1), "风扇故障 / fan failed: FAN 2", source="trap")
    w.advance(T0 + timedelta(hours=3))
    [inc] = list_incidents(store)
    assert (inc["status"], inc["kind"], inc["opened_at"]) == ("open", "hardware", T0.isoformat())
    assert inc["deadline"] == (T0 + timedelta(hours=1)).isoformat()
    recovered = T0 + timedelta(hours=3, minutes=5)
    w.engine.on_hardware("sw", "FAN 2", recovered, "风扇故障恢复 / fan recovered: FAN 2", cleared=True, source="trap")
    w.advance(recovered + timedelta(seconds=1))
    [inc] = list_incidents(store)
    assert (inc["status"], inc["resolved_at"], inc["resolved_by"]) == ("resolved", recovered.isoformat(), "trap")
    # A trap's fault the poll then sees (and stops seeing) ends as a polled one: cleared 10 min after its last sight.
    w.engine.on_hardware("sw", "PSU 2", recovered, "电源故障 / power supply failed", source="trap")
    w.engine.on_hardware("sw", "PSU 2", recovered + timedelta(seconds=30), "PSU 2 failed")
    w.advance(recovered + timedelta(seconds=30 + 601))
    psu = next(i for i in list_incidents(store) if "PSU 2" in i["cause"])
    assert psu["status"] == "resolved"
    # A recovery with nothing open changes nothing: still the fan's and PSU 2's incidents only.
    w.engine.on_hardware("sw", "PSU 1", recovered, "电源故障恢复 / power supply recovered", cleared=True, source="trap")
    assert len(list_incidents(store)) == 2


def test_manual_resolve_needs_a_note(world: World, store: Store) -> None:
    detected = fail(world, "srv", T0)
    world.advance(detected)
    inc_id = list_incidents(store)[0]["id"]
    with pytest.raises(InvalidInput):
        world.engine.resolve(inc_id, "li.wei", " ")
    world.engine.resolve(inc_id, "li.wei", "replaced the NIC")
    doc = show_incident(store, inc_id)
    assert doc["status"] == "resolved" and doc["resolved_by"] == "li.wei" and "replaced the NIC" in doc["note"]


def test_alertmanager_alerts_open_and_resolve_and_our_own_are_ignored(world: World, store: Store) -> None:
    firing = {"status": "firing", "fingerprint": "abc123",
              "labels": {"alertname": "FilesystemFull", "instance": "db-01", "severity": "critical"},
              "annotations": {"summary": "/var is 97% full"}}
    inc_id = world.engine.on_alert(firing, T0)
    assert world.engine.on_alert(firing, T0 + timedelta(minutes=1)) == inc_id  # deduplicated
    assert world.engine.on_alert({"status": "firing", "labels": {"alertname": "OpsmonIncident"}}, T0) is None
    doc = show_incident(store, inc_id)
    assert (doc["kind"], doc["severity"], doc["asset"], doc["cause"]) == (
        "alert", "critical", "db-01", "FilesystemFull: /var is 97% full")
    # Its labels are kept (acknowledging silences that alert in Alertmanager) and survive a restart.
    assert world.engine.by_id[inc_id].alert_labels == firing["labels"]
    again = World(store, {"srv": info(criticality="high")})
    again.engine.load()
    assert again.engine.by_id[inc_id].alert_labels == {
        "alertname": "FilesystemFull", "instance": "db-01", "severity": "critical"}
    world.engine.on_alert(dict(firing, status="resolved"), T0 + timedelta(minutes=5))
    assert show_incident(store, inc_id)["status"] == "resolved"


def test_ack_links_tampered_expired_reused(store: Store, tmp_path: Path) -> None:
    from opsmon.collector.incidents.links import load_key

    key_file = tmp_path / "k" / "ack.key"
    links = AckLinks(store, load_key(key_file), ttl=3600)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600" and load_key(key_file) == links.signer.key
    token = links.make("INC-1", "li", T0)
    assert links.check(token, T0 + timedelta(minutes=5)).person == "li"  # GET: looks, does not use
    body, sig = token.split(".")
    for bad in (body + "." + sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB"), body[:-1] + "x." + sig, "garbage"):
        with pytest.raises(LinkRefused) as err:
            links.use(bad, T0)
        assert err.value.status == 403
    with pytest.raises(LinkRefused) as err:
        links.use(token, T0 + timedelta(hours=1, seconds=1))
    assert err.value.status == 410
    assert links.use(token, T0 + timedelta(minutes=10)).incident_id == "INC-1"
    with pytest.raises(LinkRefused) as err:
        links.use(token, T0 + timedelta(minutes=11))
    assert err.value.status == 409
    other = AckLinks(store, b"k" * 32, ttl=3600)  # another collector's key
    with pytest.raises(LinkRefused) as err:
        other.use(token, T0)
    assert err.value.status == 403


def test_engine_picks_up_open_incidents_after_a_restart(world: World, store: Store) -> None:
    detected = fail(world, "srv", T0)
    world.advance(detected)
    inc_id = list_incidents(store)[0]["id"]
    again = World(store, {"srv": info(criticality="high")})
    again.engine.load()
    assert inc_id in again.engine.by_id and again.engine.by_id[inc_id].level == 1
    assert again.engine.by_id[inc_id].alert_labels is None  # not from an alert: no labels, no second silence
    again.engine.acknowledge(inc_id, "wang", at=detected + timedelta(minutes=3))
    assert show_incident(store, inc_id)["response_seconds"] == 180


def test_the_agents_policy_severities_are_the_incident_severities() -> None:
    """The agent may not import the collector, so its baseline policies keep a copy of the severities."""
    from opsmon.agent.baseline.policy import SEVERITIES as POLICY_SEVERITIES
    from opsmon.collector.core.incidents import RANK, SEVERITIES

    assert POLICY_SEVERITIES == SEVERITIES
    assert sorted(SEVERITIES, key=RANK.__getitem__) == ["minor", "major", "critical"]


def test_an_incident_whose_fault_a_replay_relabels_away_is_withdrawn_and_the_paged_are_told(store: Store) -> None:
    """An agent's reports (every 10 s) stop reaching the collector after T0+10: silence judged at T0+41, down
    from T0+20, an incident opened and paged. Its spooled reports then arrive, stamped T0+20 on: the down is
    merged away. Before: the incident was "resolved" by the up transition, dated T0 (before it opened), a
    response miss in the figures. Now it is withdrawn: out of the figures, and the paged person told."""
    w = World(store, {})
    w.assets["h"] = info(criticality="high")
    w.timeline.upsert_asset("h", None, "urumqi", (), [CheckConf("agent", 10, 1, 1, DOWN, "agent not reporting")], T0)
    for t in (0, 10):
        w.timeline.observe(Observation("h", "agent", T0 + timedelta(seconds=t), UP, ""))
    w.clock.now = T0 + timedelta(seconds=41)
    w.timeline.tick(w.clock.now)
    w.advance(w.clock.now)
    [inc] = list_incidents(store)
    assert (inc["status"], inc["fault_at"]) == ("open", (T0 + timedelta(seconds=20)).isoformat())
    assert [(e, lvl, who) for _i, e, lvl, who, _c in w.sent] == [("opened", 1, ["wang"])]
    w.clock.now = T0 + timedelta(seconds=42)
    w.timeline.observe(Observation("h", "agent", T0 + timedelta(seconds=20), UP, ""))
    [inc] = list_incidents(store)
    assert inc["status"] == "withdrawn" and inc["resolved_at"] == w.clock.now.isoformat()
    assert "withdrawn" in inc["note"]
    assert [(e, lvl, who) for _i, e, lvl, who, _c in w.sent] == [("opened", 1, ["wang"]), ("withdrawn", 1, ["wang"])]
    # a fault after it is a new incident, not the withdrawn one reopened
    w.clock.now = T0 + timedelta(seconds=100)
    w.timeline.tick(w.clock.now)
    rows = list_incidents(store)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"open", "withdrawn"}


def test_no_incident_resolves_before_it_opened(world: World, store: Store) -> None:
    """A security finding passes again in a report stamped before the incident opened (a replay): resolved at
    the opening, not before it."""
    world.clock.now = T0 + timedelta(minutes=5)
    world.engine.on_security("srv", "ssh.root", True, T0 + timedelta(minutes=5), "root login allowed")
    world.engine.on_security("srv", "ssh.root", False, T0 + timedelta(minutes=1), "")
    [inc] = list_incidents(store)
    assert inc["status"] == "resolved" and inc["resolved_at"] == inc["opened_at"]


def test_a_change_the_store_refuses_is_kept_and_stored_later_and_a_persons_is_undone(world: World,
                                                                                    store: Store) -> None:
    """The store refuses one save (a locked SQLite file). The rules' own change (a resolve: the timeline has
    already moved to up) stays in memory and is stored at the next tick; before, it was undone, and the
    incident stayed open on an up asset and escalated to the breach-only level. A person's acknowledgement
    that cannot be saved is undone in memory (they are answered 503 and may try again)."""
    from sqlalchemy.exc import OperationalError

    engine = world.engine
    commit = engine._commit
    refuse = [0]

    def flaky(inc: Any, steps: Any) -> None:
        if refuse[0]:
            refuse[0] -= 1
            raise OperationalError("UPDATE incidents", {}, Exception("database is locked"))
        commit(inc, steps)

    engine._commit = flaky  # type: ignore[method-assign]
    detected = fail(world, "srv", T0)
    world.advance(detected)
    [inc] = list_incidents(store)
    refuse[0] = 1
    world.clock.now = T0 + timedelta(minutes=1)
    with pytest.raises(OperationalError):  # (the service's router catches and logs it)
        world.result("srv", UP, world.clock.now)
    assert engine.by_id[inc["id"]].status == "resolved"  # kept in memory
    assert list_incidents(store)[0]["status"] == "open"  # not yet stored
    world.advance(T0 + timedelta(minutes=2))  # the tick stores it
    [stored] = list_incidents(store)
    assert stored["status"] == "resolved" and stored["resolved_at"] == (T0 + timedelta(minutes=1)).isoformat()
    world.advance(T0 + timedelta(hours=3))
    assert [e for _i, e, *_ in world.sent] == ["opened", "resolved"]  # told once stored; never escalated

    again = fail(world, "srv", T0 + timedelta(hours=4))  # a new fault, after the quiet time
    world.advance(again)
    new = next(r for r in list_incidents(store) if r["status"] == "open")
    refuse[0] = 1
    with pytest.raises(OperationalError):
        engine.acknowledge(new["id"], "li.wei", "on it")
    assert engine.by_id[new["id"]].status == "open" and engine.by_id[new["id"]].acknowledged is None
    engine.acknowledge(new["id"], "li.wei", "on it")
    acked = next(r for r in list_incidents(store) if r["id"] == new["id"])
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "li.wei"
    assert [e["action"] for e in show_incident(store, new["id"])["trail"]].count("acknowledged") == 1
