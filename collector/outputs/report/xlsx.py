"""The spreadsheet: one sheet per section, every figure a real number with a number format.

Why numbers: an auditor re-checks the figures (sums, ratios) in Excel or WPS; text such as
"98.913%" cannot be added up. Ratios are stored as fractions with a percent format, durations as
seconds (with a [h]:mm:ss companion column where it helps reading).
"""
from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from opsmon.collector.outputs.report import fmt
from opsmon.collector.outputs.report.labels import KINDS, METHOD, TEXT, period_title
from opsmon.collector.outputs.report.model import ReportData

PCT = "0.000%"
PCT1 = "0.0%"
SECONDS = "#,##0"
DAYS = "[h]:mm:ss"


def _sheet_name(text: str) -> str:
    """Excel: at most 31 characters, none of []:*?/\\."""
    for ch in "[]:*?/\\":
        text = text.replace(ch, " ")
    return text[:31]


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
        ws = wb.active if first else wb.create_sheet()
        ws.title = _sheet_name(title)
        if header:
            ws.append(header)
            for cell in ws[ws.max_row]:
                cell.font, cell.fill = bold, head_fill
            ws.freeze_panes = f"A{ws.max_row + 1}"  # ws.cell() here would create an empty row
        return ws

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

    # Cover
    p, s = data.period, data.source
    ws = sheet(t["organisation"] if lang == "en" else "封面", [], first=True)
    ws.append([data.organisation])
    ws.append([f"{period_title(p.kind, lang)} · {p.label}"])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in ((t["period"], p.label), ("start", p.local_start), ("end", p.local_end), (t["timezone"], p.timezone),
                 (t["generated"], data.generated_at), (t["as_of"], p.as_of.isoformat()), ("complete", p.complete),
                 (t["source"], s.database), (t["targets_file"], s.targets_file), ("sha256", s.targets_sha256),
                 (t["assets_count"], s.assets), (t["intervals_count"], s.intervals),
                 (t["incidents_count"], s.incidents), (t["last_heartbeat"], s.last_heartbeat or "-")):
        ws.append([k, v])
    put(ws, [t["data_coverage"], data.coverage.coverage], {2: PCT1})
    if not data.has_data:
        put(ws, [t["no_data_banner"]])[0].font = red
    widths(ws, [28, 70])

    # Targets
    ws = sheet(t["s_targets"], ["id", t["project"], t["target"], "comparator", t["threshold"], t["value"], "unit",
                                t["status"], "pass", t["margin"], t["coverage"], t["coverage_floor"],
                                t["budget"] + " (s)"])
    for r in data.targets:
        unit = r.unit
        number = PCT if unit == "ratio" else (SECONDS if unit == "seconds" else "0.###")
        cells = put(ws, [r.id, r.project, fmt.target_name(r, lang), r.comparator, r.threshold,
                 r.value, unit, fmt.status(r, lang), r.passed, fmt.margin_number(r), r.coverage,
                 data.coverage_floors[r.id], r.budget_left_seconds],
            {5: number, 6: number, 10: number, 11: PCT1, 12: PCT1, 13: SECONDS})
        if not r.passed:
            cells[7].font = red
    widths(ws, [30, 24, 36, 6, 12, 12, 8, 10, 6, 12, 10, 10, 14])

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
                                  t["opened"], t["acknowledged"], t["by"], t["response"] + " (s)", t["resolved"],
                                  t["cause"], t["breach"], t["breach_missed"]])
    for inc in data.incidents:
        cells = put(ws, [inc.id, inc.asset, inc.asset_name, KINDS[lang].get(inc.kind, inc.kind), inc.hardware,
                         inc.severity, inc.status, _dt(inc.opened_at), _dt(inc.acknowledged_at), inc.acknowledged_by,
                 inc.response_seconds, _dt(inc.resolved_at), " / ".join(x for x in (inc.cause, inc.note) if x),
                 inc.breached, ", ".join(inc.missed)],
            {8: "yyyy-mm-dd hh:mm:ss", 9: "yyyy-mm-dd hh:mm:ss", 11: SECONDS, 12: "yyyy-mm-dd hh:mm:ss"})
        if inc.breached:
            cells[13].font = red
    widths(ws, [18, 18, 24, 10, 8, 8, 12, 19, 19, 14, 12, 19, 40, 8, 30])
    ws = sheet(t["trail"], [t["id"], "ts", "actor", "action", "detail"])
    for inc in data.incidents:
        for e in inc.trail:
            put(ws, [inc.id, _dt(e.ts), e.actor, e.action, _detail(e.detail)], {2: "yyyy-mm-dd hh:mm:ss"})
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
    ws = sheet(t["windows"], [t["window"], "source", "assets", "sites", "tags", "start", "end", "cron",
                              "duration (s)", t["reason"]])
    for w in data.windows:
        put(ws, [w.id, w.source, ", ".join(w.assets), ", ".join(w.sites), ", ".join(w.tags), w.start, w.end, w.cron,
                 w.duration_seconds, w.reason], {9: SECONDS})
    widths(ws, [20, 8, 24, 16, 16, 26, 26, 14, 12, 40])
    ws = sheet(t["sheet_exclusions"], ["id", t["incident_word"], t["asset"], "start", "end", t["taken_out"] + " (s)",
                                   t["requested_by"], "requested_at", t["approved_by"], "approved_at", t["reason"]])
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

    ws = sheet(t["s_method"], [])
    wrap = Alignment(wrap_text=True, vertical="top")
    for heading, text in METHOD[lang]:
        cells = put(ws, [heading, text])
        cells[0].font, cells[1].alignment = bold, wrap
    widths(ws, [18, 110])

    # Fixed document properties, so only the zip's own timestamps differ between regenerations.
    created = datetime.fromisoformat(data.generated_at).replace(tzinfo=None)
    wb.properties.created = wb.properties.modified = created
    wb.properties.creator = "opsmon"
    wb.properties.title = f"{data.organisation} {p.label}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _dt(iso: str | None) -> datetime | None:
    """Local wall-clock time as an Excel date (Excel has no zone; the zone is on the cover sheet)."""
    return datetime.fromisoformat(iso).replace(tzinfo=None) if iso else None


def _detail(detail: dict[str, Any]) -> str:
    import json

    return json.dumps(detail, ensure_ascii=False, sort_keys=True)
