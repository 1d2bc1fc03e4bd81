"""The report as one self-contained HTML file: inline CSS, charts as base64 PNG, printable.

The PDF is WeasyPrint's rendering of this same HTML (its print CSS is here too: page size, page
numbers, repeated table headers, no row split across pages), so the two never disagree.
Equal inputs give byte-identical output.
"""
from __future__ import annotations

import base64
from html import escape
from typing import Any

from opsmon.collector.outputs.report import charts, fmt
from opsmon.collector.outputs.report.labels import ACTIONS, KINDS, METHOD, TEXT, period_title
from opsmon.collector.outputs.report.model import IncidentRow, ReportData
from opsmon.collector.outputs.report.security_html import security_events_html
from opsmon.collector.sla.results import TargetResult

FONT_STACK = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'


def _css(data: ReportData) -> str:
    """The page and print CSS. Kept cheap for WeasyPrint, whose time grows with every cell of the long tables:
    no `overflow: hidden` on cells (each clipped cell is a stacking context of its own to draw), and
    `tabular-nums` only on screen (Noto Sans CJK's digits are all one width already; the font feature
    cost the PDF about a tenth of its time)."""
    t = TEXT[data.lang]
    if data.lang == "zh":
        footer = f'"{t["page"]} " counter(page) " {t["of"]} " counter(pages) " 页"'
    else:
        footer = f'"{t["page"]} " counter(page) " {t["of"]} " counter(pages)'
    header = _css_string(f"{data.organisation} · {data.period.label}")
    return f"""
@page {{ size: A4; margin: 16mm 12mm 16mm 12mm;
  @bottom-center {{ content: {footer}; font-size: 8pt; color: #555; }}
  @top-right {{ content: {header}; font-size: 8pt; color: #555; }} }}
@page :first {{ @top-right {{ content: none; }} }}
@page wide {{ size: A4 landscape; margin: 12mm 10mm 12mm 10mm; }}
section#incidents {{ page: wide; }}
html {{ font-family: {FONT_STACK}; font-size: 9pt; color: #111; }}
body {{ max-width: 190mm; margin: 0 auto; }}
h1 {{ font-size: 16pt; margin: 0 0 2mm; }}
h2 {{ font-size: 12.5pt; margin: 6mm 0 2mm; border-bottom: 1px solid #2f6f9f; break-after: avoid; }}
h3 {{ font-size: 10.5pt; margin: 4mm 0 1.5mm; break-after: avoid; }}
.cover {{ border: 1px solid #2f6f9f; padding: 3mm 4mm; margin-bottom: 3mm; }}
.cover .org {{ font-size: 11pt; color: #2f6f9f; }}
.cover dl {{ display: grid; grid-template-columns: max-content auto; gap: 0.6mm 4mm; margin: 2mm 0 0; }}
.cover dt {{ color: #555; }} .cover dd {{ margin: 0; }}
.banner {{ padding: 2mm 3mm; margin: 2mm 0; border-left: 3px solid #c0392b; background: #fdecea; }}
.banner.info {{ border-color: #d4a017; background: #fff8e1; }}
table {{ border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: avoid; page-break-inside: avoid; }}
tr.trail {{ break-before: avoid; page-break-before: avoid; }}
table.incidents, table.compact {{ table-layout: fixed; font-size: 7.5pt; }}
table.incidents td, table.compact td {{ padding: 0.3mm 1mm; overflow-wrap: anywhere; }}
table.incidents td.id {{ white-space: normal; }}
th, td {{ border: 0.5pt solid #999; padding: 0.8mm 1.5mm; vertical-align: top; text-align: left; }}
th {{ background: #e8eef4; font-weight: bold; }}
td.id {{ white-space: nowrap; }}
td.n {{ text-align: right; white-space: nowrap; }}
@media screen {{ td.n {{ font-variant-numeric: tabular-nums; }} }}
tr.group td {{ background: #f3f3f3; font-weight: bold; }}
.pass {{ color: #1e7b34; font-weight: bold; }}
.fail {{ color: #c0392b; font-weight: bold; }}
.low_coverage {{ color: #b9770e; font-weight: bold; }}
.no_data {{ color: #777; }}
tr.breach td {{ background: #fdecea; }}
tr.trail td {{ background: #fdf5f4; font-size: 8pt; color: #444; }}
.hwk {{ font-weight: bold; color: #7b3f00; }}
.chart {{ width: 100%; break-inside: avoid; text-align: center; }}
.chart img {{ width: 82%; }}
.muted {{ color: #666; }}
section.break {{ break-before: page; }}
table.sheet {{ table-layout: fixed; font-size: 8pt; }}
table.sheet td.level {{ vertical-align: middle; text-align: center; font-weight: bold; background: #f6f8fa;
  font-size: 7.5pt; }}
table.sheet th {{ font-size: 7.5pt; }}
table.sheet span.judged, table.sheet span.entry {{ display: block; font-size: 7pt; color: #666;
  text-align: left; white-space: normal; }}
table.sheet td {{ padding: 0.5mm 1.2mm; }}
table.sheet td.n {{ white-space: normal; }}
h3.project {{ margin-top: 3mm; }}
table.signoff {{ margin-top: 4mm; break-inside: avoid; }}
table.signoff td {{ border: none; padding: 1.5mm 1mm; width: 25%; white-space: nowrap; }}
table.signoff span.sign {{ display: inline-block; min-width: 22mm; border-bottom: 0.5pt solid #111;
  margin-left: 1mm; }}
.evidence dt {{ font-weight: bold; margin-top: 1mm; }} .evidence dd {{ margin: 0 0 0 4mm; word-break: break-all; }}
.method dt {{ font-weight: bold; margin-top: 1.5mm; }} .method dd {{ margin: 0.5mm 0 0 0; }}
@media print {{ body {{ max-width: none; }} }}
"""


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _img(png: bytes | None, alt: str, lang: str) -> str:
    if png is None:
        return f'<p class="muted">{_e(TEXT[lang]["charts_missing"])}</p>'
    return (f'<div class="chart"><img alt="{_e(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}"></div>')


