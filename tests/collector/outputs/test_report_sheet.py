"""The report as the budget's 绩效目标表 (issue 19 item 9, and item 10's evidence of manual values).

The quarter is test_report's (2026Q3, Asia/Shanghai). The hierarchy expected below is the 2019
budget's table for the project 网络与关键信息基础安全建设及运维保障, as rules/targets.yaml places it:

    产出指标 (8 rows) ─ 时效指标 (1): 硬件设备故障响应时限
                     ─ 数量指标 (5): 故障响应率, 统计分析报告, 服务器, 计算机及周边设备, 网络及安全设备
                     ─ 质量指标 (2): 网络连通率, 信息系统可用性
    满意度指标 (1)   ─ 满意度指标 (1): 服务对象满意度

and for 国控污染源自动监控运行管理: 产出指标 (2) ─ 质量指标 (2): 传输有效率, 自行监测公布率.
"""
from __future__ import annotations

import hashlib
import re
import subprocess
from datetime import datetime
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import select, update

from opsmon.collector.config.schema import CollectorConfig
from opsmon.collector.outputs.report import build_report, write_report
from opsmon.collector.outputs.report.html import render_html
from opsmon.collector.outputs.report.labels import TEXT
from opsmon.collector.sla.entries import evidence_of, set_value
from opsmon.collector.store import Store
from opsmon.collector.store.models import AuditEntry, Heartbeat, TargetValue
from tests.collector.outputs.test_report import AFTER, PERIOD, TZ, config, flat, needs_poppler, pdf_text, seed_quarter
from tests.conftest import run_cli, utc, write_config

openpyxl = pytest.importorskip("openpyxl", reason="XLSX tests need openpyxl: pip install 'opsmon[report]'")

NETWORK = "网络与关键信息基础安全建设及运维保障"
POLLUTION = "国控污染源自动监控运行管理"
# (target, 一级 cell's rowspan or 0, 二级 cell's rowspan or 0), in printed order
SHEET = {
    NETWORK: [("hardware_fault_response_time", 9, 2), ("security_incident_response_time", 0, 0),
              ("fault_response_rate", 0, 5),
              ("monitoring_analysis_reports", 0, 0), ("servers_ok", 0, 0), ("computers_ok", 0, 0),
              ("network_security_devices_ok", 0, 0), ("network_connectivity", 0, 2), ("system_availability", 0, 0),
              ("satisfaction", 1, 1)],
    POLLUTION: [("data_transmission_effective_rate", 2, 2), ("self_monitoring_publication_rate", 0, 0)],
}
LEVELS = {"zh": ("产出指标", "时效指标", "数量指标", "质量指标", "满意度指标", "满意度指标"),
          "en": ("Output indicators", "Timeliness", "Quantity", "Quality", "Satisfaction indicators", "Satisfaction")}
# The instants whose local date (Asia/Shanghai, UTC+8) differs from their UTC date:
AS_OF = ("2026-10-01 00:00:00 +08:00", "2026-09-30 16:00")  # the period's end (local, UTC)
GENERATED = ("2026-10-31 00:00:00 +08:00", "2026-10-30 16:00")  # AFTER
ENTERED = ("2026-10-09 01:30:00 +08:00", "2026-10-08 17:30")  # the publication rate's entry, set below
HEARTBEAT = ("2026-10-01 04:00:00 +08:00", "2026-09-30 20:00")
OPENED = ("2026-08-01 08:05:00", "2026-08-01 00:05")  # INC-HW-1, in the incident table (zone in its heading)


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.S)))


