"""The satisfaction survey's records: one signed link per contact and period, and at most one answer each.

A link is `Signer(key, purpose="survey")` over the invitation's nonce (the acknowledge links' signing, so
a token made for one never opens the other's page). Answering checks the signature and expiry, then that
the nonce was made here, then stores the answer under the unique key (period, e-mail): a second answer
for the same period, by the same link or another one sent to the same contact, is refused (409) and kept
out. Every answer and every refusal is in the audit log (actor `survey:<e-mail>`, or `survey:?` when the
link names no invitation).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.signing import LinkRefused, Signer
from opsmon.collector.core.survey import COMMENT_MAX, SCORES
from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.millis import from_ms, to_ms

if TYPE_CHECKING:  # the links write through the ORM; invitations() and answers() (the SLA engine's) read plain SQL
    from opsmon.collector.store.db import Store
    from opsmon.collector.store.models import SurveyInvitation

# The invitations and the answers of the periods inside [:s, :e), oldest first.
_INVITATIONS = """
SELECT survey_invitations.period, survey_invitations.department, survey_invitations.contact, survey_invitations.email,
       survey_invitations.sent_ts, survey_invitations.expires_ts, survey_invitations.delivered, survey_invitations.error
FROM survey_invitations WHERE survey_invitations.period_start >= :s AND survey_invitations.period_end <= :e
ORDER BY survey_invitations.sent_ts, survey_invitations.email
"""
_ANSWERS = """
SELECT survey_answers.period, survey_answers.email, survey_answers.score, survey_answers.comment,
       survey_answers.answered_ts
FROM survey_answers WHERE survey_answers.period_start >= :s AND survey_answers.period_end <= :e
ORDER BY survey_answers.id
"""

ALREADY = ("an answer for this period was already given by this contact", "该联系人本期已提交过评价")
UNKNOWN = ("this link is unknown to this collector", "本系统未生成此链接")


@dataclass(frozen=True)
class Invitation:
    """What the answer page shows and the answer is filed under."""

    nonce: str
    period: str
    period_start: datetime
    period_end: datetime
    department: str
    email: str
    expires: datetime


@dataclass(frozen=True, slots=True)
class Sent:
    """An invitation as the figure and the listing read it."""

    period: str
    department: str
    contact: str
    email: str
    sent_ts: datetime
    expires_ts: datetime
    delivered: bool
    error: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as the figure and the listing read it."""

    period: str
    email: str
    score: str
    comment: str
    answered_ts: datetime


class SurveyLinks:
    def __init__(self, store: Store, key: bytes, ttl: float) -> None:
        self.store = store
        self.signer = Signer(key, purpose="survey")
        self.ttl = ttl

    def invite(self, period: Any, department: str, contact: str, email: str, now: datetime) -> tuple[str, str]:
        """(nonce, token) of a new link for `email` to answer for `period` (a sla.periods.Period); stored now,
        not yet delivered (mark() says so once the mail went)."""
        from opsmon.collector.store.models import SurveyInvitation

        nonce = secrets.token_hex(16)
        expires = now + timedelta(seconds=self.ttl)
        with self.store.session() as session:
            session.add(SurveyInvitation(
                nonce=nonce, period=period.label, period_start=period.start, period_end=period.end,
                department=department, contact=contact, email=email.lower(), sent_ts=now, expires_ts=expires,
                delivered=False, error=None))
            session.commit()
        return nonce, self.signer.seal((nonce,), expires)

    def mark(self, nonce: str, error: str | None) -> None:
        """The mail of this invitation went (error None), or why not."""
        from sqlalchemy import update

        from opsmon.collector.store.models import SurveyInvitation

        with self.store.session() as session:
            session.execute(update(SurveyInvitation).where(SurveyInvitation.nonce == nonce)
                            .values(delivered=error is None, error=error))
            session.commit()

    def check(self, token: str, now: datetime) -> Invitation:
        """The invitation behind a link that can still be answered; LinkRefused (audited) says why not."""
        refusal: LinkRefused | None = None
        with self.store.session.begin() as session:
            try:
                return self._check(session, token, now)
            except LinkRefused as exc:
                refusal = exc
                _refused(session, exc, getattr(exc, "invitation", None), now)  # committed with the block
        assert refusal is not None  # the block returned or refused
        raise refusal

    def answer(self, token: str, score: str, comment: str, now: datetime) -> Invitation:
        """Store the answer (audited); LinkRefused (audited) for a bad link or a second answer of the period.
        InvalidInput for a score not offered or a comment too long (the page asks again)."""
        if score not in SCORES:
            raise InvalidInput(f"choose one of {', '.join(SCORES)}")
        comment = comment.strip()
        if len(comment) > COMMENT_MAX:
            raise InvalidInput(f"the comment is longer than {COMMENT_MAX} characters")
        inv = self.check(token, now)
        from sqlalchemy.exc import IntegrityError

        from opsmon.collector.store.audit import record
        from opsmon.collector.store.models import SurveyAnswer

        try:
            with self.store.session.begin() as session:
                session.add(SurveyAnswer(period=inv.period, period_start=inv.period_start, period_end=inv.period_end,
                                         department=inv.department, email=inv.email, score=score, comment=comment,
                                         answered_ts=now, nonce=inv.nonce))
                record(session, f"survey:{inv.email}", "survey.answer", inv.period,
                       {"department": inv.department, "score": score, "comment": comment, "nonce": inv.nonce}, now)
        except IntegrityError:  # the unique (period, email): of two answers, however close, one is kept
            exc = Answered(inv)
            with self.store.session.begin() as session:
                _refused(session, exc, inv, now)
            raise exc from None
        return inv

    def _check(self, session: Any, token: str, now: datetime) -> Invitation:
        from sqlalchemy import select

        from opsmon.collector.store.models import SurveyAnswer, SurveyInvitation

        try:
            (nonce,), expires = self.signer.open(token, now, 1)
        except LinkRefused as exc:
            late = session.get(SurveyInvitation, exc.fields[0]) if exc.fields else None
            if late is not None:  # expired: name whose link it was
                exc.invitation = _invitation(late, late.expires_ts)  # type: ignore[attr-defined]
            raise
        row = session.get(SurveyInvitation, nonce)
        if row is None:
            raise LinkRefused(404, *UNKNOWN)
        inv = _invitation(row, expires)
        answered = session.scalar(select(SurveyAnswer.id).where(SurveyAnswer.period == inv.period,
                                                                SurveyAnswer.email == inv.email))
        if answered is not None:
            raise Answered(inv)
        return inv


