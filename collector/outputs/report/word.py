"""The report as a Word document (.docx) the office edits in WPS or Word before it goes up (issue 21 item 9).

Built from the same ReportData as the HTML, PDF and XLSX, with the same `fmt` functions, so every figure
reads as in the other formats. Page 1 is the cover and the 绩效目标表 (一级/二级指标 as merged cells, as
the PDF draws them); where the figures come from (database, file hashes, generator) is Appendix A at the end.
Fonts are named for East Asian text too (宋体 body, 黑体 headings), which WPS and Word need to show Chinese
in the intended face rather than a fallback.

python-docx writes the OOXML: styles, merged cells and East Asian font slots are fiddly XML that a
well-kept library gets right in every Word and WPS version; writing that XML ourselves would be a second
document model to maintain.
"""
from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.outputs.report import charts, fmt
from opsmon.collector.outputs.report.labels import KINDS, METHOD, TEXT, period_title
from opsmon.collector.outputs.report.model import ReportData
from opsmon.collector.outputs.report.security_html import TEXT as SECURITY_TEXT
from opsmon.collector.outputs.report.security_html import security_blocks

BODY_FONT = ("Arial", "宋体")  # (Latin, East Asian)
HEADING_FONT = ("Arial", "黑体")


def _fonts(style: Any, latin: str, east_asian: str) -> None:
    """Name both font slots: python-docx's font.name sets only the Latin ones; w:eastAsia is what Word and
    WPS use for Chinese characters."""
    from docx.oxml.ns import qn

    style.font.name = latin
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(slot), latin)
    fonts.set(qn("w:eastAsia"), east_asian)


def _table(doc: Any, head: list[str], rows: list[list[str]]) -> Any:
    table = doc.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for values in rows:
        for cell, text in zip(table.add_row().cells, values, strict=True):
            cell.text = text
    return table


def _picture(doc: Any, png: bytes | None) -> None:
    if png is not None:
        from docx.shared import Mm

        doc.add_picture(io.BytesIO(png), width=Mm(160))


def _cover(doc: Any, data: ReportData) -> None:
    t, p = TEXT[data.lang], data.period
    tz = p.timezone
    doc.add_paragraph(data.organisation)
    doc.add_heading(f"{period_title(p.kind, data.lang)} · {p.label}", level=0)
    rows = [
        [t["period"], f"{p.label}  [{fmt.stamp(p.local_start, tz)} .. {fmt.stamp(p.local_end, tz)})"
                      + ("" if p.complete else f" {t['partial']}")],
        [t["timezone"], tz],
        [t["generated"], fmt.stamp(data.generated_at, tz)],
        [t["as_of"], fmt.stamp(p.as_of, tz)],
        [t["data_coverage"], fmt.coverage(data.coverage.coverage)],
    ]
    table = doc.add_table(rows=0, cols=2)
    for k, v in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = k, v
    if not data.has_data:
        doc.add_paragraph(t["no_data_banner"])
    elif not p.complete:
        doc.add_paragraph(t["partial_banner"])


def _targets(doc: Any, data: ReportData) -> None:
    """The 绩效目标表: 一级 and 二级指标 merged over their targets, as the PDF's rowspan cells."""
    t, lang, tz = TEXT[data.lang], data.lang, data.period.timezone
    doc.add_heading(t["s_targets"], level=1)
    head = [t["level1"], t["level2"], t["level3"], t["goal"], t["actual"], t["status"], t["margin"], t["coverage"]]
    for sheet in data.sheets:
        if sheet.project:
            doc.add_heading(f'{t["project"]}: {sheet.project}', level=2)
        table = _table(doc, head, [])
        first = len(table.rows)
        for row in sheet.rows:
            r = data.target(row.target)
            entry = fmt.entry(r, lang, tz)
            value = " ".join(x for x in (fmt.value(r, lang), fmt.sample(r)) if x) + (f"\n{entry}" if entry else "")
            goal = row.goal or fmt.threshold(r, lang)
            cells = table.add_row().cells
            texts = (fmt.target_name(r, lang), f'{goal}\n{t["judged"]} {fmt.threshold(r, lang)}', value,
                     fmt.status(r, lang), fmt.margin(r, lang), fmt.coverage(r.coverage))
            for cell, text in zip(cells[2:], texts, strict=True):
                cell.text = text
        for i, row in enumerate(sheet.rows):
            for col, span, text in ((0, row.span1, row.level1), (1, row.span2, row.level2)):
                if span:
                    top = table.cell(first + i, col)
                    merged = top.merge(table.cell(first + i + span - 1, col)) if span > 1 else top
                    merged.text = text or fmt.DASH
    s = data.signoff
    _table(doc, [t["prepared_by"], t["reviewed_by"], t["approved_by"], t["date"]],
           [[s.prepared_by or "", s.reviewed_by or "", s.approved_by or "", ""]])