def _status(target: TargetResult, lang: str) -> str:
    return f'<span class="{target.status}">{_e(fmt.status(target, lang))}</span>'


def _cover(data: ReportData) -> str:
    """Page 1's head: what the document is and when its figures are from. The evidence (database,
    hashes, generator) is Appendix A, at the end."""
    t = TEXT[data.lang]
    p = data.period
    tz = p.timezone
    rows = [
        (t["period"], f"{p.label}  [{fmt.stamp(p.local_start, tz)} .. {fmt.stamp(p.local_end, tz)})"
                      + ("" if p.complete else f" {t['partial']}")),
        (t["timezone"], tz),
        (t["generated"], fmt.stamp(data.generated_at, tz)),
        (t["as_of"], fmt.stamp(p.as_of, tz)),
        (t["data_coverage"], fmt.coverage(data.coverage.coverage)),
    ]
    out = ['<header class="cover">', f'<div class="org">{_e(data.organisation)}</div>',
           f'<h1>{_e(period_title(p.kind, data.lang))} · {_e(p.label)}</h1><dl>']
    out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows]
    out.append("</dl></header>")
    if not data.has_data:
        out.append(f'<p class="banner" id="no-data">{_e(t["no_data_banner"])}</p>')
    elif not p.complete:
        out.append(f'<p class="banner info">{_e(t["partial_banner"])}</p>')
    return "\n".join(out)


