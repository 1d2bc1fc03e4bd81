"""Two or more pollers at a site (collector/inputs/poller/group.py, issue 22 item 3), in process, fake clock.

The rendezvous scores, by hand: the first 16 hex digits of SHA-256("poller/asset") (`printf 'p-a/srv-1' |
sha256sum`), the first 4 shown; the highest wins.

           p-a    p-b    p-c
    srv-1  98a9   bcea   c143
    srv-2  6560   85b0   4ea3
    srv-3  4feb   331d   c66c
    srv-4  dfcc   e888   b34f
    srv-5  578b   0ec9   f1a7
    srv-6  096a   9657   7fc9

- {p-a, p-b}: srv-3 and srv-5 on p-a, srv-1, srv-2, srv-4, srv-6 on p-b.
- {p-a, p-c} (p-b gone): srv-2 (6560 > 4ea3) and srv-4 (dfcc > b34f) on p-a, srv-1, srv-3, srv-5, srv-6 on p-c.
- {p-a, p-b, p-c}: srv-2, srv-4, srv-6 on p-b; srv-1, srv-3, srv-5 on p-c; none on p-a.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from opsmon.collector.inputs.poller.group import (
    HANDOVER,
    JOINED,
    MOVED,
    REVOKED,
    SILENT,
    PollerGroups,
    score,
    share_refresh,
)

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)  # the collector's start
ASSETS = {"hotan": [f"srv-{i}" for i in range(1, 7)]}


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def owners(g: PollerGroups) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for asset, poller in sorted(g.owner.items()):
        out.setdefault(poller, []).append(asset)
    return out


def test_the_scores_are_the_digests_the_docstring_gives() -> None:
    assert hex(score("p-a", "srv-1"))[2:] == "98a996e285465cfe"
    assert hex(score("p-c", "srv-6"))[2:] == "7fc9ed538018bd64"


def test_a_silent_pollers_assets_move_to_the_other_and_come_back_with_it() -> None:
    """Failover delay 60 s, minimum online 1; p-a and p-b at hotan, enrolled before the start (T0).

    - T0: first owners (no move, no event): p-a {srv-3, srv-5}, p-b {srv-1, srv-2, srv-4, srv-6}.
    - p-b's last report arrives at T0+50; p-a reports all along. T0+61: the start's grace (60 s) is over: tick says
      so (True), nothing moves (p-b heard 11 s ago < 60 s).
    - T0+109: 59 s of silence, still online: tick False. T0+110: 60 s, offline: tick True; its four assets move to
      p-a (the only one online: 1 >= minimum 1), reason silent, its last report T0+50; srv-3 and srv-5 stay.
    - T0+200: p-b reports again (p-a too): online; its four assets come back (their highest score), reason joined.
    - Who owned srv-1 when: p-b before T0+110, p-a in [T0+110, T0+200), p-b from T0+200. So a result p-b replays
      from its spool dated T0+100 counts, one dated T0+150 does not (p-a's does), one at T0+200 is p-b's again.
    """
    g = PollerGroups(lambda site: 60.0, lambda site: 1, T0)
    assert g.arrange(ASSETS, {"hotan": ["p-b", "p-a"]}, T0) == []
    assert owners(g) == {"p-a": ["srv-3", "srv-5"], "p-b": ["srv-1", "srv-2", "srv-4", "srv-6"]}
    heard = {"p-a": at(30), "p-b": at(30)}
    assert g.tick(at(30), heard.get) is False
    heard = {"p-a": at(61), "p-b": at(50)}
    assert g.tick(at(61), heard.get) is True
    assert g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, at(61)) == []
    heard["p-a"] = at(109)
    assert g.tick(at(109), heard.get) is False
    heard["p-a"] = at(110)
    assert g.tick(at(110), heard.get) is True
    moves = g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, at(110))
    assert [(m.asset, m.old, m.new, m.reason, m.last_heard) for m in moves] == [
        (a, "p-b", "p-a", SILENT, at(50)) for a in ("srv-1", "srv-2", "srv-4", "srv-6")]
    assert owners(g) == {"p-a": [f"srv-{i}" for i in range(1, 7)]}
    event = moves[0].event()
    assert (event.asset_id, event.ts, event.kind, event.name, event.severity) == (
        "srv-1", at(110), "poller", HANDOVER, "warning")
    assert event.details == {"site": "hotan", "from": "p-b", "to": "p-a", "reason": SILENT,
                             "last_report": at(50).isoformat()}
    assert event.summary == "srv-1: 站点轮询器切换 / site poller handover p-b -> p-a (p-b 无报告 / p-b silent)"

    heard["p-a"] = heard["p-b"] = at(200)
    assert g.tick(at(200), heard.get) is True
    moves = g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, at(200))
    assert [(m.asset, m.old, m.new, m.reason) for m in moves] == [
        (a, "p-a", "p-b", JOINED) for a in ("srv-1", "srv-2", "srv-4", "srv-6")]
    assert [g.owner_at("srv-1", at(s)) for s in (-3600, 100, 109.999, 110, 150, 199.999, 200, 900)] == [
        "p-b", "p-b", "p-b", "p-a", "p-a", "p-a", "p-b", "p-b"]
    assert [g.owner_at("srv-3", at(s)) for s in (100, 150, 200)] == ["p-a", "p-a", "p-a"]
    assert g.owner_at("db", at(150)) is None  # no poller's: the collector's


def test_below_the_minimum_nothing_moves_but_a_revoked_pollers_assets() -> None:
    """Minimum online 2 at hotan, p-a and p-b; failover delay 60 s; past the start's grace.

    - p-b silent from T0+10; at T0+70 it is offline: 1 online < 2, the group is offline; nothing moves, srv-1
      keeps p-b (its time unknown until p-b reports again, never down).
    - p-c enrolled at T0+80: online from then (its grace), {p-a, p-c} = 2 >= 2, the group online again: the
      assignment is the rendezvous over {p-a, p-c}: srv-2, srv-4 on p-a, srv-1, srv-3, srv-5, srv-6 on p-c. Moves:
      p-b's (1, 2, 4, 6) silent; p-a's srv-3 and srv-5 go to p-c, which came (joined).
    - p-c revoked at T0+90 with p-a online only (1 < 2, offline): its assets must still move, to p-a (revoked).
    """
    g = PollerGroups(lambda site: 60.0, lambda site: 2, T0 - timedelta(hours=1))
    g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, T0)
    heard = {"p-a": at(70), "p-b": at(10)}
    assert g.tick(at(70), heard.get) is True
    assert not g.group_online("hotan")
    assert g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, at(70)) == []
    assert owners(g) == {"p-a": ["srv-3", "srv-5"], "p-b": ["srv-1", "srv-2", "srv-4", "srv-6"]}

    heard["p-a"] = at(80)
    moves = g.arrange(ASSETS, {"hotan": ["p-a", "p-b", "p-c"]}, at(80))
    assert g.group_online("hotan")
    assert sorted((m.asset, m.old, m.new, m.reason) for m in moves) == [
        ("srv-1", "p-b", "p-c", SILENT), ("srv-2", "p-b", "p-a", SILENT), ("srv-3", "p-a", "p-c", JOINED),
        ("srv-4", "p-b", "p-a", SILENT), ("srv-5", "p-a", "p-c", JOINED), ("srv-6", "p-b", "p-c", SILENT)]

    moves = g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, at(90))
    assert not g.group_online("hotan")
    assert sorted((m.asset, m.old, m.new, m.reason) for m in moves) == [
        (a, "p-c", "p-a", REVOKED) for a in ("srv-1", "srv-3", "srv-5", "srv-6")]
    assert owners(g) == {"p-a": [f"srv-{i}" for i in range(1, 7)]}


def test_a_restart_keeps_the_stored_assignment_through_its_grace() -> None:
    """Stored handovers (events): srv-1 p-b -> p-a at T0-300 (p-b went silent), and nothing else. The collector starts
    at T0 with p-a and p-b enrolled; the rendezvous would give srv-1 to p-b, but for the start's failover delay
    (60 s) nothing moves: p-b may be as dead as before. It is: at T0+60 only p-a has reported; the grace is over,
    p-b offline (heard last at its grace start, T0): srv-1 stays on p-a, no move; p-b's own srv-2, srv-4 and
    srv-6 move to p-a (silent). srv-1's periods survive: p-b before T0-300, p-a since."""
    g = PollerGroups(lambda site: 60.0, lambda site: 1, T0)
    g.restore([("srv-1", at(-300), "p-b", "p-a")])
    assert g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, T0) == []
    assert g.owner["srv-1"] == "p-a"
    assert g.tick(at(60), {"p-a": at(59)}.get) is True
    moves = g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, at(60))
    assert [(m.asset, m.old, m.new, m.reason, m.last_heard) for m in moves] == [
        (a, "p-b", "p-a", SILENT, T0) for a in ("srv-2", "srv-4", "srv-6")]
    assert (g.owner["srv-1"], g.owner_at("srv-1", at(-301)), g.owner_at("srv-1", at(-300))) == ("p-a", "p-b", "p-a")


