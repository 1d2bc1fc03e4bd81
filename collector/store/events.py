"""Reading stored events (SNMP traps, ...): newest first, filtered, bounded.

Plain SQL on store/dbapi.py's Reader: GET /api/v1/events and `opsmon events` (on the plain driver, without
SQLAlchemy: issue 25 item 2) run the same query."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from opsmon.collector.store.dbapi import Readable, json_value
from opsmon.collector.store.millis import from_ms, to_ms

EVENTS = ("SELECT id, ts, asset_id, source, kind, name, severity, summary, details FROM events{where} "
          "ORDER BY ts DESC, id DESC LIMIT :limit")


def read_events(store: Readable, asset: str | None = None, since: datetime | None = None,
                until: datetime | None = None, kind: str | None = None, name: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    conds: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    for cond, key, value in (("asset_id = :asset", "asset", asset),
                             ("ts >= :since", "since", None if since is None else to_ms(since)),
                             ("ts < :until", "until", None if until is None else to_ms(until)),
                             ("kind = :kind", "kind", kind), ("name = :name", "name", name)):
        if value is not None:
            conds.append(cond)
            params[key] = value
    sql = EVENTS.format(where=" WHERE " + " AND ".join(conds) if conds else "")
    with store.reader() as r:
        return [{"id": i, "ts": from_ms(ts).isoformat(), "asset": asset_id, "source": source, "kind": k, "name": n,
                 "severity": severity, "summary": summary, "details": json_value(details)}
                for i, ts, asset_id, source, k, n, severity, summary, details in r.rows(sql, params)]
