"""The semi-monthly HJ 212 report as one self-contained HTML file (and, through WeasyPrint, the PDF).

It uses the SLA report's page CSS, sign-off block and charts (html.py, charts.py), so the two reports
print alike; only the sections are its own. Rates are written as `opsmon hj212 rates` writes them
(hj212_rates.fmt_rate), so a figure read off the report is found verbatim in the CLI's output.
"""
from __future__ import annotations

from opsmon.collector.outputs.report import charts, fmt
from opsmon.collector.outputs.report.hj212_labels import HJ_TEXT
from opsmon.collector.outputs.report.hj212_model import FLAGS, STUCK_RUN, Hj212ReportData
from opsmon.collector.outputs.report.html import _css, _e, _img, _signoff
from opsmon.collector.sla.hj212_rates import Group, fmt_rate

_HJ_CSS = """
table.rates td, table.rates th { font-size: 8pt; }
tr.low td { background: #fdecea; }
tr.total td { font-weight: bold; background: #f3f3f3; }
"""


def _title(data: Hj212ReportData) -> str:
    t = HJ_TEXT[data.lang]
    return t["hj_title"] if data.period.kind == "half" else t["hj_title_other"]


def _dl(rows: list[tuple[str, object]]) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows) + "</dl>"


def _key_cells(g: Group, level: str) -> str:
    key = g.key
    if level == "site":
        return f"<td>{_e(key[0] or '-')}</td>"
    if level == "enterprise":
        return f"<td>{_e(key[0] or '-')}</td><td>{_e(key[1])}</td>"
    if level == "point":
        return "".join(f"<td>{_e(k or '-')}</td>" for k in key)
    return ""


_HEADS = {"region": (), "site": ("prefecture",), "enterprise": ("prefecture", "enterprise"),
          "point": ("prefecture", "enterprise", "dau", "point")}