def test_how_soon_a_poller_asks_for_its_share_again() -> None:
    """A lone poller every 60 s; one of two, a quarter of the failover delay, 1 s to 60 s: 60 s -> 15 s, 3 s -> 1 s
    (0.75 raised to 1), 15 min -> 60 s (225 s capped)."""
    assert [share_refresh(1, 60.0), share_refresh(2, 60.0), share_refresh(2, 3.0), share_refresh(3, 900.0)] == [
        60.0, 15.0, 1.0, 60.0]


def _handed_over(store, check_id: str):  # type: ignore[no-untyped-def]
    """An Ingest over `store` (test_agent_streams' Collector, its clock at T0+300) whose owners are the first test's
    timeline: srv-1 p-b's until T0+110 (p-b silent since T0+50), p-a's after; for the check `check_id` only."""
    from tests.collector.inputs.test_agent_streams import Collector

    g = PollerGroups(lambda site: 60.0, lambda site: 1, T0)
    g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, T0)
    g.tick(at(110), {"p-a": at(110), "p-b": at(50)}.get)
    g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, at(110))
    c = Collector(store, now=T0.timestamp() + 300)
    c.ingest.owner_of = lambda asset, check, when: g.owner_at(asset, when) if check == check_id else None
    return c


def test_a_late_replay_counts_only_what_its_poller_owned_then(store) -> None:  # type: ignore[no-untyped-def]
    """Through Ingest with a real store: srv-1 is p-b's until T0+110 (p-b silent since T0+50), p-a's after (the first
    test's timeline). p-b comes back and replays a report with srv-1/tcp results at T0+100 (its own time: counted)
    and T0+150 (p-a's time: refused); p-a's report has its result at T0+150 (counted) and one for srv-3 at T0+150
    (p-a's all along: counted). Stored: 3, refused: 1; each instant of srv-1 has one result, never two."""
    from tests.collector.inputs.test_agent_streams import STREAM

    t0 = T0.timestamp()
    c = _handed_over(store, "tcp")

    def report(poller: str, seq: int, results: list[tuple[str, float]]) -> str:
        body = json.dumps({"schema": 1, "stream": STREAM, "seq": seq, "ts": t0 + 290, "interval": 5, "metrics": {},
                           "observations": [{"asset": a, "check": "tcp", "ts": t0 + s, "status": "up"}
                                            for a, s in results]}).encode()
        return c.ingest.accept(poller, poller, c.ingest.parse(body), None, body)

    try:
        assert report("p-b", 1, [("srv-1", 100), ("srv-1", 150)]) == "accepted"
        assert report("p-a", 1, [("srv-1", 150), ("srv-3", 150)]) == "accepted"
    finally:
        c.close()
    stored = [(o.asset_id, o.ts - T0, o.observer) for o in c.stored if o.check_id == "tcp"]
    assert stored == [("srv-1", timedelta(seconds=100), "p-b"), ("srv-1", timedelta(seconds=150), "p-a"),
                      ("srv-3", timedelta(seconds=150), "p-a")]
    assert (c.ingest.polled, c.ingest.polled_refused) == (3, 1)