def _invitation(row: SurveyInvitation, expires: datetime) -> Invitation:
    return Invitation(row.nonce, row.period, row.period_start, row.period_end, row.department, row.email, expires)


class Answered(LinkRefused):
    """The contact has answered for this period already (409)."""

    def __init__(self, invitation: Invitation) -> None:
        super().__init__(409, *ALREADY)
        self.invitation = invitation


def _refused(session: Any, exc: LinkRefused, inv: Invitation | None, now: datetime) -> None:
    """Audit a refused link: who, if the link names an invitation, and why (never the token)."""
    from opsmon.collector.store.audit import record

    record(session, f"survey:{inv.email}" if inv else "survey:?", "survey.refused", inv.period if inv else "",
           {"status": exc.status, "reason": exc.reason_en, **({"nonce": inv.nonce} if inv else {})}, now)


def delivered(store: Store, period: str) -> set[str]:
    """E-mail addresses whose invitation for `period` went (the send skips them)."""
    from sqlalchemy import select

    from opsmon.collector.store.models import SurveyInvitation

    with store.session() as session:
        return set(session.scalars(select(SurveyInvitation.email).where(
            SurveyInvitation.period == period, SurveyInvitation.delivered.is_(True))))


def invitations(store: Readable, start: datetime, end: datetime) -> list[Sent]:
    """The invitations of the periods inside [start, end), oldest first."""
    with store.reader() as r:
        rows = r.rows(_INVITATIONS, {"s": to_ms(start), "e": to_ms(end)})
    return [Sent(period, dept, contact, email, from_ms(sent), from_ms(expires), bool(delivered), error)
            for period, dept, contact, email, sent, expires, delivered, error in rows]


def answers(store: Readable, start: datetime, end: datetime) -> list[Answer]:
    """The answers for the periods inside [start, end), oldest first."""
    with store.reader() as r:
        rows = r.rows(_ANSWERS, {"s": to_ms(start), "e": to_ms(end)})
    return [Answer(period, email, score, comment, from_ms(at)) for period, email, score, comment, at in rows]


def listing(store: Readable, start: datetime, end: datetime, tz: str) -> list[dict[str, Any]]:
    """Each contact sent to for the periods inside [start, end), with their answer (one row per period and
    contact: the latest invitation's delivery, times in `tz`): what `opsmon survey list` and the API show."""
    return contacts(invitations(store, start, end), answers(store, start, end), tz)


def contacts(sent: list[Sent], got: list[Answer], tz: str) -> list[dict[str, Any]]:
    """listing()'s rows from the invitations and answers already read (GET /api/v1/surveys reads them once for
    the figure and the contacts)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    by_contact = {(a.period, a.email): a for a in got}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for inv in sent:
        a = by_contact.get((inv.period, inv.email))
        rows[(inv.period, inv.email)] = {
            "period": inv.period, "department": inv.department, "contact": inv.contact, "email": inv.email,
            "sent_at": inv.sent_ts.astimezone(zone).isoformat(), "delivered": inv.delivered, "error": inv.error,
            "expires_at": inv.expires_ts.astimezone(zone).isoformat(),
            "score": a.score if a else None, "comment": a.comment if a else None,
            "answered_at": a.answered_ts.astimezone(zone).isoformat() if a else None}
    return list(rows.values())
