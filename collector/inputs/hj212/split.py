"""Putting split uploads back together (PNUM/PNO, HJ 212-2017 Table 3, C.49–C.50).

A long upload is sent as PNUM packets numbered PNO 1..PNUM, each with its own QN and answered on its own;
their CP parts together are the message. The parts of one message share MN, CN, PNUM and DataTime (the
standard's example, C.50), which is the key here. Parts may arrive in any order and a part may be resent;
a message whose parts stop coming is dropped after `timeout` seconds and counted, and at most
`max_pending` messages wait per reassembler (per connection), so a unit cannot grow it without bound.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from opsmon.collector.inputs.hj212.packet import Packet

Key = tuple[str | None, str, int, str | None]


@dataclass
class _Pending:
    first: float
    parts: dict[int, Packet] = field(default_factory=dict)


class Reassembler:
    """Feed packets; a whole message comes out once all its parts are in (a packet not split comes straight out).

    >>> from opsmon.collector.inputs.hj212.packet import parse_segment
    >>> r = Reassembler(clock=lambda: 0.0)
    >>> p2 = parse_segment("CN=2061;MN=A;Flag=6;PNUM=2;PNO=2;CP=&&DataTime=1;b-Avg=2&&")
    >>> p1 = parse_segment("CN=2061;MN=A;Flag=6;PNUM=2;PNO=1;CP=&&DataTime=1;a-Avg=1&&")
    >>> r.add(p2), r.add(p1).cp
    (None, (('DataTime', '1'), ('a-Avg', '1'), ('b-Avg', '2')))
    """

    def __init__(self, clock: Callable[[], float], timeout: float = 300.0, max_pending: int = 16) -> None:
        self.clock = clock
        self.timeout = timeout
        self.max_pending = max_pending
        self.pending: dict[Key, _Pending] = {}
        self.dropped = 0  # messages given up (timed out, or pushed out by newer ones)

    def add(self, packet: Packet) -> Packet | None:
        """The whole message when `packet` completes one (or is not split); None while parts are missing."""
        self.expire()
        if not packet.is_split or packet.pnum is None or packet.pno is None or packet.pnum == 1:
            return packet
        if packet.pno > packet.pnum:
            return packet  # a part that cannot belong: keep its data rather than lose it
        key: Key = (packet.mn, packet.cn, packet.pnum, packet.data_time)
        pending = self.pending.get(key)
        if pending is None:
            if len(self.pending) >= self.max_pending:
                oldest = min(self.pending, key=lambda k: self.pending[k].first)
                del self.pending[oldest]
                self.dropped += 1
            pending = self.pending[key] = _Pending(self.clock())
        pending.parts[packet.pno] = packet
        if len(pending.parts) < packet.pnum:
            return None
        del self.pending[key]
        parts = [pending.parts[n] for n in sorted(pending.parts)]
        cp = list(parts[0].cp)
        for part in parts[1:]:
            cp.extend(item for item in part.cp if item[0] != "DataTime")
        return replace(parts[0], cp=tuple(cp), pno=None)

    def expire(self) -> int:
        """Drop messages waiting longer than the timeout; how many went."""
        now = self.clock()
        old = [k for k, p in self.pending.items() if now - p.first > self.timeout]
        for k in old:
            del self.pending[k]
        self.dropped += len(old)
        return len(old)
