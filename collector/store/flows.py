"""Reading the stored flow intervals (flow_top, written from inputs/flows/): the top talkers of a link, or of a site's
links (a prefecture), over a period; each site's totals.

A site's figures are its links' rows summed, the link -> site mapping read from the inventory (assets.site) at read
time: the intervals are the same fixed intervals (cut on the collector's clock, so every link's start at the same
instants), a site's interval is the sum of its links' rows of that interval. A link that is no asset, or an asset
with no site, counts for the site `unknown`; so do the rows of a removed link from its removal on (start_ts at or
after assets.removed_at) and those of a restored link's intervals wholly inside a span it was removed
(asset_absences), as the receiver counted them then: its past before the removal stays under its site. Nothing
more is stored for sites (no second copy, no memory in the receiver): a link moved to another site in the inventory
takes its past with it.

A period's figure for a key is the sum of its rows in the intervals that start inside the period. Each
interval stored only its top keys, the rest in `other`: a key that was in one interval's top and in another's
`other` is counted only where it was in the top, so a period's ranking is a lower bound per key, while the
period's total (every row, `other` included) is exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select

from opsmon.collector.core.messages import FlowRow
from opsmon.collector.store.db import Store
from opsmon.collector.store.models import Asset, AssetAbsence, FlowTopRow

UNKNOWN = "unknown"  # the site of a link that is no asset or has no site (inputs/flows/sites.py says the same)


def _site_of_row() -> Any:
    """The site a flow_top row counts for, over flow_top outer-joined to assets: the asset's site, or `unknown` when
    the link is no asset, has no site, or was out of the inventory for the row's whole interval: removed at or before
    its start (a removal during it leaves it under the site), or the interval wholly inside a span the link was
    removed and then restored (asset_absences). The receiver counts the same (inputs/flows/sites.py: the site if
    the link was in the inventory at any moment of the interval), so the metric and these figures agree."""
    absent = exists().where(AssetAbsence.asset_id == FlowTopRow.link, AssetAbsence.start_ts <= FlowTopRow.start_ts,
                            FlowTopRow.end_ts <= AssetAbsence.end_ts)
    gone = and_(Asset.removed_at.is_not(None), FlowTopRow.start_ts >= Asset.removed_at)
    return case((or_(gone, absent), UNKNOWN), else_=func.coalesce(func.nullif(Asset.site, ""), UNKNOWN))


def _placed(start: datetime, end: datetime) -> Any:
    """flow_top's rows of the intervals starting in [start, end), each with the site it counts for (`site`) and its
    link's inventory name (`name`): a subquery, so the site (a CASE with a correlated EXISTS) is written once and
    the per-site sums, the per-link sums and a site's top all group or filter on a plain column."""
    return (select(FlowTopRow.link, FlowTopRow.start_ts, FlowTopRow.src, FlowTopRow.dst, FlowTopRow.dst_port,
                   FlowTopRow.protocol, FlowTopRow.bytes, FlowTopRow.packets, FlowTopRow.flows,
                   _site_of_row().label("site"), func.coalesce(Asset.name, FlowTopRow.link).label("name"))
            .select_from(FlowTopRow).outerjoin(Asset, Asset.id == FlowTopRow.link)
            .where(FlowTopRow.start_ts >= start, FlowTopRow.start_ts < end).subquery())


def top_talkers(store: Store, link: str | None, start: datetime, end: datetime, limit: int = 20,
                site: str | None = None) -> tuple[list[FlowRow], FlowRow, int]:
    """The keys of the link (or, with `site` and no link, of the site's links summed) by bytes over [start, end),
    at most `limit` (the `other` row last, summed with what the limit leaves out); the total; the intervals
    counted. Rows are the message's FlowRow, summed over the period."""
    if site is None:
        rows_of: Any = FlowTopRow
        where: tuple[Any, ...] = (FlowTopRow.link == link, FlowTopRow.start_ts >= start, FlowTopRow.start_ts < end)
    else:
        rows_of = _placed(start, end).c
        where = (rows_of.site == site,)
    key = (rows_of.src, rows_of.dst, rows_of.dst_port, rows_of.protocol)
    with store.session() as session:
        rows = session.execute(select(*key, func.sum(rows_of.bytes), func.sum(rows_of.packets),
                                      func.sum(rows_of.flows)).where(*where).group_by(*key)).all()
        intervals = session.scalar(select(func.count(func.distinct(rows_of.start_ts))).where(*where)) or 0
    talkers = [FlowRow(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in rows]
    named = sorted((t for t in talkers if t.dst_port >= 0), key=lambda t: (-t.bytes, t.src, t.dst, t.dst_port))
    rest = [t for t in talkers if t.dst_port < 0] + named[limit:]
    total = FlowRow("*", "*", -1, -1, sum(t.bytes for t in talkers), sum(t.packets for t in talkers),
                   sum(t.flows for t in talkers))
    out = named[:limit]
    if rest:
        out.append(FlowRow("other", "other", -1, -1, sum(t.bytes for t in rest), sum(t.packets for t in rest),
                          sum(t.flows for t in rest)))
    return out, total, int(intervals)


def interval_totals(store: Store, link: str, starts: list[datetime]) -> dict[datetime, int]:
    """The link's stored bytes of each interval that starts at one of `starts` (every row, `other` included:
    exact); an interval not stored is absent. The link-volume baseline reads the same slot of past weeks."""
    if not starts:
        return {}
    with store.session() as session:
        rows = session.execute(select(FlowTopRow.start_ts, func.sum(FlowTopRow.bytes)).where(
            FlowTopRow.link == link, FlowTopRow.start_ts.in_(starts)).group_by(FlowTopRow.start_ts)).all()
    return {start: int(total) for start, total in rows}


@dataclass
class SiteTotal:
    """A site's traffic over a period: the sums of its links' stored rows (exact: `other` rows included)."""

    site: str
    bytes: int = 0
    packets: int = 0
    flows: int = 0
    intervals: int = 0  # distinct interval starts of its links
    links: list[tuple[str, str, int]] = field(default_factory=list)  # (link, its inventory name, bytes), largest first


def site_totals(store: Store, start: datetime, end: datetime) -> list[SiteTotal]:
    """Every site with stored intervals starting in [start, end), largest first: bytes, packets, flows, intervals
    and its links. Two grouped queries (per site, per link), whatever the period's length."""
    rows = _placed(start, end).c
    with store.session() as session:
        per_site = session.execute(
            select(rows.site, func.sum(rows.bytes), func.sum(rows.packets), func.sum(rows.flows),
                   func.count(func.distinct(rows.start_ts))).group_by(rows.site)).all()
        per_link = session.execute(
            select(rows.link, rows.site, rows.name, func.sum(rows.bytes))
            .group_by(rows.link, rows.site, rows.name)).all()
    sites = {str(r[0]): SiteTotal(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in per_site}
    for link, site, name, octets in sorted(per_link, key=lambda r: (-int(r[3]), r[0])):
        sites[str(site)].links.append((str(link), str(name), int(octets)))
    return sorted(sites.values(), key=lambda t: (-t.bytes, t.site))
