"""Reading incidents and their trails back for the API and the CLI (closed ones included)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from opsmon.collector.core.errors import NotFound
from opsmon.collector.core.incidents import NOT_FAULTS
from opsmon.collector.store import Store
from opsmon.collector.store.models import Incident, IncidentEvent


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def breached(row: Incident, now: datetime | None = None) -> bool:
    """Acknowledged after its deadline, or still unacknowledged with the deadline behind it."""
    if row.deadline_ts is None:
        return False
    if row.acknowledged_ts is not None:
        return row.acknowledged_ts > row.deadline_ts
    return row.status not in NOT_FAULTS and (now or datetime.now(row.deadline_ts.tzinfo)) > row.deadline_ts


def incident_doc(row: Incident) -> dict[str, Any]:
    response = (row.acknowledged_ts - row.opened_ts).total_seconds() if row.acknowledged_ts else None
    return {
        "id": row.id, "asset": row.asset_id, "kind": row.kind, "severity": row.severity, "status": row.status,
        "cause": row.cause, "fault_at": _iso(row.fault_ts), "opened_at": _iso(row.opened_ts),
        "deadline": _iso(row.deadline_ts), "acknowledged_at": _iso(row.acknowledged_ts),
        "acknowledged_by": row.acknowledged_by, "response_seconds": response,
        "breached": breached(row),
        "resolved_at": _iso(row.resolved_ts), "resolved_by": row.resolved_by, "closed_at": _iso(row.closed_ts),
        "level": row.level, "attached": list(row.attached or []), "reopened": row.reopened, "note": row.note,
        "source": row.source, "flapping_since": _iso(row.flapping_ts),
        "breached_at": _iso(row.breached_ts), "maintenance_window": row.maintenance_window,
        "under_maintenance_since": _iso(row.maintenance_ts),
    }


def list_incidents(store: Store, status: str | None = None, asset: str | None = None,
                   since: datetime | None = None, until: datetime | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
    query = select(Incident)
    if status == "active":
        query = query.where(Incident.status.in_(("open", "acknowledged")))
    elif status is not None:
        query = query.where(Incident.status == status)
    if asset is not None:
        query = query.where(Incident.asset_id == asset)
    if since is not None:
        query = query.where(Incident.opened_ts >= since)
    if until is not None:
        query = query.where(Incident.opened_ts < until)
    with store.session() as session:
        rows = session.scalars(query.order_by(Incident.opened_ts.desc(), Incident.id.desc()).limit(limit))
        return [incident_doc(r) for r in rows]


def show_incident(store: Store, incident_id: str) -> dict[str, Any]:
    with store.session() as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise NotFound(f"no incident {incident_id!r}")
        doc = incident_doc(row)
        doc["trail"] = [{"ts": e.ts.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                        for e in session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                                 .order_by(IncidentEvent.id))]
    return doc
