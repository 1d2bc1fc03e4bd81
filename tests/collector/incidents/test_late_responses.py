"""Responses after the fact and to the millisecond (issue 18 item 3, issue 19 item 6).

In-process: the timeline, the incident engine and the escalator wired as the service wires them, with a
fake clock (tests/collector/incidents/test_incidents.py World); the SLA engine and the report read the same
store afterwards.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from opsmon.collector.core.errors import Conflict, InvalidInput
from opsmon.collector.core.states import UP
from opsmon.collector.incidents.read import list_incidents, show_incident
from opsmon.collector.sla.engine import measure
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.targets import load_targets
from opsmon.collector.store import Store
from opsmon.collector.store.models import AuditEntry
from tests.collector.incidents.test_incidents import ROOT, T0, World, fail, info

PERIOD = parse_period("2026Q3", "Asia/Shanghai")
LATER = T0 + timedelta(days=120)  # the quarter is over


def test_acknowledged_0_4_s_before_and_after_the_deadline_judged_alike_everywhere(store: Store,
                                                                                 tmp_path: Path) -> None:
    """Two servers fail together: both incidents open at T0+20 s with deadline T0+20 s+1 h (the 1 h limit of
    fault_response_rate). `early` is acknowledged 0.4 s before its deadline (3599.6 s), `late` 0.4 s after it
    (3600.4 s). To the millisecond, early is in time and late is not, and the incident's own deadline
    (within_deadline on its trail, `breached`), the SLA (fault_response_rate judges 2: 1 within, 0.5) and the
    report (late missed fault_response_rate, deadline breached) say the same."""
    from opsmon.collector.outputs.report import build_report
    from tests.collector.outputs.test_report import config

    w = World(store, {"early": info(), "late": info()})
    at = fail(w, "early", T0)
    fail(w, "late", T0)
    w.advance(at)
    by_asset = {i["asset"]: i for i in list_incidents(store)}
    deadline = at + timedelta(hours=1)
    assert {i["deadline"] for i in by_asset.values()} == {deadline.isoformat()}
    w.clock.now = deadline - timedelta(seconds=0.4)
    w.engine.acknowledge(by_asset["early"]["id"], "li.wei")
    w.clock.now = deadline + timedelta(seconds=0.4)
    w.engine.acknowledge(by_asset["late"]["id"], "li.wei")

    for asset, within in (("early", True), ("late", False)):
        doc = show_incident(store, by_asset[asset]["id"])
        [ack] = [e for e in doc["trail"] if e["action"] == "acknowledged"]
        assert (ack["detail"]["within_deadline"], doc["breached"]) == (within, not within)
        assert doc["response_seconds"] == (3599.6 if within else 3600.4)
    assert [i["asset"] for i in list_incidents(store, now=LATER)
            if i["breached"]] == ["late"]

    rate = measure(store, load_targets(ROOT / "rules" / "targets.yaml"), PERIOD, LATER).target("fault_response_rate")
    assert (rate.detail.judged, rate.detail.within_limit, rate.value) == (2, 1, 0.5)

    report = {i.asset: i for i in build_report(store, config(tmp_path), PERIOD, "en", LATER).incidents}
    assert (report["early"].missed, report["early"].deadline_breached) == ([], False)
    assert (report["late"].missed, report["late"].deadline_breached) == (["fault_response_rate"], True)


def test_a_response_to_a_healed_fault_is_recorded_after_the_fact(store: Store) -> None:
    """`srv` fails (opened T0+20 s) and heals at T0+2 min, before anyone could acknowledge it: today's
    defect was that it could never be answered (`acknowledge` refuses a resolved incident).
    - Recording while open is refused (acknowledge it); a claim before the opening is refused.
    - At T0+30 min li.wei records "responded at T0+5 min" without evidence: capped, the time counted is the
      record's, T0+30 min (response 1780 s, within the hour); the claim stays on the trail.
    - `db` heals likewise; at T0+3 h wang.fang records T0+10 min with evidence "call log": counted at T0+10 min
      (response 580 s), within, though recorded long after the limit.
    - A second record is a conflict. Each record is in the audit log under its person."""
    w = World(store, {"srv": info(), "db": info()})
    at = fail(w, "srv", T0)
    fail(w, "db", T0)
    w.advance(at)
    ids = {i["asset"]: i["id"] for i in list_incidents(store)}
    with pytest.raises(InvalidInput, match="acknowledge it instead"):
        w.engine.record_response(ids["srv"], "li.wei", None, "")
    for asset in ("srv", "db"):
        w.clock.now = T0 + timedelta(minutes=2)
        w.result(asset, UP, w.clock.now)
    assert {i["status"] for i in list_incidents(store)} == {"resolved"}
    with pytest.raises(InvalidInput, match="acknowledged"):
        w.engine.acknowledge(ids["srv"], "li.wei")  # the defect's shape: a healed fault cannot be acknowledged

    w.clock.now = T0 + timedelta(minutes=30)
    with pytest.raises(InvalidInput, match="between the opening"):
        w.engine.record_response(ids["srv"], "li.wei", T0, "")
    w.engine.record_response(ids["srv"], "li.wei", T0 + timedelta(minutes=5), "")
    srv = show_incident(store, ids["srv"])
    assert (srv["acknowledged_at"], srv["response_seconds"], srv["status"]) == (
        (T0 + timedelta(minutes=30)).isoformat(), 1780.0, "resolved")
    [step] = [e for e in srv["trail"] if e["action"] == "response_recorded"]
    assert step["detail"]["claimed"] == (T0 + timedelta(minutes=5)).isoformat() and step["detail"]["capped"]

    w.clock.now = T0 + timedelta(hours=3)
    w.advance(w.clock.now)  # the quiet time has passed: db is closed, out of the engine's memory
    assert show_incident(store, ids["db"])["status"] == "closed"
    w.engine.record_response(ids["db"], "wang.fang", T0 + timedelta(minutes=10), "call log 10:10, ext 6021")
    db = show_incident(store, ids["db"])
    assert (db["acknowledged_by"], db["response_seconds"], db["breached"]) == ("wang.fang", 580.0, False)
    assert (db["response_evidence"], db["response_recorded_at"]) == ("call log 10:10, ext 6021",
                                                                    (T0 + timedelta(hours=3)).isoformat())
    with pytest.raises(Conflict, match="has a response already"):
        w.engine.record_response(ids["db"], "li.wei", None, "")
    with store.session() as s:
        rows = list(s.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)))
    assert [tuple(r) for r in rows] == [("li.wei", "incident.response_recorded", ids["srv"]),
                                        ("wang.fang", "incident.response_recorded", ids["db"])]
    rate = measure(store, load_targets(ROOT / "rules" / "targets.yaml"), PERIOD, LATER).target("fault_response_rate")
    assert (rate.detail.judged, rate.detail.within_limit, rate.value) == (2, 2, 1.0)
    assert {h.incident: h.recorded_after for h in rate.detail.self_healed} == {ids["srv"]: True, ids["db"]: True}
