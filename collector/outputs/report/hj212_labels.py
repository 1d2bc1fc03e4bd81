"""The semi-monthly HJ 212 report's words, Chinese and English, on top of the SLA report's (labels.TEXT).

The column names 应传, 实传, 有效, 传输率, 有效率, 传输有效率 are those of `opsmon hj212 rates`.
"""
from __future__ import annotations

from opsmon.collector.outputs.report.labels import TEXT

_HJ: dict[str, dict[str, str]] = {
    "zh": {
        "hj_title": "污染源自动监控数据统计分析报告（半月）",
        "hj_title_other": "污染源自动监控数据统计分析报告",
        "s_overview": "一、概况", "s_online": "二、联网与在线情况", "s_rates": "三、数据传输有效率",
        "s_exceed": "四、超标情况", "s_faults": "五、异常与故障", "s_exempt": "六、停产/停运豁免与迟报数据",
        "s_appendix": "附件一：原始计数", "s_hj_evidence": "附件二：数据来源与生成",
        "daus": "数采仪", "points": "监测点位", "enterprises": "考核企业", "series": "考核因子（点位×因子）",
        "cutoff": "修约截止",
        "cutoff_note": "每小时数据于次月 {day} 日 24 时（本地时间）前到达计为实传；之后到达的计为迟报",
        "online_points": "在线点位（本期有数据）", "online_rate": "在线率", "silent": "连续无数据超过 24 小时的点位",
        "none_silent": "无", "sent_hours": "有数据小时", "last_value": "最后数据时间",
        "longest_silence": "最长连续无数据（小时）",
        "silence_from": "起始", "prefecture": "地区", "enterprise": "企业", "dau": "数采仪", "point": "点位",
        "factor": "因子", "should": "应传", "transmitted": "实传", "effective": "有效", "exempt": "豁免",
        "late": "迟报", "tr_rate": "传输率", "eff_rate": "有效率", "rate": "传输有效率",
        "by_site": "按地区", "by_enterprise": "按企业", "by_point": "按点位", "region_total": "全区合计",
        "below_90": "传输有效率低于 {pct}", "below_60": "传输有效率低于 60%", "at_0": "传输有效率为 0",
        "none": "无", "limit": "排放限值", "exceed_hours": "超标小时数", "max_value": "最大小时均值",
        "max_multiple": "最大超标倍数", "exceed_when": "超标时段",
        "exceed_note": "仅统计有效数据（标记 N 且按时到达、不在豁免时段）；标记为无效（M、D 等）的数据不参与超标判定",
        "no_exceed": "本期无超标", "by_flag": "按数据标记统计的小时数（实传数据）",
        "flag_note": "D 故障 · M 维护 · C 校验 · T 超测定上限 · B 通讯异常 · F 停运 · S 手工设定值 · "
                     "P 电源故障（2005）",
        "other_flags": "其他标记", "stuck": "恒值（连续 {n} 个及以上相同小时均值）", "no_stuck": "未发现恒值数据",
        "value": "数值", "start": "开始", "hours": "小时数", "no_flags": "无实传数据",
        "exemptions": "豁免记录", "no_exemptions": "本期无豁免", "kind": "类型", "reason": "原因", "proof": "证明文件",
        "entered": "录入", "late_values": "迟报数据（修约截止后到达，不计实传）", "no_late": "无迟报数据",
        "hour": "数据时间", "received": "到达时间", "hourly_rows": "本期小时数据行数（CN 2061）", "rules": "计算口径",
        "rerun": "复核命令", "threshold_line": "考核要求",
    },
    "en": {
        "hj_title": "Semi-monthly statistical analysis report on pollution-source automatic monitoring data",
        "hj_title_other": "Statistical analysis report on pollution-source automatic monitoring data",
        "s_overview": "1. Overview", "s_online": "2. DAUs online", "s_rates": "3. Effective transmission rate",
        "s_exceed": "4. Exceedances of the emission limits", "s_faults": "5. Faults and anomalies",
        "s_exempt": "6. Exemptions and late values", "s_appendix": "Appendix A: raw counts",
        "s_hj_evidence": "Appendix B: data source and generator",
        "daus": "DAUs", "points": "Monitoring points", "enterprises": "Enterprises assessed",
        "series": "Assessed factors (point x factor)", "cutoff": "Correction deadline",
        "cutoff_note": "an hourly value counts as transmitted if it arrives by the end of day {day} of the next month "
                       "(local time); later it is counted as late",
        "online_points": "Points online (sent in the period)", "online_rate": "Online rate",
        "silent": "Points silent for more than 24 hours", "none_silent": "none", "sent_hours": "Hours with data",
        "last_value": "Last value", "longest_silence": "Longest silence (hours)", "silence_from": "from",
        "prefecture": "Prefecture", "enterprise": "Enterprise", "dau": "DAU", "point": "Point", "factor": "Factor",
        "should": "Should (应传)", "transmitted": "Transmitted (实传)", "effective": "Effective (有效)",
        "exempt": "Exempt", "late": "Late", "tr_rate": "Transmission rate", "eff_rate": "Effective rate",
        "rate": "Effective transmission rate", "by_site": "By prefecture", "by_enterprise": "By enterprise",
        "by_point": "By point", "region_total": "Region", "below_90": "Rate below {pct}",
        "below_60": "Rate below 60%", "at_0": "Rate at 0", "none": "none", "limit": "Limit",
        "exceed_hours": "Hours over the limit", "max_value": "Highest hourly average", "max_multiple": "Max multiple",
        "exceed_when": "Hours",
        "exceed_note": "effective data only (flag N, on time, not exempt); data marked invalid (M, D, ...) are not "
                       "judged against the limits",
        "no_exceed": "no exceedance in the period", "by_flag": "Transmitted hours by flag",
        "flag_note": "D fault · M maintenance · C calibration · T above range · B communication · F stopped · "
                     "S set value · P power (2005)",
        "other_flags": "Other flags", "stuck": "Constant values ({n} or more identical consecutive hourly averages)",
        "no_stuck": "no constant series found", "value": "Value", "start": "Start", "hours": "Hours",
        "no_flags": "no transmitted data", "exemptions": "Exemptions", "no_exemptions": "no exemption in the period",
        "kind": "Kind", "reason": "Reason", "proof": "Proof", "entered": "Entered",
        "late_values": "Late values (arrived after the correction deadline: not transmitted)",
        "no_late": "no late value", "hour": "Hour", "received": "Received",
        "hourly_rows": "Hourly rows stored for the period (CN 2061)", "rules": "Rules", "rerun": "To re-check",
        "threshold_line": "Target",
    },
}

HJ_TEXT: dict[str, dict[str, str]] = {lang: {**TEXT[lang], **words} for lang, words in _HJ.items()}
