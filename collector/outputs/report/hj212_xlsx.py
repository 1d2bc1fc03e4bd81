"""The semi-monthly HJ 212 report as a spreadsheet: one sheet per section, counts as integers and rates as
fractions with a percent format (as the SLA report's xlsx.py does), so an auditor can re-add 应传 and
re-divide 实传 / 应传 in Excel or WPS."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from opsmon.collector.outputs.report.hj212_labels import HJ_TEXT
from opsmon.collector.outputs.report.hj212_model import FLAGS, STUCK_RUN, Hj212ReportData
from opsmon.collector.outputs.report.xlsx import _dt, add_sheet, save

RATE = "0.00%"  # two decimals: the figure `opsmon hj212 rates` prints
_LEVEL_KEYS = {"site": ("prefecture",), "enterprise": ("prefecture", "enterprise"),
               "point": ("prefecture", "enterprise", "dau", "point")}


def render_hj212_xlsx(data: Hj212ReportData) -> bytes:
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
    except ImportError as exc:
        from opsmon.collector.core.errors import OpsmonError

        raise OpsmonError(f"XLSX output needs openpyxl (pip install 'opsmon[report]'): {exc}") from None
    t = HJ_TEXT[data.lang]
    tz = data.period.timezone
    wb = Workbook()

    def sheet(title: str, header: list[str], first: bool = False) -> Any:
        return add_sheet(wb, title, header, first)

    def row(ws: Any, values: list[Any], formats: dict[int, str] | None = None) -> None:
        ws.append(values)
        for col, number_format in (formats or {}).items():
            ws.cell(row=ws.max_row, column=col).number_format = number_format

    p = data.period
    ws = sheet(t["s_overview"], [], first=True)
    ws.append([data.organisation])
    ws.append([f"{t['hj_title'] if p.kind == 'half' else t['hj_title_other']} · {p.label}"])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in ((t["period"], p.label), (t["timezone"], tz), ("start", _dt(p.local_start, tz)),
                 ("end", _dt(p.local_end, tz)), (t["generated"], _dt(data.generated_at, tz)),
                 (t["as_of"], _dt(p.as_of, tz)), (t["daus"], data.daus), (t["enterprises"], data.enterprises),
                 (t["points"], data.points), (t["series"], data.series), (t["online_points"], data.online_points)):
        row(ws, [k, v], {2: "yyyy-mm-dd hh:mm:ss"} if isinstance(v, datetime) else None)
    row(ws, [t["rate"], data.region.rate], {2: RATE})
    row(ws, [t["threshold_line"], data.threshold], {2: RATE})

    ws = sheet(t["s_online"], [t["prefecture"], t["enterprise"], t["dau"], t["point"], t["sent_hours"],
                               f"{t['last_value']} ({tz})", t["longest_silence"], f"{t['silence_from']} ({tz})"])
    for o in data.online:
        row(ws, [o.site, o.enterprise, o.asset, o.point, o.sent_hours, _dt(o.last_value, tz), o.longest_silence,
                 _dt(o.silence_from, tz)], {6: "yyyy-mm-dd hh:mm", 8: "yyyy-mm-dd hh:mm"})

    counts = ["should", "transmitted", "effective", "exempt", "late", "tr_rate", "eff_rate", "rate"]
    for level, rows, title in (("site", data.sites, t["by_site"]), ("enterprise", data.enterprise_rows,
                                                                       t["by_enterprise"]),
                               ("point", data.point_rows, t["by_point"])):
        keys = _LEVEL_KEYS[level]
        ws = sheet(title, [t[k] for k in keys] + [t[c] for c in counts] + ["< 90%", "< 60%", "= 0"])
        n = len(keys)
        items = list(rows) + ([data.region] if level == "site" else [])
        for g in items:
            c = g.counts
            key = list(g.key) if g.level == level else [t["region_total"]]
            row(ws, key + [None] * (n - len(key)) + [c.should, c.transmitted, c.effective, c.exempt, c.late,
                                                     g.transmission_rate, g.effective_rate, g.rate,
                                                     g.rate is not None and g.rate < data.threshold,
                                                     g.rate is not None and g.rate < 0.6, g.rate == 0.0],
                {n + 6: RATE, n + 7: RATE, n + 8: RATE})

    ws = sheet(t["s_exceed"], [t["enterprise"], t["dau"], t["point"], t["factor"], t["limit"], "unit",
                               t["exceed_hours"], t["max_value"], t["max_multiple"], f"{t['exceed_when']} ({tz})"])
    for x in data.exceedances:
        row(ws, [x.enterprise, x.asset, x.point, x.factor, x.limit, x.unit, x.count, x.max_value, x.max_multiple,
                 ", ".join(h[:16].replace("T", " ") for h in x.hours)], {9: "0.00"})
    ws = sheet(t["s_faults"], [t["enterprise"], t["dau"], t["point"], *FLAGS, t["other_flags"]])
    for f in data.flags:
        row(ws, [f.enterprise, f.asset, f.point, *(f.flags[k] for k in FLAGS), f.other])
    ws = sheet(t["stuck"].format(n=STUCK_RUN)[:31], [t["dau"], t["point"], t["factor"], t["value"],
                                                     f"{t['start']} ({tz})", t["hours"]])
    for s in data.stuck:
        row(ws, [s.asset, s.point, s.factor, s.value, _dt(s.start, tz), s.hours], {5: "yyyy-mm-dd hh:mm"})
    ws = sheet(t["exemptions"], ["#", t["dau"], t["point"], t["factor"], f"{t['start']} ({tz})", f"end ({tz})",
                                 t["kind"], t["reason"], t["proof"], t["entered"], f"{t['entered']} ({tz})"])
    for e in data.exemptions:
        row(ws, [e.id, e.asset, e.point or "*", e.factor or "*", _dt(e.start, tz), _dt(e.end, tz), e.kind, e.reason,
                 e.proof, e.entered_by, _dt(e.entered_at, tz)],
            {5: "yyyy-mm-dd hh:mm", 6: "yyyy-mm-dd hh:mm", 11: "yyyy-mm-dd hh:mm"})
    ws = sheet(t["late"], [t["dau"], t["point"], t["factor"], f"{t['hour']} ({tz})", f"{t['received']} ({tz})"])
    for v in data.late:
        row(ws, [v.asset, v.point, v.factor, _dt(v.hour, tz), _dt(v.received, tz)],
            {4: "yyyy-mm-dd hh:mm", 5: "yyyy-mm-dd hh:mm:ss"})
    ws = sheet(t["s_appendix"], [t["prefecture"], t["enterprise"], t["dau"], t["point"], t["factor"],
                                 *(t[c] for c in counts[:5])])
    for s, c in data.series_rows:
        row(ws, [s.site, s.enterprise, s.asset_id, s.point, s.factor, c.should, c.transmitted, c.effective,
                 c.exempt, c.late])
    ws = sheet(t["s_hj_evidence"], [])
    src = data.source
    for k, v in ((t["source"], src.database), (t["targets_file"], src.targets_file), ("sha256", src.targets_sha256),
                 (t["hourly_rows"], src.hourly_rows),
                 (t["rules"], ", ".join(f"{k}={v}" for k, v in src.rules.items())),
                 (t["rerun"], f"opsmon hj212 rates --period {p.label} --by point"), (t["generator"], src.generator),
                 (t["timezone"], tz), ("complete", p.complete)):
        ws.append([k, v])
    return save(wb, data.generated_at, f"{data.organisation} {p.label}")
