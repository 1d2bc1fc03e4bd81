"""The report's security events and incidents of the period (issue 23), after the compliance section.

Read from `ReportData.security` (report/security.py computes it): the compliance trend per control point in the
standard's order (8.1.4.1 -> 8.1.4.10), the events by kind, host and control point, and the security incidents
with their responses. Chinese or English as the report; times in the report's zone.
"""
from __future__ import annotations

from html import escape
from typing import Any

from opsmon.collector.outputs.report import fmt

TEXT = {
    "zh": {"title": "本期安全事件与安全事故", "trend": "基线符合率趋势（按控制点，标准顺序）", "clause": "条款",
           "control": "控制点", "start": "期初", "end": "期末", "change": "变化", "events": "安全事件",
           "total": "本期安全事件总数", "kind": "类别", "name": "名称", "count": "次数", "host": "主机",
           "incidents": "安全事故及响应", "id": "编号", "severity": "级别", "cause": "原因", "opened": "开启时间",
           "acked": "确认时间", "response": "响应用时", "within": "时限内", "status": "状态", "yes": "是",
           "no": "否", "none": "本期无安全事故。", "no_events": "本期无安全事件。", "excluded": "已剔除"},
    "en": {"title": "Security events and incidents of the period", "trend":
           "Baseline compliance trend per control point (the standard's order)", "clause": "Clause",
           "control": "Control point", "start": "Start", "end": "End", "change": "Change", "events": "Security events",
           "total": "Security events in the period", "kind": "Kind", "name": "Name", "count": "Count", "host": "Host",
           "incidents": "Security incidents and their responses", "id": "Id", "severity": "Severity",
           "cause": "Cause", "opened": "Opened", "acked": "Acknowledged", "response": "Response",
           "within": "Within the limit", "status": "Status", "yes": "yes", "no": "no",
           "none": "No security incident in the period.", "no_events": "No security event in the period.",
           "excluded": "excluded"},
}


# The security incidents' columns (per cent of the width): id, host, severity, cause, opened, acknowledged,
# response, within the limit, status. A quarter lists hundreds of them: with fixed widths WeasyPrint lays out
# each row once instead of measuring every cell's narrowest and widest text first (auto layout), and the
# two times fit one line each.
_INCIDENT_COLS = (10, 10, 6, 11, 19, 19, 13, 6, 6)


def _table(head: list[str], rows: list[list[Any]], widths: tuple[int, ...] = ()) -> str:
    """A table; with `widths` (per cent, one a column) a compact one of fixed layout, for the long lists."""
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    if not widths:
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
    cols = "".join(f'<col style="width:{w}%">' for w in widths)
    return (f'<table class="compact"><colgroup>{cols}</colgroup><thead><tr>{cells}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _pct(score: float | None) -> str:
    return fmt.DASH if score is None else f"{score * 100:.1f}%"


Block = tuple[str, Any, Any]  # ("h", text, None), ("p", text, muted), ("table", head, rows)


def security_blocks(data: Any) -> list[Block]:
    """The section's headings, lines and tables, in order: what the HTML and the DOCX both render."""
    lang = data.lang
    t = TEXT[lang]
    tz = data.period.timezone
    sec = data.security or {}
    out: list[Block] = []
    if sec.get("controls"):
        out.append(("h", t["trend"], None))
        out.append(("table", [t["clause"], t["control"], t["start"], t["end"], t["change"]], [
            [c.get("clause", ""), c[lang], _pct(c.get("score_at_start")), _pct(c["score"]),
             fmt.DASH if c.get("score_at_start") is None else f"{(c['score'] - c['score_at_start']) * 100:+.1f}"]
            for c in sec["controls"]]))
    out.append(("h", t["events"], None))
    out.append(("p", f"{t['total']}: {sec.get('events_total', 0)}", False))
    if sec.get("events_total"):
        out.append(("table", [t["kind"], t["name"], t["count"]],
                    [[e["kind"], e["name"], e["count"]] for e in sec["events_by_kind"]]))
        out.append(("table", [t["host"], t["count"]], [[e["asset"], e["count"]] for e in sec["events_by_host"]]))
        out.append(("table", [t["clause"], t["control"], t["count"]],
                    [[e["clause"], e[lang], e["count"]] for e in sec["events_by_control"]]))
    else:
        out.append(("p", t["no_events"], True))
    out.append(("h", t["incidents"], None))
    incidents = sec.get("incidents") or []
    if not incidents:
        out.append(("p", t["none"], True))
    else:
        yes_no = {True: t["yes"], False: t["no"], None: fmt.DASH}
        out.append(("table",
                    [t["id"], t["host"], t["severity"], t["cause"], fmt.zoned(t["opened"], tz),
                     fmt.zoned(t["acked"], tz), t["response"], t["within"], t["status"]],
                    [[i["id"], i["asset"], i["severity"], i["cause"], fmt.stamp(i["opened"], tz),
                      fmt.stamp(i["acknowledged"], tz), fmt.duration(i["response_seconds"], lang),
                      t["excluded"] if i.get("not_counted") == "excluded" else yes_no[i["within_deadline"]],
                      i["status"]] for i in incidents]))
    return out


def security_events_html(data: Any) -> str:
    """The section as HTML: trend, events (by kind, host, control point), incidents."""
    t = TEXT[data.lang]
    out = [f'<section id="security-events"><h2>{escape(t["title"])}</h2>']
    heading = ""
    for kind, a, b in security_blocks(data):
        if kind == "h":
            heading = a
            out.append(f"<h3>{escape(a)}</h3>")
        elif kind == "p":
            out.append(f'<p class="muted">{escape(a)}</p>' if b else f"<p>{escape(a)}</p>")
        else:
            out.append(_table(a, b, _INCIDENT_COLS if heading == t["incidents"] else ()))
    out.append("</section>")
    return "".join(out)