@pytest.fixture
def quarter(store: Store, tmp_path: Path) -> tuple[Store, CollectorConfig, str]:
    """test_report's quarter, with the publication rate entered by hand with a file as evidence at
    2026-10-08 17:30 UTC, and the collector's last heartbeat at 2026-09-30 20:00 UTC."""
    seed_quarter(store)
    proof = tmp_path / "公布率-2026Q3.pdf"
    proof.write_bytes(b"%PDF-1.4 national platform export, 2026Q3\n")
    set_value(store, "self_monitoring_publication_rate", PERIOD, 0.96, "", "cli:王五", evidence_of(str(proof)))
    with store.session.begin() as s:
        s.execute(update(TargetValue).where(TargetValue.target_id == "self_monitoring_publication_rate")
                  .values(entered_at=utc(2026, 10, 8, 17, 30)))
        s.add(Heartbeat(id=1, ts=utc(2026, 9, 30, 20), started_ts=utc(2026, 6, 1), pid=1))
    cfg = config(tmp_path).model_copy(update={"reports": CollectorConfig.model_validate({
        "database": {"path": "x"}, "reports": {"signoff": {"prepared_by": "张三", "reviewed_by": "李四"}}}).reports})
    return store, cfg, hashlib.sha256(proof.read_bytes()).hexdigest()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_first_section_is_the_budgets_table_with_merged_levels(quarter, lang: str) -> None:
    store, cfg, _ = quarter
    html = render_html(build_report(store, cfg, PERIOD, lang, AFTER), draw_charts=False)
    section = html[html.index('<section id="targets">'):html.index("</section>", html.index('<section id="targets">'))]
    assert html.index('<section id="targets">') < html.index('<section id="categories"')  # the first section
    projects = re.findall(r'<h3 class="project">[^<]*: ([^<]*)</h3>', section)
    assert projects == [NETWORK, POLLUTION]
    tables = re.findall(r'<table class="sheet">(.*?)</table>', section, flags=re.S)
    t = TEXT[lang]
    for project, table in zip(projects, tables, strict=True):
        heads = re.findall(r"<th>([^<]*)</th>", table)
        assert heads[:5] == [t["level1"], t["level2"], t["level3"], t["goal"], t["actual"]]
        rows = re.findall(r'<tr data-target="([^"]+)">(.*?)</tr>', table)
        got = []
        for target, cells in rows:
            spans = [int(x) for x in re.findall(r'<td class="level" rowspan="(\d+)">', cells)]
            # a row opens the 一级 cell, the 二级 cell, both, or neither; the first cell opened is the 一级 one
            # only where the expected table opens it
            got.append((target, spans))
        want = [(target, [s for s in (s1, s2) if s]) for target, s1, s2 in SHEET[project]]
        assert got == want, project
    level_words = re.findall(r'<td class="level" rowspan="\d+">([^<]*)</td>', section)
    l1, timeliness, quantity, quality, sat1, sat2 = LEVELS[lang]
    assert level_words == [l1, timeliness, quantity, quality, sat1, sat2, l1, quality]
    # 指标值 as the budget writes it, beside the judged threshold
    row = re.search(r'<tr data-target="hardware_fault_response_time">(.*?)</tr>', section).group(1)
    # (3600 s: 1小时 in the Chinese text, 1h in the English one)
    assert ("1 小时内" if lang == "zh" else "within 1 hour") in row
    assert ("&lt;= 1小时" if lang == "zh" else "&lt;= 1h") in row


