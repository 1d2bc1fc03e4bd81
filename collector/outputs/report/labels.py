"""Every word the report shows, in Chinese and English, in one place.

The target-table words come from opsmon.collector.sla.render (the `opsmon sla` table) so the
report and the CLI never disagree on what a column or a status is called; only what the
report adds is defined here.
"""
from __future__ import annotations

from opsmon.collector.core import incidents
from opsmon.collector.sla.render import TEXT as SLA_TEXT

LANGS = ("zh", "en")

_EXTRA: dict[str, dict[str, str]] = {
    "en": {
        "title": "Quarterly SLA compliance report",
        "title_year": "Annual SLA compliance report",
        "title_month": "Monthly SLA compliance report",
        "title_range": "SLA compliance report",
        "organisation": "Organisation",
        "timezone": "Time zone",
        "generated": "Generated at",
        "as_of": "Figures as of",
        "source": "Data source",
        "targets_file": "Target table",
        "data_coverage": "Data coverage (all assets)",
        "assets_count": "Assets in the period",
        "intervals_count": "State intervals in the period",
        "incidents_count": "Incidents opened in the period",
        "last_heartbeat": "Last collector heartbeat",
        "no_data_banner": "No monitoring data for this period: there is no state interval and no incident in it, "
                          "so every measured figure below reads \"no data\".",
        "partial_banner": "This period is not over: the figures are to date.",
        "s_targets": "1. Performance targets",
        "s_categories": "2. Availability by category",
        "s_sites": "3. Network connectivity by site",
        "s_incidents": "4. Incidents",
        "s_maintenance": "5. Maintenance, unknown time and coverage",
        "s_method": "Appendix: how the figures are computed",
        "s_security": "6. Security compliance (graded protection 2.0 baseline)",
        "control_point": "Control point",
        "host": "Host",
        "passed": "Passed",
        "failed": "Failed",
        "compliance": "Compliance",
        "findings_opened": "Baseline findings opened in the period (a check turning from pass to fail)",
        "findings_closed": "of which resolved in the period",
        "no_baseline": "No host had reported baseline results by the end of the period.",
        "baseline_as_of": "Each host's baseline results as they stood at the end of the period (for a period "
                          "not over yet: the latest).",
        "project": "Project",
        "margin": "MARGIN",
        "pp": "pp",
        "budget_left": "left",
        "budget_exceeded": "exceeded by",
        "availability": "Availability",
        "assets": "Assets",
        "worst": "Worst assets",
        "asset": "Asset",
        "name": "Name",
        "site": "Site",
        "down_time": "Down time",
        "incidents": "Incidents",
        "trend": "Monthly trend",
        "trend_daily": "Daily trend",
        "month": "Month",
        "up_time": "Up time",
        "observed": "Observed time",
        "maintenance_time": "Maintenance (excluded)",
        "unknown_time": "Unknown / no data",
        "unreachable_time": "Unreachable (charged to parent)",
        "expected": "Expected time",
        "coverage_floor": "Coverage floor",
        "flagged": "Flagged",
        "no_site": "(no site)",
        "no_link_target": "The target table has no availability target over links.",
        "no_assets": "No asset in scope.",
        "no_incidents": "No incident was opened in this period.",
        "id": "ID",
        "kind": "Kind",
        "severity": "Severity",
        "opened": "Opened",
        "acknowledged": "Acknowledged",
        "by": "By",
        "response": "Response",
        "resolved": "Resolved",
        "cause": "Cause / note",
        "hardware": "hardware",
        "breach": "SLA breach",
        "breach_missed": "missed",
        "trail": "Escalation trail",
        "unacknowledged": "not acknowledged",
        "windows": "Maintenance windows declared",
        "window": "Window",
        "scope": "Scope",
        "schedule": "Schedule",
        "reason": "Reason",
        "from_config": "config",
        "from_api": "API",
        "no_windows": "No maintenance window was declared.",
        "s_exclusions": "Exclusions approved after the fact", "sheet_exclusions": "Exclusions",
        "no_exclusions": "No exclusion: every outage and incident of the period is counted.",
        "excluded_what": "Taken out", "requested_by": "Requested by", "approved_by": "Approved by",
        "taken_out": "Time taken out", "incident_word": "incident",
        "self_healed_note": "healed before any response", "not_counted": "not counted",
        "excluded_note": "excluded", "evidence": "response recorded after, evidence",
        "per_category": "Excluded and unknown time per category",
        "low_coverage_targets": "Targets flagged for low coverage",
        "none_flagged": "No target is below its coverage floor.",
        "page": "Page",
        "of": "of",
        "yes": "yes",
        "no": "no",
        "charts_missing": "(chart not drawn: matplotlib is not installed)",
    },
    "zh": {
        "title": "季度运维服务绩效目标达成情况报告",
        "title_year": "年度运维服务绩效目标达成情况报告",
        "title_month": "月度运维服务绩效目标达成情况报告",
        "title_range": "运维服务绩效目标达成情况报告",
        "organisation": "单位",
        "timezone": "时区",
        "generated": "生成时间",
        "as_of": "数据截至",
        "source": "数据来源",
        "targets_file": "绩效目标表",
        "data_coverage": "数据覆盖率(全部资产)",
        "assets_count": "本期资产数",
        "intervals_count": "本期状态区间数",
        "incidents_count": "本期故障工单数",
        "last_heartbeat": "采集器最近心跳",
        "no_data_banner": "本期无监测数据:没有任何状态区间和故障工单,以下各项实测值均为\u201c无数据\u201d。",
        "partial_banner": "本统计周期尚未结束,以下为截至目前的数据。",
        "s_targets": "一、绩效目标完成情况",
        "s_categories": "二、分类设备可用率",
        "s_sites": "三、各地网络连通率",
        "s_incidents": "四、故障及响应",
        "s_maintenance": "五、维护时段、未知时间与数据覆盖",
        "s_method": "附录:指标计算方法",
        "s_security": "六、安全合规（等级保护 2.0 基线）",
        "control_point": "控制点",
        "host": "主机",
        "passed": "通过",
        "failed": "未通过",
        "compliance": "合规率",
        "findings_opened": "本期新增基线问题(检查项由通过变为未通过)",
        "findings_closed": "其中本期已解决",
        "no_baseline": "截至本周期结束尚无主机上报基线检查结果。",
        "baseline_as_of": "各主机基线检查结果为本周期结束时的状态(周期尚未结束时为最新状态)。",
        "project": "项目",
        "margin": "余量",
        "pp": "个百分点",
        "budget_left": "剩余",
        "budget_exceeded": "超出",
        "availability": "可用率",
        "assets": "资产数",
        "worst": "可用率最低的资产",
        "asset": "资产",
        "name": "名称",
        "site": "地区",
        "down_time": "停机时间",
        "incidents": "故障数",
        "trend": "月度趋势",
        "trend_daily": "每日趋势",
        "month": "月份",
        "up_time": "正常时间",
        "observed": "观测时间",
        "maintenance_time": "维护时间(不计入)",
        "unknown_time": "未知/无数据时间",
        "unreachable_time": "不可达(计入上级)",
        "expected": "应观测时间",
        "coverage_floor": "覆盖率下限",
        "flagged": "已标记",
        "no_site": "(未指定地区)",
        "no_link_target": "绩效目标表中没有针对链路的可用率目标。",
        "no_assets": "范围内没有资产。",
        "no_incidents": "本期没有故障工单。",
        "id": "编号",
        "kind": "类型",
        "severity": "级别",
        "opened": "发生时间",
        "acknowledged": "响应时间点",
        "by": "响应人",
        "response": "响应用时",
        "resolved": "解决时间",
        "cause": "原因/备注",
        "hardware": "硬件故障",
        "breach": "超时",
        "breach_missed": "未达标",
        "trail": "升级记录",
        "unacknowledged": "未响应",
        "windows": "已声明的维护时段",
        "window": "维护时段",
        "scope": "范围",
        "schedule": "时间",
        "reason": "事由",
        "from_config": "配置文件",
        "from_api": "接口",
        "no_windows": "未声明维护时段。",
        "s_exclusions": "事后核准的剔除", "sheet_exclusions": "剔除记录",
        "no_exclusions": "无剔除:本期所有中断和故障均计入。",
        "excluded_what": "剔除对象", "requested_by": "申请人", "approved_by": "批准人",
        "taken_out": "剔除时长", "incident_word": "故障",
        "self_healed_note": "响应前已自愈", "not_counted": "不计入",
        "excluded_note": "已剔除", "evidence": "事后登记响应,凭据",
        "per_category": "各类别不计入及未知时间",
        "low_coverage_targets": "数据覆盖率不足的目标",
        "none_flagged": "没有目标低于其覆盖率下限。",
        "page": "第",
        "of": "页,共",
        "yes": "是",
        "no": "否",
        "charts_missing": "(未绘制图表:未安装 matplotlib)",
    },
}

