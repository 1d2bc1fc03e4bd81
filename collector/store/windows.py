"""Maintenance windows declared through the API or the CLI: added, removed and listed, each change audited.

Both doors use these functions, so a window is refused for the same reasons whichever way it comes: an id
taken (by the config file or a live window), a start in the past, or a scope naming an asset, site or tag no
live asset carries. live_windows() is plain SQL on store/dbapi.py's Reader (`opsmon maintenance list` reads on
the plain driver, without SQLAlchemy: issue 25 item 2); the changes write through the ORM, imported when called.
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from opsmon.collector.core.errors import Conflict, InvalidInput, NotFound, valid_ids
from opsmon.collector.core.maintenance import Names, WindowSpec, unknown_text
from opsmon.collector.store import audit
from opsmon.collector.store.dbapi import Readable, json_value
from opsmon.collector.store.millis import from_ms

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from opsmon.collector.store.db import Store

# The windows not removed, by id.
LIVE_WINDOWS = "SELECT id, spec, created_by, created_at FROM maintenance_windows WHERE removed_at IS NULL ORDER BY id"


class WindowLine(NamedTuple):
    """A window declared through the API or the CLI, as stored (its spec as WindowSpec's JSON)."""

    id: str
    spec: dict[str, Any]
    created_by: str
    created_at: datetime


def inventory_names(session: Session, include_removed: bool = False) -> Names:
    """Asset ids, sites and tags of the live assets (and of removed ones too with include_removed)."""
    from sqlalchemy import select

    from opsmon.collector.store.models import Asset

    q = select(Asset.id, Asset.site, Asset.tags)
    if not include_removed:
        q = q.where(Asset.removed_at.is_(None))
    ids: set[str] = set()
    sites: set[str] = set()
    tags: set[str] = set()
    for asset_id, site, asset_tags in session.execute(q):
        ids.add(asset_id)
        if site:
            sites.add(site)
        tags.update(asset_tags or ())
    return Names(frozenset(ids), frozenset(sites), frozenset(tags))


def add_window(store: Store, spec: WindowSpec, config_ids: Collection[str], actor: str, now: datetime) -> None:
    if spec.start is not None and spec.start < now - timedelta(minutes=1):
        # A window in the past would relabel recorded time as maintenance: evidence is not rewritten.
        raise InvalidInput("start: a maintenance window cannot begin in the past")
    from opsmon.collector.store.models import MaintenanceWindow

    with store.session.begin() as session:
        unknown = inventory_names(session).unknown(spec)
        if unknown:
            raise InvalidInput(unknown_text(unknown))
        taken = session.get(MaintenanceWindow, spec.id) is not None  # removed ones too: the id stays theirs
        if spec.id in config_ids or taken:
            raise Conflict(f"a window with id {spec.id!r} exists")
        doc = spec.model_dump(mode="json")
        session.add(MaintenanceWindow(id=spec.id, spec=doc, created_by=actor, created_at=now))
        audit.record(session, actor, "maintenance.add", spec.id, doc, now)


def remove_window(store: Store, window_id: str, config_ids: Collection[str], actor: str, now: datetime) -> None:
    from sqlalchemy import select

    from opsmon.collector.store.models import MaintenanceWindow

    with store.session.begin() as session:
        row = session.get(MaintenanceWindow, window_id)
        if row is None or row.removed_at is not None:
            if window_id in config_ids:
                raise Conflict(f"{window_id!r} is declared in the config file; remove it there")
            live = session.scalars(select(MaintenanceWindow.id).where(MaintenanceWindow.removed_at.is_(None)))
            raise NotFound(f"no maintenance window {window_id!r}" + valid_ids(window_id, live))
        row.removed_at = now
        audit.record(session, actor, "maintenance.remove", window_id, {}, now)


def live_windows(store: Readable) -> list[WindowLine]:
    with store.reader() as r:
        return [WindowLine(wid, json_value(spec), by, from_ms(at)) for wid, spec, by, at in r.rows(LIVE_WINDOWS)]