def test_the_xlsx_first_sheet_merges_the_levels(quarter, tmp_path: Path) -> None:
    """Rows of the first sheet: 7 of the head (title, period, zone, generated, as of, coverage + org),
    then per project a blank row, the project, the heading, its targets. Merged: the 一级 cell over 9
    rows, the 时效指标 cell over 2 (hardware and security response time) and the 数量指标 cell over 5 in the
    first project; both levels over 2 rows in the second."""
    store, cfg, digest = quarter
    (path, _), = write_report(build_report(store, cfg, PERIOD, "zh", AFTER), ["xlsx"], tmp_path / "out")
    ws = openpyxl.load_workbook(path).worksheets[0]
    assert ws.title == "绩效目标表"
    col_a = [c.value for c in ws["A"]]
    first = col_a.index("一级指标") + 2  # the first target's row (1-based)
    second = col_a.index("一级指标", first) + 2
    merged = sorted(str(r) for r in ws.merged_cells.ranges)
    assert merged == sorted([f"A{first}:A{first + 8}", f"B{first}:B{first + 1}", f"B{first + 2}:B{first + 6}",
                             f"B{first + 7}:B{first + 8}", f"A{second}:A{second + 1}", f"B{second}:B{second + 1}"])
    assert ws[f"A{first}"].value == "产出指标" and ws[f"B{first}"].value == "时效指标"
    assert ws[f"A{first + 9}"].value == "满意度指标" and ws[f"C{first + 9}"].value == "服务对象满意度"
    pub = second + 1
    assert ws[f"C{pub}"].value == "重点监控企业自行监测国家公布率" and ws[f"F{pub}"].value == 0.96
    assert ws[f"I{pub}"].value == "cli:王五" and ws[f"J{pub}"].value.endswith("公布率-2026Q3.pdf")
    assert ws[f"K{pub}"].value == digest
    signoff = {r[0].value: r[1].value for r in ws.iter_rows(min_row=second + 2) if r[0].value}
    assert signoff == {"编制:": "张三", "审核:": "李四", "批准:": "________________", "日期:": "________________"}
    assert AS_OF[0] in col_a + [c.value for c in ws["B"]]


def test_one_time_zone_throughout(quarter, tmp_path: Path) -> None:
    """Asia/Shanghai: every time printed is local, each instant on its local date; the 'figures as of'
    line printed the period's end in UTC (2026-09-30 16:00:00) before issue 19."""
    store, cfg, _ = quarter
    data = build_report(store, cfg, PERIOD, "zh", AFTER)
    text = text_of(render_html(data, draw_charts=False))
    for local, utc_text in (AS_OF, GENERATED, ENTERED, HEARTBEAT, OPENED):
        assert local in text and utc_text not in text, (local, utc_text)
    offsets = set(re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ([+-]\d{2}:\d{2})", text))
    assert offsets == {"+08:00"}
    assert "+00:00" not in text and "T16:00" not in text
    assert text.count("(Asia/Shanghai)") == 3  # the incident table's three time columns name the zone
    (path, _), = write_report(data, ["xlsx"], tmp_path / "out")
    wb = openpyxl.load_workbook(path)
    values = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [v for v in values if "+00:00" in v or AS_OF[1] in v or ENTERED[1] in v]
    incidents = wb[TEXT["zh"]["s_incidents"][:31]]
    head = [c.value for c in incidents[1]]
    opened = head.index("发生时间 (Asia/Shanghai)") + 1
    row = next(r for r in incidents.iter_rows(min_row=2) if r[0].value == "INC-HW-1")
    assert row[opened - 1].value == datetime(2026, 8, 1, 8, 5)  # 00:05 UTC


def test_the_manual_value_shows_who_and_its_evidence_beside_it(quarter) -> None:
    store, cfg, digest = quarter
    html = render_html(build_report(store, cfg, PERIOD, "zh", AFTER), draw_charts=False)
    row = text_of(re.search(r'<tr data-target="self_monitoring_publication_rate">(.*?)</tr>', html).group(1))
    assert "96.000%" in row and "录入人 cli:王五" in row and ENTERED[0] in row
    assert "公布率-2026Q3.pdf" in row and f"sha256 {digest[:16]}…" in row
    survey = text_of(re.search(r'<tr data-target="satisfaction">(.*?)</tr>', html).group(1))
    assert "(n=3/3)" in survey and "录入人" not in survey  # measured by the survey, not entered by hand
    appendix = text_of(html[html.index('<section id="evidence"'):])
    assert f"sha256 {digest})" in appendix  # the whole hash in the appendix


@needs_poppler
def test_the_pdf_signoff_on_page_one_and_the_evidence_in_the_appendix(quarter, tmp_path: Path) -> None:
    """Page 1: the table and the sign-off (configured names; 批准 and 日期 left to sign). The data source,
    the target table's hash and the generator are in Appendix A, after the incidents (section 4)."""
    store, cfg, _ = quarter
    data = build_report(store, cfg, PERIOD, "zh", AFTER)
    (path, _), = write_report(data, ["pdf"], tmp_path / "out")
    first = flat(pdf_text(path, 1, 1))
    for word in ("一级指标", "二级指标", "三级指标", "指标值", "实际完成值", "产出指标", "满意度指标", "时效指标",
                 "编制:张三", "审核:李四", "批准:", "日期:"):
        assert word in first, word
    layout = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-f", "1", "-l", "1", str(path), "-"],
                            capture_output=True, text=True, check=True, timeout=60).stdout
    line = next(flat(x) for x in layout.splitlines() if "编制" in x)
    assert line == "编制:张三审核:李四批准:日期:"  # 批准 and 日期: nothing printed, a line signed by hand
    s = data.source
    for evidence in (s.targets_sha256[:16], flat(s.generator), flat(s.database)[-20:]):
        assert evidence not in first, evidence
    pages = [flat(p) for p in pdf_text(path).split("\f")]
    incidents = next(i for i, p in enumerate(pages) if "四、故障及响应" in p)
    appendix = next(i for i, p in enumerate(pages) if "附录一:数据来源与证据" in p)
    method = next(i for i, p in enumerate(pages) if "附录二:指标计算方法" in p)
    assert 0 < incidents < appendix <= method
    tail = "".join(pages[appendix:])
    assert s.targets_sha256 in tail and flat(s.generator) in tail and AS_OF[1].replace(" ", "") not in "".join(pages)


