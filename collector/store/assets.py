"""The stored assets read back: listings, counts, sites and names (config/inventory.py writes them).

Here, in the store, not beside the inventory's models that write them, so that a command that lists a table
(`opsmon status`, `incidents list`) reads assets without importing those models (issue 25 item 2);
config/inventory.py re-exports these names. asset_lines() is plain SQL on store/dbapi.py's Reader, so that
those commands read assets without SQLAlchemy either; the others read through the ORM, imported when called.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from opsmon.collector.store.dbapi import Readable

if TYPE_CHECKING:
    from opsmon.collector.store import Store
    from opsmon.collector.store.models import Asset

# What a table of assets shows; live ones only unless a removed one's name is wanted too (an old incident).
ASSET_LINES = "SELECT id, name, category, site FROM assets{where} ORDER BY id"


class AssetLine(NamedTuple):
    """An asset as a table lists it."""

    id: str
    name: str
    category: str
    site: str | None


def asset_lines(store: Readable, include_removed: bool = False) -> list[AssetLine]:
    """Every live asset (removed ones too with include_removed) by id: id, name, category, site."""
    sql = ASSET_LINES.format(where="" if include_removed else " WHERE removed_at IS NULL")
    with store.reader() as r:
        return [AssetLine(*row) for row in r.rows(sql)]


def _where(q: Any, include_removed: bool, category: str | None, site: str | None) -> Any:
    from opsmon.collector.store.models import Asset

    if not include_removed:
        q = q.where(Asset.removed_at.is_(None))
    if category is not None:
        q = q.where(Asset.category == category)
    if site is not None:
        q = q.where(Asset.site == site)
    return q


def list_assets(store: Store, include_removed: bool = False, category: str | None = None,
                site: str | None = None, asset_id: str | None = None, by_site: bool = False,
                limit: int | None = None, offset: int = 0) -> list[Asset]:
    """Assets by id (by site, category and id with by_site); the filters and the page (limit, offset) are
    applied in the database (a listing of thousands of assets must not load them all to show a few)."""
    from sqlalchemy import select

    from opsmon.collector.store.models import Asset

    with store.session() as session:
        q = _where(select(Asset), include_removed, category, site)
        q = q.order_by(Asset.site, Asset.category, Asset.id) if by_site else q.order_by(Asset.id)
        if asset_id is not None:
            q = q.where(Asset.id == asset_id)
        if limit is not None:
            q = q.limit(limit).offset(offset)
        return list(session.scalars(q))


def count_assets(store: Store, category: str | None = None, site: str | None = None) -> int:
    """How many live assets list_assets() would list with these filters."""
    from sqlalchemy import func, select

    from opsmon.collector.store.models import Asset

    with store.session() as session:
        return int(session.scalar(_where(select(func.count()).select_from(Asset), False, category, site)) or 0)


def asset_sites(store: Store) -> list[str]:
    """The sites live assets carry, sorted (one DISTINCT query, not the whole inventory)."""
    from sqlalchemy import select

    from opsmon.collector.store.models import Asset

    with store.session() as session:
        return sorted(s for s in session.scalars(select(Asset.site).where(Asset.removed_at.is_(None),
                                                                           Asset.site.is_not(None)).distinct()) if s)


def asset_names(store: Store, asset_ids: Iterable[str]) -> dict[str, str]:
    """id -> the name a person reads (the id when it has none), removed assets too, for just these ids."""
    from sqlalchemy import select

    from opsmon.collector.store.models import Asset

    wanted = sorted(set(asset_ids))
    out: dict[str, str] = {}
    with store.session() as session:
        for i in range(0, len(wanted), 500):
            for asset_id, name in session.execute(select(Asset.id, Asset.name).where(Asset.id.in_(wanted[i:i + 500]))):
                out[asset_id] = name or asset_id
    return out
