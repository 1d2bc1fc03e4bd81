"""After-the-fact exclusions (issue 18 item 2): an incident, or an asset's span, taken out of a figure.

Why a separate record and not an edit: the evidence (state intervals, incidents and their trails) is never
rewritten; an exclusion says "do not count this" next to it, with who asked, who approved and why, and the
quarterly report prints every one. An exclusion counts only once approved, and the approver must be another
person than the requester (four eyes: nobody takes their own miss out of a figure). Removing one is a change
too: it stays in the table with who removed it and when. Each change is in the audit log.

Both doors (API, CLI) call these functions, so an exclusion is refused for the same reasons either way.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Self

from opsmon.collector.core.actors import person
from opsmon.collector.core.errors import Conflict, InvalidInput, NotFound
from opsmon.collector.store.dbapi import Readable, Reader, Row, row_values
from opsmon.collector.store.millis import to_ms

if TYPE_CHECKING:  # the changes and listings read through the ORM; in_force() (the SLA engine's) does not
    from sqlalchemy.orm import Session

    from opsmon.collector.store.db import Store
    from opsmon.collector.store.models import Exclusion


@dataclass(frozen=True)
class ExclusionRequest:
    """What is asked to be taken out: an incident, or an asset's span [start, end)."""

    reason: str
    incident: str | None = None
    asset: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    planned: bool = False  # an outage reclassified as planned work (an asset's span only)


@dataclass(frozen=True, slots=True)
class InForce:
    """An approved exclusion, as the SLA engine and the report read it (in_force)."""

    id: int
    incident_id: str | None
    asset_id: str | None
    start_ts: datetime | None
    end_ts: datetime | None
    planned: bool
    reason: str
    requested_by: str
    requested_at: datetime
    approved_by: str | None
    approved_at: datetime | None

    @classmethod
    def read(cls, row: Row) -> Self:
        """A row of this class's columns in their order (LISTED, _APPROVED): stored milliseconds as UTC datetimes
        (None for NULL), planned as a bool."""
        names = [f.name for f in fields(cls)]
        # The times among this class's columns: Listed adds removed_at to InForce's.
        return cls(**row_values(names, row, times=[t for t in _TIMES if t in names], flags=("planned",)))


def _live(session: Session) -> list[Exclusion]:
    from sqlalchemy import select

    from opsmon.collector.store.models import Exclusion

    return list(session.scalars(select(Exclusion).where(Exclusion.removed_at.is_(None)).order_by(Exclusion.id)))


@dataclass(frozen=True, slots=True)
class Listed(InForce):
    """An exclusion as listings show it (doc()): InForce's fields and who removed it, when."""

    removed_by: str | None
    removed_at: datetime | None


_LISTED_FIELDS = tuple(f.name for f in fields(Listed))
_TIMES = ("start_ts", "end_ts", "requested_at", "approved_at", "removed_at")
# Every column doc() shows, by id; {where}: not removed ones only, unless all are asked for.
LISTED = f"SELECT {', '.join(_LISTED_FIELDS)} FROM exclusions{{where}} ORDER BY id"
# The approved, not removed exclusions, oldest first (in_force keeps those bearing on its span).
_APPROVED = (f"SELECT {', '.join(f.name for f in fields(InForce))} FROM exclusions "
             "WHERE removed_at IS NULL AND approved_at IS NOT NULL ORDER BY id")


def doc(row: Exclusion | Listed) -> dict[str, object]:
    """An exclusion as the API and `opsmon exclusions list --format json` show it (UTC ISO times)."""
    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t is not None else None
    return {"id": row.id, "incident": row.incident_id, "asset": row.asset_id, "start": iso(row.start_ts),
            "end": iso(row.end_ts), "planned": bool(row.planned), "reason": row.reason,
            "requested_by": row.requested_by,
            "requested_at": iso(row.requested_at), "approved_by": row.approved_by,
            "approved_at": iso(row.approved_at), "removed_by": row.removed_by, "removed_at": iso(row.removed_at),
            "status": "removed" if row.removed_at else ("approved" if row.approved_at else "pending")}


