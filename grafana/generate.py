"""Generate opsmon's Grafana dashboards (grafana/dashboards/*.json) from code.

    python grafana/generate.py           rewrite the JSON files
    python grafana/generate.py --check   exit 1 (naming the files) when the committed JSON differs

Every panel reads the Prometheus datasource through the `${datasource}` template variable, so the
JSON works in any Grafana whatever its datasource uid. Queries filter with `=~"$site"` etc.; every
variable offers "All" as the regex `.*`. Host and SNMP series carry only an `asset` label: they are
narrowed to a site or category by `and on(asset) opsmon_asset_up{site=~"$site",category=~"$category"}`.

As the SLA counts: a share of assets up or a count of assets down leaves out unreachable, maintenance and unknown
(`counted()`); state timelines read opsmon_asset_state, one colour per state (`state_code()`, STATE_MAP); legends
put the inventory's name beside the id through opsmon_asset_info (`named()`); every dashboard carries the
incident and maintenance annotations (ANNOTATIONS).

The target table is read from rules/targets.yaml (through opsmon.collector.sla.targets, so it is validated
the way the collector validates it): one stat tile per target, coloured at its own threshold (the
colours are inverted for "<=" targets such as the hardware fault response time).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "dashboards"
TARGETS_FILE = ROOT / "rules" / "targets.yaml"

SCHEMA_VERSION = 39
DS = {"type": "prometheus", "uid": "${datasource}"}
TAG = "opsmon"
SCOPE = 'opsmon_asset_up{site=~"$site",category=~"$category"}'
ASSET = 'asset=~"$asset"'
CPUS = "max by (asset) (opsmon_host_cpu_count)"  # one divisor per asset, however many jobs scrape it
RATE = "5m"  # fixed windows (not $__rate_interval): the same PromQL runs in Grafana, promtool and tests

GREEN, RED, ORANGE, BLUE, GREY = "green", "red", "orange", "blue", "text"

# Panels whose data depends on the platform (a VM has no sensors, fans or SMART) or on configuration.
PLATFORM_ROW = "硬件传感器（视平台而定） / Hardware sensors (platform-dependent)"


def scoped(expr: str) -> str:
    """Keep only the series of assets in the selected sites and categories."""
    return f"({expr}) and on(asset) {SCOPE}"


def if_named(expr: str) -> str:
    """An interface series with its port's names (ifName, ifAlias, ifDescr): opsmon puts them on one
    opsmon_snmp_if_info series per port, not on each of its series (issue 25)."""
    return f"({expr}) * on(asset, ifIndex) group_left(ifName, ifAlias, ifDescr) opsmon_snmp_if_info"


def present(expr: str) -> str:
    """A count or sum that shows 0 instead of "no data" when nothing matches."""
    return f"{expr} or on() vector(0)"


# The states the SLA does not count as down (docs/sla.md): unreachable behind a down parent, maintenance, and
# unknown (no data: coverage). A panel's "up ratio" is up / the assets in any other state, as the SLA's.
NOT_COUNTED = 'opsmon_asset_state{state=~"unreachable|maintenance|unknown"} == 1'
# One code and colour per state for the state timelines (opsmon_asset_state: exactly one state is 1).
STATE_COLOURS = (("up", "正常", GREEN), ("degraded", "降级", "yellow"), ("down", "中断", RED),
                 ("unreachable", "不可达", "purple"), ("maintenance", "维护", BLUE), ("unknown", "未知", "text"))
STATE_MAP = [{"type": "value", "options": {str(i): {"color": colour, "index": i, "text": f"{zh} / {en}"}
                                           for i, (en, zh, colour) in enumerate(STATE_COLOURS)}}]


def counted(selector: str = SCOPE) -> str:
    """opsmon_asset_up of the assets the SLA judges now: unreachable, maintenance and unknown left out."""
    return f"({selector} unless on(asset) ({NOT_COUNTED}))"


def named(expr: str) -> str:
    """The series of `expr` (by asset) with the asset's name a person reads (inventory `name`) as label `name`."""
    return f"({expr}) * on(asset) group_left(name) opsmon_asset_info"


def state_code(selector: str = SCOPE) -> str:
    """Each asset's current state as one number (its index in STATE_COLOURS), with its name, for a timeline."""
    codes = " or ".join(f'(opsmon_asset_state{{state="{en}"}} == 1) * 0 + {i}'
                        for i, (en, _zh, _c) in enumerate(STATE_COLOURS))
    return named(f"max by (asset) ({codes}) and on(asset) {selector}")


NAMED = "{{name}} ({{asset}})"  # the legend of a named() series


# --------------------------------------------------------------------------- targets and panels
def target(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False, fmt: str = "time_series",
           interval: str = "") -> dict[str, Any]:
    """One query. A legend naming {{asset}} gets the inventory's name beside the id (named()), unless the query
    joins it already or falls back to a bare 0 (`present()`: that 0 has no asset to join)."""
    if "{{asset}}" in legend and "opsmon_asset_info" not in expr and "vector(0)" not in expr:
        expr, legend = named(expr), legend.replace("{{asset}}", NAMED, 1)
    t: dict[str, Any] = {"datasource": DS, "editorMode": "code", "expr": expr, "format": fmt,
                         "instant": instant, "legendFormat": legend or "__auto", "range": not instant, "refId": ref}
    if interval:
        t["interval"] = interval
    return t


def targets(*queries: tuple[str, str], instant: bool = False, fmt: str = "time_series") -> list[dict[str, Any]]:
    return [target(e, legend, chr(ord("A") + i), instant=instant, fmt=fmt) for i, (e, legend) in enumerate(queries)]


def steps(*pairs: tuple[str, float | None]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in pairs]}


def defaults(unit: str = "none", thresholds: dict | None = None, decimals: int | None = None,
             minimum: float | None = None, maximum: float | None = None, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"color": {"mode": "thresholds" if thresholds else "palette-classic"},
                         "mappings": extra.pop("mappings", []),
                         "thresholds": thresholds or steps((GREEN, None)), "unit": unit}
    if decimals is not None:
        d["decimals"] = decimals
    if minimum is not None:
        d["min"] = minimum
    if maximum is not None:
        d["max"] = maximum
    d.update(extra)
    return d


def panel(kind: str, title: str, description: str, tgts: list[dict[str, Any]], w: int, h: int,
          field: dict[str, Any], options: dict[str, Any], overrides: list | None = None,
          transformations: list | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"type": kind, "title": title, "description": description, "datasource": DS,
                         "targets": tgts, "fieldConfig": {"defaults": field, "overrides": overrides or []},
                         "options": options, "_w": w, "_h": h}
    if transformations:
        p["transformations"] = transformations
    return p


def stat(title: str, description: str, tgts: list[dict[str, Any]], *, w: int = 4, h: int = 4, unit: str = "none",
         thresholds: dict | None = None, decimals: int | None = None, overrides: list | None = None,
         mappings: list | None = None, color_mode: str = "background", text_mode: str = "auto",
         graph: bool = False) -> dict[str, Any]:
    field = defaults(unit, thresholds or steps((BLUE, None)), decimals, mappings=mappings or [])
    field["color"] = {"mode": "thresholds"}
    options = {"colorMode": color_mode, "graphMode": "area" if graph else "none", "justifyMode": "auto",
               "orientation": "auto", "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "showPercentChange": False, "textMode": text_mode, "wideLayout": True}
    return panel("stat", title, description, tgts, w, h, field, options, overrides)


def timeseries(title: str, description: str, tgts: list[dict[str, Any]], *, w: int = 12, h: int = 8,
               unit: str = "none", minimum: float | None = None, maximum: float | None = None,
               thresholds: dict | None = None, stack: bool = False, overrides: list | None = None,
               legend_calcs: Iterable[str] = ("mean", "max", "lastNotNull")) -> dict[str, Any]:
    field = defaults(unit, thresholds, None, minimum, maximum)
    field["color"] = {"mode": "palette-classic"}
    field["custom"] = {"drawStyle": "line", "fillOpacity": 10, "lineWidth": 1, "showPoints": "never",
                       "spanNulls": False, "stacking": {"group": "A", "mode": "normal" if stack else "none"},
                       "thresholdsStyle": {"mode": "dashed" if thresholds else "off"}}
    options = {"legend": {"calcs": list(legend_calcs), "displayMode": "table", "placement": "bottom",
                          "showLegend": True},
               "tooltip": {"mode": "multi", "sort": "desc"}}
    return panel("timeseries", title, description, tgts, w, h, field, options, overrides)


def bargauge(title: str, description: str, tgts: list[dict[str, Any]], *, w: int = 12, h: int = 8,
             unit: str = "none", thresholds: dict | None = None, minimum: float | None = None,
             maximum: float | None = None, decimals: int | None = None) -> dict[str, Any]:
    field = defaults(unit, thresholds or steps((BLUE, None)), decimals, minimum, maximum)
    options = {"displayMode": "gradient", "maxVizHeight": 300, "minVizHeight": 16, "minVizWidth": 8,
               "namePlacement": "auto", "orientation": "horizontal",
               "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "showUnfilled": True, "sizing": "auto", "valueMode": "color"}
    return panel("bargauge", title, description, tgts, w, h, field, options)


def table(title: str, description: str, tgts: list[dict[str, Any]], *, w: int = 12, h: int = 8,
          unit: str = "none", thresholds: dict | None = None, rename: dict[str, str] | None = None,
          hide: Iterable[str] = ("Time", "__name__", "job", "instance"), overrides: list | None = None,
          mappings: list | None = None) -> dict[str, Any]:
    field = defaults(unit, thresholds, mappings=mappings or [])
    field["custom"] = {"align": "auto", "cellOptions": {"type": "color-text" if thresholds else "auto"},
                       "filterable": True}
    options = {"cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""},
               "showHeader": True}
    transformations: list[dict[str, Any]] = []
    if len(tgts) > 1:
        transformations.append({"id": "merge", "options": {}})
    transformations.append({"id": "organize", "options": {
        "excludeByName": {name: True for name in hide}, "indexByName": {}, "renameByName": rename or {}}})
    return panel("table", title, description, tgts, w, h, field, options, overrides, transformations)


def state_timeline(title: str, description: str, tgts: list[dict[str, Any]], *, w: int = 24, h: int = 8,
                   mappings: list | None = None, thresholds: dict | None = None) -> dict[str, Any]:
    field = defaults("none", thresholds or steps((RED, None), (GREEN, 1)), mappings=mappings or [])
    field["custom"] = {"fillOpacity": 80, "lineWidth": 0}
    options = {"alignValue": "left", "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
               "mergeValues": True, "rowHeight": 0.9, "showValue": "never", "tooltip": {"mode": "single"}}
    return panel("state-timeline", title, description, tgts, w, h, field, options)


def heatmap(title: str, description: str, tgts: list[dict[str, Any]], *, w: int = 12, h: int = 8,
            unit: str = "s") -> dict[str, Any]:
    field = {"custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False},
                        "scaleDistribution": {"type": "linear"}}}
    options = {"calculate": False, "cellGap": 1, "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64,
                                                            "exponent": 0.5, "fill": "dark-orange",
                                                            "reverse": False, "scale": "exponential"},
               "exemplars": {"color": "rgba(255,0,255,0.7)"}, "filterValues": {"le": 1e-9},
               "legend": {"show": True}, "rowsFrame": {"layout": "auto"},
               "tooltip": {"mode": "single", "showColorScale": False, "yHistogram": False},
               "yAxis": {"axisPlacement": "left", "reverse": False, "unit": unit}}
    return panel("heatmap", title, description, tgts, w, h, field, options)