def _categories(doc: Any, data: ReportData, draw: bool) -> None:
    t, lang = TEXT[data.lang], data.lang
    doc.add_heading(t["s_categories"], level=1)
    for cat in data.categories:
        r, d = cat.target, cat.target.availability
        name = fmt.target_name(r, lang)
        doc.add_heading(name, level=2)
        _table(doc, [t["availability"], t["status"], t["assets"], t["down_time"], t["coverage"], t["budget"]],
               [[fmt.pct(r.value), fmt.status(r, lang), str(d.assets), fmt.duration(d.down_seconds, lang),
                 fmt.coverage(r.coverage), fmt.budget(r.budget_left_seconds, lang)]])
        if cat.worst:
            _table(doc, ["#", t["asset"], t["name"], t["site"], t["availability"], t["down_time"], t["incidents"]],
                   [[str(i), w.asset, w.name, w.site or "-", fmt.pct(w.value), fmt.duration(w.down_seconds, lang),
                     str(w.incidents)] for i, w in enumerate(cat.worst, 1)])
        else:
            doc.add_paragraph(t["no_assets"])
        if cat.trend:
            title = t["trend"] if data.trend_kind == "month" else t["trend_daily"]
            if draw:
                _picture(doc, charts.trend_chart([p.label for p in cat.trend], [p.value for p in cat.trend],
                                                 r.threshold, f"{name} · {title}",
                                                 f"{t['threshold']} {fmt.pct(r.threshold)}"))
            if len(cat.trend) <= 12:
                _table(doc, [t["month"], *(p.label for p in cat.trend)],
                       [[t["availability"], *(fmt.pct(p.value) for p in cat.trend)],
                        [t["coverage"], *(fmt.coverage(p.coverage) for p in cat.trend)]])


def _sites(doc: Any, data: ReportData, draw: bool) -> None:
    t, lang = TEXT[data.lang], data.lang
    doc.add_heading(t["s_sites"], level=1)
    if data.link_target is None or not data.sites:
        doc.add_paragraph(t["no_link_target"] if data.link_target is None else t["no_assets"])
        return
    link = data.target(data.link_target)
    doc.add_paragraph(f"{fmt.target_name(link, lang)}: {fmt.threshold(link, lang)}")
    _table(doc, [t["site"], t["assets"], t["availability"], t["down_time"], t["coverage"], t["status"]],
           [[row.site or t["no_site"], str(row.target.availability.assets), fmt.pct(row.target.value),
             fmt.duration(row.target.availability.down_seconds, lang), fmt.coverage(row.target.coverage),
             fmt.status(row.target, lang)] for row in data.sites])
    if draw:
        _picture(doc, charts.sites_chart([r.site or t["no_site"] for r in data.sites],
                                         [r.target.value for r in data.sites], link.threshold,
                                         f"{fmt.target_name(link, lang)} · {t['site']}",
                                         f"{t['threshold']} {fmt.pct(link.threshold)}"))


