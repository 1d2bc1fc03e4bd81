"""The append-only audit log: who changed what, when. There is no update or delete path."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsmon.collector.store.models import AuditEntry


def record(session: Session, actor: str, action: str, target: str, detail: dict[str, Any],
           now: datetime | None = None) -> None:
    """Add an entry inside the caller's transaction, so the change and its record commit together."""
    session.add(AuditEntry(ts=now or datetime.now(UTC), actor=actor, action=action,
                           target=target, detail=detail))


def read(session: Session, limit: int = 100, since: datetime | None = None, until: datetime | None = None,
         actor: str | None = None, action: str | None = None, target: str | None = None) -> list[AuditEntry]:
    """Newest first. `actor`, `action` and `target` match a part of the name ("wang" finds ui:wang.fang;
    "maintenance" finds maintenance.add and .remove; "INC-2026" an incident's entries), case-sensitively;
    [since, until) bounds the time."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if since is not None:
        q = q.where(AuditEntry.ts >= since)
    if until is not None:
        q = q.where(AuditEntry.ts < until)
    if actor:
        q = q.where(AuditEntry.actor.contains(actor, autoescape=True))
    if action:
        q = q.where(AuditEntry.action.contains(action, autoescape=True))
    if target:
        q = q.where(AuditEntry.target.contains(target, autoescape=True))
    return list(session.scalars(q))