def test_a_late_replays_hardware_faults_count_only_from_the_devices_owner_then(store) -> None:  # type: ignore[no-untyped-def]
    """The same hand-over of srv-1 (a UPS polled over SNMP: p-b's until T0+110, p-a's after). p-b replays a report
    with its polls at T0+100 and T0+150, each up and each finding the fault `UPS battery`; p-a's report has its poll
    at T0+150 with the same fault. Counted: p-b's poll and fault at T0+100 (its time), p-a's fault at T0+150; refused:
    p-b's poll and fault at T0+150 (p-a's time): one fault per instant, as one result per instant."""
    from opsmon.collector.core.messages import HardwareSignal
    from tests.collector.inputs.test_agent_streams import STREAM

    t0 = T0.timestamp()
    c = _handed_over(store, "snmp")
    faults: list[tuple[str, str, timedelta, str]] = []
    publish = c.ingest.publish
    c.ingest.publish = lambda m: (faults.append((m.asset_id, m.component, m.ts - T0, m.problem))  # type: ignore[method-assign]
                                  if isinstance(m, HardwareSignal) else publish(m))

    def report(poller: str, seq: int, polls: list[float], up: bool) -> str:
        body = json.dumps({"schema": 1, "stream": STREAM, "seq": seq, "ts": t0 + 290, "interval": 5, "metrics": {},
                           "observations": [{"asset": "srv-1", "check": "snmp", "ts": t0 + s, "status": "up"}
                                            for s in polls] if up else [],
                           "polled_hardware": [{"asset": "srv-1", "check": "snmp", "ts": t0 + s + 0.5,
                                                "component": "UPS battery", "problem": "battery low"}
                                               for s in polls]}).encode()
        return c.ingest.accept(poller, poller, c.ingest.parse(body), None, body)

    try:
        assert report("p-b", 1, [100, 150], True) == "accepted"
        assert report("p-a", 1, [150], False) == "accepted"
    finally:
        c.close()
    assert faults == [("srv-1", "UPS battery", timedelta(seconds=100.5), "battery low"),
                      ("srv-1", "UPS battery", timedelta(seconds=150.5), "battery low")]
    assert [(o.ts - T0, o.observer) for o in c.stored if o.check_id == "snmp"] == [(timedelta(seconds=100), "p-b")]
    assert (c.ingest.polled, c.ingest.polled_refused) == (1, 2)


