"""One-click acknowledge links: signed, expiring, single-use.

A link carries `incident|person|expiry|nonce`, base64url-encoded, and an
HMAC-SHA256 of that payload under a key only the collector holds. Opening it
(GET) only shows the incident and a button; the POST behind the button
acknowledges, so a mail scanner that prefetches links cannot acknowledge for
anyone. The nonce is stored when the link is made and marked used when it is
used: a second use, a link past its expiry, or any change to it is refused.

A link for one person (sent to their own address alone) acknowledges as that person. A link that many may
see (a group robot, a mail to several) names nobody (`person` empty) and asks who is acknowledging (issue
18 item 7): a name from the on-call roster and a short code the collector sends to that person, or an
operator's API token. A used link tells who used it and when.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from opsmon.collector.core.signing import TAMPERED, LinkRefused, Signer, load_key
from opsmon.collector.store import Store
from opsmon.collector.store.models import AckLink

__all__ = ["AckLinks", "LinkClaim", "LinkRefused", "load_key", "REFUSALS", "CODE_TTL", "CODE_TRIES"]

REFUSALS = ("forged", "expired", "used", "unknown", "bad_code", "bad_login")
"""Why a link was refused: the label of opsmon_ack_link_refusals_total, every one from zero."""
CODE_TTL = 600.0  # a code sent to a person is good for 10 minutes
CODE_TRIES = 5  # wrong codes for one link before it takes no more


@dataclass(frozen=True)
class LinkClaim:
    incident_id: str
    person: str  # empty: a group link, which asks who acknowledges
    expires: datetime
    nonce: str
    used_at: datetime | None = None
    used_by: str | None = None


class AckLinks:
    def __init__(self, store: Store, key: bytes, ttl: float) -> None:
        self.store = store
        self.key = key
        # incident|person|expiry|nonce, unpurposed: as acknowledge links were always signed (core/signing.py).
        self.signer = Signer(key, expiry_at=2)
        self.ttl = ttl
        self._codes: dict[str, tuple[str, str, datetime]] = {}  # nonce: (person, code hash, expiry)
        self._wrong: dict[str, int] = {}  # nonce: wrong codes so far

    def _sign(self, payload: bytes) -> str:
        """A code's MAC (kept in memory, never sent): the same key, its own text."""
        return hmac.new(self.key, b"code\n" + payload, hashlib.sha256).hexdigest()

    def make(self, incident_id: str, person: str, now: datetime) -> str:
        """A new token for `person` to acknowledge `incident_id`; its nonce is stored now."""
        nonce = secrets.token_hex(16)
        expires = now + timedelta(seconds=self.ttl)
        token = self.signer.seal((incident_id, person, nonce), expires)
        with self.store.session() as session:
            session.add(AckLink(nonce=nonce, incident_id=incident_id, person=person, expires_ts=expires))
            session.commit()
        return token

    def check(self, token: str, now: datetime) -> LinkClaim:
        """Verify signature and expiry (not use); raises LinkRefused."""
        try:
            (incident_id, person, nonce), expires = self.signer.open(token, now, 3)
        except LinkRefused as exc:
            if exc.status != 410 or len(exc.fields) != 3:
                raise LinkRefused(403, *TAMPERED, "forged") from None
            incident_id, person, nonce = exc.fields  # expired, but sound: was it used before it expired?
            expires = now
        with self.store.session() as session:
            row = session.get(AckLink, nonce)
            used = (row.used_ts, row.used_by) if row is not None else (None, None)
        if row is not None and used[0] is not None:
            # used: said before expiry, so the page can tell who used it and when
            return LinkClaim(incident_id, person, expires, nonce, used[0], used[1] or person or None)
        if now >= expires:
            raise LinkRefused(410, "this link has expired", "链接已过期", "expired", incident_id)
        if row is None:
            raise LinkRefused(404, "this link is unknown to this collector", "本系统未生成此链接", "unknown",
                              incident_id)
        return LinkClaim(incident_id, person, expires, nonce)

    def use(self, token: str, now: datetime, by: str | None = None) -> LinkClaim:
        """Verify and mark used by `by` (default: the link's person), atomically: of two concurrent uses exactly
        one wins."""
        claim = self.check(token, now)
        if claim.used_at is not None:
            raise LinkRefused(409, "this link has already been used", "链接已被使用", "used", claim.incident_id)
        with self.store.session() as session:
            done = session.execute(update(AckLink).where(AckLink.nonce == claim.nonce, AckLink.used_ts.is_(None))
                                   .values(used_ts=now, used_by=by or claim.person))
            session.commit()
            if done.rowcount != 1:
                raise LinkRefused(409, "this link has already been used", "链接已被使用", "used", claim.incident_id)
        self._codes.pop(claim.nonce, None)
        self._wrong.pop(claim.nonce, None)
        return claim

    def new_code(self, claim: LinkClaim, person: str, now: datetime) -> str:
        """A 6-digit code for `person` to acknowledge with this group link; replaces any earlier one."""
        code = f"{secrets.randbelow(10 ** 6):06d}"
        self._codes[claim.nonce] = (person, self._sign(f"{claim.nonce}|{person}|{code}".encode()),
                                    now + timedelta(seconds=CODE_TTL))
        return code

    def check_code(self, claim: LinkClaim, person: str, code: str, now: datetime) -> None:
        """The code sent to `person` for this link, in time, within CODE_TRIES wrong ones; else LinkRefused."""
        sent = self._codes.get(claim.nonce)
        tries = self._wrong.get(claim.nonce, 0)
        good = (sent is not None and tries < CODE_TRIES and sent[0] == person and now < sent[2]
                and hmac.compare_digest(sent[1], self._sign(f"{claim.nonce}|{person}|{code.strip()}".encode())))
        if not good:
            self._wrong[claim.nonce] = tries + 1
            raise LinkRefused(403, "wrong or expired code for this person (ask for a new one)",
                              "验证码错误或已过期（请重新获取）", "bad_code", claim.incident_id)
