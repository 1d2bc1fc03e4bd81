"""Signed, expiring links that a person opens without a login: the acknowledge links of incidents and the
satisfaction survey's links share this one signing.

A token is `body.mac`: `body` is base64url of `field|...|expiry|...` (the expiry at `expiry_at`) and
`mac` the HMAC-SHA256 of the body as sent, under a key only the collector holds. A purpose other than ""
(the acknowledge links', as they were always signed) goes into the MAC too,
so a token made for one purpose never opens another's page.
Whether a link was already used is the caller's record (a nonce it stores), not the token's.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path


class LinkRefused(Exception):
    """status: 403 tampered (or a wrong code or login), 410 expired, 409 already used, 404 unknown. `reason`:
    a short label for counters and the audit log (forged, expired, used, unknown, ...); `incident_id`: known
    when the link itself was sound. `fields`: an expired token's (its MAC held, so they are what opsmon
    sealed: the audit log can name whose link it was)."""

    def __init__(self, status: int, reason_en: str, reason_zh: str, reason: str = "forged", incident_id: str = "",
                 fields: tuple[str, ...] = ()) -> None:
        super().__init__(reason_en)
        self.status = status
        self.reason_en = reason_en
        self.reason_zh = reason_zh
        self.reason = reason
        self.incident_id = incident_id
        self.fields = fields


TAMPERED = ("this link is not valid (it was changed or not made by opsmon)", "链接无效（已被修改或并非 opsmon 生成）")
EXPIRED = ("this link has expired", "链接已过期")


def load_key(path: Path) -> bytes:
    """The signing key, created (32 random bytes, mode 0600) on first use."""
    if path.exists():
        key = path.read_bytes()
        if len(key) < 32:
            raise ValueError(f"{path}: the link signing key is shorter than 32 bytes")
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


class Signer:
    """Seals fields and an expiry into a token, and opens it again (LinkRefused when it cannot)."""

    def __init__(self, key: bytes, purpose: str = "", expiry_at: int = -1) -> None:
        """`expiry_at`: where the expiry sits among the fields (the acknowledge links have it third)."""
        self.key = key
        self.purpose = purpose
        self.expiry_at = expiry_at

    def _mac(self, body: str) -> str:
        signed = body.encode() if not self.purpose else f"{self.purpose}\n{body}".encode()
        return _b64(hmac.new(self.key, signed, hashlib.sha256).digest())

    def seal(self, fields: tuple[str, ...], expires: datetime) -> str:
        """A token carrying `fields` (none may contain '|') until `expires`."""
        if any("|" in f for f in fields):
            raise ValueError("a sealed field cannot contain '|'")
        parts = list(fields)
        parts.insert(len(parts) + 1 + self.expiry_at if self.expiry_at < 0 else self.expiry_at,
                     str(int(expires.timestamp())))
        body = _b64("|".join(parts).encode())
        return f"{body}.{self._mac(body)}"

    def open(self, token: str, now: datetime, count: int) -> tuple[tuple[str, ...], datetime]:
        """The `count` fields and the expiry of a token made by `seal`: 403 for any change, 410 past its expiry."""
        try:
            body, sig = token.split(".", 1)
            # The MAC covers the text as sent, so no other spelling of the same bytes passes either.
            good = hmac.compare_digest(sig, self._mac(body))
            fields = _unb64(body).decode().split("|")
            if not good or len(fields) != count + 1:  # the shape first: nothing is read from a body not ours
                raise ValueError(body)
            expires = datetime.fromtimestamp(int(fields.pop(self.expiry_at)), UTC)
        except (ValueError, UnicodeDecodeError, OverflowError, OSError):  # an expiry no clock holds: forged too
            good = False
        if not good:
            raise LinkRefused(403, *TAMPERED)
        if now >= expires:
            raise LinkRefused(410, *EXPIRED, "expired", fields=tuple(fields))
        return tuple(fields), expires
