"""Reading the stored flow intervals (flow_top, written from inputs/flows/): the top talkers of a link over a period.

A period's figure for a key is the sum of its rows in the intervals that start inside the period. Each
interval stored only its top keys, the rest in `other`: a key that was in one interval's top and in another's
`other` is counted only where it was in the top, so a period's ranking is a lower bound per key, while the
period's total (every row, `other` included) is exact.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from opsmon.collector.core.messages import FlowRow
from opsmon.collector.store.db import Store
from opsmon.collector.store.models import FlowTopRow


def top_talkers(store: Store, link: str, start: datetime, end: datetime, limit: int = 20
                ) -> tuple[list[FlowRow], FlowRow, int]:
    """The link's keys by bytes over [start, end), at most `limit` (the `other` row last, summed with what the
    limit leaves out); the total; the intervals counted. Rows are the message's FlowRow, summed over the period."""
    key = (FlowTopRow.src, FlowTopRow.dst, FlowTopRow.dst_port, FlowTopRow.protocol)
    where = (FlowTopRow.link == link, FlowTopRow.start_ts >= start, FlowTopRow.start_ts < end)
    with store.session() as session:
        rows = session.execute(select(*key, func.sum(FlowTopRow.bytes), func.sum(FlowTopRow.packets),
                                      func.sum(FlowTopRow.flows)).where(*where).group_by(*key)).all()
        intervals = session.scalar(select(func.count(func.distinct(FlowTopRow.start_ts))).where(*where)) or 0
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