def test_a_late_replays_host_key_events_count_only_from_the_assets_owner_then(store) -> None:  # type: ignore[no-untyped-def]
    """The same hand-over of srv-1, now an SSH check `ssh:uptime`. p-b replays a report with what its SSH hub said at
    T0+100 (the host key changed: the event and its finding) and at T0+150 (the trusted key again: the finding
    clears). Counted: the two of T0+100, as the collector's own hub would publish them (an Event of kind security
    with the observer p-b; a SecurityFinding, failing, critical); refused: the one of T0+150 (p-a's time)."""
    from opsmon.collector.core.messages import Event, SecurityFinding
    from tests.collector.inputs.test_agent_streams import STREAM

    t0 = T0.timestamp()
    c = _handed_over(store, "ssh:uptime")
    said: list[tuple[object, ...]] = []
    publish = c.ingest.publish
    c.ingest.publish = lambda m: (  # type: ignore[method-assign]
        said.append((type(m).__name__, m.ts - T0, m.name, m.severity, m.details["observer"])) if isinstance(m, Event)
        else said.append((type(m).__name__, m.at - T0, m.key, m.failing, m.severity))
        if isinstance(m, SecurityFinding) else publish(m))
    key = {"asset": "srv-1", "check": "ssh:uptime", "key": "ssh_host_key:10.8.0.5:22", "name": "ssh_host_key"}
    body = json.dumps({"schema": 1, "stream": STREAM, "seq": 1, "ts": t0 + 290, "interval": 5, "metrics": {},
                       "polled_events": [
                           {"asset": "srv-1", "check": "ssh:uptime", "ts": t0 + 100, "name": "ssh_host_key_changed",
                            "severity": "critical", "summary": "changed", "details": {"host": "10.8.0.5:22"}},
                           {**key, "ts": t0 + 100, "severity": "critical", "summary": "changed", "failing": True},
                           {**key, "ts": t0 + 150, "severity": "critical", "summary": "trusted again"}]}).encode()
    try:
        assert c.ingest.accept("p-b", "p-b", c.ingest.parse(body), None, body) == "accepted"
    finally:
        c.close()
    assert said == [("Event", timedelta(seconds=100), "ssh_host_key_changed", "critical", "p-b"),
                    ("SecurityFinding", timedelta(seconds=100), "ssh_host_key:10.8.0.5:22", True, "critical")]
    assert c.ingest.polled_refused == 1


