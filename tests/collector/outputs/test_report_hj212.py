"""The semi-monthly HJ 212 statistical analysis report (issue 17, item 3), against figures computed by hand.

Half-month 2026-11-H1 in Asia/Shanghai is [2026-11-01 00:00+08:00, 2026-11-16 00:00+08:00) =
[2026-10-31T16:00Z, 2026-11-15T16:00Z). Judged at NOW = 2026-12-20 (after the correction deadline of every
November hour: the end of 2026-12-10 local = 2026-12-10T16:00Z). Hour k below is 2026-11-15 k:00 local.

- d1 (昌吉, E1), point ww1, COD w01018 limit 50 mg/L; added 2026-11-15 00:00 local, so 24 hours are due:
  k 0-5 "10.0" N (six identical: a stuck series), k 6 "80" N (an exceedance, x1.60), k 7 "120" M (over the
  limit but invalid: no exceedance), k 8-19 "28".."39" N, k 20 missing, k 21 "30" N received 2026-12-12
  (after the deadline: late), k 22 "75" D (invalid), k 23 "55" N at 23:00 local (the last hour of H1: an
  exceedance, x1.10); and "99" N at 2026-11-16 00:00 local, which is H2's first hour and not counted here.
  应传 24, 实传 24 - 1 missing - 1 late = 22, 有效 22 - M - D = 20: 传输率 22/24 = 91.67 %,
  有效率 20/22 = 90.91 %, 传输有效率 20/24 = 83.33 %. Exceedances: 2 hours, max 80, multiple 1.60.
  Flags: D 1, M 1. Longest silence: 1 hour (k 20).
- d2 (克拉玛依, E2), point gas1, SO2 a21026 limit 100; added as d1; 停产 exemption for k 0-11, entered
  2026-11-20 (before the deadline); k 12-23 sent "k.5" N. 应传 12, 豁免 12, 实传 12, 有效 12: 100.00 %.
- d3 (昌吉, E3), point p1, NH3-N w21003; added 2026-11-14 00:00 local: 48 hours due, nothing sent:
  应传 48, 实传 0: 0.00 %, silent 48 h (> 24 h: listed).
Prefectures: 昌吉 应传 72, 实传 22, 有效 20: 30.56 %, 90.91 %, 27.78 %; 克拉玛依 12/12/12: 100.00 %.
Region: 84, 34, 32: 40.48 %, 94.12 %, 38.10 %. DAUs 3, points 3 (2 online), enterprises 3.
Below 90 %: enterprises E1 (83.33 %) and E3 (0.00 %); below 60 %: E3; at 0: E3.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsmon.collector.config.schema import CollectorConfig
from opsmon.collector.outputs.report import write_report
from opsmon.collector.outputs.report.delivery import count_delivery, due, generate
from opsmon.collector.outputs.report.hj212_model import build_hj212_report
from opsmon.collector.sla.engine import measure
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.targets import TargetTable, load_targets
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.hj212_exemptions import add_exemption
from opsmon.collector.store.models import Asset, AuditEntry, Hj212Datum, ReportFile, TargetValue
from tests.conftest import run_cli, utc

TZ = "Asia/Shanghai"
NOW = utc(2026, 12, 20)
DAY15 = utc(2026, 11, 14, 16)  # 2026-11-15 00:00 local


def hour(k: int) -> datetime:
    return DAY15 + timedelta(hours=k)


def dau(asset_id: str, site: str, enterprise: str, point: str, factor: str, limit: float | None,
        created: datetime) -> Asset:
    spec = {"limit": limit, "unit": "mg/L"} if limit is not None else {}
    check = {"type": "hj212", "id": "hj212", "mn": "MN" + asset_id, "credential": "c", "enterprise": enterprise,
             "points": {point: {"factors": {factor: spec}}}}
    return Asset(id=asset_id, name=asset_id, category="dau", site=site, address=None, tags=[], criticality="high",
                 parent_id=None, checks=[check], created_at=created, updated_at=created, removed_at=None)


def value(asset_id: str, point: str, factor: str, at: datetime, avg: str, flag: str,
          received: datetime | None = None) -> Hj212Datum:
    return Hj212Datum(asset_id=asset_id, mn="MN" + asset_id, cn="2061", data_time=at, point=point, factor=factor,
                      avg=avg, flag=flag, crc="ok", received=received or at + timedelta(minutes=65))


def fill(store: Store) -> None:
    d1 = {**{k: ("10.0", "N") for k in range(6)}, 6: ("80", "N"), 7: ("120", "M"),
          **{k: (str(20 + k), "N") for k in range(8, 20)}, 22: ("75", "D"), 23: ("55", "N")}
    with store.session.begin() as s:
        s.add(dau("d1", "昌吉", "E1", "ww1", "w01018", 50, DAY15))
        s.add(dau("d2", "克拉玛依", "E2", "gas1", "a21026", 100, DAY15))
        s.add(dau("d3", "昌吉", "E3", "p1", "w21003", None, DAY15 - timedelta(days=1)))
        for k, (avg, flag) in d1.items():
            s.add(value("d1", "ww1", "w01018", hour(k), avg, flag))
        s.add(value("d1", "ww1", "w01018", hour(21), "30", "N", received=utc(2026, 12, 12)))  # late
        s.add(value("d1", "ww1", "w01018", hour(24), "99", "N"))  # 2026-11-16 00:00 local: H2
        for k in range(12, 24):
            s.add(value("d2", "gas1", "a21026", hour(k), f"{k}.5", "N"))
    add_exemption(store, asset_id="d2", point="gas1", factor=None, start=hour(0), end=hour(12), kind="stopped",
                  reason="停产检修", proof="克环函〔2026〕3号", actor="op", now=utc(2026, 11, 20))


def make_config(tmp_path: Path, **reports: object) -> CollectorConfig:
    return CollectorConfig.model_validate({
        "organisation": "某污染物监控中心", "timezone": TZ, "database": {"path": str(tmp_path / "opsmon.db")},
        "reports": {"folder": str(tmp_path / "reports"), **reports}})


def test_the_half_month_by_hand_in_html_and_xlsx(store: Store, tmp_path: Path) -> None:
    fill(store)
    config = make_config(tmp_path)
    period = parse_period("2026-11-H1", TZ)
    data = build_hj212_report(store, config, period, "zh", NOW)
    c = data.region.counts
    assert (data.daus, data.points, data.enterprises, data.online_points) == (3, 3, 3, 2)
    assert (c.should, c.transmitted, c.effective, c.exempt, c.late) == (84, 34, 32, 12, 1)
    assert data.region.rate == pytest.approx(32 / 84)
    assert [(g.key, g.counts.should, g.counts.transmitted, g.counts.effective) for g in data.sites] == [
        (("克拉玛依",), 12, 12, 12), (("昌吉",), 72, 22, 20)]
    assert [g.key[1] for g in data.below(data.enterprise_rows, 0.9)] == ["E1", "E3"]
    assert [g.key[1] for g in data.below(data.enterprise_rows, 0.6)] == ["E3"]
    assert [g.key[1] for g in data.below(data.enterprise_rows, 0)] == ["E3"]
    [x] = data.exceedances  # the M-flagged 120 and the D-flagged 75 are not counted
    assert (x.asset, x.count, x.max_value, round(x.max_multiple, 2)) == ("d1", 2, 80.0, 1.6)
    assert x.hours == ["2026-11-15T06:00:00+08:00", "2026-11-15T23:00:00+08:00"]  # 23:00 local is H1's
    assert [(f.asset, f.flags["D"], f.flags["M"], sum(f.flags.values())) for f in data.flags] == [
        ("d1", 1, 1, 2), ("d2", 0, 0, 0)]
    assert [(s.asset, s.value, s.start, s.hours) for s in data.stuck] == [
        ("d1", "10.0", "2026-11-15T00:00:00+08:00", 6)]
    assert [(p.asset, p.longest_silence) for p in data.online] == [("d1", 1), ("d2", 0), ("d3", 48)]
    assert [p.asset for p in data.silent] == ["d3"]
    assert [(e.asset, e.proof) for e in data.exemptions] == [("d2", "克环函〔2026〕3号")]
    assert [(v.hour, v.received) for v in data.late] == [("2026-11-15T21:00:00+08:00", "2026-12-12T08:00:00+08:00")]
    # The next half-month holds the 2026-11-16 00:00 value: d1's first H2 hour is sent.
    h2 = build_hj212_report(store, config, parse_period("2026-11-H2", TZ), "zh", NOW)
    d1 = next(g for g in h2.point_rows if g.key[2] == "d1")
    assert (d1.counts.should, d1.counts.transmitted) == (360, 1)

    # The rate is what `opsmon sla` measures for the target over the same half-month.
    target = next(t for t in load_targets(config.targets_path()).targets if t.measure == "hj212_rate")
    sla = measure(store, TargetTable(targets=(target,)), period, NOW).targets[0]
    assert sla.value == data.region.rate and sla.detail.should == 84 and sla.detail.points_at_0 == 1

    written = dict((p.suffix, p) for p, _ in write_report(data, ("html", "xlsx"), tmp_path / "out"))
    html = written[".html"].read_text(encoding="utf-8")
    assert written[".html"].name == "opsmon-hj212-2026-11-H1-zh.html"
    for text in ("污染源自动监控数据统计分析报告（半月）", "83.33%", "91.67%", "90.91%", "27.78%", "30.56%",
                 "40.48%", "94.12%", "38.10%", "100.00%", "0.00%", "停产检修", "克环函〔2026〕3号",
                 "2026-11-15 21:00:00", "2026-12-12 08:00:00", "d3 · p1 (48 h)"):
        assert text in html, text
    assert '<td class="n">2</td><td class="n">80</td><td class="n">1.60</td>' in html
    assert 'data-list="enterprise-below_90"><b>传输有效率低于 90.000% (2)</b>' in html
    assert 'data-list="point-at_0"><b>传输有效率为 0 (1)</b>: 昌吉 · E3 · d3 · p1 0.00%' in html
    assert 'data-stuck="d1|ww1|w01018"' in html and "<td>10.0</td>" in html
    assert html.count('data-exceed="') == 1

    from openpyxl import load_workbook

    wb = load_workbook(written[".xlsx"])
    rows = list(wb["按企业"].iter_rows(min_row=2, values_only=True))
    assert [r[:5] for r in rows] == [("克拉玛依", "E2", 12, 12, 12), ("昌吉", "E1", 24, 22, 20),
                                     ("昌吉", "E3", 48, 0, 0)]
    assert rows[1][7:12] == (pytest.approx(22 / 24), pytest.approx(20 / 22), pytest.approx(20 / 24), True, False)
    assert rows[2][9:] == (0.0, True, True, True)
    assert [r[:10] for r in wb["四、超标情况"].iter_rows(min_row=2, values_only=True)][0][6:9] == (2, 80.0, 1.6)
    flags = next(wb["五、异常与故障"].iter_rows(min_row=2, values_only=True))
    assert flags[:5] == ("E1", "d1", "ww1", 1, 1)  # D, M
    assert next(wb["迟报"].iter_rows(min_row=2, values_only=True))[3] == datetime(2026, 11, 15, 21)


def test_the_rate_table_is_opsmon_hj212_rates_figure_by_figure(tmp_path: Path) -> None:
    """Both judged at the wall clock (the CLI has no --now): every row, count and rate string equal."""
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    fill(store)
    (tmp_path / "collector.yaml").write_text(f"timezone: {TZ}\ndatabase:\n  path: opsmon.db\n", encoding="utf-8")
    cfg = ("--config", str(tmp_path / "collector.yaml"))
    config = make_config(tmp_path)
    for level, attr in (("point", "point_rows"), ("enterprise", "enterprise_rows"), ("site", "sites")):
        proc = run_cli(*cfg, "hj212", "rates", "--period", "2026-11-H1", "--by", level, "--format", "json")
        assert proc.returncode == 0, proc.stderr
        cli = json.loads(proc.stdout)["rows"]
        data = build_hj212_report(store, config, parse_period("2026-11-H1", TZ), "en", datetime.now(UTC))
        mine = [{"key": list(g.key), "should": g.counts.should, "transmitted": g.counts.transmitted,
                 "effective": g.counts.effective, "exempt": g.counts.exempt, "late": g.counts.late,
                 "transmission_rate": g.transmission_rate, "effective_rate": g.effective_rate, "rate": g.rate,
                 "points": g.members} for g in getattr(data, attr)]
        assert mine == cli and len(cli) == {"point": 3, "enterprise": 3, "site": 2}[level]
    # And the CLI's report command writes the half-month's files (HTML here: the PDF is rendered below).
    proc = run_cli(*cfg, "report", "--kind", "hj212", "--period", "2026-11-H1", "--lang", "en", "--format",
                   "html", "--out", str(tmp_path / "cli"))
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "cli" / "opsmon-hj212-2026-11-H1-en.html").read_text(encoding="utf-8")
    assert "Semi-monthly statistical analysis report" in html and "d3 · p1 (48 h)" in html
    store.close()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_scheduled_delivery_counts_once_and_the_pdf_says_so(store: Store, tmp_path: Path) -> None:
    """The 16th, 01:05 local (the daily check after the 1-hour delay): H1 is due in zh; delivered twice
    (the check run again, then generate() forced again) it counts once toward monitoring_analysis_reports."""
    pytest.importorskip("weasyprint")
    fill(store)
    config = make_config(tmp_path, enabled=True, periods=["half"], langs=["zh"], formats=["pdf", "xlsx"])
    at = utc(2026, 11, 15, 17, 5)  # 2026-11-16 01:05 local
    assert [(p.label, lang) for p, lang in due(config, store, at)] == [("2026-11-H1", "zh")]
    assert due(config, store, utc(2026, 11, 15, 16, 30)) == []  # within the hour's delay
    for period, lang in due(config, store, at):
        docs = generate(config, store, period, lang, at)
        assert sorted(d["file"] for d in docs) == ["opsmon-hj212-2026-11-H1-zh.pdf", "opsmon-hj212-2026-11-H1-zh.xlsx"]
    assert due(config, store, at) == []  # the second check finds it delivered
    generate(config, store, parse_period("2026-11-H1", TZ), "zh", at)  # a forced re-delivery
    assert count_delivery(store, "monitoring_analysis_reports", parse_period("2026-11-H1", TZ), at) is False
    with store.session() as s:
        events = s.query(TargetValue).filter_by(target_id="monitoring_analysis_reports").all()
        assert [(e.kind, e.value, e.ts) for e in events] == [("event", 1.0, utc(2026, 10, 31, 16))]
        assert [a.action for a in s.query(AuditEntry).filter_by(target="monitoring_analysis_reports")] == [
            "sla.record"]
        assert s.query(ReportFile).count() == 4  # two deliveries x (pdf, xlsx): the listing keeps both
    target = next(t for t in load_targets(config.targets_path()).targets if t.id == "monitoring_analysis_reports")
    result = measure(store, TargetTable(targets=(target,)), parse_period("2026-11", TZ), at).targets[0]
    assert result.value == 1.0
    # Judged at 01:05 on the 16th, what was known then: d1's k 21 value (received 2026-12-12) does not exist
    # yet (missing, not late: d1 still 22 / 24, 20 effective: 83.33 %), nor does d2's exemption (entered on
    # the 20th): d2 应传 24, 实传 12: 50.00 %; the region 应传 96, 实传 34, 有效 32: 35.42 %, 33.33 %.
    pdf = tmp_path / "reports" / "2026-11-H1" / "opsmon-hj212-2026-11-H1-zh.pdf"
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for figure in ("83.33%", "50.00%", "35.42%", "33.33%", "0.00%", "1.60", "本期无豁免"):
        assert figure in text, figure


def test_the_half_month_is_delivered_before_the_quarter_that_counts_it(store: Store, tmp_path: Path) -> None:
    """2027-01-01 01:05 local (2026-12-31T17:05Z): 2026-12-H2 and 2026Q4 both ended at 00:00; the half-month
    comes first, so the quarter's SLA report sees its count event. 'half' labels are told from months."""
    from opsmon.collector.outputs.report.delivery import _kind_of

    config = make_config(tmp_path, enabled=True, periods=["quarter", "half"], langs=["zh"])
    assert [p.label for p, _ in due(config, store, utc(2026, 12, 31, 17, 5))] == ["2026-12-H2", "2026Q4"]
    assert (_kind_of("2026-12-H2"), _kind_of("2026-12"), _kind_of("2026Q4")) == ("half", "month", "quarter")
