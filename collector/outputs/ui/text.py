"""The console's own words, Chinese first. Figures, statuses, incident kinds and trail actions are the
report's (opsmon.collector.outputs.report.labels), so a word reads the same on a page and in the report."""
from __future__ import annotations

from opsmon.collector.core.lang import LANGS, Lang
from opsmon.collector.outputs.report.labels import ACTIONS, KINDS, TEXT

WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "运维监控台", "login": "登录", "logout": "退出", "user": "用户名", "password": "密码",
        "targets": "考核指标", "incidents": "故障工单", "period": "考核期", "as_of": "统计至",
        "target": "指标", "figure": "实测值", "goal": "目标", "verdict": "结论", "budget": "停机余量",
        "coverage": "覆盖率", "asset": "资产", "kind": "类型", "severity": "级别", "state": "状态",
        "opened": "开单时间", "deadline": "响应时限", "time_left": "剩余时间", "overdue": "已超时",
        "cause": "原因", "site": "站点", "category": "类别", "any": "全部", "filter": "筛选",
        "acknowledge": "确认响应", "resolve": "解决", "comment": "备注", "note": "说明（可选）",
        "trail": "处理记录", "actor": "操作人", "action": "动作", "time": "时间", "detail": "详情",
        "no_incidents": "没有符合条件的工单。", "acknowledged_by": "响应人", "resolved_by": "解决人",
        "viewer_note": "你的角色为只读（viewer），不能处理工单。", "language": "English",
        "bad_login": "用户名或密码错误。", "locked": "登录失败次数过多，该账户已锁定至 {until}。",
        "no_role": "您的目录（LDAP）账户不在任何有权使用本控制台的组中，请联系管理员。",
        "unreachable": "目录服务器（LDAP）暂时无法连接，请稍后重试；本地账户仍可登录。",
        "refused": "请求被拒绝", "back": "返回", "zone": "时区", "role": "角色", "minutes": "分钟",
        "open": "未响应", "active": "处理中", "done_ack": "已确认响应。", "done_resolve": "已解决。",
        "done_note": "已添加备注。", "none": "-", "incident": "工单", "name": "名称",
        "status_open": "未响应", "status_acknowledged": "已响应", "status_resolved": "已解决",
        "status_closed": "已关闭", "status_merged": "已合并", "status_withdrawn": "已撤销",
        "status_active": "处理中", "sev_critical": "紧急", "sev_major": "重要", "sev_minor": "一般",
        "assets": "资产", "maintenance": "维护窗口", "reports": "报告", "audit": "审计日志", "show": "查看",
        "since": "起始", "until": "截止", "removed": "已移除", "state_bar": "状态时间轴", "checks": "检查项",
        "state_up": "正常", "state_down": "故障", "state_degraded": "降级", "state_unreachable": "不可达",
        "state_unknown": "未知", "state_maintenance": "维护", "assets_behind": "构成该指标的资产",
        "worst_first": "最差的前", "incidents_behind": "构成该指标的工单", "response": "响应用时",
        "nothing_behind": "该指标不按资产或工单计算。", "end_early": "提前结束", "no_windows": "当前没有维护窗口。",
        "add_window": "添加维护窗口", "scope": "范围", "names": "名称（逗号分隔）", "start": "开始", "end": "结束",
        "reason": "原因", "scope_assets": "资产", "scope_sites": "站点", "scope_tags": "标签",
        "done_added": "已添加维护窗口。", "done_ended": "维护窗口已结束。", "language_of": "语言",
        "generate": "生成报告", "delivered": "已生成的报告", "file": "文件", "done_generated": "报告已生成。",
        "audit_target": "对象",
        "take_over": "我来处理", "reassign": "转派", "reassign_to": "转派给", "done_reassign": "已转派。",
        "done_takeover": "已由你接手。", "reclassify": "改为计划停机",
        "reclassify_note": "将这段停机改为计划内工作（补登维护）：提交后需另一人在维护窗口页批准，批准后不计入可用率。",
        "exclusions": "事后排除与计划停机", "no_exclusions": "没有事后排除。", "approve": "批准",
        "planned": "计划停机", "excluded": "排除", "pending": "待批准", "approved": "已批准",
        "requested_by": "申请人", "approved_by": "批准人",
        "done_reclassified": "已提交改为计划停机的申请，待另一人批准。",
        "done_approved": "已批准。", "done_withdrawn": "已撤销。",
        "oncall": "值班", "schedule": "值班表", "on_call_now": "当前值班", "on_call_next": "下一位",
        "overrides": "值班调整", "no_overrides": "当前没有值班调整。", "remove": "删除", "person": "人员",
        "add_override": "添加值班调整", "policies": "升级策略", "policy_for": "适用", "after_open": "开单后",
        "only_if_breached": "仅超时后", "repeat_every": "未响应时重复间隔", "fallback": "备用渠道",
        "done_oc_added": "已添加值班调整。", "done_oc_removed": "已删除值班调整。",
        "oncall_file_refused": "oncall.yaml 最近一次修改被拒绝，仍使用之前的配置：",
        "computing": "正在计算该考核期的指标（资产多时需要几秒），本页将自动刷新。",
        "refreshing": "这是上次计算的结果，正在重新计算，本页将自动刷新。",
        "measure_failed": "该考核期的指标计算失败，本页将在 30 秒后重试：",
        "search": "搜索", "more_live": "进行中的工单超过 {n} 个，仅列出最新的 {n} 个；按状态筛选可列出更多。",
    },
    "en": {
        "title": "Operations console", "login": "Log in", "logout": "Log out", "user": "User name",
        "password": "Password", "targets": "Targets", "incidents": "Incidents", "period": "Period",
        "as_of": "as of", "target": "Target", "figure": "Figure", "goal": "Goal", "verdict": "Verdict",
        "budget": "Downtime budget", "coverage": "Coverage", "asset": "Asset", "kind": "Kind",
        "severity": "Severity", "state": "State", "opened": "Opened", "deadline": "Respond by",
        "time_left": "Time left", "overdue": "overdue by", "cause": "Cause", "site": "Site",
        "category": "Category", "any": "any", "filter": "Filter", "acknowledge": "Acknowledge",
        "resolve": "Resolve", "comment": "Comment", "note": "Note (optional)", "trail": "Trail",
        "actor": "By", "action": "Action", "time": "Time", "detail": "Detail",
        "no_incidents": "No incident matches.", "acknowledged_by": "Acknowledged by",
        "resolved_by": "Resolved by", "viewer_note": "Your role is viewer: you cannot act on incidents.",
        "language": "中文", "bad_login": "Wrong user name or password.",
        "locked": "Too many failed logins: this account is locked until {until}.", "refused": "Refused",
        "no_role": "Your directory (LDAP) account is in no group that may use this console; ask an administrator.",
        "unreachable": "The directory server (LDAP) cannot be reached; try again later. Local accounts still log in.",
        "back": "Back", "zone": "Time zone", "role": "Role", "minutes": "min", "open": "open",
        "active": "active", "done_ack": "Acknowledged.", "done_resolve": "Resolved.", "done_note": "Note added.",
        "none": "-", "incident": "Incident", "name": "Name",
        "status_open": "open", "status_acknowledged": "acknowledged", "status_resolved": "resolved",
        "status_closed": "closed", "status_merged": "merged", "status_withdrawn": "withdrawn",
        "status_active": "active", "sev_critical": "critical", "sev_major": "major", "sev_minor": "minor",
        "assets": "Assets", "maintenance": "Maintenance", "reports": "Reports", "audit": "Audit log", "show": "Show",
        "since": "Since", "until": "Until", "removed": "Removed", "state_bar": "States over the period",
        "checks": "Checks", "state_up": "up", "state_down": "down", "state_degraded": "degraded",
        "state_unreachable": "unreachable", "state_unknown": "unknown", "state_maintenance": "maintenance",
        "assets_behind": "The assets behind the figure", "worst_first": "worst first, showing",
        "incidents_behind": "The incidents behind the figure", "response": "Response",
        "nothing_behind": "This target is not measured from assets or incidents.", "end_early": "End now",
        "no_windows": "No maintenance window in force.", "add_window": "Add a maintenance window",
        "scope": "Scope", "names": "Names (comma-separated)", "start": "Start", "end": "End", "reason": "Reason",
        "scope_assets": "assets", "scope_sites": "sites", "scope_tags": "tags",
        "done_added": "Maintenance window added.", "done_ended": "Maintenance window ended.",
        "language_of": "Language", "generate": "Generate", "delivered": "Generated reports", "file": "File",
        "done_generated": "Report generated.", "search": "Search",
        "computing": "The figures of this period are being measured (a few seconds for a large estate); this page "
                     "reloads itself.",
        "refreshing": "These are the figures last measured; newer ones are being measured and this page reloads "
                      "itself.",
        "measure_failed": "Measuring the figures of this period failed; this page tries again in 30 seconds:",
        "audit_target": "Changed",
        "take_over": "Take over", "reassign": "Reassign", "reassign_to": "Give to", "done_reassign": "Reassigned.",
        "done_takeover": "Taken over by you.", "reclassify": "Reclassify as planned",
        "reclassify_note": "Make this outage planned work after the fact: once another person approves it on the "
                           "maintenance page, its time leaves the availability figures.",
        "exclusions": "Exclusions and reclassified outages", "no_exclusions": "No exclusion.", "approve": "Approve",
        "planned": "planned", "excluded": "excluded", "pending": "pending", "approved": "approved",
        "requested_by": "Asked by", "approved_by": "Approved by",
        "done_reclassified": "Reclassification asked: another person must approve it.",
        "done_approved": "Approved.", "done_withdrawn": "Withdrawn.",
        "oncall": "On call", "schedule": "Schedule", "on_call_now": "On call now",
        "on_call_next": "Next", "overrides": "Overrides", "no_overrides": "No override in force.",
        "remove": "Remove", "person": "Person", "add_override": "Add an override", "policies": "Escalation policies",
        "policy_for": "For", "after_open": "after opening", "only_if_breached": "only once overdue",
        "repeat_every": "Repeated while unacknowledged every", "fallback": "Fallback channel",
        "done_oc_added": "Override added.", "done_oc_removed": "Override removed.",
        "oncall_file_refused": "The last change to oncall.yaml was refused; the one before stays in force:",
        "more_live": "More than {n} live incidents: the latest {n} are listed; filter by state to list more.",
    },
}


def words(lang: Lang) -> dict[str, str]:
    """Every word a page may show in `lang`: the console's, the SLA table's and the report's."""
    return {**TEXT[lang], **WORDS[lang]}


def kind(name: str, lang: Lang) -> str:
    return KINDS[lang].get(name, name)


def action(name: str, lang: Lang) -> str:
    return ACTIONS[lang].get(name, name)


def pick(value: str | None) -> Lang:
    """A language code from a cookie or a form; Chinese for anything else."""
    return "en" if value == "en" else LANGS[0]