def request_exclusion(store: Store, req: ExclusionRequest, actor: str, now: datetime) -> dict[str, object]:
    """Record a request (pending: it counts once another person approves it). InvalidInput, NotFound, Conflict."""
    reason = req.reason.strip()
    if not reason:
        raise InvalidInput("reason: an exclusion needs a reason")
    if (req.incident is None) == (req.asset is None):
        raise InvalidInput("give either an incident, or an asset with start and end (an outage)")
    if req.planned and req.asset is None:
        raise InvalidInput("planned: only an asset's outage (start and end) is reclassified as planned work")
    from opsmon.collector.store import audit
    from opsmon.collector.store.models import Asset, Exclusion, Incident

    with store.session.begin() as session:
        if req.incident is not None:
            if session.get(Incident, req.incident) is None:
                raise NotFound(f"no incident {req.incident!r}")
            if any(r.incident_id == req.incident for r in _live(session)):
                raise Conflict(f"incident {req.incident} already has an exclusion")
        else:
            if req.start is None or req.end is None:
                raise InvalidInput("an outage exclusion needs start and end")
            if req.end <= req.start:
                raise InvalidInput("end: must be after start")
            if req.end > now:
                raise InvalidInput("end: an exclusion takes out time that has passed (declare a maintenance "
                                   "window for work to come)")
            if session.get(Asset, req.asset) is None:
                raise NotFound(f"no asset {req.asset!r}")
            for r in _live(session):
                if (r.asset_id == req.asset and r.start_ts is not None and r.end_ts is not None
                        and r.start_ts < req.end and req.start < r.end_ts):
                    raise Conflict(f"overlaps exclusion {r.id} of {req.asset}")
        row = Exclusion(incident_id=req.incident, asset_id=req.asset, start_ts=req.start, end_ts=req.end,
                        planned=req.planned, reason=reason, requested_by=actor, requested_at=now)
        session.add(row)
        session.flush()
        out = doc(row)
        audit.record(session, actor, "exclusion.request", str(row.id), out, now)
    return out


def approve_exclusion(store: Store, exclusion_id: int, actor: str, now: datetime) -> dict[str, object]:
    """Approve a pending exclusion: by another person than the requester (InvalidInput otherwise)."""
    from opsmon.collector.store import audit
    from opsmon.collector.store.models import Exclusion

    with store.session.begin() as session:
        row = session.get(Exclusion, exclusion_id)
        if row is None or row.removed_at is not None:
            raise NotFound(f"no exclusion {exclusion_id}")
        if row.approved_at is not None:
            raise Conflict(f"exclusion {exclusion_id} was approved by {row.approved_by}")
        if person(actor) == person(row.requested_by):
            raise InvalidInput(f"exclusion {exclusion_id} was requested by {person(row.requested_by)}; "
                               "another person must approve it")
        row.approved_by, row.approved_at = actor, now
        out = doc(row)
        audit.record(session, actor, "exclusion.approve", str(exclusion_id), out, now)
    return out


def remove_exclusion(store: Store, exclusion_id: int, actor: str, now: datetime) -> None:
    """Withdraw an exclusion: the figure counts the incident or the span again; the row stays, marked removed."""
    from opsmon.collector.store import audit
    from opsmon.collector.store.models import Exclusion

    with store.session.begin() as session:
        row = session.get(Exclusion, exclusion_id)
        if row is None or row.removed_at is not None:
            raise NotFound(f"no exclusion {exclusion_id}")
        row.removed_by, row.removed_at = actor, now
        audit.record(session, actor, "exclusion.remove", str(exclusion_id), {}, now)


def list_exclusions(store: Readable, include_removed: bool = False) -> list[dict[str, object]]:
    """Every exclusion by id (removed ones too with include_removed), as doc() shows it: plain SQL, so the API,
    the console and `opsmon exclusions list` (on the plain driver, without SQLAlchemy) run the same query."""
    sql = LISTED.format(where="" if include_removed else " WHERE removed_at IS NULL")
    with store.reader() as r:
        return [doc(Listed.read(row)) for row in r.rows(sql)]


def in_force(reader: Reader, start: datetime, end: datetime) -> list[InForce]:
    """The approved, not removed exclusions that bear on [start, end): outages overlapping it, and incident
    exclusions (the caller keeps those of the incidents it counts)."""
    lo, hi = to_ms(start), to_ms(end)
    return [x for x in map(InForce.read, reader.rows(_APPROVED))
            if x.incident_id is not None or (x.start_ts is not None and x.end_ts is not None
                                             and to_ms(x.start_ts) < hi and to_ms(x.end_ts) > lo)]
