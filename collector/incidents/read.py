"""Reading incidents and their trails back for the API and the CLI (closed ones included)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, not_, or_, select

from opsmon.collector.core.deadlines import in_time, response_seconds
from opsmon.collector.core.errors import NotFound
from opsmon.collector.core.incidents import NOT_FAULTS
from opsmon.collector.store import Store
from opsmon.collector.store.models import Asset, Incident, IncidentEvent


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def breached(row: Incident, now: datetime | None = None) -> bool:
    """Acknowledged after its deadline, or still unacknowledged with the deadline behind it."""
    if row.deadline_ts is None:
        return False
    if row.acknowledged_ts is not None:
        return not in_time(row.acknowledged_ts, row.deadline_ts)
    return row.status not in NOT_FAULTS and not in_time(now or datetime.now(row.deadline_ts.tzinfo), row.deadline_ts)


def incident_doc(row: Incident) -> dict[str, Any]:
    response = response_seconds(row.opened_ts, row.acknowledged_ts) if row.acknowledged_ts else None
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
        "response_recorded_at": _iso(row.response_recorded_ts), "response_evidence": row.response_evidence,
    }


@dataclass(frozen=True)
class IncidentFilter:
    """What GET /api/v1/incidents and `opsmon incidents list` select by (None: any)."""

    status: str | None = None  # a status, or "active" (open and acknowledged)
    asset: str | None = None
    severity: str | None = None
    kind: str | None = None
    site: str | None = None  # the asset's site and category, as the inventory holds them now
    category: str | None = None
    breached: bool | None = None  # as breached() says, at `now`
    acknowledged_by: str | None = None


def list_incidents(store: Store, where: IncidentFilter = IncidentFilter(), since: datetime | None = None,
                   until: datetime | None = None, limit: int = 100,
                   now: datetime | None = None) -> list[dict[str, Any]]:
    f = where
    query = select(Incident)
    if f.status == "active":
        query = query.where(Incident.status.in_(("open", "acknowledged")))
    elif f.status is not None:
        query = query.where(Incident.status == f.status)
    if f.asset is not None:
        query = query.where(Incident.asset_id == f.asset)
    for column, value in ((Incident.severity, f.severity), (Incident.kind, f.kind),
                          (Incident.acknowledged_by, f.acknowledged_by)):
        if value is not None:
            query = query.where(column == value)
    if f.site is not None or f.category is not None:
        query = query.join(Asset, Asset.id == Incident.asset_id)
        if f.site is not None:
            query = query.where(Asset.site == f.site)
        if f.category is not None:
            query = query.where(Asset.category == f.category)
    if f.breached is not None:  # stored milliseconds compared: the rule of core/deadlines.in_time
        late = and_(Incident.deadline_ts.is_not(None), or_(
            and_(Incident.acknowledged_ts.is_not(None), Incident.acknowledged_ts > Incident.deadline_ts),
            and_(Incident.acknowledged_ts.is_(None), Incident.status.not_in(NOT_FAULTS),
                 Incident.deadline_ts < (now or datetime.now(UTC)))))
        query = query.where(late if f.breached else not_(late))
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
