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
        "refused": "请求被拒绝", "back": "返回", "zone": "时区", "role": "角色", "minutes": "分钟",
        "open": "未响应", "active": "处理中", "done_ack": "已确认响应。", "done_resolve": "已解决。",
        "done_note": "已添加备注。", "none": "-", "incident": "工单", "name": "名称",
        "status_open": "未响应", "status_acknowledged": "已响应", "status_resolved": "已解决",
        "status_closed": "已关闭", "status_merged": "已合并", "status_withdrawn": "已撤销",
        "status_active": "处理中", "sev_critical": "紧急", "sev_major": "重要", "sev_minor": "一般",
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
        "back": "Back", "zone": "Time zone", "role": "Role", "minutes": "min", "open": "open",
        "active": "active", "done_ack": "Acknowledged.", "done_resolve": "Resolved.", "done_note": "Note added.",
        "none": "-", "incident": "Incident", "name": "Name",
        "status_open": "open", "status_acknowledged": "acknowledged", "status_resolved": "resolved",
        "status_closed": "closed", "status_merged": "merged", "status_withdrawn": "withdrawn",
        "status_active": "active", "sev_critical": "critical", "sev_major": "major", "sev_minor": "minor",
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
