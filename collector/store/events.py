"""Reading stored events (SNMP traps, ...): newest first, filtered, bounded."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from opsmon.collector.store import Store
from opsmon.collector.store.models import Event


def read_events(store: Store, asset: str | None = None, since: datetime | None = None,
                until: datetime | None = None, kind: str | None = None, name: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    query = select(Event)
    if asset is not None:
        query = query.where(Event.asset_id == asset)
    if since is not None:
        query = query.where(Event.ts >= since)
    if until is not None:
        query = query.where(Event.ts < until)
    if kind is not None:
        query = query.where(Event.kind == kind)
    if name is not None:
        query = query.where(Event.name == name)
    with store.session() as session:
        rows = session.scalars(query.order_by(Event.ts.desc(), Event.id.desc()).limit(limit))
        return [{"id": e.id, "ts": e.ts.isoformat(), "asset": e.asset_id, "source": e.source, "kind": e.kind,
                 "name": e.name, "severity": e.severity, "summary": e.summary, "details": e.details} for e in rows]