def row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_w": 24, "_h": 1}


UP_DOWN = [{"type": "value", "options": {"0": {"color": RED, "index": 0, "text": "中断 / down"},
                                         "1": {"color": GREEN, "index": 1, "text": "正常 / up"}}}]
PASS_FAIL = [{"type": "value", "options": {"0": {"color": RED, "index": 0, "text": "未达标 / fail"},
                                           "1": {"color": GREEN, "index": 1, "text": "达标 / pass"}}}]


# --------------------------------------------------------------------------- the target table
def load_target_table() -> Any:
    sys.path.insert(0, str(ROOT))
    from opsmon.collector.sla.targets import load_targets

    return load_targets(TARGETS_FILE)


def quarter_threshold(t: Any) -> float:
    """The threshold a quarter-to-date value is judged against: the engine's rule (counts are prorated)."""
    from opsmon.collector.sla.targets import judged_threshold

    return float(judged_threshold(t, "quarter"))


def target_unit(t: Any) -> tuple[str, int]:
    if t.unit == "seconds":
        return "s", 0
    if t.unit == "count":
        return "none", 0
    if t.unit == "ratio":
        return "percentunit", 2
    return "none", 2


def target_thresholds(t: Any) -> dict[str, Any]:
    """Green where the target passes, red where it fails, the boundary on the passing side."""
    thr = quarter_threshold(t)
    above = math.nextafter(thr, math.inf)  # Grafana colours value >= step: ">" and "<=" pass exactly at thr
    if t.comparator == ">=":
        return steps((RED, None), (GREEN, thr))
    if t.comparator == ">":
        return steps((RED, None), (GREEN, above))
    if t.comparator == "<=":
        return steps((GREEN, None), (RED, above))
    return steps((GREEN, None), (RED, thr))  # "<"


def target_name(t: Any) -> str:
    return f"{t.name_zh} / {t.name_en}"


def by_target(tgts: Iterable[Any], *, value_unit: bool = True) -> list[dict[str, Any]]:
    """Per-target field overrides (display name, unit, thresholds) matched on the legend = target id."""
    out = []
    for t in tgts:
        props: list[dict[str, Any]] = [{"id": "displayName", "value": target_name(t)}]
        if value_unit:
            unit, decimals = target_unit(t)
            props += [{"id": "unit", "value": unit}, {"id": "decimals", "value": decimals},
                      {"id": "thresholds", "value": target_thresholds(t)}]
        out.append({"matcher": {"id": "byName", "options": t.id}, "properties": props})
    return out


def target_selector(tgts: list[Any]) -> str:
    return "target=~\"" + "|".join(t.id for t in tgts) + "\""


def target_value_panels(tgts: list[Any], tt: Any, title_scope: str, w: int = 24) -> list[dict[str, Any]]:
    sel = target_selector(tgts)
    floors = sorted({tt.floor(t) for t in tgts})
    return [
        stat(f"绩效目标值（季度累计） / Targets, quarter to date{title_scope}",
             "每个绩效目标的季度累计实际值，按各自的指标值着色：绿色达标，红色未达标（“≤”类目标如硬件故障响应时限颜色相反）。"
             "手工录入或计数类目标在录入前无数据。\n"
             "Quarter-to-date value of each target, coloured at its own threshold (green passes, red fails; "
             "inverted for '<=' targets such as the hardware fault response time). Counts are judged against "
             "the quarter's prorated threshold. Manual and count targets show no value until entered.",
             [target(f"opsmon_sla_value{{{sel}}}", "{{target}}", instant=True)], w=w, h=8,
             thresholds=steps((GREY, None)), overrides=by_target(tgts)),
        stat(f"达标情况 / Pass or fail{title_scope}",
             "opsmon sla 的结论：覆盖率不足或无数据也记为未达标。\n"
             "opsmon sla's verdict: low coverage and no data count as fail, never as pass.",
             [target(f"opsmon_sla_pass{{{sel}}}", "{{target}}", instant=True)], w=w, h=5,
             thresholds=steps((RED, None), (GREEN, 1)), mappings=PASS_FAIL,
             overrides=by_target(tgts, value_unit=False)),
        stat(f"数据覆盖率 / Coverage{title_scope}",
             f"已知状态时间占应观测时间的比例；低于 {floors[0]:.0%} 的目标不会被判为达标。\n"
             f"Share of the expected time with a known state; under the floor ({floors[0]:.0%}) a target is "
             "flagged, never passed.",
             [target(f"opsmon_sla_coverage{{{sel}}}", "{{target}}", instant=True)], w=w, h=5,
             unit="percentunit", decimals=1, thresholds=steps((RED, None), (GREEN, floors[0])),
             overrides=by_target(tgts, value_unit=False)),
    ]


def budget_panel(tgts: list[Any], w: int = 24, h: int = 5) -> dict[str, Any]:
    return stat("停机预算余量 / Downtime budget left",
                "本季度在仍能达标的前提下还可承受的停机时间（假设其余时间全部正常）；负数表示已超出。\n"
                "How much more down time each availability target can absorb this quarter and still pass, "
                "assuming every live asset in scope is up for the rest of it. Negative: exceeded by that much.",
                [target(f"opsmon_sla_budget_left_seconds{{{target_selector(tgts)}}}", "{{target}}", instant=True)],
                w=w, h=h, unit="s", decimals=1,
                thresholds=steps((RED, None), (ORANGE, 0), (GREEN, 86400)),
                overrides=by_target(tgts, value_unit=False))


# --------------------------------------------------------------------------- variables
def datasource_var() -> dict[str, Any]:
    return {"current": {}, "hide": 0, "includeAll": False, "label": "数据源 / Data source", "multi": False,
            "name": "datasource", "options": [], "query": "prometheus", "refresh": 1, "regex": "",
            "skipUrlSync": False, "type": "datasource"}


