"""Flows summed per link in fixed intervals, by (src host, dst host, dst port, protocol), in bounded memory.

No flow is stored: each record only adds its bytes, packets and one flow to its key's row of the current
interval of its link. Memory is bounded twice: at most `max_keys` keys per link and interval (the flows of
further keys are added to the `other` row at once), and at close only the `top` keys by bytes are kept,
the rest summed into `other`. So the stored top is exact while an interval sees at most `max_keys`
distinct keys, and the totals (top rows + other) are always exact.

Intervals are cut on the collector's clock at multiples of `interval` seconds since the epoch, by the
datagram's arrival: an exporter's clock and its active timeout (a long flow is exported in pieces) only
shift a piece of traffic into the interval it was exported in.

    agg = Aggregator(interval=300, top=100, max_keys=20_000)
    agg.add("link-a", flows, now)
    for closed in agg.due(now): ...   # FlowTop messages of the intervals that ended
"""
from __future__ import annotations

from datetime import UTC, datetime

from opsmon.collector.core.messages import FlowRow, FlowTop
from opsmon.collector.inputs.flows.decode import Flow

OTHER = "other"  # src and dst of the row that sums what is not in the top (dst port and protocol -1)
FlowKey = tuple[str, str, int, int]


class _Open:
    """One link's current interval: counters by key ([bytes, packets, flows]) and the overflow."""

    __slots__ = ("start", "rows", "other")

    def __init__(self, start: float) -> None:
        self.start = start
        self.rows: dict[FlowKey, list[int]] = {}
        self.other = [0, 0, 0]


class Aggregator:
    def __init__(self, interval: float, top: int, max_keys: int) -> None:
        self.interval = interval
        self.top = top
        self.max_keys = max_keys
        self.open: dict[str, _Open] = {}  # link -> its current interval
        self.flows = 0  # flow records added since start

    def start_of(self, now: float) -> float:
        return now - now % self.interval

    def add(self, link: str, flows: list[Flow], now: float) -> list[FlowTop]:
        """Add one datagram's flows to the link's interval at `now`; the interval it closes, if any."""
        closed = []
        current = self.open.get(link)
        start = self.start_of(now)
        if current is None or current.start != start:
            if current is not None:
                closed.append(self._close(link, current))
            current = self.open[link] = _Open(start)
        rows, other, room = current.rows, current.other, self.max_keys
        for src, dst, port, protocol, octets, packets in flows:
            key = (src, dst, port, protocol)
            row = rows.get(key)
            if row is None:
                if len(rows) >= room:
                    row = other
                else:
                    row = rows[key] = [0, 0, 0]
            row[0] += octets
            row[1] += packets
            row[2] += 1
        self.flows += len(flows)
        return closed

    def due(self, now: float) -> list[FlowTop]:
        """The intervals that ended by `now` (a link that went quiet is closed by the clock, not by its next flow)."""
        start = self.start_of(now)
        closed = []
        for link, current in list(self.open.items()):
            if current.start < start:
                closed.append(self._close(link, current))
                del self.open[link]
        return closed

    def flush(self) -> list[FlowTop]:
        """Every open interval, closed now (at stop: the last interval is stored, partial)."""
        closed = [self._close(link, current) for link, current in self.open.items()]
        self.open.clear()
        return closed

    def _close(self, link: str, current: _Open) -> FlowTop:
        ranked = sorted(current.rows.items(), key=lambda item: (-item[1][0], item[0]))
        other = list(current.other)
        for _key, (octets, packets, flows) in ranked[self.top:]:
            other[0] += octets
            other[1] += packets
            other[2] += flows
        rows = [FlowRow(src, dst, port, protocol, octets, packets, flows)
                for (src, dst, port, protocol), (octets, packets, flows) in ranked[:self.top]]
        if other[2]:
            rows.append(FlowRow(OTHER, OTHER, -1, -1, other[0], other[1], other[2]))
        start = datetime.fromtimestamp(current.start, UTC)
        end = datetime.fromtimestamp(current.start + self.interval, UTC)
        return FlowTop(link, start, end, tuple(rows))