def _rate_table(data: Hj212ReportData, rows: list[Group], level: str, total: bool = False) -> str:
    """应传, 实传, 有效, 豁免, 迟报 and the three rates per row, as `opsmon hj212 rates --by LEVEL`."""
    t = HJ_TEXT[data.lang]
    heads = [t[h] for h in _HEADS[level]] + [t[h] for h in ("should", "transmitted", "effective", "exempt", "late",
                                                            "tr_rate", "eff_rate", "rate")]
    out = [f'<table class="rates" data-level="{level}"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in heads)
           + "</tr></thead><tbody>"]
    items = [(g, "") for g in rows] + ([(data.region, "total")] if total else [])
    for g, cls in items:
        low = g.rate is not None and g.rate < data.threshold
        c = g.counts
        keys = (f'<td colspan="{len(_HEADS[level])}">{_e(t["region_total"])}</td>' if cls else _key_cells(g, level))
        out.append(f'<tr class="{cls or ("low" if low else "")}" data-key="{_e("|".join(g.key))}">{keys}'
                   + "".join(f'<td class="n">{v}</td>' for v in (c.should, c.transmitted, c.effective, c.exempt,
                                                                  c.late))
                   + "".join(f'<td class="n">{_e(fmt_rate(v))}</td>' for v in (g.transmission_rate,
                                                                             g.effective_rate, g.rate))
                   + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _listing(data: Hj212ReportData, rows: list[Group], level: str) -> str:
    """The rows under 90 % (the target), under 60 % and at 0, each as a short list."""
    t = HJ_TEXT[data.lang]
    out = []
    for name, limit, word in (("below_90", data.threshold, t["below_90"].format(pct=fmt.pct(data.threshold))),
                              ("below_60", 0.6, t["below_60"]), ("at_0", 0.0, t["at_0"])):
        found = data.below(rows, limit)
        items = "; ".join(" · ".join(k for k in g.key if k) + f" {fmt_rate(g.rate)}" for g in found)
        out.append(f'<p data-list="{level}-{name}"><b>{_e(word)} ({len(found)})</b>: {_e(items or t["none"])}</p>')
    return "".join(out)


def _overview(data: Hj212ReportData) -> str:
    t = HJ_TEXT[data.lang]
    p = data.period
    tz = p.timezone
    rows: list[tuple[str, object]] = [
        (t["period"], f"{p.label}  [{fmt.stamp(p.local_start, tz)} .. {fmt.stamp(p.local_end, tz)})"
                      + ("" if p.complete else f" {t['partial']}")),
        (t["timezone"], tz), (t["generated"], fmt.stamp(data.generated_at, tz)), (t["as_of"], fmt.stamp(p.as_of, tz)),
        (t["cutoff"], t["cutoff_note"].format(day=data.source.rules["correction_day"])),
        (t["daus"], data.daus), (t["enterprises"], data.enterprises), (t["points"], data.points),
        (t["series"], data.series),
        (t["rate"], f"{fmt_rate(data.region.rate)} ({t['threshold_line']} ≥ {fmt.pct(data.threshold)})"),
    ]
    return (f'<header class="cover"><div class="org">{_e(data.organisation)}</div>'
            f"<h1>{_e(_title(data))} · {_e(p.label)}</h1></header>"
            f'<section id="overview"><h2>{_e(t["s_overview"])}</h2><div class="cover">{_dl(rows)}</div></section>')


def _online(data: Hj212ReportData) -> str:
    t = HJ_TEXT[data.lang]
    rate = fmt_rate(data.online_points / data.points if data.points else None)
    out = [f'<section id="online"><h2>{_e(t["s_online"])}</h2>',
           f'<p>{_e(t["online_points"])}: <span id="online-points">{data.online_points} / {data.points}</span>; '
           f'{_e(t["online_rate"])}: {_e(rate)}</p>',
           f'<table><thead><tr><th>{_e(t["prefecture"])}</th><th>{_e(t["enterprise"])}</th><th>{_e(t["dau"])}</th>'
           f'<th>{_e(t["point"])}</th><th>{_e(t["sent_hours"])}</th>'
           f'<th>{_e(fmt.zoned(t["last_value"], data.period.timezone))}</th>'
           f'<th>{_e(t["longest_silence"])}</th><th>{_e(t["silence_from"])}</th></tr></thead><tbody>']
    for p in data.online:
        out.append(f'<tr data-online="{_e(p.asset)}|{_e(p.point)}"><td>{_e(p.site or "-")}</td><td>{_e(p.enterprise)}'
                   f'</td><td>{_e(p.asset)}</td><td>{_e(p.point)}</td><td class="n">{p.sent_hours}</td>'
                   f"<td>{_e(fmt.when(p.last_value, data.period.timezone))}</td>"
                   f'<td class="n">{p.longest_silence}</td><td>{_e(fmt.when(p.silence_from, data.period.timezone))}'
                   "</td></tr>")
    out.append("</tbody></table>")
    silent = "; ".join(f"{p.asset} · {p.point} ({p.longest_silence} h)" for p in data.silent)
    out.append(f'<p id="silent"><b>{_e(t["silent"])} ({len(data.silent)})</b>: {_e(silent or t["none_silent"])}</p>')
    out.append("</section>")
    return "".join(out)


def _rates(data: Hj212ReportData, draw: bool) -> str:
    t = HJ_TEXT[data.lang]
    out = [f'<section id="rates" class="break"><h2>{_e(t["s_rates"])}</h2>',
           f'<h3>{_e(t["by_site"])}</h3>', _rate_table(data, data.sites, "site", total=True)]
    if draw and data.sites:
        png = charts.sites_chart([g.key[0] or t["no_site"] for g in data.sites], [g.rate for g in data.sites],
                                 data.threshold, f"{t['rate']} · {t['by_site']}",
                                 f"{t['threshold']} {fmt.pct(data.threshold)}")
        out.append(_img(png, t["by_site"], data.lang))
    out += [f'<h3>{_e(t["by_enterprise"])}</h3>', _rate_table(data, data.enterprise_rows, "enterprise"),
            _listing(data, data.enterprise_rows, "enterprise"),
            f'<h3>{_e(t["by_point"])}</h3>', _rate_table(data, data.point_rows, "point"),
            _listing(data, data.point_rows, "point"), "</section>"]
    return "".join(out)


def _td(value: object, number: bool = False) -> str:
    return f'<td class="n">{_e(value)}</td>' if number else f"<td>{_e(value)}</td>"


def _table(heads: list[str], rows: list[tuple[str, list[str]]], empty: str) -> str:
    """A table of rows (a data attribute, the cells made by _td), or the `empty` line when there are none."""
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    return ("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in heads) + "</tr></thead><tbody>"
            + "".join(f"<tr {attr}>" + "".join(cells) + "</tr>" for attr, cells in rows) + "</tbody></table>")


def _exceedances(data: Hj212ReportData) -> str:
    t = HJ_TEXT[data.lang]
    tz = data.period.timezone
    heads = [t["enterprise"], t["dau"], t["point"], t["factor"], t["limit"], t["exceed_hours"], t["max_value"],
             t["max_multiple"], fmt.zoned(t["exceed_when"], tz)]
    rows = [(f'data-exceed="{_e(x.asset)}|{_e(x.point)}|{_e(x.factor)}"',
             [_td(x.enterprise), _td(x.asset), _td(x.point), _td(x.factor), _td(f"{x.limit:g} {x.unit or ''}", True),
              _td(x.count, True), _td(f"{x.max_value:g}", True), _td(f"{x.max_multiple:.2f}", True),
              _td(", ".join(fmt.when(h, tz) for h in x.hours))]) for x in data.exceedances]
    return (f'<section id="exceedances"><h2>{_e(t["s_exceed"])}</h2><p class="muted">{_e(t["exceed_note"])}</p>'
            + _table(heads, rows, t["no_exceed"]) + "</section>")


def _faults(data: Hj212ReportData) -> str:
    t = HJ_TEXT[data.lang]
    tz = data.period.timezone
    flags = [(f'data-flags="{_e(r.asset)}|{_e(r.point)}"',
              [_td(r.enterprise), _td(r.asset), _td(r.point), *(_td(r.flags[f], True) for f in FLAGS),
               _td(r.other, True)]) for r in data.flags]
    stuck = [(f'data-stuck="{_e(s.asset)}|{_e(s.point)}|{_e(s.factor)}"',
              [_td(s.asset), _td(s.point), _td(s.factor), _td(s.value), _td(fmt.when(s.start, tz)),
               _td(s.hours, True)]) for s in data.stuck]
    return (f'<section id="faults"><h2>{_e(t["s_faults"])}</h2><h3>{_e(t["by_flag"])}</h3>'
            f'<p class="muted">{_e(t["flag_note"])}</p>'
            + _table([t["enterprise"], t["dau"], t["point"], *FLAGS, t["other_flags"]], flags, t["no_flags"])
            + f'<h3>{_e(t["stuck"].format(n=STUCK_RUN))}</h3>'
            + _table([t["dau"], t["point"], t["factor"], t["value"], fmt.zoned(t["start"], tz), t["hours"]], stuck,
                     t["no_stuck"]) + "</section>")


def _exemptions(data: Hj212ReportData) -> str:
    t = HJ_TEXT[data.lang]
    tz = data.period.timezone
    exempt = [(f'data-exemption="{e.id}"',
               [_td(e.id, True), _td(e.asset), _td(e.point or "*"), _td(e.factor or "*"),
                _td(f"{fmt.when(e.start, tz)} .. {fmt.when(e.end, tz)}"), _td(e.kind), _td(e.reason), _td(e.proof),
                _td(f"{e.entered_by} {fmt.when(e.entered_at, tz)}")]) for e in data.exemptions]
    late = [(f'data-late="{_e(v.asset)}|{_e(v.point)}|{_e(v.factor)}"',
             [_td(v.asset), _td(v.point), _td(v.factor), _td(fmt.when(v.hour, tz)), _td(fmt.when(v.received, tz))])
            for v in data.late]
    return (f'<section id="exemptions"><h2>{_e(t["s_exempt"])}</h2><h3>{_e(t["exemptions"])}</h3>'
            + _table(["#", t["dau"], t["point"], t["factor"], fmt.zoned(t["start"], tz), t["kind"], t["reason"],
                      t["proof"], t["entered"]], exempt, t["no_exemptions"])
            + f'<h3>{_e(t["late_values"])}</h3>'
            + _table([t["dau"], t["point"], t["factor"], fmt.zoned(t["hour"], tz), fmt.zoned(t["received"], tz)],
                     late, t["no_late"])
            + _signoff(data) + "</section>")  # type: ignore[arg-type]  # lang and signoff are all it reads


def _appendix(data: Hj212ReportData) -> str:
    t = HJ_TEXT[data.lang]
    out = [f'<section id="appendix" class="break"><h2>{_e(t["s_appendix"])}</h2>'
           f'<table class="rates"><thead><tr><th>{_e(t["prefecture"])}</th><th>{_e(t["enterprise"])}</th>'
           f'<th>{_e(t["dau"])}</th><th>{_e(t["point"])}</th><th>{_e(t["factor"])}</th>'
           + "".join(f"<th>{_e(t[h])}</th>" for h in ("should", "transmitted", "effective", "exempt", "late"))
           + "</tr></thead><tbody>"]
    for s, c in data.series_rows:
        out.append(f'<tr data-series="{_e(s.asset_id)}|{_e(s.point)}|{_e(s.factor)}"><td>{_e(s.site or "-")}</td>'
                   f"<td>{_e(s.enterprise)}</td><td>{_e(s.asset_id)}</td><td>{_e(s.point)}</td><td>{_e(s.factor)}</td>"
                   + "".join(f'<td class="n">{v}</td>' for v in (c.should, c.transmitted, c.effective, c.exempt,
                                                                  c.late)) + "</tr>")
    out.append("</tbody></table></section>")
    src = data.source
    rows: list[tuple[str, object]] = [
        (t["source"], src.database), (t["targets_file"], src.targets_file), ("sha256", src.targets_sha256 or "-"),
        (t["hourly_rows"], src.hourly_rows),
        (t["rules"], ", ".join(f"{k}={v}" for k, v in src.rules.items())),
        (t["rerun"], f"opsmon hj212 rates --period {data.period.label} --by point"),
        (t["generator"], src.generator), (t["timezone"], data.period.timezone)]
    out.append(f'<section id="evidence"><h2>{_e(t["s_hj_evidence"])}</h2><dl class="evidence">'
               + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows) + "</dl></section>")
    return "".join(out)


def render_hj212_html(data: Hj212ReportData, draw_charts: bool | None = None) -> str:
    """The whole report as one HTML document. Charts are drawn when matplotlib is installed."""
    draw = charts.available() if draw_charts is None else draw_charts
    title = f"{data.organisation} · {_title(data)} · {data.period.label}"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if data.lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>", '<meta name="generator" content="opsmon">',
        f'<meta name="dcterms.created" content="{_e(data.generated_at)}">',
        f"<style>{_css(data)}{_HJ_CSS}</style></head><body>",  # type: ignore[arg-type]  # reads lang, org, label
        _overview(data), _online(data), _rates(data, draw), _exceedances(data), _faults(data), _exemptions(data),
        _appendix(data), "</body></html>",
    ]
    return "\n".join(parts) + "\n"
