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
from typing import TYPE_CHECKING, Any

from opsmon.collector.core.messages import FlowRow
from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.millis import to_ms

if TYPE_CHECKING:  # interval_totals (the running collector's baseline) reads through the ORM; the reads below do not
    from opsmon.collector.store.db import Store

UNKNOWN = "unknown"  # the site of a link that is no asset or has no site (inputs/flows/sites.py says the same)

# flow_top's rows of the intervals starting in [:start, :end), each with the site it counts for (`site`) and its
# link's inventory name (`name`): a subquery, so the site (a CASE with a correlated EXISTS) is written once and the
# per-site sums, the per-link sums and a site's top all group or filter on a plain column. The site: the asset's
# site, or `unknown` when the link is no asset, has no site, or was out of the inventory for the row's whole
# interval: removed at or before its start (a removal during it leaves it under the site), or the interval wholly
# inside a span the link was removed and then restored (asset_absences). The receiver counts the same
# (inputs/flows/sites.py: the site if the link was in the inventory at any moment of the interval), so the metric
# and these figures agree.
PLACED = (
    "SELECT f.link AS link, f.start_ts AS start_ts, f.src AS src, f.dst AS dst, f.dst_port AS dst_port, "
    "f.protocol AS protocol, f.bytes AS bytes, f.packets AS packets, f.flows AS flows, "
    f"CASE WHEN (a.removed_at IS NOT NULL AND f.start_ts >= a.removed_at) OR EXISTS (SELECT 1 FROM asset_absences x "
    f"WHERE x.asset_id = f.link AND x.start_ts <= f.start_ts AND f.end_ts <= x.end_ts) THEN '{UNKNOWN}' "
    f"ELSE COALESCE(NULLIF(a.site, ''), '{UNKNOWN}') END AS site, COALESCE(a.name, f.link) AS name "
    "FROM flow_top f LEFT OUTER JOIN assets a ON a.id = f.link WHERE f.start_ts >= :start AND f.start_ts < :end")
_KEY = "src, dst, dst_port, protocol"
_LINK_ROWS = "flow_top WHERE link = :link AND start_ts >= :start AND start_ts < :end"
_SITE_ROWS = f"({PLACED}) p WHERE p.site = :site"
# A link's (or a site's) keys summed over the period, and the intervals counted: {rows} is _LINK_ROWS or _SITE_ROWS.
TALKERS = f"SELECT {_KEY}, SUM(bytes), SUM(packets), SUM(flows) FROM {{rows}} GROUP BY {_KEY}"
INTERVALS = "SELECT COUNT(DISTINCT start_ts) FROM {rows}"
# Each site's sums and intervals; each (link, site, name)'s bytes.
PER_SITE = (f"SELECT p.site, SUM(p.bytes), SUM(p.packets), SUM(p.flows), COUNT(DISTINCT p.start_ts) FROM ({PLACED}) p "
            "GROUP BY p.site")
PER_LINK = f"SELECT p.link, p.site, p.name, SUM(p.bytes) FROM ({PLACED}) p GROUP BY p.link, p.site, p.name"


def top_talkers(store: Readable, link: str | None, start: datetime, end: datetime, limit: int = 20,
                site: str | None = None) -> tuple[list[FlowRow], FlowRow, int]:
    """The keys of the link (or, with `site` and no link, of the site's links summed) by bytes over [start, end),
    at most `limit` (the `other` row last, summed with what the limit leaves out); the total; the intervals
    counted. Rows are the message's FlowRow, summed over the period. Plain SQL on store/dbapi.py's Reader:
    `opsmon flows top` (without SQLAlchemy, issue 25 item 2) and GET /api/v1/flows/top run these strings."""
    params: dict[str, Any] = {"start": to_ms(start), "end": to_ms(end)}
    if site is None:
        where = _LINK_ROWS
        params["link"] = link
    else:
        where = _SITE_ROWS
        params["site"] = site
    with store.reader() as r:
        rows = r.rows(TALKERS.format(rows=where), params)
        intervals = r.rows(INTERVALS.format(rows=where), params)[0][0] or 0
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
    from sqlalchemy import func, select

    from opsmon.collector.store.models import FlowTopRow

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


def site_totals(store: Readable, start: datetime, end: datetime) -> list[SiteTotal]:
    """Every site with stored intervals starting in [start, end), largest first: bytes, packets, flows, intervals
    and its links. Two grouped queries (per site, per link), whatever the period's length; plain SQL, run by
    `opsmon flows sites` and GET /api/v1/flows/sites alike."""
    params = {"start": to_ms(start), "end": to_ms(end)}
    with store.reader() as r:
        per_site = r.rows(PER_SITE, params)
        per_link = r.rows(PER_LINK, params)
    sites = {str(r[0]): SiteTotal(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in per_site}
    for link, site, name, octets in sorted(per_link, key=lambda r: (-int(r[3]), r[0])):
        sites[str(site)].links.append((str(link), str(name), int(octets)))
    return sorted(sites.values(), key=lambda t: (-t.bytes, t.site))