def _targets(data: ReportData) -> str:
    """The 绩效目标表: per project, 一级 and 二级指标 as merged cells over their 三级指标 (the targets)."""
    t = TEXT[data.lang]
    lang = data.lang
    tz = data.period.timezone
    head = (t["level1"], t["level2"], t["level3"], t["goal"], t["actual"], t["status"], t["margin"], t["coverage"])
    out = [f'<section id="targets"><h2>{_e(t["s_targets"])}</h2>']
    for sheet in data.sheets:
        if sheet.project:
            out.append(f'<h3 class="project">{_e(t["project"])}: {_e(sheet.project)}</h3>')
        out.append('<table class="sheet"><colgroup>'
                   + "".join(f'<col style="width:{w}%">' for w in _SHEET_COLS) + "</colgroup><thead><tr>"
                   + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>")
        for row in sheet.rows:
            r = data.target(row.target)
            cells = [f'<tr data-target="{_e(r.id)}">']
            if row.span1:
                cells.append(f'<td class="level" rowspan="{row.span1}">{_e(row.level1 or fmt.DASH)}</td>')
            if row.span2:
                cells.append(f'<td class="level" rowspan="{row.span2}">{_e(row.level2 or fmt.DASH)}</td>')
            goal = row.goal or fmt.threshold(r, lang)
            entry = fmt.entry(r, lang, tz)
            cells.append(
                f"<td>{_e(fmt.target_name(r, lang))}</td>"
                f'<td class="goal"><span class="goal">{_e(goal)}</span>'
                f'<span class="judged">{_e(t["judged"])} <span>{_e(fmt.threshold(r, lang))}</span></span></td>'
                f'<td class="n"><span class="value">{_e(fmt.value(r, lang))}</span>{_sample(r)}'
                + (f'<span class="entry">{_e(entry)}</span>' if entry else "") + "</td>"
                f"<td>{_status(r, lang)}</td><td class=\"n\">{_e(fmt.margin(r, lang))}</td>"
                f'<td class="n">{_e(fmt.coverage(r.coverage))}</td></tr>')
            out.append("".join(cells))
        out.append("</tbody></table>")
    out.append(_signoff(data))
    out.append("</section>")
    return "\n".join(out)


# 一级, 二级, 三级指标, 指标值, 实际完成值, 结论, 余量, 覆盖率 (per cent of the page's width)
_SHEET_COLS = (11, 11, 19, 15, 15, 8, 11, 10)


def _signoff(data: ReportData) -> str:
    """编制, 审核, 批准, 日期: the configured names, or a line to sign on."""
    t = TEXT[data.lang]
    s = data.signoff
    cells = [(t["prepared_by"], s.prepared_by), (t["reviewed_by"], s.reviewed_by),
             (t["approved_by"], s.approved_by), (t["date"], "")]
    return ('<table class="signoff" id="signoff"><tr>'
            + "".join(f'<td><span class="role">{_e(k)}:</span><span class="sign">{_e(v) or "&#160;"}</span></td>'
                      for k, v in cells) + "</tr></table>")


def _evidence(data: ReportData) -> str:
    """Appendix A: where the figures come from, enough for an auditor to rerun `opsmon sla` on the same
    data, and the evidence of every value entered by hand."""
    t = TEXT[data.lang]
    lang = data.lang
    tz = data.period.timezone
    s = data.source
    rows = [
        (t["source"], s.database),
        (t["targets_file"], s.targets_file),
        ("sha256", s.targets_sha256 or fmt.DASH),
        (t["assets_count"], str(s.assets)),
        (t["intervals_count"], str(s.intervals)),
        (t["incidents_count"], str(s.incidents)),
        (t["last_heartbeat"], fmt.stamp(s.last_heartbeat, tz)),
        (t["generator"], s.generator),
        (t["timezone"], tz),
    ]
    out = [f'<section id="evidence" class="break"><h2>{_e(t["s_evidence"])}</h2><dl class="evidence">']
    out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows]
    out.append(f'</dl><h3>{_e(t["manual_entries"])}</h3>')
    manual = [(r, fmt.entry(r, lang, tz, full=True)) for r in data.targets if r.measure == "manual"]
    entered = [(r, e) for r, e in manual if e]
    if entered:
        out.append("<ul>" + "".join(f'<li data-entry="{_e(r.id)}">{_e(fmt.target_name(r, lang))}: '
                                    f"{_e(fmt.value(r, lang))} · {_e(e)}</li>" for r, e in entered) + "</ul>")
    else:
        out.append(f'<p class="muted">{_e(t["no_manual"])}</p>')
    out.append("</section>")
    return "\n".join(out)


def _sample(r: TargetResult) -> str:
    """A survey's sample size under its figure, in the same cell (n answers of m contacts reached)."""
    shown = fmt.sample(r)
    return f"<br><small>{_e(shown)}</small>" if shown else ""