def _incidents(doc: Any, data: ReportData) -> None:
    t, lang, tz = TEXT[data.lang], data.lang, data.period.timezone
    doc.add_heading(t["s_incidents"], level=1)
    if not data.incidents:
        doc.add_paragraph(t["no_incidents"])
        return
    rows = []
    for inc in data.incidents:
        kind = t["hardware"] if inc.hardware else KINDS[lang].get(inc.kind, inc.kind)
        ack = (f"{fmt.when(inc.acknowledged_at, tz)} {inc.acknowledged_by or '-'}" if inc.acknowledged_at
               else t["unacknowledged"])
        cause = " / ".join(x for x in (inc.cause, inc.note) if x)
        if inc.breached:
            cause = " / ".join(x for x in (cause, t["breach"]) if x)
        rows.append([f"{inc.id} · {inc.asset} · {kind}", fmt.when(inc.opened_at, tz), ack,
                     fmt.duration(inc.response_seconds, lang), fmt.when(inc.resolved_at, tz), cause or "-"])
    _table(doc, [f'{t["id"]} · {t["asset"]} · {t["kind"]}', fmt.zoned(t["opened"], tz),
                 fmt.zoned(f'{t["acknowledged"]} · {t["by"]}', tz), t["response"], fmt.zoned(t["resolved"], tz),
                 t["cause"]], rows)


def _maintenance(doc: Any, data: ReportData) -> None:
    t, lang, tz = TEXT[data.lang], data.lang, data.period.timezone
    doc.add_heading(t["s_maintenance"], level=1)
    doc.add_heading(t["windows"], level=2)
    if data.windows:
        _table(doc, [t["window"], t["scope"], t["schedule"], t["reason"]],
               [[f'{w.id} ({t["from_config"] if w.source == "config" else t["from_api"]})',
                 ", ".join([*w.assets, *w.sites, *(f"#{x}" for x in w.tags)]),
                 (f"{fmt.stamp(w.start, tz)} .. {fmt.stamp(w.end, tz)}" if w.start
                  else f"cron {w.cron} · {fmt.duration(w.duration_seconds, lang)}"), w.reason or "-"]
                for w in data.windows])
    else:
        doc.add_paragraph(t["no_windows"])
    doc.add_heading(t["per_category"], level=2)
    _table(doc, [t["target"], t["maintenance_time"], t["unknown_time"], t["unreachable_time"], t["expected"],
                 t["coverage"], t["coverage_floor"], t["status"]],
           [[fmt.target_name(c.target, lang), fmt.duration(c.target.availability.maintenance_seconds, lang),
             fmt.duration(c.target.availability.unknown_seconds, lang),
             fmt.duration(c.target.availability.unreachable_excluded_seconds, lang),
             fmt.duration(c.target.availability.expected_seconds, lang), fmt.coverage(c.target.coverage),
             fmt.coverage(data.coverage_floors[c.target.id]), fmt.status(c.target, lang)] for c in data.categories])


def _exclusions(doc: Any, data: ReportData) -> None:
    t, tz = TEXT[data.lang], data.period.timezone
    doc.add_heading(t["s_exclusions"], level=1)
    if not data.exclusions:
        doc.add_paragraph(t["no_exclusions"])
        return
    _table(doc, [t["excluded_what"], t["taken_out"], t["requested_by"], t["excl_approved_by"], t["reason"]],
           [[f'{t["incident_word"]} {x.incident}' if x.incident else
             f"{x.asset} {fmt.when(x.start, tz)} .. {fmt.when(x.end, tz)}",
             fmt.duration(x.taken_out_seconds, data.lang), f"{x.requested_by} {fmt.when(x.requested_at, tz)}",
             f"{x.approved_by} {fmt.when(x.approved_at, tz)}", x.reason] for x in data.exclusions])


