"""One-click acknowledge links: signed, expiring, single-use.

A link carries `incident|person|expiry|nonce`, base64url-encoded, and an
HMAC-SHA256 of that payload under a key only the collector holds. Opening it
(GET) only shows the incident and a button; the POST behind the button
acknowledges, so a mail scanner that prefetches links cannot acknowledge for
anyone. The nonce is stored when the link is made and marked used when it is
used: a second use, a link past its expiry, or any change to it is refused.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from opsmon.collector.core.signing import LinkRefused, Signer, load_key
from opsmon.collector.store import Store
from opsmon.collector.store.models import AckLink

__all__ = ["AckLinks", "LinkClaim", "LinkRefused", "load_key"]


@dataclass(frozen=True)
class LinkClaim:
    incident_id: str
    person: str
    expires: datetime
    nonce: str


class AckLinks:
    def __init__(self, store: Store, key: bytes, ttl: float) -> None:
        self.store = store
        # incident|person|expiry|nonce, unpurposed: as acknowledge links were signed before the survey's shared it.
        self.signer = Signer(key, expiry_at=2)
        self.ttl = ttl

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
        (incident_id, person, nonce), expires = self.signer.open(token, now, 3)
        return LinkClaim(incident_id, person, expires, nonce)

    def use(self, token: str, now: datetime) -> LinkClaim:
        """Verify and mark used, atomically: of two concurrent uses exactly one wins."""
        claim = self.check(token, now)
        with self.store.session() as session:
            done = session.execute(update(AckLink).where(AckLink.nonce == claim.nonce, AckLink.used_ts.is_(None))
                                   .values(used_ts=now))
            session.commit()
            if done.rowcount != 1:
                exists = session.get(AckLink, claim.nonce)
                if exists is None:
                    raise LinkRefused(404, "this link is unknown to this collector", "本系统未生成此链接")
                raise LinkRefused(409, "this link has already been used", "链接已被使用")
        return claim