def _categories(data: ReportData, draw: bool) -> str:
    t = TEXT[data.lang]
    lang = data.lang
    out = [f'<section id="categories" class="break"><h2>{_e(t["s_categories"])}</h2>']
    for cat in data.categories:
        r = cat.target
        d = r.availability
        name = fmt.target_name(r, lang)
        out.append(f'<div class="category" data-category="{_e(r.id)}"><h3>{_e(name)}</h3>')
        out.append(f'<table><thead><tr><th>{_e(t["availability"])}</th><th>{_e(t["status"])}</th>'
                   f'<th>{_e(t["assets"])}</th><th>{_e(t["down_time"])}</th><th>{_e(t["coverage"])}</th>'
                   f'<th>{_e(t["budget"])}</th></tr></thead><tbody><tr>'
                   f'<td class="n">{_e(fmt.pct(r.value))}</td><td>{_status(r, lang)}</td>'
                   f'<td class="n">{_e(d.assets)}</td>'
                   f'<td class="n">{_e(fmt.duration(d.down_seconds, lang))}</td>'
                   f'<td class="n">{_e(fmt.coverage(r.coverage))}</td>'
                   f'<td class="n">{_e(fmt.budget(r.budget_left_seconds, lang))}</td></tr></tbody></table>')
        if cat.worst:
            out.append(f'<table class="worst"><thead><tr><th>#</th><th>{_e(t["asset"])}</th><th>{_e(t["name"])}</th>'
                       f'<th>{_e(t["site"])}</th><th>{_e(t["availability"])}</th><th>{_e(t["down_time"])}</th>'
                       f'<th>{_e(t["incidents"])}</th></tr></thead><tbody>')
            for i, w in enumerate(cat.worst, 1):
                out.append(f'<tr data-asset="{_e(w.asset)}"><td class="n">{i}</td><td class="id">{_e(w.asset)}</td>'
                           f"<td>{_e(w.name)}</td><td>{_e(w.site or '-')}</td>"
                           f'<td class="n">{_e(fmt.pct(w.value))}</td>'
                           f'<td class="n">{_e(fmt.duration(w.down_seconds, lang))}</td>'
                           f'<td class="n">{w.incidents}</td></tr>')
            out.append("</tbody></table>")
        else:
            out.append(f'<p class="muted">{_e(t["no_assets"])}</p>')
        if cat.trend:
            title = t["trend"] if data.trend_kind == "month" else t["trend_daily"]
            if draw:
                png = charts.trend_chart([p.label for p in cat.trend], [p.value for p in cat.trend],
                                         r.threshold, f"{name} · {title}",
                                         f"{t['threshold']} {fmt.pct(r.threshold)}")
                out.append(_img(png, f"{name} {title}", lang))
            else:
                out.append(_img(None, title, lang))
            out.append(f'<table class="trend"><thead><tr><th>{_e(t["month"])}</th>'
                       + "".join(f"<th>{_e(p.label)}</th>" for p in cat.trend)
                       + f'</tr></thead><tbody><tr><td>{_e(t["availability"])}</td>'
                       + "".join(f'<td class="n">{_e(fmt.pct(p.value))}</td>' for p in cat.trend)
                       + f'</tr><tr><td>{_e(t["coverage"])}</td>'
                       + "".join(f'<td class="n">{_e(fmt.coverage(p.coverage))}</td>' for p in cat.trend)
                       + "</tr></tbody></table>" if len(cat.trend) <= 12 else "")
        out.append("</div>")
    out.append("</section>")
    return "\n".join(out)


def _sites(data: ReportData, draw: bool) -> str:
    t = TEXT[data.lang]
    lang = data.lang
    out = [f'<section id="sites"><h2>{_e(t["s_sites"])}</h2>']
    if data.link_target is None:
        out.append(f'<p class="muted">{_e(t["no_link_target"])}</p></section>')
        return "\n".join(out)
    if not data.sites:
        out.append(f'<p class="muted">{_e(t["no_assets"])}</p></section>')
        return "\n".join(out)
    link = data.target(data.link_target)
    out.append(f'<p>{_e(fmt.target_name(link, lang))}: {_e(fmt.threshold(link, lang))}</p>')
    out.append(f'<table><thead><tr><th>{_e(t["site"])}</th><th>{_e(t["assets"])}</th>'
               f'<th>{_e(t["availability"])}</th><th>{_e(t["down_time"])}</th><th>{_e(t["coverage"])}</th>'
               f'<th>{_e(t["status"])}</th></tr></thead><tbody>')
    for row in data.sites:
        r = row.target
        out.append(f'<tr data-site="{_e(row.site or "")}"><td>{_e(row.site or t["no_site"])}</td>'
                   f'<td class="n">{_e(r.availability.assets)}</td>'
                   f'<td class="n">{_e(fmt.pct(r.value))}</td>'
                   f'<td class="n">{_e(fmt.duration(r.availability.down_seconds, lang))}</td>'
                   f'<td class="n">{_e(fmt.coverage(r.coverage))}</td><td>{_status(r, lang)}</td></tr>')
    out.append("</tbody></table>")
    if draw:
        png = charts.sites_chart([r.site or t["no_site"] for r in data.sites], [r.target.value for r in data.sites],
                                 link.threshold, f"{fmt.target_name(link, lang)} · {t['site']}",
                                 f"{t['threshold']} {fmt.pct(link.threshold)}")
        out.append(_img(png, t["s_sites"], lang))
    else:
        out.append(_img(None, t["s_sites"], lang))
    out.append("</section>")
    return "\n".join(out)


