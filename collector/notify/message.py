"""What the incident engine hands to notification channels, and how it reads to a person.

A `Notice` is a snapshot of one incident event. It is rendered at each delivery
attempt (not when submitted) so "time left" before the response deadline is
true when the message lands, even after retries.

>>> title, body = render(notice, "en")          # doctest: +SKIP
>>> title
'[CRITICAL] Opened: core-sw-1 at DC-A'
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from opsmon.collector.core.durations import say_duration
from opsmon.collector.core.incidents import Kind, Severity
from opsmon.collector.core.lang import local_time
from opsmon.collector.notify.texts import EVENTS, KINDS, LABELS, LANGS, PHRASES, SEVERITIES, Lang

Event = Literal["opened", "escalated", "acknowledged", "resolved", "reopened", "withdrawn", "flapping", "settled",
                "maintenance", "repeated", "reassigned", "taken_over", "handoff", "code"]
OPEN_EVENTS = frozenset({"opened", "escalated", "reopened", "repeated"})
ENDED = frozenset({"resolved", "closed", "withdrawn", "merged"})
PERSONAL = frozenset({"handoff", "code"})
"""Notices to one person, not the news of an incident. A handoff: `asset_name` is the schedule, `attached` the
number of open incidents and `cause` their ids. A code (a group link asked who acknowledges): `cause` is the
code, `level` its minutes of validity."""


@dataclass(frozen=True)
class Person:
    """Someone to notify; mobiles are used only to @-mention in group robots."""

    name: str
    email: str | None = None
    mobile: str | None = None


@dataclass(frozen=True)
class Notice:
    """One incident event to deliver. `at` is when it happened (default: when it is rendered)."""

    incident_id: str
    event: Event
    asset_id: str
    asset_name: str
    site: str
    category: str
    kind: Kind
    severity: Severity
    cause: str
    opened_at: datetime
    deadline: datetime | None
    level: int
    recipients: tuple[Person, ...]
    ack_url: str | None = None  # a link that asks who acknowledges (it may be seen by many)
    attached: int = 0
    acknowledged_by: str | None = None
    timezone: str = "UTC"
    at: datetime | None = None
    personal_ack_url: str | None = None  # one-click, for the first recipient alone (mail to that address only)
    status: str | None = None
    """The incident's status when the event happened: a `settled` notice of an incident that resolved while it
    flapped must end its alert in Alertmanager, not fire it again."""
    alert_labels: tuple[tuple[str, str], ...] = ()
    """The labels of the Alertmanager alert that opened the incident, sorted (empty for any other incident):
    acknowledging silences that alert too, so it stops notifying through Alertmanager's other receivers."""

    @property
    def ended(self) -> bool:
        """The incident is over (resolved, closed, withdrawn or merged), whatever event this notice tells."""
        return self.event in ("resolved", "withdrawn") or self.status in ENDED

    def __post_init__(self) -> None:
        if self.event not in EVENTS or self.kind not in KINDS or self.severity not in SEVERITIES:
            raise ValueError(f"unknown event/kind/severity: {self.event}/{self.kind}/{self.severity}")
        for name in ("opened_at", "deadline", "at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"Notice.{name} must be timezone-aware")
        ZoneInfo(self.timezone)

    @property
    def key(self) -> str:
        """Stable across retries and channels, so receivers can drop duplicates (delivery is at-least-once)."""
        at = self.at.isoformat() if self.at else ""
        raw = f"{self.incident_id}\n{self.event}\n{self.level}\n{self.acknowledged_by or ''}\n{at}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def mobiles(self) -> list[str]:
        return [p.mobile for p in self.recipients if p.mobile]

    def emails(self) -> list[str]:
        return [p.email for p in self.recipients if p.email]


Line = tuple[str, str, str]
"""(key, label, value): `key` lets markdown channels turn the ack line into a link."""


def span(seconds: float, lang: Lang) -> str:
    """A short human duration: '1小时5分' / '1h5m', in whole minutes; seconds only under a minute
    (core.durations.say_duration, the CLI's and the report's words)."""
    return say_duration(int(abs(seconds)), lang, to_minute=True)


def title(notice: Notice, lang: Lang) -> str:
    if notice.event == "handoff":
        return f"[{EVENTS['handoff'][lang]}] " + PHRASES["handoff"][lang].format(schedule=notice.asset_name,
                                                                              n=notice.attached)
    if notice.event == "code":
        return f"[{EVENTS['code'][lang]}] {notice.incident_id}"
    where = PHRASES["at"][lang].format(asset=notice.asset_name, site=notice.site)
    sep = "：" if lang == "zh" else ": "
    return f"[{SEVERITIES[notice.severity][lang]}] {EVENTS[notice.event][lang]}{sep}{where}"


def lines(notice: Notice, lang: Lang, now: datetime | None = None) -> list[Line]:
    """The body as labelled lines, in reading order; plain-text and markdown renderers share it."""
    now = now or datetime.now(UTC)
    at = notice.at or now

    def line(key: str, value: str) -> Line:
        return (key, LABELS[key][lang], value)

    event = EVENTS[notice.event][lang]
    if notice.event == "handoff":
        return [line("event", PHRASES["handoff"][lang].format(schedule=notice.asset_name, n=notice.attached)),
                line("incident", notice.cause or "-"), line("since", local_time(at, notice.timezone)),
                line("recipients", ", ".join(p.name for p in notice.recipients))]
    if notice.event == "code":
        return [line("event", PHRASES["code"][lang].format(incident=notice.incident_id, code=notice.cause,
                                                          minutes=notice.level)),
                line("recipients", ", ".join(p.name for p in notice.recipients))]
    if notice.event == "escalated":
        event += f" ({PHRASES['level'][lang].format(level=notice.level)})"
    out = [
        line("event", event),
        line("cause", notice.cause),
        line("asset", f"{notice.asset_name} ({notice.asset_id})"),
        line("site", notice.site),
        line("category", f"{notice.category} / {KINDS[notice.kind][lang]}"),
        line("since", local_time(notice.opened_at, notice.timezone)),
        line("duration", span((at - notice.opened_at).total_seconds(), lang)),
    ]
    if notice.deadline is not None and notice.event in OPEN_EVENTS:
        left = (notice.deadline - now).total_seconds()
        phrase = PHRASES["left" if left >= 0 else "overdue"][lang].format(span=span(left, lang))
        comma = "，" if lang == "zh" else ", "
        out.append(line("deadline", f"{local_time(notice.deadline, notice.timezone)}{comma}{phrase}"))
    if notice.attached:
        out.append(line("attached", PHRASES["attached"][lang].format(n=notice.attached)))
    if notice.acknowledged_by:
        out.append(line("acknowledged_by", notice.acknowledged_by))
    if notice.recipients:
        out.append(line("recipients", ", ".join(p.name for p in notice.recipients)))
    out.append(line("incident", notice.incident_id))
    if notice.ack_url and notice.event in OPEN_EVENTS:
        out.append(line("ack", notice.ack_url))
    return out


def render(notice: Notice, lang: Lang, now: datetime | None = None) -> tuple[str, str]:
    """(title, plain-text body) in one language; `now` fixes "time left" for tests."""
    sep = "：" if lang == "zh" else ": "
    body = "\n".join(f"{label}{sep}{value}" for _, label, value in lines(notice, lang, now))
    return title(notice, lang), body


def compose(notice: Notice, lang: Lang | None, now: datetime | None = None) -> tuple[str, str]:
    """One language, or both (Chinese first) when `lang` is None: the default for every channel."""
    if lang is not None:
        return render(notice, lang, now)
    done = [render(notice, one, now) for one in LANGS]
    return " / ".join(t for t, _ in done), "\n\n".join(b for _, b in done)


def languages(lang: Lang | None) -> tuple[Lang, ...]:
    return LANGS if lang is None else (lang,)
