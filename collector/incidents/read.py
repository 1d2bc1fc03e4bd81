"""Reading incidents and their trails back for the API and the CLI (closed ones included).

list_incidents() is plain SQL on store/dbapi.py's Reader: the API, the console and `opsmon incidents list` run
the same query, the CLI on the plain driver without SQLAlchemy (issue 25 item 2); so do show_incident()'s two
(`opsmon incidents show`, the API's incident and the console's incident page).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from opsmon.collector.core.deadlines import in_time, response_seconds
from opsmon.collector.core.errors import NotFound
from opsmon.collector.core.incidents import NOT_FAULTS
from opsmon.collector.store.dbapi import Readable, Row, in_list, json_value, row_values
from opsmon.collector.store.millis import from_ms, to_ms

if TYPE_CHECKING:
    from opsmon.collector.store.models import Incident


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class IncidentRow(NamedTuple):
    """The columns of an incident that incident_doc() reads, as the mapped class Incident names them (either
    may be given to it)."""

    id: str
    asset_id: str
    kind: str
    severity: str | None
    status: str
    cause: str
    fault_ts: datetime | None
    opened_ts: datetime
    deadline_ts: datetime | None
    acknowledged_ts: datetime | None
    acknowledged_by: str | None
    resolved_ts: datetime | None
    resolved_by: str | None
    closed_ts: datetime | None
    level: int
    attached: list[str] | None
    reopened: int
    note: str
    source: str
    flapping_ts: datetime | None
    breached_ts: datetime | None
    maintenance_window: str | None
    maintenance_ts: datetime | None
    response_recorded_ts: datetime | None
    response_evidence: str | None

    @classmethod
    def read(cls, row: Row) -> IncidentRow:
        """A row of INCIDENT_COLUMNS: the *_ts columns' milliseconds as UTC datetimes, `attached` as a list."""
        return cls(**row_values(cls._fields, row, json=("attached",), times=_TIMES))


INCIDENT_COLUMNS = ", ".join(f"incidents.{c}" for c in IncidentRow._fields)
_TIMES = tuple(c for c in IncidentRow._fields if c.endswith("_ts"))
# The breached rule of core/deadlines.in_time on stored milliseconds (breached() below, in SQL).
LATE = ("(incidents.deadline_ts IS NOT NULL AND ((incidents.acknowledged_ts IS NOT NULL AND "
        "incidents.acknowledged_ts > incidents.deadline_ts) OR (incidents.acknowledged_ts IS NULL AND "
        "incidents.status NOT IN {not_faults} AND incidents.deadline_ts < :now)))")


def breached(row: Incident | IncidentRow, now: datetime | None = None) -> bool:
    """Acknowledged after its deadline, or still unacknowledged with the deadline behind it."""
    if row.deadline_ts is None:
        return False
    if row.acknowledged_ts is not None:
        return not in_time(row.acknowledged_ts, row.deadline_ts)
    return row.status not in NOT_FAULTS and not in_time(now or datetime.now(row.deadline_ts.tzinfo), row.deadline_ts)


def incident_doc(row: Incident | IncidentRow) -> dict[str, Any]:
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


def list_incidents(store: Readable, where: IncidentFilter = IncidentFilter(), since: datetime | None = None,
                   until: datetime | None = None, limit: int = 100,
                   now: datetime | None = None) -> list[dict[str, Any]]:
    f = where
    sql = [f"SELECT {INCIDENT_COLUMNS} FROM incidents"]
    conds: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if f.site is not None or f.category is not None:
        sql.append("JOIN assets ON assets.id = incidents.asset_id")
    if f.status == "active":
        conds.append("incidents.status IN ('open', 'acknowledged')")
    for column, value in (("incidents.status", None if f.status == "active" else f.status),
                          ("incidents.asset_id", f.asset), ("incidents.severity", f.severity),
                          ("incidents.kind", f.kind), ("incidents.acknowledged_by", f.acknowledged_by),
                          ("assets.site", f.site), ("assets.category", f.category)):
        if value is not None:
            name = column.replace(".", "_")
            conds.append(f"{column} = :{name}")
            params[name] = value
    if f.breached is not None:
        not_faults, nf = in_list("nf", NOT_FAULTS)
        late = LATE.format(not_faults=not_faults)
        conds.append(late if f.breached else f"NOT {late}")
        params |= nf | {"now": to_ms(now or datetime.now(UTC))}
    if since is not None:
        conds.append("incidents.opened_ts >= :since")
        params["since"] = to_ms(since)
    if until is not None:
        conds.append("incidents.opened_ts < :until")
        params["until"] = to_ms(until)
    if conds:
        sql.append("WHERE " + " AND ".join(conds))
    sql.append("ORDER BY incidents.opened_ts DESC, incidents.id DESC LIMIT :limit")
    with store.reader() as r:
        return [incident_doc(IncidentRow.read(row)) for row in r.rows(" ".join(sql), params)]


# The trail of one incident, oldest first (the API, the console's incident page and `opsmon incidents show`).
TRAIL = "SELECT ts, actor, action, detail FROM incident_events WHERE incident_id = :id ORDER BY id"


def show_incident(store: Readable, incident_id: str) -> dict[str, Any]:
    """One incident and its trail: two SQL strings on the Reader, so the CLI reads it on the plain driver and the
    API, the console and the CLI run the same queries (issue 25 item 2); NotFound naming the id."""
    with store.reader() as r:
        found = r.rows(f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE incidents.id = :id", {"id": incident_id})
        if not found:
            raise NotFound(f"no incident {incident_id!r}")
        doc = incident_doc(IncidentRow.read(found[0]))
        trail = r.rows(TRAIL, {"id": incident_id})
        doc["trail"] = [{"ts": from_ms(ts).isoformat(), "actor": actor, "action": action, "detail": json_value(detail)}
                        for ts, actor, action, detail in trail]
    return doc