# The incident table is the bulk of a quarter's PDF (2,000 incidents): WeasyPrint's time grows with
# the number of cells, so an incident is six cells on one line (id, asset and kind share one; the
# acknowledgement and who made it share another), with fixed column widths (`table-layout: fixed`
# spares it measuring every cell). Measured: 9 cells 19 s, 6 cells ~13 s for 2,000 rows.
_INCIDENT_COLS = (22, 11, 18, 8, 11, 30)
_INCIDENT_GROUP = 50


def _incident(inc: IncidentRow, lang: str, names: dict[str, str], tz: str) -> str:
    """One incident as one row; a breach gets a second row saying which target it missed and its trail."""
    t = TEXT[lang]
    kind = (f'<b class="hwk">{_e(t["hardware"])}</b>' if inc.hardware
            else _e(KINDS[lang].get(inc.kind, inc.kind)))
    marks = [t["self_healed_note"]] if inc.self_healed else []
    if inc.not_counted:
        marks.append(t["excluded_note"] if inc.not_counted == "excluded" else t["not_counted"])
    if inc.response_evidence:
        marks.append(f'{t["response_evidence"]}: {inc.response_evidence}')
    cause = " / ".join(x for x in (inc.cause, inc.note, *marks) if x)
    ack = (f"{fmt.when(inc.acknowledged_at, tz)} {inc.acknowledged_by or '-'}" if inc.acknowledged_at
           else t["unacknowledged"])
    row = (f'<tr class="{"breach" if inc.breached else ""}" data-incident="{_e(inc.id)}">'
           f'<td class="id">{_e(inc.id)} · {_e(inc.asset)} · {kind}</td>'
           f"<td>{_e(fmt.when(inc.opened_at, tz))}</td><td>{_e(ack)}</td>"
           f'<td class="{"n fail" if inc.breached else "n"}">{_e(fmt.duration(inc.response_seconds, lang))}</td>'
           f"<td>{_e(fmt.when(inc.resolved_at, tz))}</td><td>{_e(cause or '-')}</td></tr>")
    if not inc.breached:
        return row
    missed = ", ".join(names.get(m, m) for m in inc.missed)
    text = t["breach"] + (f" ({t['breach_missed']}: {missed})" if missed else "")
    if inc.trail:
        actions = ACTIONS[lang]
        text += f". {t['trail']}: " + "; ".join(
            f"{fmt.when(e.ts, tz)} {actions.get(e.action, e.action)} {e.actor}"
            + (f" → {e.detail['to']}" if isinstance(e.detail.get("to"), str) else "")
            + (f" (L{e.detail['level']})" if "level" in e.detail else "") for e in inc.trail)
    return row + f'<tr class="trail"><td colspan="{len(_INCIDENT_COLS)}">{_e(text)}</td></tr>'


