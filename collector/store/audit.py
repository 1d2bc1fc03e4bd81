"""The append-only audit log: who changed what, when. There is no update or delete path.

read() is plain SQL on store/dbapi.py's Reader: the API, the console and `opsmon audit` (on the plain driver,
without SQLAlchemy: issue 25 item 2) run the same query; record() adds through the ORM, imported when called.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from opsmon.collector.store.dbapi import Readable, contains, json_value
from opsmon.collector.store.millis import from_ms, to_ms

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Newest first; {where}: the filters read() was given.
AUDIT = "SELECT id, ts, actor, action, target, detail FROM audit_log{where} ORDER BY id DESC LIMIT :limit"


class AuditLine(NamedTuple):
    """An entry as read back, its fields named as the mapped class AuditEntry names them."""

    id: int
    ts: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def record(session: Session, actor: str, action: str, target: str, detail: dict[str, Any],
           now: datetime | None = None) -> None:
    """Add an entry inside the caller's transaction, so the change and its record commit together."""
    from opsmon.collector.store.models import AuditEntry

    session.add(AuditEntry(ts=now or datetime.now(UTC), actor=actor, action=action,
                           target=target, detail=detail))


def read(store: Readable, limit: int = 100, since: datetime | None = None, until: datetime | None = None,
         actor: str | None = None, action: str | None = None, target: str | None = None) -> list[AuditLine]:
    """Newest first. `actor`, `action` and `target` match a part of the name ("wang" finds ui:wang.fang;
    "maintenance" finds maintenance.add and .remove; "INC-2026" an incident's entries), as the database's LIKE
    compares (case-sensitively on PostgreSQL; SQLite's ignores the case of ASCII letters); [since, until) bounds
    the time."""
    conds: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if since is not None:
        conds.append("ts >= :since")
        params["since"] = to_ms(since)
    if until is not None:
        conds.append("ts < :until")
        params["until"] = to_ms(until)
    for column, part in (("actor", actor), ("action", action), ("target", target)):
        if part:
            conds.append(f"{column} LIKE :{column} ESCAPE '/'")
            params[column] = contains(part)
    sql = AUDIT.format(where=" WHERE " + " AND ".join(conds) if conds else "")
    with store.reader() as r:
        return [AuditLine(i, from_ms(ts), who, what, on, json_value(detail))
                for i, ts, who, what, on, detail in r.rows(sql, params)]
