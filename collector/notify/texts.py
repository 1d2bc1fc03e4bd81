"""Every user-visible word of a notification, in Chinese and English.

Kept as data in one place so a translator (or a test) can check that both
languages say the same things; `message.render` only arranges them.
"""
from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

EVENTS: dict[str, dict[Lang, str]] = {
    "opened": {"zh": "新故障", "en": "Opened"},
    "escalated": {"zh": "已升级", "en": "Escalated"},
    "acknowledged": {"zh": "已确认", "en": "Acknowledged"},
    "resolved": {"zh": "已恢复", "en": "Resolved"},
    "reopened": {"zh": "再次发生", "en": "Reopened"},
}

SEVERITIES: dict[str, dict[Lang, str]] = {
    "critical": {"zh": "紧急", "en": "CRITICAL"},
    "major": {"zh": "重要", "en": "MAJOR"},
    "minor": {"zh": "次要", "en": "MINOR"},
}

KINDS: dict[str, dict[Lang, str]] = {
    "availability": {"zh": "可用性", "en": "availability"},
    "hardware": {"zh": "硬件", "en": "hardware"},
    "alert": {"zh": "告警", "en": "alert"},
    "security": {"zh": "安全", "en": "security"},
}

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
}

UNITS: dict[Lang, tuple[str, str, str, str]] = {
    "zh": ("天", "小时", "分钟", "秒"),
    "en": ("d", "h", "min", "s"),
}