def _incidents(data: ReportData) -> str:
    t = TEXT[data.lang]
    out = [f'<section id="incidents" class="break"><h2>{_e(t["s_incidents"])}</h2>']
    if not data.incidents:
        out.append(f'<p class="muted">{_e(t["no_incidents"])}</p></section>')
        return "\n".join(out)
    tz = data.period.timezone
    head = (f'{t["id"]} · {t["asset"]} · {t["kind"]}', fmt.zoned(t["opened"], tz),
            fmt.zoned(f'{t["acknowledged"]} · {t["by"]}', tz), t["response"], fmt.zoned(t["resolved"], tz),
            t["cause"])
    names = {r.id: fmt.target_name(r, data.lang) for r in data.targets}
    out.append('<table class="incidents"><colgroup>'
               + "".join(f'<col style="width:{w}%">' for w in _INCIDENT_COLS) + "</colgroup><thead><tr>"
               + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>")
    rows = [_incident(inc, data.lang, names, tz) for inc in data.incidents]
    # Row groups of _INCIDENT_GROUP incidents (a breach's trail row stays in its incident's group): WeasyPrint
    # walks the whole row group on every page the table spans, so one group of 2,000 rows costs pages x rows.
    out += ["</tbody><tbody>".join("\n".join(rows[k:k + _INCIDENT_GROUP])
                                   for k in range(0, len(rows), _INCIDENT_GROUP))]
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _maintenance(data: ReportData) -> str:
    t = TEXT[data.lang]
    lang = data.lang
    out = [f'<section id="maintenance"><h2>{_e(t["s_maintenance"])}</h2><h3>{_e(t["windows"])}</h3>']
    if data.windows:
        out.append(f'<table><thead><tr><th>{_e(t["window"])}</th><th>{_e(t["scope"])}</th>'
                   f'<th>{_e(t["schedule"])}</th><th>{_e(t["reason"])}</th></tr></thead><tbody>')
        for w in data.windows:
            scope = ", ".join([*w.assets, *w.sites, *(f"#{x}" for x in w.tags)])
            when = (f"{fmt.stamp(w.start, data.period.timezone)} .. {fmt.stamp(w.end, data.period.timezone)}"
                    if w.start else
                    f"cron {w.cron} · {fmt.duration(w.duration_seconds, lang)}")
            origin = t["from_config"] if w.source == "config" else t["from_api"]
            out.append(f"<tr><td>{_e(w.id)} <span class=\"muted\">({_e(origin)})</span></td><td>{_e(scope)}</td>"
                       f"<td>{_e(when)}</td><td>{_e(w.reason or '-')}</td></tr>")
        out.append("</tbody></table>")
    else:
        out.append(f'<p class="muted">{_e(t["no_windows"])}</p>')
    out.append(f'<h3>{_e(t["per_category"])}</h3><table><thead><tr><th>{_e(t["target"])}</th>'
               f'<th>{_e(t["maintenance_time"])}</th><th>{_e(t["unknown_time"])}</th>'
               f'<th>{_e(t["unreachable_time"])}</th><th>{_e(t["expected"])}</th><th>{_e(t["coverage"])}</th>'
               f'<th>{_e(t["coverage_floor"])}</th><th>{_e(t["status"])}</th></tr></thead><tbody>')
    for cat in data.categories:
        r, d = cat.target, cat.target.availability
        out.append(f'<tr data-excluded="{_e(r.id)}"><td>{_e(fmt.target_name(r, lang))}</td>'
                   f'<td class="n">{_e(fmt.duration(d.maintenance_seconds, lang))}</td>'
                   f'<td class="n">{_e(fmt.duration(d.unknown_seconds, lang))}</td>'
                   f'<td class="n">{_e(fmt.duration(d.unreachable_excluded_seconds, lang))}</td>'
                   f'<td class="n">{_e(fmt.duration(d.expected_seconds, lang))}</td>'
                   f'<td class="n">{_e(fmt.coverage(r.coverage))}</td>'
                   f'<td class="n">{_e(fmt.coverage(data.coverage_floors[r.id]))}</td>'
                   f"<td>{_status(r, lang)}</td></tr>")
    out.append("</tbody></table>")
    low = [r for r in data.targets if r.status == "low_coverage"]
    out.append(f'<h3>{_e(t["low_coverage_targets"])}</h3>')
    if low:
        out.append("<ul>" + "".join(
            f'<li class="low_coverage" data-low="{_e(r.id)}">{_e(fmt.target_name(r, lang))}: '
            f'{_e(t["coverage"])} {_e(fmt.coverage(r.coverage))} &lt; '
            f'{_e(fmt.coverage(data.coverage_floors[r.id]))}'
            "</li>" for r in low) + "</ul>")
    else:
        out.append(f'<p class="muted">{_e(t["none_flagged"])}</p>')
    out.append("</section>")
    return "\n".join(out)


def _exclusions(data: ReportData) -> str:
    """Every approved exclusion bearing on the period: what it took out, who asked, who approved, why."""
    t = TEXT[data.lang]
    tz = data.period.timezone
    out = [f'<section id="exclusions"><h2>{_e(t["s_exclusions"])}</h2>']
    if not data.exclusions:
        out.append(f'<p class="muted">{_e(t["no_exclusions"])}</p></section>')
        return "".join(out)
    out.append(f'<table><thead><tr><th>{_e(t["excluded_what"])}</th><th>{_e(t["taken_out"])}</th>'
               f'<th>{_e(t["requested_by"])}</th><th>{_e(t["excl_approved_by"])}</th><th>{_e(t["reason"])}</th>'
               "</tr></thead><tbody>")
    for x in data.exclusions:
        what = (f'{t["incident_word"]} {x.incident}' if x.incident else
                f"{x.asset} {fmt.when(x.start, tz)} .. {fmt.when(x.end, tz)}")
        out.append(f'<tr data-exclusion="{x.id}"><td>{_e(what)}</td>'
                   f'<td class="n">{_e(fmt.duration(x.taken_out_seconds, data.lang))}</td>'
                   f"<td>{_e(x.requested_by)} {_e(fmt.when(x.requested_at, tz))}</td>"
                   f"<td>{_e(x.approved_by)} {_e(fmt.when(x.approved_at, tz))}</td><td>{_e(x.reason)}</td></tr>")
    out.append("</tbody></table></section>")
    return "".join(out)


def _method(data: ReportData) -> str:
    t = TEXT[data.lang]
    items = "".join(f"<dt>{_e(h)}</dt><dd>{_e(p)}</dd>" for h, p in METHOD[data.lang])
    return f'<section id="method" class="break method"><h2>{_e(t["s_method"])}</h2><dl>{items}</dl></section>'


def _security(data: ReportData) -> str:
    t = TEXT[data.lang]
    sec = data.security or {}
    out = [f'<section id="security"><h2>{_e(t["s_security"])}</h2>',
           f'<p>{_e(t["findings_opened"])}: {sec.get("findings_opened", 0)}; '
           f'{_e(t["findings_closed"])}: {sec.get("findings_closed", 0)}</p>',
           f'<p class="muted">{_e(t["baseline_as_of"])}</p>']
    if not sec.get("controls"):
        out.append(f'<p class="muted">{_e(t["no_baseline"])}</p></section>')
        return "".join(out)
    out.append(f'<table><thead><tr><th>{_e(t["control_point"])}</th><th>{_e(t["passed"])}</th>'
               f'<th>{_e(t["failed"])}</th><th>{_e(t["compliance"])}</th></tr></thead><tbody>')
    for row in sec["controls"]:
        out.append(f'<tr><td>{_e(row[data.lang])}</td><td class="num">{row["passed"]}</td>'
                   f'<td class="num">{row["failed"]}</td><td class="num">{row["score"] * 100:.1f}%</td></tr>')
    out.append(f'</tbody></table><table><thead><tr><th>{_e(t["host"])}</th><th>{_e(t["passed"])}</th>'
               f'<th>{_e(t["failed"])}</th><th>{_e(t["compliance"])}</th></tr></thead><tbody>')
    for row in sec["hosts"]:
        out.append(f'<tr><td>{_e(row["asset"])}</td><td class="num">{row["passed"]}</td>'
                   f'<td class="num">{row["failed"]}</td><td class="num">{row["score"] * 100:.1f}%</td></tr>')
    out.append("</tbody></table></section>")
    return "".join(out)


def render_html(data: ReportData, draw_charts: bool | None = None) -> str:
    """The whole report as one HTML document (str). Charts are drawn when matplotlib is installed."""
    draw = charts.available() if draw_charts is None else draw_charts
    t = TEXT[data.lang]
    title = f"{data.organisation} · {period_title(data.period.kind, data.lang)} · {data.period.label}"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if data.lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        '<meta name="generator" content="opsmon">',
        f'<meta name="dcterms.created" content="{_e(data.generated_at)}">',
        f'<meta name="description" content="{_e(t["title"])}">',
        f"<style>{_css(data)}</style></head><body>",
        _cover(data), _targets(data), _categories(data, draw), _sites(data, draw), _incidents(data),
        _maintenance(data), _exclusions(data), _security(data), security_events_html(data), _evidence(data),
        _method(data),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
