"""The stored assets read back: listings, counts, sites and names (config/inventory.py writes them).

Here, in the store, not beside the inventory's models that write them, so that a command that lists a table
(`opsmon status`, `incidents list`) reads assets without importing those models (issue 25 item 2);
config/inventory.py re-exports these names. asset_lines() and list_assets() are plain SQL on store/dbapi.py's
Reader, so that those commands (and `opsmon assets list`) read assets without SQLAlchemy either, the running
collector running the same queries; the others read through the ORM, imported when called.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from opsmon.collector.store.dbapi import Readable, Row, row_values

if TYPE_CHECKING:
    from opsmon.collector.store import Store

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


class AssetRow(NamedTuple):
    """A stored asset, every column, named as the mapped class Asset names them (what reads them takes either)."""

    id: str
    name: str
    category: str
    site: str | None
    address: str | None
    tags: list[str]
    criticality: str
    parent_id: str | None
    checks: list[dict[str, Any]]
    facts: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None
    joined_at: datetime | None

    @classmethod
    def read(cls, row: Row) -> AssetRow:
        """A row of LIST_ASSETS: the JSON columns as values, stored milliseconds as UTC datetimes."""
        return cls(**row_values(cls._fields, row, json=("tags", "checks", "facts"),
                                times=("created_at", "updated_at", "removed_at", "joined_at")))


# {where}: the filters; {order}: by id, or by site, category and id (assets without a site first on SQLite, last
# on PostgreSQL: each database's order of NULL); {page}: LIMIT and OFFSET when a page (or an offset) is asked for.
LIST_ASSETS = f"SELECT {', '.join(AssetRow._fields)} FROM assets{{where}} ORDER BY {{order}}{{page}}"
BY_SITE = "site, category, id"


def _filters(include_removed: bool, category: str | None, site: str | None,
             asset_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """The WHERE of list_assets() and count_assets(), and its parameters: one filter for the page and its count."""
    conds = [] if include_removed else ["removed_at IS NULL"]
    params: dict[str, Any] = {}
    for column, value in (("category", category), ("site", site), ("id", asset_id)):
        if value is not None:
            conds.append(f"{column} = :{column}")
            params[column] = value
    return (" WHERE " + " AND ".join(conds) if conds else ""), params


def list_assets(store: Readable, include_removed: bool = False, category: str | None = None,
                site: str | None = None, asset_id: str | None = None, by_site: bool = False,
                limit: int | None = None, offset: int = 0) -> list[AssetRow]:
    """Assets by id (by site, category and id with by_site); the filters and the page (limit, offset) are
    applied in the database (a listing of thousands of assets must not load them all to show a few)."""
    where, params = _filters(include_removed, category, site, asset_id)
    page = ""
    if limit is not None:
        page = " LIMIT :limit OFFSET :offset"
        params |= {"limit": limit, "offset": offset}
    elif offset:  # SQLite takes an OFFSET only after a LIMIT (-1: none); PostgreSQL takes it alone
        page = (" LIMIT -1" if store.dialect == "sqlite" else "") + " OFFSET :offset"
        params["offset"] = offset
    sql = LIST_ASSETS.format(where=where, order=BY_SITE if by_site else "id", page=page)
    with store.reader() as r:
        return [AssetRow.read(row) for row in r.rows(sql, params)]


def count_assets(store: Readable, category: str | None = None, site: str | None = None) -> int:
    """How many live assets list_assets() would list with these filters (the same WHERE)."""
    where, params = _filters(False, category, site)
    with store.reader() as r:
        return int(r.rows(f"SELECT COUNT(*) FROM assets{where}", params)[0][0])


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
