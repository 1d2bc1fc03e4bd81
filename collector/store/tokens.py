"""Per-person API tokens with a role. Only a hash is stored; the token is shown once."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import select

from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.store import Store
from opsmon.collector.store.audit import record
from opsmon.collector.store.models import ApiToken

ROLES = ("viewer", "operator", "admin")
PREFIX = "opsmon_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(store: Store, name: str, role: str, actor: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if not name or len(name) > 128:
        raise InvalidInput("a token needs a name of 1-128 characters (the person it belongs to)")
    token = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with store.session.begin() as session:
        if session.scalar(select(ApiToken).where(ApiToken.name == name)) is not None:
            raise InvalidInput(f"a token named {name!r} exists; revoke it first")
        session.add(ApiToken(name=name, role=role, token_hash=hash_token(token), created_at=now))
        record(session, actor, "tokens.create", name, {"role": role}, now)
    return token


def revoke(store: Store, name: str, actor: str) -> None:
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
    if not token.startswith(PREFIX):
        return None
    digest = hash_token(token)
    with store.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row.name, row.role


def list_tokens(store: Store) -> list[ApiToken]:
    with store.session() as session:
        return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
