"""The response-rate figures of `opsmon sla` for a quarter holding reopened, self-healed, excluded and
maintenance-covered incidents (issue 18 items 2 and 3), and an outage taken out by an exclusion; every figure
worked out by hand in the comments. In-process: the store and the SLA engine with chosen timestamps.

Quarter 2026Q3 in Asia/Shanghai: [2026-06-30T16:00Z, 2026-09-30T16:00Z), 92 days, measured a month after.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.sla.engine import measure
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.render import render_table
from opsmon.collector.sla.targets import TargetTable
from opsmon.collector.store import Store
from opsmon.collector.store.exclusions import ExclusionRequest, approve_exclusion, request_exclusion
from opsmon.collector.store.models import AuditEntry, Incident, StateInterval
from tests.collector.sla.test_sla_scenarios import AFTER, H, Q, S, seed, up_all
from tests.conftest import utc

M = 60.0
PERIOD = parse_period("2026Q3", "Asia/Shanghai")
TABLE = TargetTable.model_validate({"coverage_floor": 0.9, "targets": [
    {"id": "servers", "name_zh": "服务器", "name_en": "Servers", "measure": "availability",
     "scope": {"categories": ["server"]}, "comparator": ">=", "threshold": 0.95},
    {"id": "rate", "name_zh": "故障响应率", "name_en": "Fault response rate", "measure": "response_rate",
     "limit": "1h", "self_healed_under": "5m", "comparator": ">=", "threshold": 1.0},
    {"id": "hw", "name_zh": "硬件响应", "name_en": "HW response", "measure": "response_time",
     "scope": {"kinds": ["hardware"]}, "comparator": "<=", "threshold": 3600, "unit": "seconds"},
]})


def incident(inc_id: str, opened: datetime, kind: str = "availability", ack: float | None = None,
             resolved: float | None = None, recorded: float | None = None, evidence: str | None = None,
             window: str | None = None, breached: float | None = None, reopened: int = 0) -> Incident:
    """An incident on s1 opened at `opened`; the other times are seconds after it."""
    def after(s: float | None) -> datetime | None:
        return opened + timedelta(seconds=s) if s is not None else None
    return Incident(id=inc_id, asset_id="s1", kind=kind, opened_ts=opened, acknowledged_ts=after(ack),
                    acknowledged_by="li.wei" if ack is not None else None, resolved_ts=after(resolved),
                    response_recorded_ts=after(recorded), response_evidence=evidence, maintenance_window=window,
                    breached_ts=after(breached), reopened=reopened, status="closed", source="test")


def quarter(store: Store) -> None:
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [up_all("s1", end=utc(2026, 8, 20)), ("s1", "down", utc(2026, 8, 20), utc(2026, 8, 20, 6)),
          up_all("s1", start=utc(2026, 8, 20, 6))])
    with store.session.begin() as s:
        s.add_all([
            incident("A", utc(2026, 8, 1), ack=30 * M, resolved=2 * H),               # within (30 min)
            incident("R", utc(2026, 8, 2), ack=20 * M, resolved=5 * H, reopened=2),   # reopened twice: one, within
            # healed in 10 min (>= 5 min: judged), response recorded 3 h later claiming 40 min, with evidence
            incident("H1", utc(2026, 8, 3), ack=40 * M, resolved=10 * M, recorded=3 * H, evidence="call log 0803"),
            # healed in 10 min, recorded 2 h later without evidence: capped at the record, 2 h: a miss
            incident("H2", utc(2026, 8, 4), ack=2 * H, resolved=10 * M, recorded=2 * H),
            incident("H3", utc(2026, 8, 5), resolved=15 * M),                          # healed, nobody: a miss
            incident("H4", utc(2026, 8, 6), resolved=2 * M),                           # healed in 2 min: not judged
            incident("X", utc(2026, 8, 7), resolved=3 * H),                            # a miss, but excluded
            incident("MW", utc(2026, 8, 8), resolved=H, window="w1"),                  # maintenance: left out
            incident("MB", utc(2026, 8, 9), ack=2 * H, resolved=3 * H, window="w1", breached=H + 1),  # breached: in
            incident("HW", utc(2026, 8, 10), kind="hardware", ack=3599.6, resolved=2 * H),  # 59:59.6: within
            # healed in 3 min (< 5 min: not judged); a response recorded after, claiming 1 min, with evidence: listed
            incident("H5", utc(2026, 8, 11), ack=M, resolved=3 * M, recorded=H, evidence="chat 08-11 08:01"),
        ])


def exclude(store: Store, req: ExclusionRequest, at: datetime) -> int:
    doc = request_exclusion(store, req, "cli:zhang.min", at)
    approve_exclusion(store, int(str(doc["id"])), "api:chen.director", at + timedelta(minutes=5))
    return int(str(doc["id"]))


def test_response_rate_of_a_quarter_with_reopened_healed_excluded_and_maintenance_incidents(store: Store) -> None:
    """Judged for `rate` (limit 1 h, self_healed_under 5 min): A, R, H1, H2, H3, MB, HW = 7 (MW is under
    maintenance and never breached: not an incident of the figures at all; H4 healed in 2 min < 5 min; X is
    excluded). Within the hour: A (30 min), R (20 min), H1 (40 min claimed, with evidence), HW (59:59.6) = 4.
    Misses: H2 (2 h, capped at its record), H3 (never), MB (2 h). Rate 4/7 = 0.571428...; fails 100 %.
    `hw` judges HW alone: 3599.6 s <= 3600 s, pass."""
    quarter(store)
    before = measure(store, TABLE, PERIOD, AFTER)
    assert (before.target("rate").detail.judged, before.target("rate").detail.within_limit) == (8, 4)  # X: a miss
    exclude(store, ExclusionRequest("a test injected by the vendor, agreed beforehand", incident="X"),
            utc(2026, 9, 1))
    rate = measure(store, TABLE, PERIOD, AFTER).target("rate")
    d = rate.detail
    assert rate.value == pytest.approx(4 / 7) and rate.status == "fail"
    assert (d.incidents, d.judged, d.within_limit, d.pending, d.unacknowledged_misses) == (10, 7, 4, 0, 1)
    assert d.excluded == ("X",) and d.self_healed_under_seconds == 300.0
    healed = {h.incident: (h.healed_seconds, h.response_seconds, h.recorded_after, h.counted, h.within)
              for h in d.self_healed}
    assert healed == {"H1": (600.0, 2400.0, True, True, True), "H2": (600.0, 7200.0, True, True, False),
                      "H3": (900.0, None, False, True, False), "H4": (120.0, None, False, False, None),
                      "H5": (180.0, 60.0, True, False, None)}
    hw = measure(store, TABLE, PERIOD, AFTER).target("hw")
    assert (hw.value, hw.status) == (3599.6, "pass")
    doc = rate.as_document()["detail"]
    assert doc["excluded"] == ["X"] and [h["incident"] for h in doc["self_healed"]] == ["H1", "H2", "H3", "H4", "H5"]
    text = render_table(measure(store, TABLE, PERIOD, AFTER), "en").split("Fault response rate:\n")[1].splitlines()
    assert text[:6] == ["  H1  healed before any response 10m; 40m recorded after; in time",
                        "  H2  healed before any response 10m; 2h recorded after; late",
                        "  H3  healed before any response 15m; no response; late",
                        "  H4  healed before any response 2m; no response; not counted",
                        "  H5  healed before any response 3m; 1m recorded after; not counted",
                        "  excluded: X"]


def test_an_outage_exclusion_takes_the_span_out_and_leaves_the_evidence(store: Store) -> None:
    """s1 is up the quarter but down 2026-08-20 00:00-06:00Z (6 h). Before: (Q - 6 h) / Q = 0.99728...
    An approved exclusion of [00:00, 12:00Z) takes 12 h out of both sides (6 h down, 6 h up), as maintenance
    does: good Q - 12 h, bad 0: 1.0; expected Q - 12 h, coverage 1.0, 43,200 s taken out. The intervals and
    incidents are the same rows before and after; a pending (unapproved) exclusion changes nothing."""
    quarter(store)

    def evidence() -> list[tuple[object, ...]]:
        with store.session() as s:
            return [tuple(r) for r in s.execute(select(StateInterval.asset_id, StateInterval.state,
                                                       StateInterval.start_ts, StateInterval.end_ts)
                                                .order_by(StateInterval.start_ts))] + \
                   [tuple(r) for r in s.execute(select(Incident.id, Incident.acknowledged_ts, Incident.status)
                                                .order_by(Incident.id))]
    kept = evidence()
    servers = measure(store, TABLE, PERIOD, AFTER).target("servers")
    assert servers.value == pytest.approx((Q - 6 * H) / Q)
    req = ExclusionRequest("城域网割接,运营商责任 / carrier cut-over", asset="s1", start=utc(2026, 8, 20),
                           end=utc(2026, 8, 20, 12))
    doc = request_exclusion(store, req, "cli:zhang.min", utc(2026, 9, 1))
    assert measure(store, TABLE, PERIOD, AFTER).target("servers").value == servers.value  # pending: nothing
    approve_exclusion(store, int(str(doc["id"])), "api:chen.director", utc(2026, 9, 2))
    servers = measure(store, TABLE, PERIOD, AFTER).target("servers")
    a = servers.availability
    assert (servers.value, servers.coverage) == (1.0, 1.0)
    assert (a.up_seconds, a.down_seconds, a.exclusion_seconds, a.expected_seconds) == (Q - 12 * H, 0.0, 12 * H,
                                                                                       Q - 12 * H)
    assert evidence() == kept
    with store.session() as s:
        actions = [r for r, in s.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert actions == ["exclusion.request", "exclusion.approve"]


def test_the_requester_cannot_approve_and_overlaps_and_future_spans_are_refused(store: Store) -> None:
    """cli:zhang.min asks; api:zhang.min is the same person: refused, naming who asked. An outage ending in the
    future (maintenance's job) and one overlapping a live exclusion of the same asset are refused too."""
    quarter(store)
    doc = request_exclusion(store, ExclusionRequest("vendor test", incident="X"), "cli:zhang.min", utc(2026, 9, 1))
    with pytest.raises(InvalidInput, match="requested by zhang.min; another person must approve"):
        approve_exclusion(store, int(str(doc["id"])), "api:zhang.min", utc(2026, 9, 1, 1))
    with pytest.raises(InvalidInput, match="time that has passed"):
        request_exclusion(store, ExclusionRequest("x", asset="s1", start=utc(2026, 9, 1), end=utc(2026, 9, 3)),
                          "cli:zhang.min", utc(2026, 9, 2))
    request_exclusion(store, ExclusionRequest("x", asset="s1", start=utc(2026, 8, 1), end=utc(2026, 8, 2)),
                      "cli:zhang.min", utc(2026, 9, 2))
    from opsmon.collector.core.errors import Conflict
    with pytest.raises(Conflict, match="overlaps exclusion"):
        request_exclusion(store, ExclusionRequest("y", asset="s1", start=utc(2026, 8, 1, 12),
                                                  end=utc(2026, 8, 3)), "cli:li.wei", utc(2026, 9, 2))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 2  # two requests; refusals change nothing


def test_nothing_judged_reads_no_data_with_the_pending_count(store: Store) -> None:
    """One incident opened 30 min before `now` mid-quarter, unacknowledged: pending under a 1 h limit. The
    rate target has nothing judged: "no data (pending 1)", pass false; not "pass -" (issue 19 item 8)."""
    seed(store, [("s1", "server", S - timedelta(days=100), None)], [up_all("s1")])
    now = utc(2026, 8, 1, 12)
    with store.session.begin() as s:
        s.add(incident("P", now - timedelta(minutes=30)))
    result = measure(store, TABLE, PERIOD, now)
    rate = result.target("rate")
    assert (rate.status, rate.passed, rate.value, rate.pending) == ("no_data", False, None, 1)
    lines = {line.split()[0]: line for line in render_table(result, "en").splitlines()[2:]}
    assert "no data (pending 1)" in lines["Fault"] and "pass" not in lines["Fault"]
    zh = render_table(result, "zh")
    assert "无数据 (待判定 1)" in zh
    # /metrics: no opsmon_sla_pass series for a response target with nothing judged (a quiet quarter must not
    # fire SlaTargetBelowThreshold); servers (up all along) pass: 1
    from opsmon.collector.outputs.metrics import SlaCollector
    [passing] = [m for m in SlaCollector(lambda: result).collect() if m.name == "opsmon_sla_pass"]
    assert {s.labels["target"]: s.value for s in passing.samples} == {"servers": 1.0}


def test_the_report_prints_the_exclusions_and_marks_healed_and_excluded_incidents(store: Store, tmp_path) -> None:
    """The same quarter, both exclusions approved: the report's figures are `opsmon sla`'s (rate 4/7,
    servers 1.0), its exclusions section lists both (incident X: no time; s1's outage: 12 h in the period)
    with who asked, who approved and why, and its incident list marks H1-H4 healed (H4 not counted, with
    H1's evidence) and X excluded."""
    from opsmon.collector.outputs.report import build_report
    from opsmon.collector.outputs.report.html import render_html
    from tests.collector.outputs.test_report import config

    quarter(store)
    exclude(store, ExclusionRequest("vendor drill", incident="X"), utc(2026, 9, 1))
    exclude(store, ExclusionRequest("carrier cut-over", asset="s1", start=utc(2026, 8, 20), end=utc(2026, 8, 20, 12)),
            utc(2026, 9, 1))
    data = build_report(store, config(tmp_path), PERIOD, "en", AFTER, table=TABLE)
    assert data.target("rate").value == pytest.approx(4 / 7) and data.target("servers").value == 1.0
    assert [(x.incident, x.asset, x.taken_out_seconds, x.requested_by, x.approved_by, x.reason)
            for x in data.exclusions] == [
        ("X", None, None, "cli:zhang.min", "api:chen.director", "vendor drill"),
        (None, "s1", 12 * H, "cli:zhang.min", "api:chen.director", "carrier cut-over")]
    marks = {i.id: (i.self_healed, i.not_counted, i.response_evidence) for i in data.incidents}
    assert marks["H1"] == (True, None, "call log 0803") and marks["H4"] == (True, "self_healed", None)
    assert marks["X"] == (True, "excluded", None) and marks["A"] == (False, None, None)  # X healed at 3 h
    html = render_html(data, draw_charts=False)
    section = html.split('<section id="exclusions">')[1].split("</section>")[0]
    assert section.count("data-exclusion=") == 2 and "carrier cut-over" in section and "api:chen.director" in section
    assert "12h" in section
    import io

    import openpyxl

    from opsmon.collector.outputs.report.xlsx import render_xlsx
    wb = openpyxl.load_workbook(io.BytesIO(render_xlsx(data)))
    sheet = wb["Exclusions"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[2], r[5], r[10]) for r in rows] == [("X", None, None, "vendor drill"),
                                                         (None, "s1", 12 * H, "carrier cut-over")]