def test_a_long_replay_of_refused_results_logs_a_line_a_minute(store, caplog) -> None:  # type: ignore[no-untyped-def]
    """p-b replays 300 reports, one each half second of the collector's clock (report k at T0+(k-1)*0.5 s), each
    with two results of assets p-a owns (refused: not_owner); the first also one dated a day ahead (future).

    - Line 1 at once (report 1, T0, its first reason): not_owner:2; its future:1 waits.
    - Then a line when a refusal comes a minute or more after the last line: report 121 (T0+60) says report 1's
      future and reports 2..121, 120 x 2: future:1,not_owner:240; report 241 (T0+120) reports 122..241,
      not_owner:240.
    - Reports 242..300 (59 x 2 = 118) wait for the next minute; flush() (the collector's stop) writes them.
    - 4 lines, not 300; their sum 2 + 241 + 240 + 118 = 601 = 300 x 2 + 1 = polled_refused; the last line's
      running count: 0 counted, 601 not."""
    import logging
    import re

    from tests.collector.inputs.test_agent_streams import STREAM, Collector

    t0 = T0.timestamp()
    c = Collector(store, now=t0)
    c.ingest.owner_of = lambda asset, check, when: "p-a"
    caplog.set_level(logging.WARNING, logger="opsmon.collector.inputs.snmp.trap_refusals")
    try:
        for k in range(1, 301):
            c.now = t0 + (k - 1) * 0.5
            results = [{"asset": a, "check": "tcp", "ts": c.now - 1, "status": "up"} for a in ("srv-3", "srv-5")]
            if k == 1:
                results.append({"asset": "srv-3", "check": "tcp", "ts": c.now + 86400, "status": "up"})
            body = json.dumps({"schema": 1, "stream": STREAM, "seq": k, "ts": c.now, "interval": 30, "metrics": {},
                               "observations": results}).encode()
            assert c.ingest.accept("p-b", "p-b", c.ingest.parse(body), None, body, backlog=str(300 - k)) == "accepted"
        c.ingest.refusals.flush()
    finally:
        c.close()
    lines = [r for r in caplog.records if "site poller results not counted" in r.getMessage()]
    assert [(r.source, r.refused) for r in lines] == [
        ("p-b", "not_owner:2"), ("p-b", "future:1,not_owner:240"), ("p-b", "not_owner:240"), ("p-b", "not_owner:118")]
    assert (c.ingest.polled, c.ingest.polled_refused) == (0, 601)
    assert re.search(r"0 counted, 601 not", lines[-1].detail)


