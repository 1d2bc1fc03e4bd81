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

from opsmon.collector.core.flow_rows import FlowRow
from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.millis import to_ms

if TYPE_CHECKING:  # interval_totals (the running collector's baseline) reads through the ORM; the reads below do not
    from opsmon.collector.store.db import Store

UNKNOWN = "unknown"  # the site of a link that is no asset or has no site (inputs/flows/sites.py says the same)

# Where a row counts (the site of its link-interval): the asset's site, or `unknown` when the link is no asset, has no
# site, or was out of the inventory for the interval's whole length: removed at or before its start (a removal
# during it leaves it under the site), or the interval wholly inside a span the link was removed and then restored
# (asset_absences). The receiver counts the same (inputs/flows/sites.py: the site if the link was in the inventory
# at any moment of the interval), so the metric and these figures agree. `f` is a row of flow_top or a
# link-interval (link, start_ts, end_ts), `a` the link's asset row (NULL when it is none). _OUT's absence is matched
# on a.id, not f.link: the same value when the link is an asset, and NULL (no absence found) when it is none, whose
# rows are `unknown` either way; PostgreSQL then tests it after the join, on a site's rows only, rather than on every
# row of the period before it.
_OUT = ("((a.removed_at IS NOT NULL AND f.start_ts >= a.removed_at) OR EXISTS (SELECT 1 FROM asset_absences x "
        "WHERE x.asset_id = a.id AND x.start_ts <= f.start_ts AND f.end_ts <= x.end_ts))")
_SITE = f"CASE WHEN {_OUT} THEN '{UNKNOWN}' ELSE COALESCE(NULLIF(a.site, ''), '{UNKNOWN}') END"
_KEY = "f.src, f.dst, f.dst_port, f.protocol"
_PERIOD = "f.start_ts >= :start AND f.start_ts < :end"
# The rows a figure sums: a link's; a named site's, from its assets (assets.site's index, then flow_top's
# (link, start_ts) index: only that site's rows are read, and the absence test runs on those alone); any site's,
# `unknown` included, by placing every row of the period (`unknown` gathers links that are no asset, so no index
# leads to its rows). A named site's rows are those _SITE places there: a.site is the site and not _OUT (`unknown`
# and '' take the placing way: `unknown` has more than its assets' rows, and '' is no site).
_LINK_ROWS = f"flow_top f WHERE f.link = :link AND {_PERIOD}"
_NAMED_SITE_ROWS = f"flow_top f JOIN assets a ON a.id = f.link WHERE a.site = :site AND {_PERIOD} AND NOT {_OUT}"
_PLACED_ROWS = f"flow_top f LEFT OUTER JOIN assets a ON a.id = f.link WHERE {_PERIOD} AND {_SITE} = :site"
# A link's (or a site's) keys summed over the period, and the intervals counted: {rows} is one of the above.
TALKERS = f"SELECT {_KEY}, SUM(f.bytes), SUM(f.packets), SUM(f.flows) FROM {{rows}} GROUP BY {_KEY}"
INTERVALS = "SELECT COUNT(DISTINCT f.start_ts) FROM {rows}"
# Every site's figures: where a row counts depends only on its link-interval, so flow_top's rows are summed per
# link-interval first (a link's interval is its top and `other` rows: 6 rows to 1 on the bench's store) and each
# link-interval is placed once (`p`); then per (site, link, name) the sums, with the site's distinct interval
# starts (`n`) on each of its rows. One statement: `p`, used twice, is computed once (SQLite and PostgreSQL both
# materialise a common table expression referenced more than once).
_LINK_INTERVALS = ("SELECT link, start_ts, end_ts, SUM(bytes) AS bytes, SUM(packets) AS packets, SUM(flows) AS flows "
                   "FROM flow_top WHERE start_ts >= :start AND start_ts < :end GROUP BY link, start_ts, end_ts")
PER_SITE_LINK = (f"WITH p AS (SELECT f.link AS link, f.start_ts AS start_ts, f.bytes AS bytes, f.packets AS packets, "
                 f"f.flows AS flows, {_SITE} AS site, COALESCE(a.name, f.link) AS name FROM ({_LINK_INTERVALS}) f "
                 "LEFT OUTER JOIN assets a ON a.id = f.link), "
                 "n AS (SELECT site, COUNT(DISTINCT start_ts) AS intervals FROM p GROUP BY site) "
                 "SELECT p.site, p.link, p.name, SUM(p.bytes), SUM(p.packets), SUM(p.flows), n.intervals "
                 "FROM p JOIN n ON n.site = p.site GROUP BY p.site, p.link, p.name, n.intervals")


def top_talkers(store: Readable, link: str | None, start: datetime, end: datetime, limit: int = 20,
                site: str | None = None) -> tuple[list[FlowRow], FlowRow, int]:
    """The keys of the link (or, with `site` and no link, of the site's links summed) by bytes over [start, end),
    at most `limit` (the `other` row last, summed with what the limit leaves out); the total; the intervals
    counted. Rows are FlowRow (core/flow_rows.py, what the receiver's FlowTop carries), summed over the period.
    Plain SQL on store/dbapi.py's Reader: `opsmon flows top` (without SQLAlchemy, issue 25 item 2) and
    GET /api/v1/flows/top run these strings."""
    params: dict[str, Any] = {"start": to_ms(start), "end": to_ms(end)}
    if site is None:
        where = _LINK_ROWS
        params["link"] = link
    else:
        where = _PLACED_ROWS if site in (UNKNOWN, "") else _NAMED_SITE_ROWS
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
    and its links. One grouped query (per site and link: a site's sums are its links' sums), whatever the period's
    length; plain SQL, run by `opsmon flows sites` and GET /api/v1/flows/sites alike."""
    params = {"start": to_ms(start), "end": to_ms(end)}
    with store.reader() as r:
        per_link = r.rows(PER_SITE_LINK, params)
    sites: dict[str, SiteTotal] = {}
    for site, link, name, octets, packets, flows, intervals in sorted(per_link, key=lambda r: (-int(r[3]), r[1])):
        total = sites.setdefault(str(site), SiteTotal(str(site), intervals=int(intervals)))
        total.bytes += int(octets)
        total.packets += int(packets)
        total.flows += int(flows)
        total.links.append((str(link), str(name), int(octets)))
    return sorted(sites.values(), key=lambda t: (-t.bytes, t.site))
