"""The satisfaction survey's invitation: one personal e-mail per contact and period, with a signed link.

Sent through an e-mail channel of notify.channels (survey.channel), to the contact alone (not the
channel's `to`). Sending is idempotent per period: a contact whose mail for the period went already is
skipped, so the quarterly job, a restart and `opsmon survey send` never ask anyone twice; a failed mail is
recorded on its invitation (with the reason, secrets scrubbed) and tried again at the next send.

    result = send_survey(channel, links, config.survey, period, config.incidents.public_url, tz, now)
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from opsmon.collector.config.survey import SurveyConfig
from opsmon.collector.notify.base import DeliveryError, scrub
from opsmon.collector.notify.mail import EmailChannel
from opsmon.collector.store.audit import record
from opsmon.collector.store.surveys import SurveyLinks, delivered

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    """What one send did: contacts mailed now, mails that failed, contacts already mailed for the period."""

    sent: int
    failed: int
    skipped: int


def invitation(period: str, department: tuple[str, str], url: str,
               expires: str) -> tuple[str, list[tuple[str, str]]]:
    """(subject, [(lang, body)]): Chinese first, then English; `department` is (zh, en)."""
    subject = f"服务满意度调查 {period} / Satisfaction survey {period}"
    zh = (f"您好！\n\n请对信息中心 {period} 为{department[0]}提供的运维服务进行评价（满意 / 基本满意 / 不满意，"
          f"可附意见）。无需登录，打开以下链接即可：\n\n{url}\n\n"
          f"链接有效期至 {expires}，每人每期限评价一次。\n")
    en = (f"Hello,\n\nPlease rate the IT centre's operations service to {department[1]} in {period} "
          f"(satisfied / fairly satisfied / dissatisfied, with an optional comment). No login is needed:\n\n"
          f"{url}\n\nThe link can be answered until {expires}, once per person and period.\n")
    return subject, [("zh", zh), ("en", en)]


@dataclass(frozen=True)
class IncidentPeriod:
    """What a survey after a resolved incident is filed under: the incident's id, at the resolution's
    millisecond, so it counts in the period it was resolved in (docs/sla.md)."""

    label: str
    start: datetime
    end: datetime


def send_survey(channel: EmailChannel, links: SurveyLinks, survey: SurveyConfig, period: Any, public_url: str,
                tz: str, now: datetime, actor: str = "opsmon", departments: set[str] | None = None) -> Sent:
    """Blocking (smtplib): invite every contact of `survey` (of `departments`, when given) not yet mailed for
    `period` (a sla.periods.Period or an IncidentPeriod); the send and its counts go into the audit log under
    `actor`."""
    done = delivered(links.store, period.label)
    sent = failed = skipped = 0
    for dept_id, contact in survey.contacts(departments):
        if contact.email.lower() in done:
            skipped += 1
            continue
        dept = survey.departments[dept_id]
        nonce, token = links.invite(period, dept_id, contact.name, contact.email, now)
        expires = datetime.fromtimestamp(now.timestamp() + links.ttl, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M (%z)")
        subject, parts = invitation(period.label, (dept.name_zh, dept.name_en or dept.name_zh),
                                    f"{public_url.rstrip('/')}/survey/{token}", expires)
        try:
            channel.send_text(subject, parts, contact.email)
        except DeliveryError as exc:
            failed += 1
            links.mark(nonce, scrub(str(exc), channel.secrets))
            log.error("survey not mailed", extra={"period": period.label, "department": dept_id,
                                                  "error": scrub(str(exc), channel.secrets)})
            continue
        links.mark(nonce, None)
        sent += 1
    if sent or failed or actor != "opsmon":  # the daily job that found everyone mailed leaves no entry
        with links.store.session.begin() as session:
            record(session, actor, "survey.send", period.label, {"sent": sent, "failed": failed, "skipped": skipped},
                   now)
    log.info("survey sent", extra={"period": period.label, "sent": sent, "failed": failed, "skipped": skipped})
    return Sent(sent, failed, skipped)
