"""One DAU connection's logic, apart from the sockets: bytes in; messages published and answers out.

Why apart: the rules (what is refused and why, what is stored, what is answered) are tested here frame by
frame; receiver.py only moves bytes and waits for the store. For each accepted frame (HJ 212 CRC under the
unit's policy, a parsable segment, a configured MN, the right password):

- an `Observation` (up) of the DAU's `hj212` check, at most one per OBSERVE_EVERY (or a third of the unit's
  stale_after, if shorter) per unit: each one is a stored row, and the timeline needs one well within
  stale_after, not one per frame;
- 9xxx from a unit (9014, 9021, 9015 heartbeats, ...) only prove the link: nothing else is done;
- 1013 (the unit asks for the time): 9013, then 1012 with the collector's time in the units' zone;
- anything else: the raw frame (`Hj212Frame`), the data of a whole message (`Hj212Data`: split parts
  joined first, by a reassembler all connections share, rebuilt at start from the stored raw frames, whose
  given-up messages are stored with the parts that came: every part is answered once its raw frame is
  committed, so its values must never be lost), and a 9014 with the frame's QN when its Flag asks for one,
  sent only once the store has committed what the frame brought (receiver.py waits for that: an answer is a promise).

With a relay (relay.py), each accepted frame but the 9xxx is also collected in `forward`: receiver.py queues
those durably for the unit's upstreams before it writes any reply of the read that brought them.

An unexpected exception met while handling one frame is counted as the refusal `error` under the DAU and
logged the same way (no traceback): that frame is not answered, and the connection and the frames after it go
on. Refused frames are counted by reason and DAU (refusals.py logs them a line a minute per DAU), never
answered, and the connection stays. A wrong password is also a security event, at most one per unit per
PASSWORD_EVENT_EVERY, with the count since the previous one.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opsmon.collector.core.messages import Event, Hj212Data, Hj212Frame, Hj212Value, Message
from opsmon.collector.core.states import UP, Observation
from opsmon.collector.inputs.hj212.answers import data_answer, notify_answer, set_time
from opsmon.collector.inputs.hj212.frame import Frame, Framer, Refusal, crc_refusal
from opsmon.collector.inputs.hj212.packet import Packet, PacketError, masked, parse_segment
from opsmon.collector.inputs.hj212.split import Reassembler
from opsmon.collector.inputs.hj212.units import Unit, Units
from opsmon.collector.inputs.snmp.trap_refusals import Refusals

UNKNOWN = "unknown"  # the DAU label of what cannot be tied to a configured unit
OBSERVE_EVERY = timedelta(seconds=30)
PASSWORD_EVENT_EVERY = 3600.0
NAMED_FIELDS = {"Rtd": "rtd", "Avg": "avg", "Min": "min", "Max": "max", "Cou": "cou", "ZsAvg": "zs_avg",
                "Flag": "flag"}


@dataclass(frozen=True, slots=True)
class Reply:
    """Bytes to send back; `durable`: only once the store has committed what came before (a 9014)."""

    data: bytes
    cn: str
    durable: bool


@dataclass
class Counts:
    """What /metrics shows of the receiver (outputs/metrics.py reads it at scrape time)."""

    accepted: dict[str, int] = field(default_factory=dict)  # DAU MN -> frames accepted
    refused: dict[tuple[str, str], int] = field(default_factory=dict)  # (reason, DAU MN or unknown) -> frames
    answers: dict[str, int] = field(default_factory=dict)  # CN sent (9014, 9013, 1012) -> count
    withheld: int = 0  # 9014s not sent: the store failed or was slow to commit; or frames the relay could not queue
    oversize: int = 0  # accepted frames over the standard's 1024 bytes
    connections: int = 0  # open now
    connections_refused: int = 0  # closed at once: hj212.max_connections or hj212.max_per_address reached
    connections_refused_by: dict[str, int] = field(default_factory=dict)  # max_connections|max_per_address -> count
    split_dropped: int = 0  # split messages given up (parts missing for 300 s)
    relay: dict[str, Any] = field(default_factory=dict)  # upstream name -> relay.RelayStats
    history: Any = None  # history.HistoryStats, when the history pull is on


class Shared:
    """What every connection shares: the units, the counters, the refusal log, the clock, `publish`."""

    def __init__(self, units: Units, publish: Callable[[Message], None], clock: Callable[[], datetime],
                 refusals: Refusals, zone: str, counts: Counts,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.units = units
        self.publish = publish
        self.clock = clock
        self.refusals = refusals
        counts.refused = refusals.counts
        self.zone = ZoneInfo(zone)
        self.counts = counts
        self.monotonic = monotonic
        self.observed: dict[str, datetime] = {}  # asset -> last Observation published
        self.password_events: dict[str, tuple[float, int]] = {}  # asset -> (last event, refusals since)
        # Split parts of every connection (a unit may reconnect between parts), rebuilt at start from the stored
        # raw frames (receiver.py): a part answered is never lost.
        self.reassembler = Reassembler(monotonic)
        self.open = True
        self.relaying = False  # a relay is configured (relay.py): the session collects what it must queue

    def data(self, packet: Packet, unit: Unit, crc: str, now: datetime) -> None:
        """Publish the values of a whole message (Hj212Data); bad_datatime if its DataTime cannot be read."""
        values = _values(packet)
        if not values:
            return
        when = _data_time(packet.data_time, self.zone)
        if when is None:
            self.refuse("bad_datatime", unit.mn, f"DataTime={str(packet.data_time)[:32]!r}: the values are "
                                                 "not stored (the raw frame is)")
            return
        self.publish(Hj212Data(unit.asset_id, unit.mn, unit.point, packet.cn, when, now, crc, values))

    def expired(self) -> None:
        """Store what came of split messages given up waiting for: their parts were answered."""
        r = self.reassembler
        r.expire()
        if r.dropped:
            self.counts.split_dropped += r.dropped
            r.dropped = 0
        gone, r.expired = r.expired, []
        for packet, crc in gone:
            unit = self.units.get(packet.mn)
            if unit is not None:
                self.data(packet, unit, crc, self.clock())

    def refuse(self, reason: str, label: str, detail: str = "") -> None:
        """Counted by (reason, DAU label) and logged a line a minute per DAU at most (trap_refusals.Refusals)."""
        self.refusals.refuse(reason, label, detail)


class Session:
    """One connection: feed() what a read brought, get the replies to send (in order)."""

    def __init__(self, shared: Shared, peer: str, max_segment: int) -> None:
        self.shared = shared
        self.peer = peer
        self.framer = Framer(max_segment)
        self.label = UNKNOWN  # the MN of the last accepted frame: framing refusals are counted under it
        self.st: dict[str, str] = {}  # MN -> the ST of its last accepted frame (what a request to it carries)
        # Accepted frames for the relay: receiver.py queues them durably (off the event loop) before it writes
        # any reply of the same read.
        self.forward: list[tuple[Unit, bytes]] = []

    def feed(self, data: bytes) -> list[Reply]:
        return self._items(self.framer.feed(data))

    def close(self) -> list[Reply]:
        """End of stream: what was left in the buffer is counted (truncated or garbage)."""
        return self._items(self.framer.close())

    def _items(self, items: list[Frame | Refusal]) -> list[Reply]:
        replies: list[Reply] = []
        for item in items:
            if not self.shared.open:
                break
            if isinstance(item, Refusal):
                self.shared.refuse(item.reason, self.label, item.detail)
                continue
            try:
                replies.extend(self._frame(item))
            except Exception as exc:  # noqa: BLE001 - a bug met by one frame must not cost the frames after it
                # Counted and logged like a refusal (a line a minute per DAU, no traceback flood); that frame is
                # not answered, so the unit sends it again.
                self.shared.refuse("error", self.label, f"{type(exc).__name__}: {str(exc)[:200]}")
        if self.shared.reassembler.expired or self.shared.reassembler.dropped:
            self.shared.expired()
        return replies

    def _frame(self, frame: Frame) -> list[Reply]:
        shared = self.shared
        try:
            packet = parse_segment(frame.segment)
        except PacketError as exc:
            shared.refuse(exc.reason, self.label, exc.detail)
            return []
        unit = shared.units.get(packet.mn)
        if unit is None:
            shared.refuse("unknown_mn", UNKNOWN, f"MN {str(packet.mn)[:64]!r} is no configured DAU's")
            return []
        why = crc_refusal(frame, unit.crc)
        if why is not None:
            shared.refuse("crc" if frame.crc == "bad" else "crc_dialect", unit.mn, why)
            return []
        ok = shared.units.password_ok(unit, packet.pw)
        if ok is None:
            shared.refuse("no_credential", unit.mn, f"credential {unit.credential!r} is not under hj212.credentials")
            return []
        if not ok:
            self._wrong_password(unit)
            return []
        self.label = unit.mn
        if packet.st:
            self.st[unit.mn] = packet.st
        now = shared.clock()
        shared.counts.accepted[unit.mn] = shared.counts.accepted.get(unit.mn, 0) + 1
        if frame.oversize:
            shared.counts.oversize += 1
        last = shared.observed.get(unit.asset_id)
        every = min(OBSERVE_EVERY, timedelta(seconds=unit.stale_after / 3))
        if last is None or now - last >= every or now < last:
            shared.observed[unit.asset_id] = now
            shared.publish(Observation(unit.asset_id, unit.check_id, now, UP))
        if packet.cn.startswith("9"):
            return []  # answers and vendors' heartbeats (9021, 9015): the link is up, nothing more
        # The audit copy without the password (packet.masked); the relay forwards the frame as sent.
        shared.publish(Hj212Frame(unit.asset_id, unit.mn, packet.cn, packet.qn, now, self.peer, frame.crc,
                                  frame.oversize, masked(frame.raw)))
        if unit.relay and shared.relaying:
            self.forward.append((unit, frame.raw))
        if packet.cn == "1013":
            return [Reply(notify_answer(packet), "9013", False),
                    Reply(set_time(packet, now.astimezone(shared.zone)), "1012", False)]
        whole = shared.reassembler.add(packet, frame.crc)
        if whole is not None:
            self._data(whole[0], unit, whole[1], now)
        return [Reply(data_answer(packet), "9014", True)] if packet.wants_answer else []

    def _data(self, packet: Packet, unit: Unit, crc: str, now: datetime) -> None:
        self.shared.data(packet, unit, crc, now)

    def _wrong_password(self, unit: Unit) -> None:
        shared = self.shared
        shared.refuse("password", unit.mn, "PW is not the password of the DAU's credential")
        at, since = shared.password_events.get(unit.asset_id, (float("-inf"), 0))
        since += 1
        mono = shared.monotonic()
        if mono - at < PASSWORD_EVENT_EVERY:
            shared.password_events[unit.asset_id] = (at, since)
            return
        shared.password_events[unit.asset_id] = (mono, 0)
        shared.publish(Event(unit.asset_id, shared.clock(), self.peer, "auth", "hj212_password", "warning",
                             f"HJ 212 数据包密码错误，已拒收 / HJ 212 frames with a wrong password refused "
                             f"(MN {unit.mn}, {since} since the last event)",
                             {"mn": unit.mn, "peer": self.peer, "refused": since}))


def _values(packet: Packet) -> tuple[Hj212Value, ...]:
    out = []
    for code, fields in packet.factors().items():
        named: dict[str, str | None] = {}
        extra: dict[str, str | None] = {}
        for name, value in fields.items():
            if name in NAMED_FIELDS:
                named[NAMED_FIELDS[name]] = value
            else:
                extra[name] = value
        out.append(Hj212Value(code, named.get("rtd"), named.get("avg"), named.get("min"), named.get("max"),
                              named.get("cou"), named.get("zs_avg"), named.get("flag"), extra))
    return tuple(out)


def _data_time(value: str | None, zone: ZoneInfo) -> datetime | None:
    """DataTime `YYYYMMDDhhmmss` (milliseconds after it ignored) in the units' zone, as UTC; None if not one,
    or if it is a time no datetime can hold once moved to UTC (year 1 before the zone's offset, year 9999 after)."""
    if value is None or len(value) < 14 or not value[:14].isdigit() or not value.isascii():
        return None
    v = value
    try:  # read by hand: strptime costs more than the rest of a frame's parsing (bench/hj212_bench.py)
        local = datetime(int(v[:4]), int(v[4:6]), int(v[6:8]), int(v[8:10]), int(v[10:12]), int(v[12:14]),
                         tzinfo=zone)
        return local.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one no datetime holds (0001-01-01 00:00 in UTC+8)
        return None
