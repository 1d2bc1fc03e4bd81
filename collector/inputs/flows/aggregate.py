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
    for closed in agg.due(now): ...   # FlowTop messages of the intervals that ended (+ boundary events)

With a `Boundary` (boundary.py), a closed interval is followed by its events of traffic to destinations
outside the link's allowed networks, judged per held key at close and, for keys beyond `max_keys`, per flow.
"""
from __future__ import annotations

from datetime import UTC, datetime

from opsmon.collector.core.messages import FlowRow, FlowTop, Message
from opsmon.collector.inputs.flows.boundary import Boundary
from opsmon.collector.inputs.flows.decode import Flow

OTHER = "other"  # src and dst of the row that sums what is not in the top (dst port and protocol -1)
FlowKey = tuple[str, str, int, int]


class _Open:
    """One link's current interval: counters by key ([bytes, packets, flows]) and the overflow."""

    __slots__ = ("start", "rows", "other", "outside")

    def __init__(self, start: float) -> None:
        self.start = start
        self.rows: dict[FlowKey, list[int]] = {}
        self.other = [0, 0, 0]
        self.outside: dict[tuple[str, str], list[int]] = {}  # (src, dst network) -> sums of flows not in rows


class Aggregator:
    def __init__(self, interval: float, top: int, max_keys: int, boundary: Boundary | None = None) -> None:
        self.interval = interval
        self.boundary = boundary
        self.top = top
        self.max_keys = max_keys
        self.open: dict[str, _Open] = {}  # link -> its current interval
        self.flows = 0  # flow records added since start

    def start_of(self, now: float) -> float:
        return now - now % self.interval

    def add(self, link: str, flows: list[Flow], now: float) -> list[Message]:
        """Add one datagram's flows to the link's interval at `now`; the interval it closes, if any."""
        closed: list[Message] = []
        current = self.open.get(link)
        start = self.start_of(now)
        if current is None or current.start != start:
            if current is not None:
                closed.extend(self._close(link, current))
            current = self.open[link] = _Open(start)
        rows, other, room = current.rows, current.other, self.max_keys
        boundary = self.boundary if self.boundary is not None and self.boundary.watches(link) else None
        for src, dst, port, protocol, octets, packets in flows:
            key = (src, dst, port, protocol)
            row = rows.get(key)
            if row is None:
                if len(rows) >= room:
                    row = other
                    network = boundary.outside(link, dst) if boundary is not None else None
                    if network is not None:  # not held: judged now, or it would be lost
                        group = current.outside.setdefault((src, network), [0, 0, 0])
                        group[0] += octets
                        group[1] += packets
                        group[2] += 1
                else:
                    row = rows[key] = [0, 0, 0]
            row[0] += octets
            row[1] += packets
            row[2] += 1
        self.flows += len(flows)
        return closed

    def due(self, now: float) -> list[Message]:
        """The intervals that ended by `now` (a link that went quiet is closed by the clock, not by its next flow)."""
        start = self.start_of(now)
        closed: list[Message] = []
        for link, current in list(self.open.items()):
            if current.start < start:
                closed.extend(self._close(link, current))
                del self.open[link]
        return closed

    def flush(self) -> list[Message]:
        """Every open interval, closed now (at stop: the last interval is stored, partial)."""
        closed = [message for link, current in self.open.items() for message in self._close(link, current)]
        self.open.clear()
        return closed

    def _close(self, link: str, current: _Open) -> list[Message]:
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
        closed: list[Message] = [FlowTop(link, start, end, tuple(rows))]
        if self.boundary is not None and self.boundary.watches(link):
            groups = current.outside
            for (src, dst, _port, _protocol), (octets, packets, flows) in current.rows.items():
                network = self.boundary.outside(link, dst)
                if network is not None:
                    group = groups.setdefault((src, network), [0, 0, 0])
                    group[0] += octets
                    group[1] += packets
                    group[2] += flows
            if groups:
                closed.extend(self.boundary.events(link, start, end, groups))
        return closed
