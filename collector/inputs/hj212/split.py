"""Putting split uploads back together (PNUM/PNO, HJ 212-2017 Table 3, C.49–C.50).

A long upload is sent as PNUM packets numbered PNO 1..PNUM, each with its own QN and answered on its own;
their CP parts together are the message. The parts of one message share MN, CN, PNUM and DataTime (the
standard's example, C.50), which is the key here. Parts may arrive in any order and a part may be resent;
at most `max_pending` messages wait per MN, so a unit cannot grow it without bound.

Each part is answered (9014) once its raw frame is committed, before the message is whole: so a part's values
must never be lost once it is answered. The reassembler is therefore shared by all connections (a unit that
reconnects between parts finds its parts), it is rebuilt at start from the stored raw frames (receiver.py), and
a message whose parts stop coming for `timeout` seconds (or pushed out by newer ones) is not thrown away: the
parts that came are joined and put in `expired`, for their values to be stored.
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
    crc: str = "ok"  # "modbus_le" if any part came in that dialect


class Reassembler:
    """Feed packets; a whole message comes out once all its parts are in (a packet not split comes straight out).

    >>> from opsmon.collector.inputs.hj212.packet import parse_segment
    >>> r = Reassembler(clock=lambda: 0.0)
    >>> p2 = parse_segment("CN=2061;MN=A;Flag=6;PNUM=2;PNO=2;CP=&&DataTime=1;b-Avg=2&&")
    >>> p1 = parse_segment("CN=2061;MN=A;Flag=6;PNUM=2;PNO=1;CP=&&DataTime=1;a-Avg=1&&")
    >>> r.add(p2), r.add(p1)[0].cp
    (None, (('DataTime', '1'), ('a-Avg', '1'), ('b-Avg', '2')))
    """

    def __init__(self, clock: Callable[[], float], timeout: float = 300.0, max_pending: int = 16) -> None:
        self.clock = clock
        self.timeout = timeout
        self.max_pending = max_pending  # per MN
        self.pending: dict[Key, _Pending] = {}
        self.dropped = 0  # messages given up waiting for (timed out, or pushed out by newer ones)
        self.expired: list[tuple[Packet, str]] = []  # the parts that came of those, joined, with their CRC status

    def add(self, packet: Packet, crc: str = "ok", first: float | None = None) -> tuple[Packet, str] | None:
        """The whole message and its CRC status when `packet` completes one (or is not split); None while parts
        are missing. `first`: when the part came (monotonic), for parts read back from the store."""
        self.expire()
        if not packet.is_split or packet.pnum is None or packet.pno is None or packet.pnum == 1:
            return packet, crc
        if packet.pno > packet.pnum:
            return packet, crc  # a part that cannot belong: keep its data rather than lose it
        key: Key = (packet.mn, packet.cn, packet.pnum, packet.data_time)
        pending = self.pending.get(key)
        if pending is None:
            mine = [k for k in self.pending if k[0] == packet.mn]
            if len(mine) >= self.max_pending:
                self._give_up(min(mine, key=lambda k: self.pending[k].first))
            pending = self.pending[key] = _Pending(self.clock() if first is None else first)
        pending.parts[packet.pno] = packet
        if crc != "ok":
            pending.crc = crc
        if len(pending.parts) < packet.pnum:
            return None
        del self.pending[key]
        return _join(pending), pending.crc

    def expire(self) -> int:
        """Give up messages waiting longer than the timeout (their parts go to `expired`); how many went."""
        now = self.clock()
        old = [k for k, p in self.pending.items() if now - p.first > self.timeout]
        for k in old:
            self._give_up(k)
        return len(old)

    def _give_up(self, key: Key) -> None:
        pending = self.pending.pop(key)
        self.dropped += 1
        self.expired.append((_join(pending), pending.crc))


def _join(pending: _Pending) -> Packet:
    parts = [pending.parts[n] for n in sorted(pending.parts)]
    cp = list(parts[0].cp)
    for part in parts[1:]:
        cp.extend(item for item in part.cp if item[0] != "DataTime")
    return replace(parts[0], cp=tuple(cp), pno=None)