def _security(doc: Any, data: ReportData) -> None:
    t, sec = TEXT[data.lang], data.security or {}
    doc.add_heading(t["s_security"], level=1)
    doc.add_paragraph(f'{t["findings_opened"]}: {sec.get("findings_opened", 0)}; '
                      f'{t["findings_closed"]}: {sec.get("findings_closed", 0)}')
    doc.add_paragraph(t["baseline_as_of"])
    if not sec.get("controls"):
        doc.add_paragraph(t["no_baseline"])
    else:
        head = [t["passed"], t["failed"], t["compliance"]]
        _table(doc, [t["control_point"], *head], [[row[data.lang], str(row["passed"]), str(row["failed"]),
                                                   f'{row["score"] * 100:.1f}%'] for row in sec["controls"]])
        _table(doc, [t["host"], *head], [[row["asset"], str(row["passed"]), str(row["failed"]),
                                          f'{row["score"] * 100:.1f}%'] for row in sec["hosts"]])
    # The period's trend, events and security incidents: the HTML's blocks (security_html.py), as Word text.
    doc.add_heading(SECURITY_TEXT[data.lang]["title"], level=2)
    for kind, a, b in security_blocks(data):
        if kind == "h":
            doc.add_heading(a, level=3)
        elif kind == "p":
            doc.add_paragraph(a)
        else:
            _table(doc, a, [[str(c) for c in row] for row in b])


def _evidence(doc: Any, data: ReportData) -> None:
    """Appendix A, at the end as in the other formats: database, targets file and its hash, counts."""
    t, lang, tz, s = TEXT[data.lang], data.lang, data.period.timezone, data.source
    doc.add_page_break()
    doc.add_heading(t["s_evidence"], level=1)
    _table(doc, ["", ""], [
        [t["source"], s.database], [t["targets_file"], s.targets_file], ["sha256", s.targets_sha256 or fmt.DASH],
        [t["assets_count"], str(s.assets)], [t["intervals_count"], str(s.intervals)],
        [t["incidents_count"], str(s.incidents)], [t["last_heartbeat"], fmt.stamp(s.last_heartbeat, tz)],
        [t["generator"], s.generator], [t["timezone"], tz]])
    doc.add_heading(t["manual_entries"], level=2)
    entered = [(r, fmt.entry(r, lang, tz, full=True)) for r in data.targets if r.measure == "manual"]
    entered = [(r, e) for r, e in entered if e]
    for r, e in entered:
        doc.add_paragraph(f"{fmt.target_name(r, lang)}: {fmt.value(r, lang)} · {e}", style="List Bullet")
    if not entered:
        doc.add_paragraph(t["no_manual"])


def render_docx(data: ReportData, draw_charts: bool | None = None) -> bytes:
    """The report as .docx bytes (python-docx, extra `report`). Charts are drawn when matplotlib is there."""
    try:
        import docx
        from docx.shared import Pt
    except ImportError as exc:
        from opsmon.collector.core.errors import OpsmonError

        raise OpsmonError(f"DOCX output needs python-docx (pip install 'opsmon[report]'): {exc}") from None
    draw = charts.available() if draw_charts is None else draw_charts
    doc = docx.Document()
    normal = doc.styles["Normal"]
    _fonts(normal, *BODY_FONT)
    normal.font.size = Pt(10.5)  # 五号
    for name in ("Title", "Heading 1", "Heading 2"):
        _fonts(doc.styles[name], *HEADING_FONT)
    props = doc.core_properties
    props.title = f"{data.organisation} · {period_title(data.period.kind, data.lang)} · {data.period.label}"
    props.author = props.last_modified_by = "opsmon"
    props.language = "zh-CN" if data.lang == "zh" else "en"
    # python-docx writes the time as UTC with a Z whatever its zone: give it UTC (generated_at is local).
    created = datetime.fromisoformat(data.generated_at).astimezone(UTC)
    props.created = props.modified = created
    _cover(doc, data)
    _targets(doc, data)
    _categories(doc, data, draw)
    _sites(doc, data, draw)
    _incidents(doc, data)
    _maintenance(doc, data)
    _exclusions(doc, data)
    _security(doc, data)
    _evidence(doc, data)
    doc.add_heading(TEXT[data.lang]["s_method"], level=1)
    for heading, text in METHOD[data.lang]:
        doc.add_heading(heading, level=2)
        doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