# The figures' wording is the SLA table's; the report's own words are added to it.
TEXT: dict[str, dict[str, str]] = {lang: {**SLA_TEXT[lang], **_EXTRA[lang]} for lang in LANGS}

# Incident kinds (opsmon.collector.core.incidents), including those only imported history holds.
_KIND_WORDS: dict[str, dict[str, str]] = {
    incidents.HARDWARE: {"en": "hardware", "zh": "硬件"},
    incidents.AVAILABILITY: {"en": "availability", "zh": "可用性"},
    incidents.CONNECTIVITY: {"en": "connectivity", "zh": "连通性"},
    incidents.SECURITY: {"en": "security", "zh": "安全"},
    incidents.ALERT: {"en": "alert", "zh": "告警"},
    incidents.OTHER: {"en": "other", "zh": "其他"},
}
KINDS: dict[str, dict[str, str]] = {lang: {k: _KIND_WORDS[k][lang] for k in incidents.IMPORTED_KINDS}
                                    for lang in ("en", "zh")}

# Incident trail actions (collector/incidents): English is the stored word itself.
ACTIONS = {
    "en": {},
    "zh": {"opened": "开单", "escalated": "升级", "acknowledged": "响应", "resolved": "解决", "closed": "关闭",
           "reopened": "重新打开", "merged": "合并", "withdrawn": "撤销", "attached": "并入", "updated": "更新",
           "note": "备注", "notified": "通知", "breached": "超时"},
}

