"""The spreadsheet: one sheet per section, every figure a real number with a number format.

Why numbers: an auditor re-checks the figures (sums, ratios) in Excel or WPS; text such as
"98.913%" cannot be added up. Ratios are stored as fractions with a percent format, durations as
seconds (with a [h]:mm:ss companion column where it helps reading).
"""
from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from opsmon.collector.outputs.report import fmt
from opsmon.collector.outputs.report.labels import KINDS, METHOD, TEXT, period_title
from opsmon.collector.outputs.report.model import ReportData
from opsmon.collector.sla.results import ManualDetail

PCT = "0.000%"
PCT1 = "0.0%"
SECONDS = "#,##0"
DAYS = "[h]:mm:ss"


def _sheet_name(text: str) -> str:
    """Excel: at most 31 characters, none of []:*?/\\."""
    for ch in "[]:*?/\\":
        text = text.replace(ch, " ")
    return text[:31]


def add_sheet(wb: Any, title: str, header: list[str], first: bool = False) -> Any:
    """A sheet titled `title` (the workbook's first, or a new one) with a bold, filled, frozen header row;
    shared with the HJ 212 report's spreadsheet (hj212_xlsx.py)."""
    from openpyxl.styles import Font, PatternFill

    ws = wb.active if first else wb.create_sheet()
    ws.title = _sheet_name(title)
    if header:
        ws.append(header)
        for cell in ws[ws.max_row]:
            cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="E8EEF4")
        ws.freeze_panes = f"A{ws.max_row + 1}"  # ws.cell() here would create an empty row
    return ws