def test_the_service_restores_the_stored_handovers_and_shares_the_site(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """In-process collector (fake clock, no peer): hotan's six servers, p-a and p-b enrolled as its pollers, and one
    stored handover from before the restart: srv-1 p-b -> p-a at T0-300 (p-b was silent then).

    - Start (T0): the start's grace (60 s) keeps srv-1 on p-a although p-b scores higher; the rest by their scores
      (the table above): p-a runs srv-1, srv-3, srv-5; p-b srv-2, srv-4, srv-6; the collector schedules none of
      them; each pair member asks again every 15 s (60 / 4).
    - srv-1's results (its check tcp:443) count by time: p-b's dated before T0-300, p-a's from then; a check
      that is not polled (x) is nobody's.
    - T0+61: p-a has reported (T0+60), p-b not since the start: p-b offline, its three assets move to p-a, which
      then runs all six; p-b's share is empty (not a refusal: it is still hotan's poller)."""
    from opsmon.collector.config import load_config
    from opsmon.collector.config.inventory import AssetSpec, upsert_assets
    from opsmon.collector.inputs.agents.auth import enroll
    from opsmon.collector.inputs.agents.ingest import AgentState
    from opsmon.collector.service.service import Service
    from opsmon.collector.store.models import Event
    from tests.conftest import write_config

    config = load_config(str(write_config(tmp_path, f"""
        database: {{path: {tmp_path / 'c.db'}}}
        listen: {{host: 127.0.0.1, port: 0}}
        pollers: {{failover_delay: 60s}}
    """)))
    now = [T0]
    service = Service(config, clock=lambda: now[0])
    try:
        upsert_assets(service.store, [AssetSpec.model_validate({
            "id": f"srv-{i}", "category": "server", "site": "hotan", "address": "10.8.0.5",
            "checks": [{"type": "tcp", "port": 443}]}) for i in range(1, 7)], "cli:test")
        for p in ("p-a", "p-b"):
            enroll(service.store, p, "server", "hotan", "cli:test", role="poller")
        with service.store.session.begin() as s:
            s.add(Event(ts=at(-300), asset_id="srv-1", source="collector", kind="poller", name=HANDOVER,
                        severity="warning", summary="", details={"from": "p-b", "to": "p-a", "reason": SILENT}))
        service._restore_handovers()
        assert service.reload_inventory(force=True)

        def share(p: str) -> tuple[list[str], float]:
            doc = service.poller_share(p)
            assert doc is not None
            return [c.asset for c in doc.checks], doc.refresh

        assert share("p-a") == (["srv-1", "srv-3", "srv-5"], 15.0)
        assert share("p-b") == (["srv-2", "srv-4", "srv-6"], 15.0)
        assert not [job for job in service.scheduler._jobs if job.startswith("srv-")]
        owner = service.ingest.owner_of
        assert [owner("srv-1", "tcp:443", at(-301)), owner("srv-1", "tcp:443", at(-300)),
                owner("srv-1", "x", at(0))] == ["p-b", "p-a", None]

        now[0] = at(61)
        service.ingest.agents["p-a"] = AgentState(arrived=at(60))
        service._tick()
        assert share("p-a") == ([f"srv-{i}" for i in range(1, 7)], 15.0)
        assert share("p-b") == ([], 15.0)
    finally:
        service.ctx.pinger.close()
        service.store.close()


Move = tuple[int, str, str | None, str | None, str]


def _cut_run(g: PollerGroups, last: dict[str, float], upto: int,
             back: dict[str, list[float]] | None = None) -> list[Move]:
    """Ticks T0+1 .. T0+upto: p-a reports every 30 s at :00 and :30 until last["p-a"], p-b at :20 and :50 until
    last["p-b"], then each only at the times in back[poller]. The moves made, by second."""
    done: list[Move] = []
    for s in range(1, upto + 1):
        arrivals: dict[str, datetime] = {}
        for p, phase in (("p-a", 0), ("p-b", 20)):
            times = [t for t in range(phase, s + 1, 30) if t <= last[p]] + [t for t in (back or {}).get(p, [])
                                                                            if t <= s]
            if times:
                arrivals[p] = at(max(times))
        if g.tick(at(s), arrivals.get):
            done += [(s, m.asset, m.old, m.new, m.reason) for m in g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]},
                                                                             at(s))]
    return done


def test_a_cut_silencing_both_pollers_20_s_apart_moves_nothing_and_the_spool_counts() -> None:
    """Failover delay 60 s, report interval 30 s, minimum online 1. p-a reports at T0+0, 30, ... 180; p-b at T0+20,
    50, ... 200; the WAN link is cut at T0+205 (the centre has not judged it yet: `cut` stays false, so the rule
    that decides is the successor's). Owners: p-a {srv-3, srv-5}, p-b {srv-1, srv-2, srv-4, srv-6}.

    - T0+240: p-a silent 60 s (180 + 60): offline. Its assets would go to p-b, but p-b was last heard at 200, before
      p-a's deadline less one interval (240 - 30 = 210): cut off with it. Nothing moves.
    - T0+260: p-b offline too (200 + 60): the group is offline (0 < 1), nothing moves. Its floor: the site's latest
      report (200) less an interval = 170.
    - T0+400: the link is back, p-a's spool replay arrives: the group is back; p-a (180) and p-b (200) were silenced
      with it (both >= 170): their silence counts from 400. Nothing moves. p-b's replay arrives at T0+410.
    - Through T0+500 both report again (p-a at 430, 460, 490; p-b at 440, 470, 500): no handover at all.
    - p-a's spooled result of T0+300 for srv-3 counts (its owner then: p-a); so does p-b's for srv-1.
    """
    g = PollerGroups(lambda site: 60.0, lambda site: 1, T0, interval=30.0)
    assert g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, T0) == []
    back = {"p-a": [400.0, 430.0, 460.0, 490.0], "p-b": [410.0, 440.0, 470.0, 500.0]}
    assert _cut_run(g, {"p-a": 180, "p-b": 200}, 500, back=back) == []
    assert owners(g) == {"p-a": ["srv-3", "srv-5"], "p-b": ["srv-1", "srv-2", "srv-4", "srv-6"]}
    assert (g.owner_at("srv-3", at(300)), g.owner_at("srv-1", at(300))) == ("p-a", "p-b")