def query_var(name: str, label: str, query: str, *, multi: bool = True) -> dict[str, Any]:
    return {"allValue": ".*", "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "datasource": DS, "definition": query, "hide": 0, "includeAll": True, "label": label,
            "multi": multi, "name": name, "options": [],
            "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "refresh": 2, "regex": "", "skipUrlSync": False, "sort": 1, "type": "query"}


def custom_var(name: str, label: str, values: Iterable[str]) -> dict[str, Any]:
    values = list(values)
    return {"allValue": ".*", "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "hide": 0,
            "includeAll": True, "label": label, "multi": True, "name": name,
            "options": [{"selected": True, "text": "All", "value": "$__all"}]
            + [{"selected": False, "text": v, "value": v} for v in values],
            "query": ",".join(values), "skipUrlSync": False, "type": "custom"}


def site_category_vars() -> list[dict[str, Any]]:
    return [query_var("site", "地点 / Site", 'label_values(opsmon_asset_up{category=~"$category"}, site)'),
            query_var("category", "类别 / Category", "label_values(opsmon_asset_up, category)")]


# --------------------------------------------------------------------------- annotations
def annotation(name: str, expr: str, colour: str, title: str, tags: str) -> dict[str, Any]:
    """A region on every time panel while `expr` has a series (Grafana's Prometheus annotations, step 1m)."""
    return {"datasource": DS, "enable": True, "expr": expr, "hide": False, "iconColor": colour, "name": name,
            "step": "1m", "tagKeys": tags, "textFormat": "", "titleFormat": title, "useValueForTime": False}


# Incidents from their opening to their acknowledgement (the response clock), outages and maintenance windows.
ANNOTATIONS = [
    annotation("事件（待确认） / Incidents awaiting acknowledgement",
               "max by (incident, asset, kind, severity) (opsmon_incident_unacknowledged_seconds)", RED,
               "{{incident}} {{asset}} {{kind}} {{severity}}", "asset,kind,severity"),
    annotation("维护 / Maintenance", named('max by (asset) (opsmon_asset_state{state="maintenance"} == 1)'), BLUE,
               "维护 / maintenance: {{name}} ({{asset}})", "asset"),
]


# --------------------------------------------------------------------------- layout and dashboard
def layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Number the panels 1.. and place them left to right, wrapping at 24 columns."""
    x = y = line_h = 0
    out = []
    for pid, p in enumerate(panels, start=1):
        w, h = p.pop("_w"), p.pop("_h")
        if p["type"] == "row" or x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        p["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        p["id"] = pid
        x, line_h = x + w, max(line_h, h)
        if p["type"] == "row":
            x, y, line_h = 0, y + h, 0
        out.append(dict(sorted(p.items())))
    return out


def dashboard(uid: str, title: str, description: str, panels: list[dict[str, Any]],
              variables: list[dict[str, Any]], time_from: str = "now-24h") -> dict[str, Any]:
    return {
        "annotations": {"list": [{"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                                  "name": "Annotations & Alerts", "type": "dashboard"}, *ANNOTATIONS]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{"asDropdown": True, "icon": "external link", "includeVars": True, "keepTime": True,
                   "tags": [TAG], "targetBlank": False, "title": "opsmon", "type": "dashboards"}],
        "panels": layout(panels),
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": [TAG],
        "templating": {"list": [datasource_var(), *variables]},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "monday",
    }


# --------------------------------------------------------------------------- the dashboards
def overview(tt: Any) -> dict[str, Any]:
    all_targets = list(tt.targets)
    availability = [t for t in all_targets if t.measure == "availability"]
    panels: list[dict[str, Any]] = [row("绩效目标表（本季度累计） / Performance targets, quarter to date")]
    panels += target_value_panels(all_targets, tt, "")
    panels.append(budget_panel(availability))
    panels += [
        row("当前运行 / Operations now"),
        stat("未关闭事件 / Open incidents",
             "已打开或已确认、尚未解决的事件。\n"
             "Incidents open or acknowledged, not yet resolved.",
             [target(present("sum(opsmon_incidents_open)"), "open", instant=True)],
             thresholds=steps((GREEN, None), (ORANGE, 1)), decimals=0),
        stat("待确认事件 / Awaiting acknowledgement", "尚未确认的事件。\nIncidents nobody has acknowledged yet.",
             [target(present('sum(opsmon_incidents_open{status="open"})'), "unacknowledged", instant=True)],
             thresholds=steps((GREEN, None), (RED, 1)), decimals=0),
        stat("最长等待确认 / Longest wait for acknowledgement",
             "等待确认最久的事件已等待的时间；超过 1 小时即违反故障响应时限。\n"
             "How long the oldest unacknowledged incident has waited (the response limit is 1 h).",
             [target(present(f"max({scoped('opsmon_incident_unacknowledged_seconds')})"), "wait", instant=True)],
             unit="s", thresholds=steps((GREEN, None), (ORANGE, 1800), (RED, 3600))),
        stat("资产 / Assets", "所选地点与类别的资产数。\nAssets in the selected sites and categories.",
             [target(present(f"count({SCOPE})"), "assets", instant=True)], decimals=0),
        stat("中断资产 / Assets down",
             "当前为 down 或 degraded 的资产；不可达（上级中断）、维护中与未知不计为中断，与 SLA 一致。\n"
             "Assets down or degraded now; unreachable (behind a down parent), in maintenance or unknown are not "
             "down, as in the SLA.",
             [target(present(f"count({counted()} == 0)"), "down", instant=True)],
             thresholds=steps((GREEN, None), (RED, 1)), decimals=0),
        stat("失联代理 / Silent agents",
             "超过 3 分钟未上报的主机代理。\n"
             "Host agents without a report for over 3 minutes.",
             [target(present(f"count({scoped('time() - opsmon_agent_last_report_timestamp_seconds > 180')})"),
                     "silent", instant=True)],
             thresholds=steps((GREEN, None), (RED, 1)), decimals=0),
        bargauge("当前在线率（按类别） / Up now, by category",
                 "所选地点中各类别当前为 up 的资产比例（不可达、维护中、未知不计入，与 SLA 一致）。\nShare of the assets in each category that are up now (unreachable, maintenance, unknown left out, as in the SLA).",
                 [target(f'avg by (category) ({counted()})', "{{category}}", instant=True)],
                 unit="percentunit", minimum=0, maximum=1, decimals=1,
                 thresholds=steps((RED, None), (ORANGE, 0.9), (GREEN, 0.95))),
        bargauge("当前在线率（按地点） / Up now, by site",
                 "所选类别中各地点当前为 up 的资产比例（不可达、维护中、未知不计入，与 SLA 一致）。\nShare of the assets at each site that are up now (unreachable, maintenance, unknown left out, as in the SLA).",
                 [target(f'avg by (site) ({counted()})', "{{site}}", instant=True)],
                 unit="percentunit", minimum=0, maximum=1, decimals=1,
                 thresholds=steps((RED, None), (ORANGE, 0.9), (GREEN, 0.95))),
        row("证书 / Certificates"),
        stat("30 天内到期的证书 / Certificates expiring within 30 days",
             "HTTPS 检查看到的、30 天内（含已过期）到期的 TLS 证书数。\n"
             "TLS certificates seen by HTTPS checks that expire within 30 days (or have expired).",
             [target(present(f"count({scoped(f'opsmon_tls_cert_not_after_seconds - time() < {30 * 86400}')})"),
                     "expiring", instant=True)], w=6, h=6, thresholds=steps((GREEN, None), (RED, 1)), decimals=0),
        bargauge("证书剩余天数（最少 20 个） / Certificate days left (fewest 20)",
                 "每个 HTTPS 检查所见证书到期前的天数，30 天内标红。\n"
                 "Days until each certificate an HTTPS check saw expires; red within 30 days.",
                 [target(f"bottomk(20, {named(scoped('(opsmon_tls_cert_not_after_seconds - time()) / 86400'))})",
                         "{{name}} ({{asset}}) {{check}}", instant=True)], w=18, h=6, unit="d", decimals=1,
                 thresholds=steps((RED, None), (ORANGE, 30), (GREEN, 60))),
        row("采集器自身 / Collector health"),
        timeseries("检查结果 / Check results",
                   "每秒检查结果数，按类型与结果。\n"
                   "Check results per second by type and status.",
                   targets((f"sum by (type, status) (rate(opsmon_check_results_total[{RATE}]))",
                            "{{type}} {{status}}")),
                   w=8, unit="ops"),
        timeseries("检查耗时 p95 / Check duration p95",
                   "每种检查的 95 分位耗时。\n"
                   "95th percentile check duration by type.",
                   targets((f"histogram_quantile(0.95, sum by (type, le) "
                            f"(rate(opsmon_check_duration_seconds_bucket[{RATE}])))", "{{type}}")), w=8, unit="s"),
        timeseries("调度延迟 / Scheduler lag",
                   "检查计划时间到开始执行的延迟，以及跳过与丢弃的运行。\n"
                   "Delay from a check's scheduled time to its start; runs skipped or missed.",
                   targets((f"histogram_quantile(0.95, sum by (le) "
                            f"(rate(opsmon_scheduler_lag_seconds_bucket[{RATE}])))", "lag p95"),
                           (f"sum(rate(opsmon_scheduler_skipped_total[{RATE}]))", "skipped/s"),
                           (f"sum(rate(opsmon_scheduler_missed_total[{RATE}]))", "missed/s"),
                           ("max(opsmon_store_queue_length)", "store queue")),
                   w=8, unit="s",
                   overrides=[{"matcher": {"id": "byRegexp", "options": "skipped/s|missed/s|store queue"},
                               "properties": [{"id": "unit", "value": "short"},
                                              {"id": "custom.axisPlacement", "value": "right"}]}]),
    ]
    return dashboard("opsmon-overview", "opsmon 总览 / Overview",
                     "绩效目标表、未关闭事件与停机预算。Target table, open incidents and downtime budget.",
                     panels, site_category_vars())


def hosts() -> dict[str, Any]:
    asset_var = query_var("asset", "主机 / Host", "label_values(opsmon_host_cpu_count, asset)")
    cpu = scoped(f"opsmon:host_cpu_utilisation:ratio_rate5m{{{ASSET}}}")
    pct = steps((GREEN, None), (ORANGE, 0.8), (RED, 0.9))
    net = f'{ASSET},interface!="lo"'
    panels: list[dict[str, Any]] = [
        row("概况 / Summary"),
        stat("上报主机 / Hosts reporting", "有代理上报的主机数。\nHosts whose agent reports.",
             [target(present(f"count({scoped(f'opsmon_host_cpu_count{{{ASSET}}}')})"), "hosts", instant=True)],
             decimals=0),
        stat("CPU 最高 / Busiest CPU",
             "最忙主机的 CPU 使用率（5 分钟）。\n"
             "CPU utilisation of the busiest host (5 min).",
             [target(f"max({cpu})", "cpu", instant=True)], unit="percentunit", decimals=1, thresholds=pct),
        stat("内存最高 / Fullest memory", "内存使用率最高的主机。\nMemory utilisation of the fullest host.",
             [target(f"max({scoped(f'opsmon:host_memory_utilisation:ratio{{{ASSET}}}')})", "memory", instant=True)],
             unit="percentunit", decimals=1, thresholds=pct),
        stat("文件系统最高 / Fullest filesystem", "使用率最高的文件系统。\nUtilisation of the fullest filesystem.",
             [target(f"max({scoped(f'opsmon:host_filesystem_utilisation:ratio{{{ASSET}}}')})", "filesystem",
                     instant=True)], unit="percentunit", decimals=1, thresholds=pct),
        stat("只读文件系统 / Read-only filesystems",
             "挂载为只读的文件系统（常见于磁盘故障后）。\n"
             "Filesystems mounted read-only (often after a disk error).",
             [target(present(f"count({scoped(f'opsmon_host_filesystem_readonly{{{ASSET}}} == 1')})"), "read-only",
                     instant=True)], thresholds=steps((GREEN, None), (ORANGE, 1)), decimals=0),
        stat("网卡中断 / Interfaces down", "报告为 down 的网卡。\nHost network interfaces reported down.",
             [target(present(f"count({scoped(f'opsmon_host_network_up{{{net}}} == 0')})"), "down", instant=True)],
             thresholds=steps((GREEN, None), (ORANGE, 1)), decimals=0),
        table("主机清单 / Hosts",
              "每台主机的 CPU 数、内存、运行时间、进程数与代理时钟偏差。\n"
              "CPUs, memory, uptime, processes and agent clock offset per host.",
              targets(*((f"max by (asset) ({scoped(e)})", "") for e in (
                  f"opsmon_host_cpu_count{{{ASSET}}}", f"opsmon_host_memory_total_bytes{{{ASSET}}}",
                  f"opsmon_host_uptime_seconds{{{ASSET}}}", f"opsmon_host_procs{{{ASSET}}}",
                  f"opsmon_agent_clock_offset_seconds{{{ASSET}}}",
                  f"time() - opsmon_agent_last_report_timestamp_seconds{{{ASSET}}}")),
                      instant=True, fmt="table"),
              w=24, h=7,
              rename={"asset": "主机 / Host", "Value #A": "CPU", "Value #B": "内存 / Memory",
                      "Value #C": "运行时间 / Uptime", "Value #D": "进程 / Processes",
                      "Value #E": "时钟偏差 / Clock offset", "Value #F": "距上次上报 / Since last report"},
              overrides=[{"matcher": {"id": "byName", "options": "Value #B"},
                          "properties": [{"id": "unit", "value": "bytes"}]},
                         {"matcher": {"id": "byRegexp", "options": "Value #[CEF]"},
                          "properties": [{"id": "unit", "value": "s"}]}]),
        row("CPU 与内存 / CPU and memory"),
        timeseries("主机 CPU / Host CPU",
                   "CPU 使用率（非 idle 时间占比，5 分钟，记录规则）。\n"
                   "CPU utilisation over 5 minutes.", targets((cpu, "{{asset}}")),
                   unit="percentunit", minimum=0, maximum=1),
        timeseries("CPU 时间分布 / CPU time by mode",
                   "各模式 CPU 时间占比（不含 idle）。\n"
                   "Share of CPU time by mode, idle left out.",
                   targets((scoped(f'rate(opsmon_host_cpu_seconds_total{{{ASSET},mode!="idle"}}[{RATE}])'
                                   f" / on(asset) group_left() {CPUS}"), "{{asset}} {{mode}}")),
                   unit="percentunit", minimum=0, stack=True),
        timeseries("负载 / Load average", "1、5、15 分钟平均负载除以 CPU 数。\nLoad averages per logical CPU.",
                   targets(*((scoped(f"opsmon_host_load{m}{{{ASSET}}} / on(asset) group_left() {CPUS}"),
                              f"{{{{asset}}}} {m}m") for m in (1, 5, 15))),
                   unit="short", minimum=0),
        timeseries("内存使用率 / Memory utilisation", "1 − 可用内存 / 总内存。\n1 − available / total memory.",
                   targets((scoped(f"opsmon:host_memory_utilisation:ratio{{{ASSET}}}"), "{{asset}}")),
                   unit="percentunit", minimum=0, maximum=1),
        timeseries("交换分区 / Swap used", "已用交换分区与总量。\nSwap used and swap size.",
                   targets((scoped(f"opsmon_host_swap_used_bytes{{{ASSET}}}"), "{{asset}} used"),
                           (scoped(f"opsmon_host_swap_total_bytes{{{ASSET}}}"), "{{asset}} total")),
                   unit="bytes", minimum=0),
        timeseries("进程数 / Processes", "进程数。\nNumber of processes.",
                   targets((scoped(f"opsmon_host_procs{{{ASSET}}}"), "{{asset}}")), unit="short", minimum=0),
        row("文件系统与磁盘 / Filesystems and disks"),
        bargauge("文件系统使用率 / Filesystem utilisation", "各文件系统的空间使用率。\nSpace used per filesystem.",
                 [target(scoped(f"opsmon:host_filesystem_utilisation:ratio{{{ASSET}}}"), "{{asset}} {{mountpoint}}",
                         instant=True)], unit="percentunit", minimum=0, maximum=1, decimals=1, thresholds=pct),
        bargauge("inode 使用率 / Inode utilisation", "已用 inode 比例。\nShare of inodes used.",
                 [target(scoped(f"1 - opsmon_host_filesystem_files_free{{{ASSET}}} / "
                                f"(opsmon_host_filesystem_files{{{ASSET}}} > 0)"), "{{asset}} {{mountpoint}}",
                         instant=True)], unit="percentunit", minimum=0, maximum=1, decimals=1, thresholds=pct),
        timeseries("可用空间 / Space available",
                   "各文件系统可用字节与总大小。\n"
                   "Bytes available and size per filesystem.",
                   targets((scoped(f"opsmon_host_filesystem_avail_bytes{{{ASSET}}}"), "{{asset}} {{mountpoint}} avail"),
                           (scoped(f"opsmon_host_filesystem_size_bytes{{{ASSET}}}"), "{{asset}} {{mountpoint}} size")),
                   w=8, unit="bytes", minimum=0),
        timeseries("磁盘吞吐 / Disk throughput", "每秒读写字节数。\nBytes read and written per second.",
                   targets((scoped(f"rate(opsmon_host_disk_read_bytes_total{{{ASSET}}}[{RATE}])"),
                            "{{asset}} {{device}} read"),
                           (scoped(f"rate(opsmon_host_disk_written_bytes_total{{{ASSET}}}[{RATE}])"),
                            "{{asset}} {{device}} write")),
                   w=8, unit="Bps", minimum=0),
        timeseries("磁盘 IOPS / Disk IOPS", "每秒完成的读写次数。\nReads and writes completed per second.",
                   targets((scoped(f"rate(opsmon_host_disk_reads_completed_total{{{ASSET}}}[{RATE}])"),
                            "{{asset}} {{device}} reads"),
                           (scoped(f"rate(opsmon_host_disk_writes_completed_total{{{ASSET}}}[{RATE}])"),
                            "{{asset}} {{device}} writes")),
                   w=8, unit="iops", minimum=0),
        row("网卡 / Network interfaces"),
        timeseries("网卡流量 / Interface traffic",
                   "每秒收发比特数（不含 lo）。\n"
                   "Bits received and sent per second, lo left out.",
                   targets((scoped(f"8 * rate(opsmon_host_network_receive_bytes_total{{{net}}}[{RATE}])"),
                            "{{asset}} {{interface}} in"),
                           (scoped(f"8 * rate(opsmon_host_network_transmit_bytes_total{{{net}}}[{RATE}])"),
                            "{{asset}} {{interface}} out")),
                   w=8, unit="bps", minimum=0),
        timeseries("网卡包速率 / Interface packets", "每秒收发包数。\nPackets received and sent per second.",
                   targets((scoped(f"rate(opsmon_host_network_receive_packets_total{{{net}}}[{RATE}])"),
                            "{{asset}} {{interface}} in"),
                           (scoped(f"rate(opsmon_host_network_transmit_packets_total{{{net}}}[{RATE}])"),
                            "{{asset}} {{interface}} out")),
                   w=8, unit="pps", minimum=0),
        timeseries("网卡错误与丢包 / Interface errors and drops",
                   "每秒错误与丢弃包数，按主机汇总。\n"
                   "Errors and dropped packets per second, per host.",
                   targets((scoped(f"sum by (asset) (rate(opsmon_host_network_receive_errs_total{{{net}}}[{RATE}]))"),
                            "{{asset}} rx errors"),
                           (scoped(f"sum by (asset) (rate(opsmon_host_network_transmit_errs_total{{{net}}}[{RATE}]))"),
                            "{{asset}} tx errors"),
                           (scoped(f"sum by (asset) (rate(opsmon_host_network_receive_drop_total{{{net}}}[{RATE}]))"),
                            "{{asset}} rx drops"),
                           (scoped(f"sum by (asset) (rate(opsmon_host_network_transmit_drop_total{{{net}}}[{RATE}]))"),
                            "{{asset}} tx drops")),
                   w=8, unit="pps", minimum=0),
        row("代理 / Agent"),
        timeseries("代理时钟偏差 / Agent clock offset",
                   "采集器时钟减代理时钟；超过 60 秒会记日志。\n"
                   "Collector clock minus agent clock; over 60 s is logged.",
                   targets((scoped(f"opsmon_agent_clock_offset_seconds{{{ASSET}}}"), "{{asset}}")),
                   unit="s", thresholds=steps((GREEN, None), (RED, 60))),
        timeseries("运行时间 / Uptime", "主机自启动以来的时间；回落表示重启。\nTime since boot; a drop is a reboot.",
                   targets((scoped(f"opsmon_host_uptime_seconds{{{ASSET}}}"), "{{asset}}")), unit="s", minimum=0),
        row("服务（按代理配置） / Services (as configured per agent)"),
        state_timeline("服务进程 / Service processes",
                       "代理配置的 services 中各进程是否在运行；未配置时无数据。\n"
                       "Whether each process named in the agent's `services` runs; no data when none is configured.",
                       targets((scoped(f"opsmon_host_service_up{{{ASSET}}}"), "{{asset}} {{service}}")),
                       mappings=UP_DOWN, h=6),
        row(PLATFORM_ROW),
        timeseries("温度 / Temperatures",
                   "传感器温度（虚拟机通常无数据）。\n"
                   "Sensor temperatures (a VM usually has none).",
                   targets((scoped(f"opsmon_host_temperature_celsius{{{ASSET}}}"), "{{asset}} {{sensor}}")),
                   w=8, unit="celsius", thresholds=steps((GREEN, None), (ORANGE, 75), (RED, 90))),
        timeseries("风扇转速 / Fan speed", "风扇转速（虚拟机通常无数据）。\nFan speed (a VM usually has none).",
                   targets((scoped(f"opsmon_host_fan_rpm{{{ASSET}}}"), "{{asset}} {{fan}}")),
                   w=8, unit="rotrpm", minimum=0),
        stat("SMART 健康 / SMART health",
             "磁盘 SMART 总体健康（需要 smartctl；虚拟机通常无数据）。\n"
             "Overall SMART health per disk (needs smartctl; a VM usually has none).",
             [target(scoped(f"opsmon_host_smart_healthy{{{ASSET}}}"), "{{asset}} {{device}}", instant=True)],
             w=8, h=8, thresholds=steps((RED, None), (GREEN, 1)),
             mappings=[{"type": "value", "options": {"0": {"color": RED, "index": 0, "text": "故障 / failing"},
                                                     "1": {"color": GREEN, "index": 1, "text": "健康 / healthy"}}}]),
    ]
    return dashboard("opsmon-hosts", "opsmon 主机 / Hosts",
                     "主机代理上报的 CPU、内存、磁盘、网卡与传感器。"
                     "CPU, memory, disks, interfaces and sensors from the host agents.",
                     panels, [*site_category_vars(), asset_var])


def network() -> dict[str, Any]:
    asset_var = query_var("asset", "设备 / Device", "label_values(opsmon_snmp_up, asset)")
    links = 'opsmon_asset_up{category="link",site=~"$site"}'
    util = steps((GREEN, None), (ORANGE, 0.7), (RED, 0.9))
    enabled_down = f"(ifOperStatus{{{ASSET}}} != 1) and on(asset, ifIndex) (ifAdminStatus{{{ASSET}}} == 1)"
    panels: list[dict[str, Any]] = [
        row("链路（按地州） / Links per prefecture"),
        stat("链路中断 / Links down",
             "所选地点当前中断（down 或 degraded）的链路；不可达、维护中、未知不计为中断。\n"
             "Links in the selected sites down or degraded now; unreachable, maintenance and unknown are not down.",
             [target(present(f"count({counted(links)} == 0)"), "down", instant=True)],
             thresholds=steps((GREEN, None), (RED, 1)), decimals=0),
        bargauge("链路在线率（按地州） / Links up, per prefecture",
                 "各地州当前为 up 的链路比例（不可达、维护中、未知不计入，与 SLA 一致）。\n"
                 "Share of each prefecture's links up now (unreachable, maintenance, unknown left out, as the SLA).",
                 [target(f"avg by (site) ({counted(links)})", "{{site}}", instant=True)], w=8, h=8,
                 unit="percentunit", minimum=0, maximum=1, decimals=0,
                 thresholds=steps((RED, None), (ORANGE, 0.5), (GREEN, 1))),
        state_timeline("链路状态 / Link state",
                       "每条链路的状态时间线，每种状态一种颜色。\nState timeline of each link, one colour per state.",
                       targets((state_code(links), NAMED)), w=12, h=8, mappings=STATE_MAP),
        timeseries("链路时延 / Link latency (ICMP RTT)",
                   "每条链路 ICMP 检查最近一次运行的平均往返时延。\n"
                   "Mean round-trip time of each link's ICMP check, its last run.",
                   targets((named(f"opsmon_icmp_rtt_seconds and on(asset) {links}"), NAMED)), unit="s", minimum=0),
        timeseries("链路丢包率 / Link loss (ICMP)",
                   "每条链路 ICMP 检查最近一次运行未获应答的请求比例。\n"
                   "Share of the echo requests of each link's ICMP check, last run, that got no reply.",
                   targets((named(f"opsmon_icmp_loss_ratio and on(asset) {links}"), NAMED)), unit="percentunit",
                   minimum=0, maximum=1, thresholds=steps((GREEN, None), (ORANGE, 0.05), (RED, 0.2))),
        row("SNMP 设备 / SNMP devices"),
        stat("无应答设备 / Devices not answering",
             "最近一次 SNMP 轮询无应答的设备。\n"
             "Devices that did not answer their last poll.",
             [target(present(f"count({scoped(f'opsmon_snmp_up{{{ASSET}}} == 0')})"), "not answering", instant=True)],
             thresholds=steps((GREEN, None), (RED, 1)), decimals=0),
        timeseries("轮询耗时 / Poll duration", "最近一次完整轮询的耗时。\nWall time of the last poll.",
                   targets((scoped(f"opsmon_snmp_poll_duration_seconds{{{ASSET}}}"), "{{asset}}")), w=10, unit="s",
                   minimum=0),
        timeseries("轮询变量数 / Varbinds per poll",
                   "最近一次完整轮询读取的变量数。\n"
                   "Varbinds read by the last complete poll.",
                   targets((scoped(f"opsmon_snmp_poll_varbinds{{{ASSET}}}"), "{{asset}}")), w=10, unit="short",
                   minimum=0),
        timeseries("设备运行时间 / Device uptime",
                   "SNMP 代理自上次启动的时间；回落表示重启。\n"
                   "Time since the device's SNMP agent (re)started; a drop is a reboot.",
                   targets((scoped(f"sysUpTime{{{ASSET}}} / 100"), "{{asset}}")), unit="s", minimum=0),
        timeseries("被拒计数增量 / Counter deltas refused",
                   "因重启、计数器复位或时钟问题而未换算为速率的计数增量（每小时）。\n"
                   "Counter deltas refused as a rate (reboot, reset, absurd, clock), per hour.",
                   targets((present(scoped(f"sum by (asset, reason) "
                                           f"(increase(opsmon_snmp_rate_discarded_total{{{ASSET}}}[1h]))")),
                            "{{asset}} {{reason}}")), unit="short", minimum=0),
        row("接口流量 / Interface traffic"),
        timeseries("接口流量 / Interface traffic",
                   "每秒入、出比特数（Prometheus 记录规则由计数器计算，5 分钟）。\n"
                   "Bits per second in and out, rated from the counters by the recording rules (5 min).",
                   targets((scoped(f"opsmon:if_in_bits:rate5m{{{ASSET}}}"), "{{asset}} {{ifName}} in"),
                           (scoped(f"opsmon:if_out_bits:rate5m{{{ASSET}}}"), "{{asset}} {{ifName}} out")),
                   unit="bps", minimum=0),
        timeseries("接口利用率 / Interface utilisation",
                   "max(入, 出) / 接口速率（ifHighSpeed），最高的 20 个。\n"
                   "max(in, out) over the interface speed, top 20.",
                   targets((f"topk(20, {scoped(f'opsmon:if_utilisation:ratio_rate5m{{{ASSET}}}')})", "{{asset}} {{ifName}}")),
                   unit="percentunit", minimum=0, thresholds=util),
        timeseries("接口包速率 / Interface packets",
                   "每秒单播与广播包数（由 SNMP 计数器计算；需在检查的 profiles 中加入 interfaces-packets）。\n"
                   "Unicast and broadcast packets per second, from the SNMP counters (add interfaces-packets to "
                   "the check's profiles).",
                   targets((scoped(if_named(f"rate(ifHCInUcastPkts{{{ASSET}}}[{RATE}])")), "{{asset}} {{ifName}} in ucast"),
                           (scoped(if_named(f"rate(ifHCOutUcastPkts{{{ASSET}}}[{RATE}])")),
                            "{{asset}} {{ifName}} out ucast"),
                           (scoped(if_named(f"rate(ifHCInBroadcastPkts{{{ASSET}}}[{RATE}])")),
                            "{{asset}} {{ifName}} in bcast"),
                           (scoped(if_named(f"rate(ifHCOutBroadcastPkts{{{ASSET}}}[{RATE}])")),
                            "{{asset}} {{ifName}} out bcast")),
                   unit="pps", minimum=0),
        timeseries("接口字节计数速率 / Octet counters, rated",
                   "由 ifHCInOctets/ifHCOutOctets 直接计算的速率，用于核对。\n"
                   "Rates computed from the raw octet counters at query time, to cross-check the recorded ones.",
                   targets((scoped(if_named(f"8 * rate(ifHCInOctets{{{ASSET}}}[{RATE}])")), "{{asset}} {{ifName}} in"),
                           (scoped(if_named(f"8 * rate(ifHCOutOctets{{{ASSET}}}[{RATE}])")),
                            "{{asset}} {{ifName}} out")),
                   unit="bps", minimum=0),
        row("接口错误与状态 / Interface errors and status"),
        timeseries("接口错误 / Interface errors", "每秒入、出错误包数。\nErrored packets per second in and out.",
                   targets((scoped(f"opsmon:if_in_errors:rate5m{{{ASSET}}}"), "{{asset}} {{ifName}} in"),
                           (scoped(f"opsmon:if_out_errors:rate5m{{{ASSET}}}"), "{{asset}} {{ifName}} out")),
                   w=8, unit="pps", minimum=0),
        timeseries("接口丢弃 / Interface discards", "每秒入、出丢弃包数。\nDiscarded packets per second in and out.",
                   targets((scoped(f"opsmon:if_in_discards:rate5m{{{ASSET}}}"), "{{asset}} {{ifName}} in"),
                           (scoped(f"opsmon:if_out_discards:rate5m{{{ASSET}}}"), "{{asset}} {{ifName}} out")),
                   w=8, unit="pps", minimum=0),
        timeseries("错误计数（1 小时） / Error counters, 1 h",
                   "由原始计数器计算的每小时错误与丢弃数。\n"
                   "Errors and discards per hour from the raw counters.",
                   targets((scoped(f"sum by (asset) (increase(ifInErrors{{{ASSET}}}[1h]))"), "{{asset}} in errors"),
                           (scoped(f"sum by (asset) (increase(ifOutErrors{{{ASSET}}}[1h]))"), "{{asset}} out errors"),
                           (scoped(f"sum by (asset) (increase(ifInDiscards{{{ASSET}}}[1h]))"), "{{asset}} in discards"),
                           (scoped(f"sum by (asset) (increase(ifOutDiscards{{{ASSET}}}[1h]))"),
                            "{{asset}} out discards")),
                   w=8, unit="short", minimum=0),
        stat("启用但中断的接口 / Enabled but down",
             "管理状态 up（ifAdminStatus=1）而运行状态不是 up 的接口。\n"
             "Interfaces administratively up whose operational status is not up.",
             [target(present(f"count({scoped(enabled_down)})"), "down", instant=True)],
             thresholds=steps((GREEN, None), (ORANGE, 1)), decimals=0),
        table("接口清单 / Interfaces",
              "接口的运行与管理状态、速率与类型。\n"
              "Operational and admin status, speed and type.",
              targets(*((f"max by (asset, ifIndex, ifName, ifAlias, ifType) (({scoped(m + '{' + ASSET + '}')}) "
                         "* on(asset, ifIndex) group_left(ifName, ifAlias, ifType) opsmon_snmp_if_info)", "")
                        for m in ("ifOperStatus", "ifAdminStatus", "ifHighSpeed")),
                      instant=True, fmt="table"),
              w=20, h=8,
              rename={"asset": "设备 / Device", "ifName": "接口 / Interface", "ifAlias": "描述 / Alias",
                      "Value #A": "运行 / Oper", "Value #B": "管理 / Admin", "Value #C": "速率 Mb/s / Speed",
                      "ifType": "类型 / ifType"},
              overrides=[{"matcher": {"id": "byRegexp", "options": "Value #[AB]"},
                          "properties": [{"id": "mappings", "value": [{"type": "value", "options": {
                              "1": {"color": GREEN, "index": 0, "text": "up"},
                              "2": {"color": RED, "index": 1, "text": "down"},
                              "3": {"color": BLUE, "index": 2, "text": "testing"},
                              "5": {"color": ORANGE, "index": 3, "text": "dormant"},
                              "7": {"color": ORANGE, "index": 4, "text": "lowerLayerDown"}}}]},
                                         {"id": "custom.cellOptions", "value": {"type": "color-text"}}]}]),
        row("设备资源（HOST-RESOURCES-MIB） / Device resources"),
        stat("异常硬件 / Devices not running",
             "hrDeviceStatus 不是 running(2) 的硬件条目。\n"
             "Hardware entries whose hrDeviceStatus is not running (2).",
             [target(present(f"count({scoped(f'hrDeviceStatus{{{ASSET}}} != 2')})"), "not running", instant=True)],
             h=8, thresholds=steps((GREEN, None), (ORANGE, 1)), decimals=0),
        timeseries("设备 CPU / Device CPU", "hrProcessorLoad 各处理器平均。\nhrProcessorLoad averaged over processors.",
                   targets((scoped(f"avg by (asset) (hrProcessorLoad{{{ASSET}}})"), "{{asset}}")), w=7,
                   unit="percent", minimum=0, maximum=100),
        timeseries("设备存储 / Device storage", "hrStorageUsed / hrStorageSize。\nStorage used over size.",
                   targets((scoped(f"hrStorageUsed{{{ASSET}}} / (hrStorageSize{{{ASSET}}} > 0)"),
                            "{{asset}} {{hrStorageDescr}}"),), w=7, unit="percentunit", minimum=0, maximum=1),
        table("设备存储容量 / Storage size",
              "hrStorageSize × hrStorageAllocationUnits（字节）。\n"
              "Storage size in bytes.",
              targets((scoped(f"hrStorageSize{{{ASSET}}} * on(asset, hrStorageIndex) group_left() "
                              f"max by (asset, hrStorageIndex) (hrStorageAllocationUnits{{{ASSET}}})"), ""),
                      instant=True, fmt="table"),
              w=6, unit="bytes", hide=("Time", "__name__", "job", "instance", "hrStorageIndex"),
              rename={"asset": "设备 / Device", "hrStorageDescr": "存储 / Storage", "Value": "容量 / Size"}),
    ]
    return dashboard("opsmon-network", "opsmon 网络 / Network",
                     "链路（按地州）、SNMP 设备、接口流量与错误。"
                     "Links per prefecture, SNMP devices, interface traffic and errors.",
                     panels, [*site_category_vars(), asset_var])


def incidents(tt: Any) -> dict[str, Any]:
    from opsmon.collector.core.incidents import IMPORTED_KINDS, SEVERITIES  # the kind and severity labels' values

    ks = 'kind=~"$kind",severity=~"$severity"'
    response = [t for t in tt.targets if t.measure in ("response_time", "response_rate")]
    ack = "opsmon_incident_time_to_acknowledge_seconds"
    res = "opsmon_incident_time_to_resolve_seconds"
    wait = steps((GREEN, None), (ORANGE, 1800), (RED, 3600))
    panels: list[dict[str, Any]] = [
        row("当前事件 / Incidents now"),
        stat("未关闭事件 / Open incidents",
             "已打开或已确认、尚未解决的事件。\n"
             "Incidents open or acknowledged, not yet resolved.",
             [target(present(f"sum(opsmon_incidents_open{{{ks}}})"), "open", instant=True)],
             thresholds=steps((GREEN, None), (ORANGE, 1)), decimals=0),
        stat("待确认 / Awaiting acknowledgement", "尚未确认的事件。\nIncidents nobody has acknowledged yet.",
             [target(present(f'sum(opsmon_incidents_open{{{ks},status="open"}})'), "open", instant=True)],
             thresholds=steps((GREEN, None), (RED, 1)), decimals=0),
        stat("最长等待确认 / Longest wait",
             "所选地点与类别中等待确认最久的事件。\n"
             "The longest wait for acknowledgement in the selected sites and categories.",
             [target(present(f"max({scoped(f'opsmon_incident_unacknowledged_seconds{{{ks}}}')})"), "wait",
                     instant=True)], unit="s", thresholds=wait),
        stat("超时未确认（7天） / Breaches, 7 d",
             "7 天内超过响应时限仍未确认的事件数。\n"
             "Incidents that passed their response deadline unacknowledged in the last 7 days.",
             [target(present("sum(increase(opsmon_incident_breaches_total[7d]))"), "breaches", instant=True)],
             thresholds=steps((GREEN, None), (RED, 1)), decimals=0),
        stat("平均确认时长（7天） / Mean time to acknowledge, 7 d",
             "7 天内已确认事件的平均确认时长。\n"
             "Mean time to acknowledge over the last 7 days.",
             [target(f"sum(increase({ack}_sum{{{ks}}}[7d])) / sum(increase({ack}_count{{{ks}}}[7d]))", "mean",
                     instant=True)], unit="s", thresholds=wait),
        stat("平均解决时长（7天） / Mean time to resolve, 7 d",
             "7 天内已解决事件的平均解决时长。\n"
             "Mean time to resolve over the last 7 days.",
             [target(f"sum(increase({res}_sum{{{ks}}}[7d])) / sum(increase({res}_count{{{ks}}}[7d]))", "mean",
                     instant=True)], unit="s"),
        bargauge("未关闭事件（按类型） / Open incidents, by kind",
                 "按事件类型统计的未关闭事件。\n"
                 "Open incidents per kind.",
                 [target('opsmon:incidents_open:sum_by_kind{kind=~"$kind"}', "{{kind}}", instant=True)],
                 w=8, decimals=0, thresholds=steps((GREEN, None), (ORANGE, 1))),
        bargauge("未关闭事件（按级别） / Open incidents, by severity",
                 "按严重级别与状态统计的未关闭事件。\n"
                 "Open incidents per severity and status.",
                 [target(f"sum by (severity, status) (opsmon_incidents_open{{{ks}}})", "{{severity}} {{status}}",
                         instant=True)], w=8, decimals=0, thresholds=steps((GREEN, None), (ORANGE, 1))),
        table("等待确认的事件 / Incidents awaiting acknowledgement",
              "每个未确认事件及其已等待时间。\n"
              "Each unacknowledged incident and how long it has waited.",
              [target(scoped(f"opsmon_incident_unacknowledged_seconds{{{ks}}}"), "", instant=True, fmt="table")],
              w=8, unit="s", thresholds=wait,
              rename={"incident": "事件 / Incident", "asset": "资产 / Asset", "kind": "类型 / Kind",
                      "severity": "级别 / Severity", "Value": "已等待 / Waiting"}),
        row("响应时长 / Response times"),
        timeseries("确认时长 / Time to acknowledge",
                   "确认时长的 50 与 90 分位（1 天窗口）及按类型的 90 分位（记录规则）。\n"
                   "Median and 90th percentile time to acknowledge over a day, and p90 per kind (recording rule).",
                   targets((f"histogram_quantile(0.5, sum by (le) (rate({ack}_bucket{{{ks}}}[1d])))", "p50"),
                           (f"histogram_quantile(0.9, sum by (le) (rate({ack}_bucket{{{ks}}}[1d])))", "p90"),
                           ('opsmon:incident_time_to_acknowledge_seconds:p90_rate1d{kind=~"$kind"}', "p90 {{kind}}")),
                   unit="s", minimum=0, thresholds=steps((GREEN, None), (RED, 3600))),
        timeseries("解决时长 / Time to resolve",
                   "解决时长的 50 与 90 分位（1 天窗口）。\n"
                   "Median and 90th percentile time to resolve over a day.",
                   targets((f"histogram_quantile(0.5, sum by (le) (rate({res}_bucket{{{ks}}}[1d])))", "p50"),
                           (f"histogram_quantile(0.9, sum by (le) (rate({res}_bucket{{{ks}}}[1d])))", "p90")),
                   unit="s", minimum=0),
        bargauge("确认时长分布（7天） / Time to acknowledge, distribution (7 d)",
                 "7 天内确认的事件按确认时长分桶的数量。\n"
                 "Incidents acknowledged in the last 7 days per response-time bucket.",
                 [target(f"sum by (le) (increase({ack}_bucket{{{ks}}}[7d]))", "{{le}}", instant=True, fmt="heatmap")],
                 decimals=0),
        bargauge("解决时长分布（7天） / Time to resolve, distribution (7 d)",
                 "7 天内解决的事件按解决时长分桶的数量。\n"
                 "Incidents resolved in the last 7 days per time-to-resolve bucket.",
                 [target(f"sum by (le) (increase({res}_bucket{{{ks}}}[7d]))", "{{le}}", instant=True, fmt="heatmap")],
                 decimals=0),
        heatmap("确认时长热力图 / Time to acknowledge, heatmap",
                "每小时确认的事件按确认时长的分布。\n"
                "Acknowledgements per hour by response-time bucket.",
                [target(f"sum by (le) (increase({ack}_bucket{{{ks}}}[1h]))", "{{le}}", fmt="heatmap",
                        interval="1h")]),
        timeseries("确认与超时（每小时） / Acknowledged and breaches per hour",
                   "每小时确认的事件数与超时数。\n"
                   "Incidents acknowledged and deadline breaches per hour.",
                   targets((f"sum(increase({ack}_count{{{ks}}}[1h]))", "acknowledged"),
                           ("sum(increase(opsmon_incident_breaches_total[1h]))", "breaches")),
                   unit="short", minimum=0),
        row("故障响应目标（本季度累计） / Fault-response targets, quarter to date"),
        *target_value_panels(response, tt, "", w=24)[:2],
    ]
    return dashboard("opsmon-incidents", "opsmon 事件与 SLA / Incidents and SLA",
                     "响应时长、超时与响应时长分布。Time to acknowledge, breaches and response-time distribution.",
                     panels, [*site_category_vars(), custom_var("kind", "类型 / Kind", IMPORTED_KINDS),
                              custom_var("severity", "级别 / Severity", SEVERITIES)], time_from="now-7d")


def availability(tt: Any) -> dict[str, Any]:
    avail = [t for t in tt.targets if t.measure == "availability"]
    band = steps((RED, None), (ORANGE, 0.9), (GREEN, 0.95))
    panels: list[dict[str, Any]] = [
        row("可用性目标（本季度累计） / Availability targets, quarter to date"),
        *target_value_panels(avail, tt, "", w=12)[:1],
        budget_panel(avail, w=12, h=8),
        row("当前 / Now"),
        bargauge("当前在线率（按类别） / Up now, by category",
                 "所选地点中各类别当前为 up 的资产比例（不可达、维护中、未知不计入，与 SLA 一致）。\n"
                 "Share of the assets in each category that are up now (unreachable, maintenance, unknown left out, as in the SLA).",
                 [target(f"avg by (category) ({counted()})", "{{category}}", instant=True)], w=8,
                 unit="percentunit", minimum=0, maximum=1, decimals=1, thresholds=band),
        bargauge("当前在线率（按地点） / Up now, by site",
                 "所选类别中各地点当前为 up 的资产比例（不可达、维护中、未知不计入，与 SLA 一致）。\n"
                 "Share of the assets at each site that are up now (unreachable, maintenance, unknown left out, as in the SLA).",
                 [target(f"avg by (site) ({counted()})", "{{site}}", instant=True)], w=8,
                 unit="percentunit", minimum=0, maximum=1, decimals=1, thresholds=band),
        bargauge("资产状态 / Assets by state", "所选资产当前各状态的数量。\nAssets in each state now.",
                 [target(f"count by (state) ((opsmon_asset_state == 1) and on(asset) {SCOPE})", "{{state}}",
                         instant=True)], w=8, decimals=0),
        row("趋势 / Over time"),
        timeseries("在线率（按类别） / Up ratio, by category",
                   "所选地点中各类别 up 资产的比例（不可达、维护中、未知不计入）。\n"
                   "Share of assets up per category in the selected sites (unreachable, maintenance, unknown left out).",
                   targets((f"avg by (category) ({counted()})", "{{category}}")), unit="percentunit", minimum=0,
                   maximum=1, thresholds=band),
        timeseries("在线率（按地点） / Up ratio, by site",
                   "所选类别中各地点 up 资产的比例（不可达、维护中、未知不计入）。\n"
                   "Share of assets up per site in the selected categories (unreachable, maintenance, unknown left out).",
                   targets((f"avg by (site) ({counted()})", "{{site}}")), unit="percentunit", minimum=0, maximum=1,
                   thresholds=band),
        bargauge("近 24 小时可用率（按类别，全部地点） / 24 h, by category (all sites)",
                 "记录规则 opsmon:asset_up:avg_by_category 的 24 小时平均（按采样，非 SLA 口径）。\n"
                 "24-hour mean of opsmon:asset_up:avg_by_category (sample-based, not the SLA's time-weighted figure).",
                 [target('avg_over_time(opsmon:asset_up:avg_by_category{category=~"$category"}[1d])', "{{category}}",
                         instant=True)], unit="percentunit", minimum=0, maximum=1, decimals=2, thresholds=band),
        bargauge("近 24 小时可用率（按地点，全部类别） / 24 h, by site (all categories)",
                 "记录规则 opsmon:asset_up:avg_by_site 的 24 小时平均（按采样，非 SLA 口径）。\n"
                 "24-hour mean of opsmon:asset_up:avg_by_site (sample-based, not the SLA's time-weighted figure).",
                 [target('avg_over_time(opsmon:asset_up:avg_by_site{site=~"$site"}[1d])', "{{site}}", instant=True)],
                 unit="percentunit", minimum=0, maximum=1, decimals=2, thresholds=band),
        row("资产 / Assets"),
        state_timeline("资产状态时间线 / Asset state timeline",
                       "所选资产的状态时间线（opsmon_asset_state），每种状态一种颜色：不可达与维护不是中断。\n"
                       "State timeline of the selected assets (opsmon_asset_state), one colour per state: "
                       "unreachable and maintenance are not down.",
                       targets((state_code(), NAMED)), h=10, mappings=STATE_MAP),
        table("资产当前状态 / Current state per asset",
              "每个资产当前的状态、类别与地点。\n"
              "Current state, category and site of each asset.",
              [target(named("max by (asset, state) (opsmon_asset_state == 1) + on(asset) group_left(site, category) "
                            f"(0 * max by (asset, site, category) ({SCOPE}))"), "",
                      instant=True, fmt="table")],
              w=24, h=10, hide=("Time", "__name__", "job", "instance", "Value"),
              rename={"asset": "资产 / Asset", "name": "名称 / Name", "state": "状态 / State",
                      "site": "地点 / Site", "category": "类别 / Category"}),
    ]
    return dashboard("opsmon-availability", "opsmon 可用性 / Availability",
                     "按类别与地点的可用性。Availability per category and site.", panels, site_category_vars())


def security() -> dict[str, Any]:
    """等级保护 2.0 baseline compliance per control point and host, findings, logins, file integrity."""
    band = steps((RED, None), (ORANGE, 0.8), (GREEN, 0.95))
    failing = 'opsmon_baseline_checks{status="fail"}'
    panels: list[dict[str, Any]] = [
        row("合规 / Compliance"),
        bargauge("控制点合规率 / Compliance per control point",
                 "各控制点基线检查通过数 / 计数检查数，所选主机的平均。\n"
                 "Baseline checks passed / counted per control point, averaged over the selected hosts.",
                 [target(f"avg by (control) ({scoped('opsmon_compliance_ratio')})", "{{control}}", instant=True)],
                 w=12, h=10, unit="percentunit", minimum=0, maximum=1, decimals=1, thresholds=band),
        bargauge("主机合规率（最低 20） / Compliance per host (lowest 20)",
                 "每台主机全部控制点的平均合规率。\nEach host's compliance averaged over its control points.",
                 [target(f"bottomk(20, avg by (asset) ({scoped('opsmon_compliance_ratio')}))", "{{asset}}",
                         instant=True)], w=12, h=10, unit="percentunit", minimum=0, maximum=1, decimals=1,
                 thresholds=band),
        stat("未通过的检查 / Checks failing",
             "所选主机当前未通过的基线检查数。\nBaseline checks failing now on the selected hosts.",
             [target(present(f"sum({scoped(failing)})"))],
             w=6, thresholds=steps((GREEN, None), (ORANGE, 1), (RED, 10))),
        stat("安全事件（未关闭） / Security findings open",
             "暴力破解、关键文件变化、计划外配置变更、主机密钥变化、基线检查由通过变为未通过、安全类陷阱打开的安全事件。\n"
             "Security incidents open: brute force, changed critical files, unexpected config changes, changed host "
             "keys, checks that turned from pass to fail, traps mapped as security.",
             [target(present('sum(opsmon_incidents_open{kind="security"})'))], w=6,
             thresholds=steps((GREEN, None), (RED, 1))),
        stat("登录失败（1 小时） / Failed logins, 1 h",
             "代理报告的登录失败次数（所选主机，近 1 小时）。\nFailed logins reported by agents in the last hour.",
             [target(present(f"sum({scoped('increase(opsmon_host_auth_failures_total[1h])')})"))], w=6,
             thresholds=steps((GREEN, None), (ORANGE, 10), (RED, 100))),
        stat("文件完整性变化（24 小时） / File integrity changes, 24 h",
             "代理报告的受监控文件变化数（近 24 小时）。\nChanges to watched files reported in the last 24 hours.",
             [target(present(f"sum({scoped('increase(opsmon_fim_changes_total[1d])')})"))], w=6,
             thresholds=steps((GREEN, None), (ORANGE, 1))),
        row("活动 / Activity"),
        timeseries("登录失败 / Failed logins",
                   "每台主机每 5 分钟的登录失败次数（暴力破解在事件中单独列出）。\n"
                   "Failed logins per host per 5 minutes (brute-force sources are events of their own).",
                   targets((f"sum by (asset) ({scoped('increase(opsmon_host_auth_failures_total[5m])')})",
                            "{{asset}}"))),
        timeseries("成功登录 / Successful logins",
                   "每台主机每 5 分钟的成功登录次数。\nSuccessful logins per host per 5 minutes.",
                   targets((f"sum by (asset) ({scoped('increase(opsmon_host_logins_total[5m])')})", "{{asset}}"))),
    ]
    return dashboard("opsmon-security", "opsmon 安全 / Security",
                     "等级保护 2.0 基线合规、安全事件、登录与文件完整性。"
                     "Graded-protection baseline compliance, findings, logins and file integrity.",
                     panels, site_category_vars())


LINK = 'link=~"$link"'  # the per-link flow series carry the link asset id; $link lists the links of $site
SITE = 'site=~"$site"'  # opsmon_flow_site_bytes_total: per site (the inventory's site of each link; or unknown)


def flow_bits(title: str, description: str, by: str, selector: str, *, w: int) -> dict[str, Any]:
    """Bits/s per link or site from its interval byte counter: it grows once an interval, hence the 15-minute
    window (three 5-minute intervals)."""
    expr = f"sum by ({by}) (rate(opsmon_flow_{by}_bytes_total{{{selector}}}[15m])) * 8"
    return timeseries(title, description, targets((expr, f"{{{{{by}}}}}")), w=w, unit="bps", minimum=0)


def flows() -> dict[str, Any]:
    """Flow analysis of the links (docs/flows.md): traffic per prefecture (site) and per link, volume against its
    baseline, traffic to destinations outside the allowed networks, the receiver's records and refusals, and the
    exporters whose link the inventory does not know."""
    ratio_band = steps((ORANGE, None), (GREEN, 1 / 3), (ORANGE, 3))
    panels: list[dict[str, Any]] = [
        row("地州流量 / Traffic per prefecture"),
        flow_bits("地州流量（比特/秒） / Traffic per prefecture, bits/s",
                  "每个地州（资产清单中链路的 site）所有链路的流量之和；unknown：链路不在清单中或未填 site。\n"
                  "Each prefecture's links summed (the inventory's site of each link); unknown: a link that is no "
                  "asset or has no site. Top talkers per prefecture: opsmon flows top --site.",
                  "site", SITE, w=18),
        stat("清单外的导出设备 / Exporters outside the inventory",
             "flows.exporters 中链路不在资产清单（unknown）或不是链路类资产（not_link）的导出设备数；"
             "日志中各有一条警告。\n"
             "Exporters whose link is no asset of the inventory (unknown) or not a link (not_link); each is "
             "also one warning in the log.",
             [target(present('count(opsmon_flow_exporter_info{inventory!="link"})'))], w=6,
             thresholds=steps((GREEN, None), (ORANGE, 1))),
        row("链路流量 / Link traffic"),
        flow_bits("链路流量（比特/秒） / Link traffic, bits/s",
                  "流记录（sFlow 按抽样率放大）汇总的每条链路流量；每个汇总时段结束时增加一次，故按 15 分钟平均。\n"
                  "Each link's traffic from its flow records (sFlow scaled by the sampling rate); the counter grows "
                  "once an interval, hence the 15-minute average.", "link", LINK, w=24),
        timeseries("本时段流量与基线 / Interval bytes and baseline",
                   "最近一个汇总时段的字节数，及其基线：过去若干周同一时段的中位数（flows.baseline.weeks）。\n"
                   "The last closed interval's bytes and its baseline: the median of the same interval of the past "
                   "weeks (flows.baseline.weeks).",
                   targets((f"opsmon_flow_link_interval_bytes{{{LINK}}}", "{{link}}"),
                           (f"opsmon_flow_link_baseline_bytes{{{LINK}}}", "{{link}} 基线 / baseline")),
                   unit="bytes", minimum=0),
        bargauge("相对基线的倍数 / Ratio to baseline",
                 "最近一个时段字节数 / 基线；高于 flows.baseline.factor 倍或低于其倒数时记一条事件（类别 traffic）。\n"
                 "Last interval's bytes / baseline; above flows.baseline.factor or below its inverse an event "
                 "(kind traffic) is recorded.",
                 [target(f"opsmon_flow_link_interval_bytes{{{LINK}}} / on(link) "
                         f"(opsmon_flow_link_baseline_bytes{{{LINK}}} > 0)", "{{link}}", instant=True)],
                 unit="none", decimals=2, minimum=0, thresholds=ratio_band),
        row("越界流量 / Traffic outside the allowed networks"),
        stat("越界流量事件（24 小时） / Outside-destination events, 24 h",
             "目的地址不在允许网络内的流量事件数：每条链路、源地址、目的网络每个时段至多一条"
             "（等保 8.1.3.1 边界防护）。\n"
             "Events of traffic to destinations outside flows.allowed_destinations: at most one per link, source, "
             "destination network and interval (GB/T 22239 8.1.3.1).",
             [target(present(f"sum(increase(opsmon_flow_outside_events_total{{{LINK}}}[1d]))"))], w=6,
             thresholds=steps((GREEN, None), (ORANGE, 1))),
        timeseries("越界流量事件（每小时） / Outside-destination events per hour",
                   "每条链路每小时的越界流量事件数；事件明细见 opsmon events --name flow_outside_allowed。\n"
                   "Per link and hour; the events themselves: opsmon events --name flow_outside_allowed.",
                   targets((f"sum by (link) (increase(opsmon_flow_outside_events_total{{{LINK}}}[1h]))",
                            "{{link}}")), w=18, minimum=0),
        row("流量接收 / Flow receiver"),
        timeseries("流记录/秒 / Flow records per second",
                   "每个导出设备每秒解码并汇总的流记录（sFlow 为样本数）。\n"
                   "Flow records decoded and summed per exporter (for sFlow, samples).",
                   targets((f"sum by (link, exporter) (rate(opsmon_flow_records_total{{{LINK}}}[5m]))",
                            "{{link}} {{exporter}}")), minimum=0),
        timeseries("拒收的数据报 / Datagrams refused",
                   "按原因拒收的数据报（rate 超速、unknown_exporter 未登记、truncated 截断、malformed 格式错误…）。\n"
                   "Datagrams refused by reason (rate, unknown_exporter, truncated, malformed, ...).",
                   targets(("sum by (reason) (rate(opsmon_flow_refused_total[5m]))", "{{reason}}"),
                           ("sum(rate(opsmon_flow_datagrams_total[5m]))", "全部数据报 / all datagrams")),
                   minimum=0),
    ]
    variables = [*site_category_vars(),
                 query_var("link", "链路 / Link", f"label_values(opsmon_flow_exporter_info{{{SITE}}}, link)")]
    return dashboard("opsmon-flows", "opsmon 流量分析 / Flows",
                     "各地州与各链路流量、相对基线、越界流量与流量接收。"
                     "Traffic per prefecture and per link, against its baseline, to destinations outside the allowed "
                     "networks, and the flow receiver.", panels, variables)


HALF = 'site=~"$site",enterprise=~"$enterprise"'  # the opsmon_hj212_* hours and rates are the running half-month's


def hj212_pooled(by: str) -> str:
    """传输有效率 pooled over `by` (sum of 有效 / sum of 应传, nothing due: no value) from the per-series hours.

    (实传/应传) x (有效/实传) = 有效/应传: the national default's denominator (实传). A target whose `hj212:
    denominator: should` differs; its region figure is opsmon_sla_value's."""
    return (f"sum by ({by}) (opsmon_hj212_effective_hourly_values{{{HALF}}}) / "
            f"(sum by ({by}) (opsmon_hj212_should_hourly_values{{{HALF}}}) > 0)")


def hj212(tt: Any) -> dict[str, Any]:
    """The HJ 212 effective transmission rate of the running half-month, by prefecture, enterprise and point."""
    band = steps((RED, None), (ORANGE, 0.6), (GREEN, 0.9))
    daus = 'opsmon_asset_up{category="dau",site=~"$site"}'
    rate = [t for t in tt.targets if t.measure == "hj212_rate"]
    point_keys = "site, enterprise, asset, mn, point"
    panels: list[dict[str, Any]] = [
        row("传输有效率（本半月） / Effective transmission rate, this half-month"),
        stat("全区传输有效率 / Region", "所选地州与企业本半月（1–15 日或 16 日至月末）的有效/应传小时数，目标 90%。\n"
             "有效 / 应传 hours of the selected prefectures and enterprises this half-month (the 1st-15th or "
             "16th-end); the target is 90 %.",
             [target(hj212_pooled(""), "rate", instant=True)], w=6, h=6, unit="percentunit", decimals=2,
             thresholds=band),
        stat("应传 / 实传 / 有效（小时） / Hours due, transmitted, effective",
             "本半月应传、实传、有效的小时数据个数（监测点 × 因子 × 小时）。\n"
             "Hourly values due, transmitted and effective this half-month (point x factor x hour).",
             targets((f"sum(opsmon_hj212_should_hourly_values{{{HALF}}})", "应传 / due"),
                     (f"sum(opsmon_hj212_transmitted_hourly_values{{{HALF}}})", "实传 / transmitted"),
                     (f"sum(opsmon_hj212_effective_hourly_values{{{HALF}}})", "有效 / effective"), instant=True),
             w=10, h=6, decimals=0),
        stat("零传输点位 / Points at 0", "本半月应传大于 0 而有效为 0 的监测点。\n"
             "Monitoring points with hours due this half-month and no effective value.",
             [target(present(f"count(({hj212_pooled('asset, point')}) == 0)"), "at 0", instant=True)], w=4, h=6,
             thresholds=steps((GREEN, None), (RED, 1)), decimals=0),
        stat("低于 90% 的点位 / Points below 90 %", "本半月传输有效率低于 90% 的监测点。\n"
             "Monitoring points under 90 % this half-month.",
             [target(present(f"count(({hj212_pooled('asset, point')}) < 0.9)"), "below 90 %", instant=True)],
             w=4, h=6, thresholds=steps((GREEN, None), (ORANGE, 1)), decimals=0),
        bargauge("传输有效率（按地州） / Rate per prefecture",
                 "各地州本半月的传输有效率（合并小时数计算），90% 为达标线。\n"
                 "Each prefecture's rate this half-month (hours pooled); 90 % passes.",
                 [target(hj212_pooled("site"), "{{site}}", instant=True)], w=12, h=8, unit="percentunit",
                 minimum=0, maximum=1, decimals=1, thresholds=band),
        bargauge("传输有效率（按企业，最低 20） / Rate per enterprise (lowest 20)",
                 "各企业本半月的传输有效率，最低的 20 家。\nEach enterprise's rate this half-month, the lowest 20.",
                 [target(f"bottomk(20, {hj212_pooled('site, enterprise')})", "{{enterprise}} ({{site}})",
                         instant=True)], w=12, h=8, unit="percentunit", minimum=0, maximum=1, decimals=1,
                 thresholds=band),
        table("监测点传输有效率（最低 50） / Rate per monitoring point (lowest 50)",
              "各监测点本半月的传输有效率（合并其考核因子），由低到高；为 0 的点位在最前。\n"
              "Each monitoring point's rate this half-month (its assessed factors pooled), lowest first.",
              [target(named(f"bottomk(50, {hj212_pooled(point_keys)})"), "", instant=True, fmt="table")],
              w=24, h=10, unit="percentunit", thresholds=band,
              rename={"site": "地州 / Prefecture", "enterprise": "企业 / Enterprise", "asset": "数采仪 / DAU",
                      "name": "名称 / Name", "mn": "MN", "point": "监测点 / Point", "Value": "传输有效率 / Rate"}),
        table("监测点 × 因子 / Per point and factor",
              "每个监测点、考核因子本半月的传输率、有效率与传输有效率；无应传小时时无值。\n"
              "Transmission, effective and effective transmission rate of each point and factor this half-month; "
              "no value while no hour is due.",
              [target(f"opsmon_hj212_transmission_ratio{{{HALF}}}", "", "A", instant=True, fmt="table"),
               target(f"opsmon_hj212_effective_ratio{{{HALF}}}", "", "B", instant=True, fmt="table"),
               target(f"opsmon_hj212_effective_transmission_ratio{{{HALF}}}", "", "C", instant=True, fmt="table")],
              w=24, h=10, unit="percentunit", thresholds=band,
              rename={"site": "地州 / Prefecture", "enterprise": "企业 / Enterprise", "asset": "数采仪 / DAU",
                      "mn": "MN", "point": "监测点 / Point", "factor": "因子 / Factor",
                      "Value #A": "传输率 / Transmission", "Value #B": "有效率 / Effective",
                      "Value #C": "传输有效率 / Rate"}),
        timeseries("传输有效率趋势（按地州） / Rate per prefecture over time",
                   "各地州本半月累计的传输有效率；季度目标值见下。\n"
                   "Each prefecture's half-month-to-date rate; the quarter's target figure below.",
                   targets((hj212_pooled("site"), "{{site}}")), unit="percentunit", minimum=0, maximum=1,
                   thresholds=steps((RED, None), (GREEN, 0.9))),
        timeseries("传输有效率（本季度） / Rate this quarter",
                   "绩效目标“重点污染源自动监控数据传输有效率”的季度累计值（opsmon sla）与其指标值。\n"
                   "The target's quarter-to-date figure (opsmon sla) and its threshold.",
                   targets((f"opsmon_sla_value{{{target_selector(rate)}}}", "{{target}}"),
                           (f"opsmon_sla_threshold{{{target_selector(rate)}}}", "指标值 / threshold")),
                   unit="percentunit",
                   minimum=0, maximum=1, thresholds=steps((RED, None), (GREEN, 0.9)),
                   overrides=by_target(rate, value_unit=False)),
        row("数采仪 / DAUs"),
        stat("在线数采仪 / DAUs online", "当前为 up 的数采仪（数采仪停发超过 stale_after 即为 down）。\n"
             "DAUs up now (a unit silent for longer than its stale_after is down).",
             [target(present(f"count({daus} == 1)"), "online", instant=True)], w=4, h=6, decimals=0,
             thresholds=steps((BLUE, None))),
        stat("离线数采仪 / DAUs offline", "当前为 down 的数采仪。\nDAUs down now.",
             [target(present(f'count((opsmon_asset_state{{state="down"}} == 1) and on(asset) {daus})'), "offline",
                     instant=True)], w=4, h=6, decimals=0, thresholds=steps((GREEN, None), (RED, 1))),
        stat("连接数 / Connections", "数采仪到接收端当前打开的 TCP 连接。\nDAU connections open now.",
             [target(present("sum(opsmon_hj212_connections)"), "connections", instant=True)], w=4, h=6,
             decimals=0),
        state_timeline("数采仪状态 / DAU state", "每台数采仪的状态时间线。\nState timeline of each DAU.",
                       targets((state_code(daus), NAMED)), w=12, h=6, mappings=STATE_MAP),
        row("数据帧 / Frames"),
        timeseries("接收的帧（按数采仪） / Frames accepted, per DAU",
                   "每分钟接受的帧数，按数采仪 MN。\nFrames accepted per minute, by DAU MN.",
                   targets((f"sum by (dau) (rate(opsmon_hj212_frames_accepted_total[{RATE}])) * 60", "{{dau}}")),
                   unit="short", minimum=0),
        timeseries("拒收的帧（按原因） / Frames refused, by reason",
                   "每小时拒收的帧数，按原因（CRC、长度、口令、未知 MN 等）。某原因在第一次拒收后才有序列。\n"
                   "Frames refused per hour by reason (CRC, length, password, unknown MN ...). A reason's series "
                   "starts with its first refusal; 0 is drawn while none was refused.",
                   targets((present("sum by (reason) (increase(opsmon_hj212_frames_refused_total[1h]))"),
                            "{{reason}}")), unit="short", minimum=0),
        timeseries("应答 / Answers sent", "每分钟发给数采仪的应答（9014、9013、1012）。\n"
                   "Answers sent to DAUs per minute (9014, 9013, 1012).",
                   targets((f"sum by (cn) (rate(opsmon_hj212_answers_total[{RATE}])) * 60", "{{cn}}")),
                   unit="short", minimum=0),
    ]
    return dashboard("opsmon-hj212", "opsmon 污染源数据传输 / HJ 212 data transmission",
                     "重点污染源自动监控数据传输有效率（本半月，按地州、企业、监测点）、数采仪在线与拒收帧。"
                     "Effective transmission rate this half-month per prefecture, enterprise and point; DAUs "
                     "online; frames refused.", panels,
                     [*site_category_vars(), query_var("enterprise", "企业 / Enterprise",
                                                       'label_values(opsmon_hj212_should_hourly_values'
                                                       '{site=~"$site"}, enterprise)')], time_from="now-7d")


def quarter(tt: Any) -> dict[str, Any]:
    """This quarter so far (Grafana's now/fQ): each target's daily trend, as opsmon sla measures it."""
    ratio = [t for t in tt.targets if t.unit == "ratio"]
    others = [t for t in tt.targets if t.unit != "ratio"]
    panels: list[dict[str, Any]] = [row("本季度绩效目标 / Targets this quarter")]
    panels += target_value_panels(list(tt.targets), tt, "", w=24)[:2]
    panels.append(row("每日趋势（季度累计值） / Daily trend of the quarter-to-date values"))
    for title, tgts, unit in (("比例类目标 / Ratio targets", ratio, "percentunit"),
                              ("时长与计数类目标 / Time and count targets", others, "none")):
        sel = target_selector(tgts)
        panels.append(timeseries(
            title, "每个目标每天最后一次计算的季度累计值（opsmon sla 的口径）及其指标值。\n"
            "Each target's quarter-to-date value as last computed each day (opsmon sla's figure), and its threshold.",
            [target(f"last_over_time(opsmon_sla_value{{{sel}}}[1d])", "{{target}}", interval="1d"),
             target(f"last_over_time(opsmon_sla_threshold{{{sel}}}[1d])", "指标值 / threshold {{target}}", "B",
                    interval="1d")],
            w=24, h=9, unit=unit, overrides=by_target(tgts, value_unit=unit == "none"),
            legend_calcs=("min", "lastNotNull")))
    board = dashboard("opsmon-quarter", "opsmon 本季度 / This quarter",
                      "本季度至今每个绩效目标的每日趋势。The daily trend of every target, this quarter so far.",
                      panels, site_category_vars())
    board["time"] = {"from": "now/fQ", "to": "now"}
    return board


# --------------------------------------------------------------------------- files
def build() -> dict[str, dict[str, Any]]:
    """File name -> dashboard."""
    tt = load_target_table()
    boards = [overview(tt), hosts(), network(), incidents(tt), availability(tt), security(), hj212(tt), quarter(tt),
              flows()]
    return {f"{b['uid'].removeprefix('opsmon-')}.json": b for b in boards}


def queries(boards: Iterable[dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Every panel query, with where it sits: for tests that run the PromQL against a real Prometheus."""
    for board in boards if boards is not None else build().values():
        section = ""
        for p in board["panels"]:
            if p["type"] == "row":
                section = p["title"]
                continue
            for t in p.get("targets", []):
                yield {"dashboard": board["uid"], "panel": p["id"], "title": p["title"], "row": section,
                       "refId": t["refId"], "expr": t["expr"], "instant": t["instant"]}


def platform_dependent(boards: Iterable[dict[str, Any]] | None = None) -> dict[str, list[int]]:
    """uid -> ids of the panels that may have no data on a VM (temperatures, fans, SMART)."""
    out: dict[str, list[int]] = {}
    for q in queries(boards):
        if q["row"] == PLATFORM_ROW and q["panel"] not in out.setdefault(q["dashboard"], []):
            out[q["dashboard"]].append(q["panel"])
    return {uid: ids for uid, ids in out.items() if ids}


def substitute(expr: str, value: str = ".*") -> str:
    """The PromQL Grafana would send with every template variable at "All" (its allValue, `.*`)."""
    return re.sub(r"\$\{?(\w+)\}?", value, expr)


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when grafana/dashboards/ differs from the code")
    ap.add_argument("--out", type=Path, default=OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args(argv)
    wanted = {name: render(board) for name, board in build().items()}
    stale = sorted(p.name for p in args.out.glob("*.json") if p.name not in wanted) if args.out.is_dir() else []
    if args.check:
        differ = [n for n, text in wanted.items()
                  if not (args.out / n).is_file() or (args.out / n).read_text(encoding="utf-8") != text]
        for name in differ + stale:
            print(f"{args.out / name}: out of date, run python grafana/generate.py", file=sys.stderr)
        return 1 if differ or stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in wanted.items():
        (args.out / name).write_text(text, encoding="utf-8")
    for name in stale:
        (args.out / name).unlink()
    print(f"wrote {len(wanted)} dashboards to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
