"""One-click acknowledge links: signed, expiring, single-use.

A link carries `incident|person|expiry|nonce`, base64url-encoded, and an
HMAC-SHA256 of that payload under a key only the collector holds. Opening it
(GET) only shows the incident and a button; the POST behind the button
acknowledges, so a mail scanner that prefetches links cannot acknowledge for
anyone. The nonce is stored when the link is made and marked used when it is
used: a second use, a link past its expiry, or any change to it is refused.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from opsmon.collector.store import Store
from opsmon.collector.store.models import AckLink


class LinkRefused(Exception):
    """status: 403 tampered, 410 expired, 409 already used, 404 unknown."""

    def __init__(self, status: int, reason_en: str, reason_zh: str) -> None:
        super().__init__(reason_en)
        self.status = status
        self.reason_en = reason_en
        self.reason_zh = reason_zh


@dataclass(frozen=True)
class LinkClaim:
    incident_id: str
    person: str
    expires: datetime
    nonce: str


def load_key(path: Path) -> bytes:
    """The signing key, created (32 random bytes, mode 0600) on first use."""
    if path.exists():
        key = path.read_bytes()
        if len(key) < 32:
            raise ValueError(f"{path}: the ack link key is shorter than 32 bytes")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AckLinks:
    def __init__(self, store: Store, key: bytes, ttl: float) -> None:
        self.store = store
        self.key = key
        self.ttl = ttl

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self.key, payload, hashlib.sha256).digest())

    def make(self, incident_id: str, person: str, now: datetime) -> str:
        """A new token for `person` to acknowledge `incident_id`; its nonce is stored now."""
        nonce = secrets.token_hex(16)
        expires = now + timedelta(seconds=self.ttl)
        body = _b64(f"{incident_id}|{person}|{int(expires.timestamp())}|{nonce}".encode())
        with self.store.session() as session:
            session.add(AckLink(nonce=nonce, incident_id=incident_id, person=person, expires_ts=expires))
            session.commit()
        return f"{body}.{self._sign(body.encode())}"

    def check(self, token: str, now: datetime) -> LinkClaim:
        """Verify signature and expiry (not use); raises LinkRefused."""
        try:
            body, sig = token.split(".", 1)
            # The MAC covers the text as sent, so no other spelling of the same bytes passes either.
            good = hmac.compare_digest(sig, self._sign(body.encode()))
            incident_id, person, expiry, nonce = _unb64(body).decode().split("|")
            expires = datetime.fromtimestamp(int(expiry), UTC)
        except (ValueError, UnicodeDecodeError):
            good = False
        if not good:
            raise LinkRefused(403, "this link is not valid (it was changed or not made by opsmon)",
                              "链接无效（已被修改或并非 opsmon 生成）")
        if now >= expires:
            raise LinkRefused(410, "this link has expired", "链接已过期")
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
