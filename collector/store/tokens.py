"""Per-person API tokens with a role. Only a hash is stored; the token is shown once.

list_tokens() is plain SQL on store/dbapi.py's Reader, and this module imports SQLAlchemy and the mapped classes
only where a token is written or checked: `opsmon tokens list` (and `users`, which takes ROLES from here) read
without them (issue 25 item 2). A listing never reads a token's hash.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.millis import from_ms, from_ms_or_none

if TYPE_CHECKING:
    from opsmon.collector.store import Store

ROLES = ("viewer", "operator", "admin")
PREFIX = "opsmon_"
TOKEN_LINES = "SELECT name, role, created_at, revoked_at FROM api_tokens ORDER BY id"


class TokenLine(NamedTuple):
    """A token as `opsmon tokens list` shows it: never its hash."""

    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(store: Store, name: str, role: str, actor: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if not name or len(name) > 128:
        raise InvalidInput("a token needs a name of 1-128 characters (the person it belongs to)")
    from sqlalchemy import select

    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import ApiToken

    token = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with store.session.begin() as session:
        if session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
            raise InvalidInput(f"a token named {name!r} exists; revoke it first")
        session.add(ApiToken(name=name, role=role, token_hash=hash_token(token), created_at=now))
        record(session, actor, "tokens.create", name, {"role": role}, now)
    return token


def revoke(store: Store, name: str, actor: str) -> None:
    from sqlalchemy import select

    from opsmon.collector.store.audit import record
    from opsmon.collector.store.models import ApiToken

    now = datetime.now(UTC)
    with store.session.begin() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
        if row is None:
            raise NotFound(f"no active token named {name!r}")
        row.revoked_at = now
        # Free the name for a new token while keeping the revoked row for the record.
        row.name = f"{name}#revoked-{row.id}"
        record(session, actor, "tokens.revoke", name, {}, now)


def authenticate(store: Store, token: str) -> tuple[str, str] | None:
    """(name, role) for a valid, unrevoked token; None otherwise."""
    from sqlalchemy import select

    from opsmon.collector.store.models import ApiToken

    if not token.startswith(PREFIX):
        return None
    digest = hash_token(token)
    with store.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row.name, row.role


def list_tokens(store: Readable) -> list[TokenLine]:
    """Every token, revoked ones too, in the order they were made."""
    with store.reader() as r:
        return [TokenLine(name, role, from_ms(made), from_ms_or_none(revoked))
                for name, role, made, revoked in r.rows(TOKEN_LINES)]