def test_after_a_cut_a_poller_that_does_not_come_back_hands_over_to_the_one_that_did() -> None:
    """As above, but p-b never reports after the cut: the group is back at T0+400 (p-a), p-b's silence counts from
    then: offline at 460 (400 + 60). p-a was heard at 460 (>= 460 - 30 = 430): p-b's four assets move to p-a at
    T0+460, reason silent, last report T0+200."""
    g = PollerGroups(lambda site: 60.0, lambda site: 1, T0, interval=30.0)
    g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, T0)
    assert _cut_run(g, {"p-a": 180, "p-b": 200}, 480, back={"p-a": [400.0, 430.0, 460.0]}) == [
        (460, a, "p-b", "p-a", SILENT) for a in ("srv-1", "srv-2", "srv-4", "srv-6")]
    assert g.owner_at("srv-1", at(459)) == "p-b" and g.owner_at("srv-1", at(460)) == "p-a"


def test_a_silent_pollers_assets_wait_for_a_successor_heard_late_enough_and_never_move_while_the_site_is_cut() -> None:
    """p-a stops after T0+180 (offline at 240); p-b reports at 20, ... 200 and then late, at 241 (its 230 report
    delayed): at 240 p-b's latest (200) is before 240 - 30 = 210, so srv-3 and srv-5 wait; p-b's report at 241 ends
    the wait: they move at T0+241 (silent). The same with every link of the site cut (rule 10) from T0+230: nothing
    moves (the group is unknown while cut off)."""
    g = PollerGroups(lambda site: 60.0, lambda site: 1, T0, interval=30.0)
    g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, T0)
    assert _cut_run(g, {"p-a": 180, "p-b": 200}, 250, back={"p-b": [241.0]}) == [
        (241, "srv-3", "p-a", "p-b", SILENT), (241, "srv-5", "p-a", "p-b", SILENT)]
    clock = {"now": 0}
    cut = PollerGroups(lambda site: 60.0, lambda site: 1, T0, interval=30.0,
                       cut=lambda site: clock["now"] >= 230)
    cut.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, T0)
    moves = []
    for s in range(1, 251):
        clock["now"] = s
        heard = {"p-a": at(min(s, 180) // 30 * 30), "p-b": at(241 if s >= 241 else 20 + (min(s, 200) - 20) // 30 * 30)}
        if cut.tick(at(s), heard.get):
            moves += cut.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, at(s))
    assert moves == [] and owners(cut)["p-a"] == ["srv-3", "srv-5"]


def test_a_restart_keeps_a_poller_dead_for_8_days_offline_and_its_moved_assets_where_they_went(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """In-process collector (fake clock, no peer). Stored before the restart at T0: p-a's last report arrived at
    T0-8d (agent_streams), p-b's at T0-10s; srv-3's handover p-a -> p-b at T0-8d (p-a silent; p-a scores higher
    for srv-3, 4feb > 331d, and srv-5, 578b > 0ec9). p-b's own asset is `host-pb` (enrolment name p-b, names differ);
    hotan has one link, wan-hotan.

    - Start: srv-3's handover is older than the 7 days read back in full, but as its latest it is restored: srv-3
      on p-b. p-a counts as last heard 8 days ago, offline; p-b (10 s ago) online: the others' first owner is the
      pick among the online, p-b. p-b runs all six, p-a none; no move (no event).
    - T0+61 (grace over), p-b heard at T0+60: nothing moves (p-b is every asset's pick among the online).
    - owner_at's horizon is T0-7d: p-b's result for srv-3 dated T0-7d-1s is nobody's (refused, not guessed); one
      at T0-7d+1s is p-b's.
    - host-pb's report check is behind wan-hotan (looked up by host-pb's asset id, not by the name p-b).
    - collector.yaml's pollers.sites names `hotn` (a typo): warned at the reload, naming pollers.sites.hotn."""
    import logging

    from sqlalchemy import update

    from opsmon.collector.config import load_config
    from opsmon.collector.config.inventory import AssetSpec, upsert_assets
    from opsmon.collector.inputs.agents.auth import enroll
    from opsmon.collector.inputs.agents.ingest import AgentState
    from opsmon.collector.service.service import Service
    from opsmon.collector.store.models import AgentRow, AgentStream, Event
    from tests.conftest import write_config

    config = load_config(str(write_config(tmp_path, f"""
        database: {{path: {tmp_path / 'c.db'}}}
        listen: {{host: 127.0.0.1, port: 0}}
        pollers: {{failover_delay: 60s, sites: {{hotn: {{min_online: 1}}}}}}
    """)))
    now = [T0]
    service = Service(config, clock=lambda: now[0])
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("opsmon.collector.service.service").addHandler(handler)
    try:
        upsert_assets(service.store, [AssetSpec.model_validate({
            "id": f"srv-{i}", "category": "server", "site": "hotan", "address": "10.8.0.5",
            "checks": [{"type": "tcp", "port": 443}]}) for i in range(1, 7)] + [
            AssetSpec.model_validate({"id": "host-pb", "category": "server", "site": "hotan"}),
            AssetSpec.model_validate({"id": "wan-hotan", "category": "link", "site": "hotan", "address": "10.8.0.1",
                                      "checks": [{"type": "tcp", "port": 22}]})], "cli:test")
        for p in ("p-a", "p-b"):
            enroll(service.store, p, "server", "hotan", "cli:test", role="poller")
        with service.store.session.begin() as s:
            s.execute(update(AgentRow).where(AgentRow.name == "p-b").values(asset_id="host-pb"))
            s.add(Event(ts=T0 - timedelta(days=8), asset_id="srv-3", source="collector", kind="poller",
                        name=HANDOVER, severity="warning", summary="",
                        details={"from": "p-a", "to": "p-b", "reason": SILENT}))
            for p, last in (("p-a", T0 - timedelta(days=8)), ("p-b", at(-10))):
                s.add(AgentStream(agent=p, stream="0123abcd", max_seq=1, max_ts_ms=0, updated_at=last))
        service._restore_handovers()
        assert service.reload_inventory(force=True)

        def share(p: str) -> list[str]:
            doc = service.poller_share(p)
            assert doc is not None
            return [c.asset for c in doc.checks if c.asset.startswith("srv-")]

        six = [f"srv-{i}" for i in range(1, 7)]
        assert (share("p-a"), share("p-b")) == ([], six)
        now[0] = at(61)
        service.ingest.agents["p-b"] = AgentState(arrived=at(60))
        service._tick()
        assert (share("p-a"), share("p-b")) == ([], six)
        owner = service.ingest.owner_of
        seven = T0 - timedelta(days=7)
        assert [owner("srv-3", "tcp:443", seven - timedelta(seconds=1)),
                owner("srv-3", "tcp:443", seven + timedelta(seconds=1))] == [None, "p-b"]
        assert service.timeline.tracks["host-pb"].checks["agent"].conf.behind == ("wan-hotan",)
        warned = [r for r in records if "pollers.sites" in r.getMessage()]
        assert [getattr(r, "key", None) for r in warned] == ["pollers.sites.hotn"]
    finally:
        logging.getLogger("opsmon.collector.service.service").removeHandler(handler)
        service.ctx.pinger.close()
        service.store.close()


def test_an_asset_whose_site_changed_moves_with_reason_moved() -> None:
    """srv-1 is p-b's at hotan (bcea > 98a9); the inventory moves it to yutian, whose only poller is p-c (enrolled,
    heard from its first look): it moves to p-c, reason moved (p-b is still enrolled: not revoked); the event says
    so, Chinese first."""
    g = PollerGroups(lambda site: 60.0, lambda site: 1, T0 - timedelta(hours=1))
    g.arrange(ASSETS, {"hotan": ["p-a", "p-b"]}, T0)
    moved = {"hotan": [f"srv-{i}" for i in range(2, 7)], "yutian": ["srv-1"]}
    moves = g.arrange(moved, {"hotan": ["p-a", "p-b"], "yutian": ["p-c"]}, at(10))
    assert [(m.asset, m.site, m.old, m.new, m.reason) for m in moves] == [("srv-1", "yutian", "p-b", "p-c", MOVED)]
    event = moves[0].event()
    assert (event.details["reason"], event.severity) == ("moved", "info")
    assert event.summary == ("srv-1: 站点轮询器切换 / site poller handover p-b -> p-c "
                             "(资产换了站点 / asset moved to site yutian)")
