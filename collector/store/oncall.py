"""On-call overrides added through the API or the CLI: added, removed and listed, each change audited.

Both doors use these functions, so an override is refused for the same reasons whichever way it comes: a
schedule or person oncall.yaml does not define, an end not after its start, or an end already past. The
running collector takes them up at its next reload (within 10 s; at once for the API), without a restart.

live_overrides() is plain SQL on store/dbapi.py's Reader, the one query of the running roster and of `opsmon oncall
now|next|list` (which read without SQLAlchemy, issue 25 item 2); the writes import the ORM when called.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.millis import from_ms

if TYPE_CHECKING:
    from opsmon.collector.store.db import Store

LIVE_OVERRIDES = ("SELECT id, schedule, person, start_ts, end_ts, reason FROM oncall_overrides "
                  "WHERE removed_at IS NULL ORDER BY id")


@dataclass(frozen=True)
class StoredOverride:
    id: int
    schedule: str
    person: str
    start: datetime
    end: datetime
    reason: str


def live_overrides(store: Readable) -> list[StoredOverride]:
    """Every stored override not removed, oldest first (Oncall.with_overrides puts them in force)."""
    with store.reader() as r:
        return [StoredOverride(oid, schedule, person, from_ms(start), from_ms(end), reason)
                for oid, schedule, person, start, end, reason in r.rows(LIVE_OVERRIDES)]


def add_override(store: Store, schedules: Collection[str], people: Collection[str], schedule: str, person: str,
                 start: datetime, end: datetime, reason: str, actor: str, now: datetime) -> int:
    """Store an override of `schedule` by `person` for [start, end); its id. InvalidInput naming what is wrong.
    `schedules` and `people`: the names oncall.yaml defines."""
    if schedule not in schedules:
        raise InvalidInput(f"schedule: {schedule!r} is not a schedule of oncall.yaml "
                           f"(there: {', '.join(sorted(schedules)) or 'none'})")
    if person not in people:
        raise InvalidInput(f"person: {person!r} is not under people in oncall.yaml "
                           f"(there: {', '.join(sorted(people))})")
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("start and end need a UTC offset")
    if end <= start:
        raise InvalidInput("end: must be after start")
    if end <= now:
        raise InvalidInput("end: the override would be over already")
    from opsmon.collector.store import audit
    from opsmon.collector.store.models import OncallOverride

    with store.session.begin() as session:
        row = OncallOverride(schedule=schedule, person=person, start_ts=start, end_ts=end, reason=reason[:512],
                             created_by=actor, created_at=now)
        session.add(row)
        session.flush()
        audit.record(session, actor, "oncall.override_add", f"{schedule}#{row.id}",
                     {"schedule": schedule, "person": person, "start": start.isoformat(), "end": end.isoformat(),
                      "reason": reason}, now)
        return int(row.id)


def remove_override(store: Store, override_id: int, actor: str, now: datetime) -> None:
    from opsmon.collector.store import audit
    from opsmon.collector.store.models import OncallOverride

    with store.session.begin() as session:
        row = session.get(OncallOverride, override_id)
        if row is None or row.removed_at is not None:
            raise NotFound(f"no on-call override {override_id} (overrides in oncall.yaml are edited there)")
        row.removed_at = now
        audit.record(session, actor, "oncall.override_remove", f"{row.schedule}#{row.id}",
                     {"schedule": row.schedule, "person": row.person, "start": row.start_ts.isoformat(),
                      "end": row.end_ts.isoformat()}, now)


def overrides_mark(store: Store) -> tuple[int, int]:
    """Changes whenever an override is added or removed: (rows, removed rows)."""
    from sqlalchemy import func, select

    from opsmon.collector.store.models import OncallOverride

    with store.session() as session:
        total = session.scalar(select(func.count(OncallOverride.id))) or 0
        removed = session.scalar(select(func.count(OncallOverride.id)).where(OncallOverride.removed_at.is_not(None)))
    return int(total), int(removed or 0)
