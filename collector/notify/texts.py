"""Every user-visible word of a notification, in Chinese and English.

Kept as data in one place so a translator (or a test) can check that both
languages say the same things; `message.render` only arranges them.
"""
from __future__ import annotations

from opsmon.collector.core import incidents
from opsmon.collector.core.lang import LANGS, Lang  # noqa: F401  (re-exported: the senders read them here)

EVENTS: dict[str, dict[Lang, str]] = {
    "opened": {"zh": "新故障", "en": "Opened"},
    "escalated": {"zh": "已升级", "en": "Escalated"},
    "acknowledged": {"zh": "已确认", "en": "Acknowledged"},
    "resolved": {"zh": "已恢复", "en": "Resolved"},
    "reopened": {"zh": "再次发生", "en": "Reopened"},
    "withdrawn": {"zh": "已撤销（误报：迟到的数据表明资产一直正常）",
                  "en": "Withdrawn (false alarm: late results show the asset was up)"},
    "flapping": {"zh": "频繁反复（暂停通知，直至稳定）", "en": "Flapping (notices paused until it settles)"},
    "settled": {"zh": "已稳定（恢复通知）", "en": "Settled (notices resume)"},
    "maintenance": {"zh": "维护中（暂停升级与通知）", "en": "Under maintenance (escalation and notices paused)"},
    "repeated": {"zh": "仍未确认（重复通知）", "en": "Still unacknowledged (reminder)"},
    "reassigned": {"zh": "已转交给您", "en": "Reassigned to you"},
    "taken_over": {"zh": "已由您接手", "en": "Taken over by you"},
    "handoff": {"zh": "值班交接：您现在值班", "en": "Handoff: you are now on call"},
    "code": {"zh": "确认验证码", "en": "Acknowledgement code"},
}


def _each(words: tuple[str, ...], table: dict[str, dict[Lang, str]]) -> dict[str, dict[Lang, str]]:
    """`table` in the order of `words`, which it must cover exactly: a new kind or severity needs its words here."""
    if set(table) != set(words):
        raise KeyError(f"translations for {sorted(table)} but the vocabulary is {list(words)}")
    return {w: table[w] for w in words}


SEVERITIES: dict[str, dict[Lang, str]] = _each(incidents.SEVERITIES, {
    incidents.CRITICAL: {"zh": "紧急", "en": "CRITICAL"},
    incidents.MAJOR: {"zh": "重要", "en": "MAJOR"},
    incidents.MINOR: {"zh": "次要", "en": "MINOR"},
})

KINDS: dict[str, dict[Lang, str]] = _each(incidents.KINDS, {
    incidents.AVAILABILITY: {"zh": "可用性", "en": "availability"},
    incidents.HARDWARE: {"zh": "硬件", "en": "hardware"},
    incidents.ALERT: {"zh": "告警", "en": "alert"},
    incidents.SECURITY: {"zh": "安全", "en": "security"},
})

LABELS: dict[str, dict[Lang, str]] = {
    "event": {"zh": "状态", "en": "Event"},
    "cause": {"zh": "原因", "en": "Cause"},
    "asset": {"zh": "资产", "en": "Asset"},
    "site": {"zh": "站点", "en": "Site"},
    "category": {"zh": "类别", "en": "Category"},
    "since": {"zh": "开始时间", "en": "Since"},
    "duration": {"zh": "已持续", "en": "Lasting"},
    "deadline": {"zh": "响应时限", "en": "Respond by"},
    "attached": {"zh": "关联", "en": "Related"},
    "acknowledged_by": {"zh": "确认人", "en": "Acknowledged by"},
    "recipients": {"zh": "通知对象", "en": "Notified"},
    "ack": {"zh": "确认链接", "en": "Acknowledge"},
    "incident": {"zh": "事件编号", "en": "Incident"},
}

PHRASES: dict[str, dict[Lang, str]] = {
    "level": {"zh": "第 {level} 级", "en": "level {level}"},
    "left": {"zh": "剩余 {span}", "en": "{span} left"},
    "overdue": {"zh": "已超时 {span}", "en": "overdue by {span}"},
    "attached": {"zh": "另有 {n} 个相关告警归入本事件", "en": "{n} more related alerts attached to this incident"},
    "at": {"zh": "{asset}（{site}）", "en": "{asset} at {site}"},
    "handoff": {"zh": "您现在值班（排班 {schedule}）；未关闭事件 {n} 个",
                "en": "You are now on call ({schedule}); {n} open incidents"},
    "code": {"zh": "确认事件 {incident} 的验证码：{code}（{minutes} 分钟内有效）。如非本人操作，请忽略。",
             "en": "Code to acknowledge {incident}: {code} (valid {minutes} min). Not you? Ignore this."},
}