def test_set_value_stores_who_and_the_evidence_and_audits_them(store: Store, tmp_path: Path) -> None:
    """`opsmon sla set-value` (a real CLI process): a file is stored by absolute path with its SHA-256,
    a URL as given; both audited with the CLI user. No evidence, or a file that is not there: exit 2."""
    path = write_config(tmp_path, f"timezone: {TZ}\ndatabase:\n  path: {tmp_path / 'opsmon.db'}\n")
    proof = tmp_path / "survey.xlsx"
    proof.write_bytes(b"PK survey answers 2026Q3")
    digest = hashlib.sha256(b"PK survey answers 2026Q3").hexdigest()
    base = ("--config", str(path), "sla", "set-value")
    res = run_cli(*base, "self_monitoring_publication_rate", "0.96", "--period", "2026Q3", "--evidence", str(proof))
    assert res.returncode == 0, res.stderr
    assert f"evidence {proof} (sha256 {digest})" in res.stdout
    url = "https://example.invalid/national-platform/2026Q3"  # stored, never fetched
    res = run_cli(*base, "data_transmission_effective_rate", "0.93", "--period", "2026Q3", "--evidence", url)
    assert res.returncode == 0, res.stderr
    missing = run_cli(*base, "self_monitoring_publication_rate", "0.97", "--period", "2026Q3", "--evidence",
                      str(tmp_path / "nope.pdf"))
    assert missing.returncode == 2 and "nope.pdf" in missing.stderr and "cannot read" in missing.stderr
    none = run_cli(*base, "self_monitoring_publication_rate", "0.97", "--period", "2026Q3")
    assert none.returncode == 2 and "--evidence" in none.stderr
    with store.session() as s:
        rows = {r.target_id: r for r in s.scalars(select(TargetValue))}
        audit = {a.target: a for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "sla.set_value"))}
    assert set(rows) == {"self_monitoring_publication_rate", "data_transmission_effective_rate"}  # nothing else
    pub, trans = rows["self_monitoring_publication_rate"], rows["data_transmission_effective_rate"]
    assert (pub.evidence, pub.evidence_sha256, pub.value) == (str(proof), digest, 0.96)
    assert (trans.evidence, trans.evidence_sha256) == (url, None)
    assert pub.entered_by.startswith("cli:") and audit["self_monitoring_publication_rate"].actor == pub.entered_by
    assert audit["self_monitoring_publication_rate"].detail["evidence_sha256"] == digest
    assert audit["data_transmission_effective_rate"].detail["evidence"] == url