def render_xlsx(data: ReportData) -> bytes:
    try:
        from openpyxl import Workbook
        from openpyxl.cell import Cell
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.utils import get_column_letter
    except ImportError as exc:
        from opsmon.collector.core.errors import OpsmonError

        raise OpsmonError(f"XLSX output needs openpyxl (pip install 'opsmon[report]'): {exc}") from None
    t = TEXT[data.lang]
    lang = data.lang
    wb = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="E8EEF4")
    red = Font(color="C0392B", bold=True)

    def sheet(title: str, header: list[str], first: bool = False) -> Any:
        return add_sheet(wb, title, header, first)

    def put(ws: Any, values: list[Any], formats: dict[int, str] | None = None) -> list[Any]:
        """Append a row of cells made here (ws.max_row is a scan of every cell: quadratic on 2,000 rows)."""
        cells = [Cell(ws, value=v) for v in values]
        for col, number_format in (formats or {}).items():
            cells[col - 1].number_format = number_format
        ws.append(cells)
        return cells

    def widths(ws: Any, sizes: list[int]) -> None:
        for i, w in enumerate(sizes, 1):
            ws.column_dimensions[get_column_letter(i)].width = w

    # The 绩效目标表 first, laid out as the budget prints it: 一级/二级 merged over their targets.
    p, s = data.period, data.source
    tz = p.timezone
    ws = sheet(t["sheet"], [], first=True)
    ws.append([data.organisation])
    ws.append([f"{period_title(p.kind, lang)} · {p.label}"])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in ((t["period"], f"{p.label} [{fmt.stamp(p.local_start, tz)} .. {fmt.stamp(p.local_end, tz)})"),
                 (t["timezone"], tz), (t["generated"], fmt.stamp(data.generated_at, tz)),
                 (t["as_of"], fmt.stamp(p.as_of, tz))):
        ws.append([k, v])
    put(ws, [t["data_coverage"], data.coverage.coverage], {2: PCT1})
    if not data.has_data:
        put(ws, [t["no_data_banner"]])[0].font = red
    middle = Alignment(vertical="center", horizontal="center", wrap_text=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for block in data.sheets:
        ws.append([])
        if block.project:
            put(ws, [f'{t["project"]}: {block.project}'])[0].font = bold
        cells = put(ws, [t["level1"], t["level2"], t["level3"], t["goal"], t["judged"], t["actual"], t["status"],
                         t["coverage"], t["entered_by"], t["evidence"], "sha256"])
        for cell in cells:
            cell.font, cell.fill = bold, head_fill
        for row in block.rows:
            r = data.target(row.target)
            detail = r.detail if isinstance(r.detail, ManualDetail) else None
            unit = PCT if r.unit == "ratio" else (SECONDS if r.unit == "seconds" else "0.###")
            cells = put(ws, [row.level1 if row.span1 else None, row.level2 if row.span2 else None,
                             fmt.target_name(r, lang), row.goal or fmt.threshold(r, lang), fmt.threshold(r, lang),
                             r.value,
                             fmt.status(r, lang), r.coverage, detail.entered_by if detail else None,
                             detail.evidence if detail else None, detail.evidence_sha256 if detail else None],
                        {6: unit, 8: PCT1})
            at = cells[0].row
            for col, span in ((1, row.span1), (2, row.span2)):
                if span:
                    ws.cell(row=at, column=col).alignment = middle
                    if span > 1:
                        ws.merge_cells(start_row=at, start_column=col, end_row=at + span - 1, end_column=col)
            if not r.passed:
                cells[6].font = red
    ws.append([])
    so = data.signoff
    for k, v in ((t["prepared_by"], so.prepared_by), (t["reviewed_by"], so.reviewed_by),
                 (t["approved_by"], so.approved_by), (t["date"], "")):
        put(ws, [f"{k}:", v or "________________"])
    widths(ws, [14, 12, 36, 18, 14, 12, 10, 10, 14, 40, 20])

    # Targets, flat: one row each, every figure a number (to re-check and sort)
    ws = sheet(t["s_targets"], ["id", t["project"], t["level1"], t["level2"], t["target"], t["goal"], "comparator",
                                t["threshold"], t["value"], "unit", t["status"], "pass", t["margin"], t["coverage"],
                                t["coverage_floor"], t["budget"] + " (s)", t["entered_by"],
                                fmt.zoned(t["entered_at"], tz), t["evidence"], "sha256"])
    levels = {row.target: row for block in data.sheets for row in block.rows}
    for r in data.targets:
        unit = r.unit
        number = PCT if unit == "ratio" else (SECONDS if unit == "seconds" else "0.###")
        place = levels.get(r.id)
        detail = r.detail if isinstance(r.detail, ManualDetail) else None
        cells = put(ws, [r.id, r.project, place.level1 if place else None, place.level2 if place else None,
                         fmt.target_name(r, lang), place.goal if place else None, r.comparator, r.threshold,
                         r.value, unit, fmt.status(r, lang), r.passed, fmt.margin_number(r), r.coverage,
                         data.coverage_floors[r.id], r.budget_left_seconds,
                         detail.entered_by if detail else None, _dt(detail.entered_at, tz) if detail else None,
                         detail.evidence if detail else None, detail.evidence_sha256 if detail else None],
                    {8: number, 9: number, 13: number, 14: PCT1, 15: PCT1, 16: SECONDS, 18: "yyyy-mm-dd hh:mm:ss"})
        if not r.passed:
            cells[10].font = red
    widths(ws, [30, 24, 12, 12, 36, 14, 6, 12, 12, 8, 10, 6, 12, 10, 10, 14, 14, 19, 40, 20])

    # Categories: summary, worst assets, trend
    ws = sheet(t["s_categories"], ["id", t["target"], t["availability"], t["status"], t["assets"],
                                   t["up_time"] + " (s)", t["down_time"] + " (s)", t["observed"] + " (s)",
                                   t["coverage"], t["budget"] + " (s)"])
    for cat in data.categories:
        r, d = cat.target, cat.target.availability
        put(ws, [r.id, fmt.target_name(r, lang), r.value, fmt.status(r, lang), d.assets,
                 d.up_seconds, d.down_seconds, d.observed_seconds, r.coverage,
                 r.budget_left_seconds], {3: PCT, 6: SECONDS, 7: SECONDS, 8: SECONDS, 9: PCT1, 10: SECONDS})
    widths(ws, [30, 36, 12, 10, 8, 14, 14, 14, 10, 14])
    ws = sheet(t["worst"], ["id", t["target"], "#", t["asset"], t["name"], t["site"], t["availability"],
                            t["down_time"] + " (s)", t["down_time"], t["incidents"]])
    for cat in data.categories:
        for i, w in enumerate(cat.worst, 1):
            put(ws, [cat.target.id, fmt.target_name(cat.target, lang), i, w.asset, w.name, w.site, w.value,
                     w.down_seconds, w.down_seconds / 86400, w.incidents], {7: PCT, 8: SECONDS, 9: DAYS})
    widths(ws, [30, 30, 4, 24, 30, 14, 12, 14, 12, 8])
    ws = sheet(t["trend"] if data.trend_kind == "month" else t["trend_daily"],
               ["id", t["target"], t["month"], t["availability"], t["coverage"], t["status"]])
    for cat in data.categories:
        for pt in cat.trend:
            put(ws, [cat.target.id, fmt.target_name(cat.target, lang), pt.label, pt.value, pt.coverage,
                     TEXT[lang][pt.status]], {4: PCT, 5: PCT1})
    widths(ws, [30, 30, 10, 12, 10, 10])

    # Sites
    ws = sheet(t["s_sites"], [t["site"], t["assets"], t["availability"], t["down_time"] + " (s)", t["coverage"],
                              t["status"]])
    for row in data.sites:
        r = row.target
        put(ws, [row.site or t["no_site"], r.availability.assets, r.value,
                 r.availability.down_seconds, r.coverage, fmt.status(r, lang)],
            {3: PCT, 4: SECONDS, 5: PCT1})
    widths(ws, [20, 8, 12, 14, 10, 10])

    # Incidents (and the escalation trail of breaches, one row per step)
    ws = sheet(t["s_incidents"], [t["id"], t["asset"], t["name"], t["kind"], t["hardware"], t["severity"], "status",
                                  fmt.zoned(t["opened"], tz), fmt.zoned(t["acknowledged"], tz), t["by"],
                                  t["response"] + " (s)", fmt.zoned(t["resolved"], tz),
                                  t["cause"], t["breach"], t["breach_missed"]])
    for inc in data.incidents:
        cells = put(ws, [inc.id, inc.asset, inc.asset_name, KINDS[lang].get(inc.kind, inc.kind), inc.hardware,
                         inc.severity, inc.status, _dt(inc.opened_at, tz), _dt(inc.acknowledged_at, tz),
                         inc.acknowledged_by, inc.response_seconds, _dt(inc.resolved_at, tz),
                         " / ".join(x for x in (inc.cause, inc.note) if x), inc.breached, ", ".join(inc.missed)],
            {8: "yyyy-mm-dd hh:mm:ss", 9: "yyyy-mm-dd hh:mm:ss", 11: SECONDS, 12: "yyyy-mm-dd hh:mm:ss"})
        if inc.breached:
            cells[13].font = red
    widths(ws, [18, 18, 24, 10, 8, 8, 12, 19, 19, 14, 12, 19, 40, 8, 30])
    ws = sheet(t["trail"], [t["id"], fmt.zoned("ts", tz), "actor", "action", "detail"])
    for inc in data.incidents:
        for e in inc.trail:
            put(ws, [inc.id, _dt(e.ts, tz), e.actor, e.action, _detail(e.detail)], {2: "yyyy-mm-dd hh:mm:ss"})
    widths(ws, [18, 19, 24, 14, 60])

    # Maintenance, unknown time, coverage
    ws = sheet(t["s_maintenance"], ["id", t["target"], t["maintenance_time"] + " (s)", t["unknown_time"] + " (s)",
                                    t["unreachable_time"] + " (s)", t["expected"] + " (s)", t["coverage"],
                                    t["coverage_floor"], t["status"], t["flagged"]])
    for cat in data.categories:
        r, d = cat.target, cat.target.availability
        put(ws, [r.id, fmt.target_name(r, lang), d.maintenance_seconds, d.unknown_seconds,
                 d.unreachable_excluded_seconds, d.expected_seconds, r.coverage,
                 data.coverage_floors[r.id], fmt.status(r, lang), r.status == "low_coverage"],
            {3: SECONDS, 4: SECONDS, 5: SECONDS, 6: SECONDS, 7: PCT1, 8: PCT1})
    widths(ws, [30, 36, 16, 16, 16, 16, 10, 10, 10, 8])
    ws = sheet(t["windows"], [t["window"], "source", "assets", "sites", "tags", fmt.zoned("start", tz),
                              fmt.zoned("end", tz), "cron",
                              "duration (s)", t["reason"]])
    for w in data.windows:
        put(ws, [w.id, w.source, ", ".join(w.assets), ", ".join(w.sites), ", ".join(w.tags), _dt(w.start, tz),
                 _dt(w.end, tz), w.cron, w.duration_seconds, w.reason],
            {6: "yyyy-mm-dd hh:mm:ss", 7: "yyyy-mm-dd hh:mm:ss", 9: SECONDS})
    widths(ws, [20, 8, 24, 16, 16, 26, 26, 14, 12, 40])
    ws = sheet(t["sheet_exclusions"], ["id", t["incident_word"], t["asset"], "start", "end", t["taken_out"] + " (s)",
                                   t["requested_by"], "requested_at", t["excl_approved_by"], "approved_at",
                                   t["reason"]])
    for x in data.exclusions:
        put(ws, [x.id, x.incident, x.asset, x.start, x.end, x.taken_out_seconds, x.requested_by, x.requested_at,
                 x.approved_by, x.approved_at, x.reason], {6: SECONDS})
    widths(ws, [6, 24, 16, 26, 26, 12, 20, 26, 20, 26, 40])

    # Method
    sec = data.security or {}
    ws = sheet(t["s_security"], [t["control_point"], "id", t["passed"], t["failed"], t["compliance"]])
    for row in sec.get("controls", []):
        put(ws, [row[lang], row["control"], row["passed"], row["failed"], row["score"]], {5: "0.0%"})
    put(ws, [])
    put(ws, [t["host"], "", t["passed"], t["failed"], t["compliance"]])
    for row in sec.get("hosts", []):
        put(ws, [row["asset"], "", row["passed"], row["failed"], row["score"]], {5: "0.0%"})
    put(ws, [])
    put(ws, [t["findings_opened"], sec.get("findings_opened", 0)])
    put(ws, [t["findings_closed"], sec.get("findings_closed", 0)])

    # Appendix A: the evidence (moved off the first sheet)
    ws = sheet(t["s_evidence"], [])
    for k, v in ((t["source"], s.database), (t["targets_file"], s.targets_file), ("sha256", s.targets_sha256),
                 (t["assets_count"], s.assets), (t["intervals_count"], s.intervals),
                 (t["incidents_count"], s.incidents), (t["last_heartbeat"], fmt.stamp(s.last_heartbeat, tz)),
                 (t["generator"], s.generator), (t["timezone"], tz), ("complete", p.complete)):
        ws.append([k, v])
    ws.append([])
    put(ws, [t["manual_entries"]])[0].font = bold
    for r in data.targets:
        entry = fmt.entry(r, lang, tz, full=True)
        if entry:
            put(ws, [fmt.target_name(r, lang), entry])
    widths(ws, [28, 100])

    ws = sheet(t["s_method"], [])
    for heading, text in METHOD[lang]:
        cells = put(ws, [heading, text])
        cells[0].font, cells[1].alignment = bold, wrap
    widths(ws, [18, 110])

    return save(wb, data.generated_at, f"{data.organisation} {p.label}")


def save(wb: Any, generated_at: str, title: str) -> bytes:
    """The workbook's bytes with fixed document properties, so only the zip's own timestamps differ between
    regenerations. OOXML stamps them as UTC ("...Z"): given in UTC, not in the report's zone, so they are
    not shifted."""
    created = datetime.fromisoformat(generated_at).astimezone(UTC).replace(tzinfo=None)
    wb.properties.created = wb.properties.modified = created
    wb.properties.creator = "opsmon"
    wb.properties.title = title
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _dt(value: str | datetime | None, tz: str) -> datetime | None:
    """Wall-clock time in the report's zone as an Excel date (Excel has no zone: the column heading names it)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def _detail(detail: dict[str, Any]) -> str:
    import json

    return json.dumps(detail, ensure_ascii=False, sort_keys=True)