# The method appendix: docs/sla.md in plain words. Kept as (heading, paragraph) pairs so HTML and
# XLSX print the same text.
METHOD: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("Periods", "Periods are cut in the configured time zone and include their start but not their end: "
                    "2026Q3 in Asia/Shanghai runs from 1 July 00:00 to 1 October 00:00 local time. Anything "
                    "crossing a boundary is cut at it. A period not yet over is measured to date."),
        ("States", "Every asset is always in one state: up, down, degraded, unreachable (its parent is down), "
                   "maintenance or unknown. Time an asset existed without any record counts as unknown."),
        ("Availability", "Availability = good time / (good time + bad time). Good is up time (and degraded "
                         "time when the target says so); bad is down time and, by default, degraded time. "
                         "Maintenance, unknown and unreachable time are left out of both sides: unreachable "
                         "time is charged to the parent device that was down."),
        ("Fleets", "A target over many assets adds up their good and bad seconds and then divides; it never "
                   "averages percentages, so an asset added mid-period counts only for the time it existed."),
        ("Coverage", "Coverage = known time / (time the assets existed - maintenance). Known time is good, bad "
                     "and unreachable time. Below the coverage floor (90 % unless the target says otherwise) a "
                     "target is flagged \"low coverage\" and not passed, even if its value would pass."),
        ("Downtime budget", "How much more down time the target could absorb and still pass: (good + R) - "
                            "threshold x (good + bad + R), where R is the time still to come in the period for "
                            "the live assets (zero for a finished period). A negative budget is the amount by "
                            "which it was exceeded."),
        ("Fault response", "Incidents count in the period they were opened in. Response time = acknowledged - "
                           "opened. Acknowledged exactly at the limit is within it. An incident still not "
                           "acknowledged after the limit is a miss; before that it is pending and not counted. "
                           "A miss never acknowledged is shown with the time elapsed at the later of the "
                           "period's end and its deadline, a lower bound that does not change on regeneration. "
                           "The response-time target takes the longest response; the response-rate target is "
                           "the share acknowledged within the limit, and holds when there is nothing to judge."),
        ("Counts and entered values", "Report deliveries are counted over the period, against the yearly "
                                      "threshold prorated to it (24 a year is 6 a quarter). Survey results and "
                                      "other values measured elsewhere are entered by hand for a period; the "
                                      "value for the smallest period containing this one is used."),
        ("Evidence", "Every figure here is the one `opsmon sla` computes for the same period from the same "
                     "database; the spreadsheet holds the same numbers as numbers so they can be re-checked."),
    ],
    "zh": [
        ("统计周期", "统计周期按配置的时区划分,含起点不含终点:Asia/Shanghai 时区的 2026Q3 为当地时间 7 月 1 日 0 时至 "
                     "10 月 1 日 0 时。跨越周期边界的时段在边界处截断。尚未结束的周期按截至目前统计。"),
        ("状态", "每个资产在任一时刻处于一种状态:正常、停机、降级、不可达(上级设备停机)、维护或未知。资产存在"
                 "但没有任何记录的时间计为未知。"),
        ("可用率", "可用率 = 正常时间 ÷(正常时间 + 故障时间)。正常时间为正常状态时间(目标规定时含降级时间);故障时间"
                   "为停机时间,默认也含降级时间。维护、未知和不可达时间不计入分子和分母:不可达时间计入停机的上级设备。"),
        ("多资产目标", "针对多个资产的目标先将各资产的正常和故障秒数相加再相除,不对百分比取平均;期中新增的资产只按其"
                       "存在的时间计算。"),
        ("数据覆盖率", "数据覆盖率 = 已知时间 ÷(资产存在时间 − 维护时间),已知时间为正常、故障和不可达时间之和。低于"
                       "覆盖率下限(除目标另有规定外为 90%)的目标标记为\u201c数据不足\u201d,不判定为达标。"),
        ("停机预算", "目标还能承受多少停机时间而仍然达标:(正常时间 + R)− 指标值 ×(正常时间 + 故障时间 + R),R 为"
                     "本周期剩余时间乘以在用资产数(已结束的周期为 0)。预算为负表示已超出该数额。"),
        ("故障响应", "故障按其发生(开单)所在周期统计。响应用时 = 响应时间点 − 发生时间;恰好在时限时响应视为在时限内。"
                     "超过时限仍未响应的计为未按时响应,未超过时限的暂不计入。"
                     "始终未响应的故障,其用时按周期结束与响应时限两者中较晚的时刻计算(为下限值,重新生成报告时不变)。"
                     "响应时限目标取最长的响应用时;响应率"
                     "目标为在时限内响应的比例,没有需要判定的故障时视为达标。"),
        ("次数与录入值", "报告交付次数按周期累计,年度指标按周期折算(每年 24 次即每季度 6 次)。满意度等在其他地方测得"
                         "的数值按周期手工录入,采用包含本周期的最小周期的录入值。"),
        ("依据", "本报告中的每个数字都与同一数据库、同一周期下 `opsmon sla` 的计算结果一致;电子表格以数值形式给出"
                 "相同的数字,便于复核。"),
    ],
}


def period_title(kind: str, lang: str) -> str:
    """The document's title depends on the period kind: a quarter's report is not an annual one."""
    key = {"quarter": "title", "year": "title_year", "month": "title_month"}.get(kind, "title_range")
    return TEXT[lang][key]
