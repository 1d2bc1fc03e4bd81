"""The quarter's security in the report (issue 23 item 3): events by kind, host and control point, the security
incidents and their responses, and compliance per control point in the standard's order with the period's
trend. Every figure below is counted by hand from the rows seeded."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from opsmon.collector.outputs.report import build_report
from opsmon.collector.outputs.report.html import render_html
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.store import Store
from opsmon.collector.store.models import BaselineChange, Event, Incident
from tests.conftest import utc, write_config

Q3 = utc(2026, 6, 30, 16)  # 2026Q3 starts on Jul 1 00:00 in Shanghai


def seed(store: Store) -> None:
    """Baseline (one host, srv-1):
    - ia.passwd-shadowed (8.1.4.1): pass before Q3 and after: 100% -> 100%;
    - ac.ssh-root-login (8.1.4.2): fail before Q3, pass from Aug 1: 0% -> 100% (+100.0);
    - br.backup-fresh (8.1.4.9) pass before Q3, fail from Aug 2: 100% -> 0% (-100.0);
    - ri.suid-dumpable (8.1.4.10): first seen Aug 3, pass: no start figure -> 100%.
    Events in Q3 (kind, name, host): auth bruteforce x2 (web1), fim modified x3 (web1), security
    ssh_host_key_changed (sw1), security config_change (sw1), security br.backup-fresh (srv-1, control
    backup_recovery): 8; plus one bruteforce on Jun 30 15:59Z (Q2) and one interface trap (not security).
    By control point: 8.1.4.1: 2, 8.1.4.4: 1, 8.1.4.7: 3 + 1 = 4, 8.1.4.9: 1.
    Incidents of kind security opened in Q3: INC-1 acknowledged after 12 min (deadline 30 min: within),
    INC-2 acknowledged after 45 min (late), INC-3 never acknowledged; INC-4 merged (not a fault of its own)
    and an availability incident are left out."""
    before = Q3 - timedelta(days=10)
    with store.session() as s:
        for check, status, since in (("ia.passwd-shadowed", "pass", before), ("ac.ssh-root-login", "fail", before),
                                     ("br.backup-fresh", "pass", before),
                                     ("ac.ssh-root-login", "pass", utc(2026, 8, 1)),
                                     ("br.backup-fresh", "fail", utc(2026, 8, 2)),
                                     ("ri.suid-dumpable", "pass", utc(2026, 8, 3))):
            s.add(BaselineChange(asset_id="srv-1", check_id=check, policy="opsmon-debian", status=status,
                                 since=since))
        t = utc(2026, 8, 5)
        events = [("web1", "agent", "auth", "bruteforce", {})] * 2 + [("web1", "agent", "fim", "modified", {})] * 3 + [
            ("sw1", "ssh", "security", "ssh_host_key_changed", {}), ("sw1", "ssh", "security", "config_change", {}),
            ("srv-1", "agent", "security", "br.backup-fresh", {"control": "backup_recovery"})]
        for i, (asset, source, kind, name, details) in enumerate(events):
            s.add(Event(ts=t + timedelta(minutes=i), asset_id=asset, source=source, kind=kind, name=name,
                        severity="warning", summary=name, details=details))
        s.add(Event(ts=Q3 - timedelta(minutes=1), asset_id="web1", source="agent", kind="auth", name="bruteforce",
                    severity="critical", summary="", details={}))
        s.add(Event(ts=t, asset_id="sw1", source="trap", kind="link", name="linkDown", severity="warning",
                    summary="", details={}))
        for n, ack, status, kind in ((1, 12, "closed", "security"), (2, 45, "closed", "security"),
                                     (3, None, "open", "security"), (4, None, "merged", "security"),
                                     (5, 5, "closed", "availability")):
            opened = t + timedelta(hours=n)
            s.add(Incident(id=f"INC-{n}", asset_id="web1", kind=kind, severity="critical", opened_ts=opened,
                           acknowledged_ts=opened + timedelta(minutes=ack) if ack else None,
                           acknowledged_by="li.wei" if ack else None, deadline_ts=opened + timedelta(minutes=30),
                           status=status, cause=f"brute force {n}", fingerprint=None))
        s.commit()


def test_the_quarters_security_events_incidents_and_trend(store: Store, tmp_path: Path) -> None:
    from opsmon.collector.config import load_config

    seed(store)
    config = load_config(write_config(tmp_path, "database:\n  path: opsmon.db\ntimezone: Asia/Shanghai\n"))
    data = build_report(store, config, parse_period("2026Q3", "Asia/Shanghai"), "zh", utc(2026, 10, 2))
    sec = data.security
    assert [(c["clause"], c["passed"], c["failed"], c["score_at_start"]) for c in sec["controls"]] == [
        ("8.1.4.1", 1, 0, 1.0), ("8.1.4.2", 1, 0, 0.0), ("8.1.4.9", 0, 1, 1.0), ("8.1.4.10", 1, 0, None)]
    assert sec["events_total"] == 8
    assert [(e["kind"], e["name"], e["count"]) for e in sec["events_by_kind"]] == [
        ("auth", "bruteforce", 2), ("fim", "modified", 3), ("security", "br.backup-fresh", 1),
        ("security", "config_change", 1), ("security", "ssh_host_key_changed", 1)]
    assert [(e["asset"], e["count"]) for e in sec["events_by_host"]] == [("web1", 5), ("sw1", 2), ("srv-1", 1)]
    assert [(e["clause"], e["count"]) for e in sec["events_by_control"]] == [
        ("8.1.4.1", 2), ("8.1.4.4", 1), ("8.1.4.7", 4), ("8.1.4.9", 1)]
    assert [(i["id"], i["response_seconds"], i["within_deadline"]) for i in sec["incidents"]] == [
        ("INC-1", 720.0, True), ("INC-2", 2700.0, False), ("INC-3", None, False)]
    html = render_html(data, draw_charts=False)
    part = html[html.index('<section id="security-events">'):]
    assert "本期安全事件总数: 8" in part
    # the trend in the standard's order; 8.1.4.10 after 8.1.4.9, not after 8.1.4.1
    assert part.index("身份鉴别") < part.index("访问控制") < part.index("数据备份恢复") < part.index("剩余信息保护")
    assert "<td>+100.0</td>" in part and "<td>-100.0</td>" in part
    # INC-1 opened Aug 5 01:00Z = 09:00 in Shanghai, acknowledged 12 min later
    assert "<td>2026-08-05 09:00:00 +08:00</td><td>2026-08-05 09:12:00 +08:00</td>" in part
    en = render_html(build_report(store, config, parse_period("2026Q3", "Asia/Shanghai"), "en", utc(2026, 10, 2)),
                     draw_charts=False)
    assert "Security events in the period: 8" in en and "Residual information protection" in en


def test_an_approved_exclusion_takes_a_security_incident_out_of_the_section_as_out_of_its_row(
        store: Store, tmp_path: Path) -> None:
    """INC-2 (acknowledged after 45 min, late against 30) is taken out by an exclusion asked by li.wei and
    approved by wang.fang: the security section lists it, not judged ("excluded", within the limit neither yes
    nor no), exactly as the security_incident_response_time row leaves it out. Judged then: INC-1 (12 min,
    within) and INC-3 (never acknowledged, a miss) = 2 of the row's 3, 1 within. A pending (unapproved)
    exclusion of INC-1 changes nothing (four eyes: it counts once approved)."""
    from opsmon.collector.config import load_config
    from opsmon.collector.store.exclusions import ExclusionRequest, approve_exclusion, request_exclusion

    seed(store)
    asked = request_exclusion(store, ExclusionRequest("误报：渗透测试授权 / authorised penetration test",
                                                      incident="INC-2"), "li.wei", utc(2026, 9, 1))
    approve_exclusion(store, int(str(asked["id"])), "wang.fang", utc(2026, 9, 2))
    request_exclusion(store, ExclusionRequest("pending only", incident="INC-1"), "li.wei", utc(2026, 9, 3))
    config = load_config(write_config(tmp_path, "database:\n  path: opsmon.db\ntimezone: Asia/Shanghai\n"))
    data = build_report(store, config, parse_period("2026Q3", "Asia/Shanghai"), "zh", utc(2026, 10, 2))
    assert [(i["id"], i["response_seconds"], i["within_deadline"], i["not_counted"])
            for i in data.security["incidents"]] == [
        ("INC-1", 720.0, True, None), ("INC-2", 2700.0, None, "excluded"), ("INC-3", None, False, None)]
    row = next(t for t in data.targets if t.id == "security_incident_response_time")
    assert row.detail is not None
    assert (row.detail.incidents, row.detail.judged, row.detail.within_limit, row.detail.excluded) == (
        3, 2, 1, ("INC-2",))
    html = render_html(data, draw_charts=False)
    part = html[html.index('<section id="security-events">'):]
    # INC-2 opened Aug 5 02:00Z = 10:00 in Shanghai, acknowledged 45 min later: its "within" cell says excluded
    assert "<td>2026-08-05 10:45:00 +08:00</td><td>45分</td><td>已剔除</td>" in part, part[:3000]
