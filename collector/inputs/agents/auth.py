"""Agent enrollment and authentication.

`opsmon agents enroll NAME` creates (or reuses) the asset NAME and prints a token
once; only its SHA-256 is stored. Authentication looks the hash up in a cache
refreshed every few seconds, so 2,000 reports a second do not mean 2,000 queries;
a revocation takes effect within `AUTH_TTL` seconds.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from opsmon.collector.config.inventory import AssetSpec, upsert_assets
from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.store import Store
from opsmon.collector.store.audit import record
from opsmon.collector.store.models import AgentRow, Asset

PREFIX = "opsmon_agent_"
AUTH_TTL = 5.0


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enroll(store: Store, name: str, category: str, site: str | None, actor: str, role: str = "agent") -> str:
    """role: "agent", or "poller" for a site poller (docs/poller.md), which needs the site it polls."""
    if category not in ("server", "computer"):
        raise InvalidInput("agents run on servers and computers: --category server or computer")
    if role == "poller" and not site:
        raise InvalidInput("a site poller polls one site: give it --site")
    spec = AssetSpec(id=name, category=category, site=site)  # validates the name as an asset id
    with store.session() as session:
        existing = session.get(Asset, name)
        active = session.scalar(select(AgentRow).where(AgentRow.name == name, AgentRow.revoked_at.is_(None)))
    if active is not None:
        raise InvalidInput(f"agent {name!r} is enrolled; revoke it first to issue a new token")
    if existing is None or existing.removed_at is not None:
        upsert_assets(store, [spec], actor)
    token = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with store.session.begin() as session:
        old = session.get(AgentRow, name)
        if old is not None:  # a revoked enrollment: keep one row per name, with the new hash
            old.token_hash, old.revoked_at, old.created_at, old.role = _hash(token), None, now, role
        else:
            session.add(AgentRow(name=name, asset_id=name, token_hash=_hash(token), created_at=now, role=role))
        record(session, actor, "agents.enroll", name, {"category": category, "site": site, "role": role}, now)
    return token


def revoke(store: Store, name: str, actor: str) -> None:
    now = datetime.now(UTC)
    with store.session.begin() as session:
        row = session.get(AgentRow, name)
        if row is None or row.revoked_at is not None:
            raise NotFound(f"no enrolled agent {name!r}")
        row.revoked_at = now
        record(session, actor, "agents.revoke", name, {}, now)


class AgentAuth:
    """token -> (agent name, asset id), from a cache of active hashes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._by_hash: dict[str, tuple[str, str]] = {}
        self._loaded = 0.0
        self._mark: tuple[object, ...] | None = None
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        """Reload the hashes only when enrolments or revocations changed (one aggregate query otherwise)."""
        with self.store.session() as session:
            mark = tuple(session.execute(select(func.count(AgentRow.name), func.max(AgentRow.created_at),
                                                func.max(AgentRow.revoked_at))).one())
            if mark != self._mark:
                rows = session.execute(select(AgentRow.token_hash, AgentRow.name, AgentRow.asset_id)
                                       .where(AgentRow.revoked_at.is_(None))).all()
                self._by_hash = {h: (n, a) for h, n, a in rows}
                self._mark = mark
        self._loaded = time.monotonic()

    def check(self, token: str) -> tuple[str, str] | None:
        if not token.startswith(PREFIX):
            return None
        digest = _hash(token)
        with self._lock:
            if time.monotonic() - self._loaded > AUTH_TTL:
                self._refresh()
            found = self._by_hash.get(digest)
            if found is None and time.monotonic() - self._loaded > 0.5:
                self._refresh()  # a just-enrolled agent should not wait for the TTL
                found = self._by_hash.get(digest)
        return found
