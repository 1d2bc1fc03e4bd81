"""NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) datagrams to flow records, with the standard library.

Why no library: the parsers on PyPI either decode into one dict per flow with every field (several times our
cost per flow, measured against the 10,000 flows/s goal of issue 23) or keep templates in a global of their
own that we could not bound per exporter; what we need is five fields of each record, and the formats are
small fixed layouts `struct` reads directly. A template becomes one `struct` format read with
`iter_unpack` over a whole data set, so a record costs one tuple.

A datagram that is not what its header says (a wrong version, a length that does not add up, a set that runs
past the end) raises `Refused` with a reason; nothing else escapes (the receiver counts the reason).

    flows, pending = decode(data, exporter, templates)
"""
from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

# One flow record: the fields aggregation needs.
Flow = tuple[str, str, int, int, int, int]  # (src, dst, dst port, protocol, bytes, packets)

V5_HEADER = struct.Struct(">HHIIIIBBH")  # version, count, sysUptime, secs, nsecs, sequence, engine type/id, sampling
V5_RECORD = struct.Struct(">4s4s4xHHIIIIHHxBBBHHBBxx")  # RFC-less but fixed: Cisco's 48-byte v5 record
V5_MAX = 30  # records a v5 datagram holds at most (Cisco's definition)
V9_HEADER = struct.Struct(">HHIIII")  # version, count, sysUptime, secs, sequence, source id
IPFIX_HEADER = struct.Struct(">HHIII")  # version, length, export time, sequence, observation domain
SET_HEADER = struct.Struct(">HH")

# Information elements (the same numbers in v9 and IPFIX) that aggregation reads.
OCTETS, PACKETS, PROTOCOL, DST_PORT, SRC_V4, DST_V4, SRC_V6, DST_V6 = 1, 2, 4, 11, 8, 12, 27, 28
WANTED = {OCTETS: "bytes", PACKETS: "packets", PROTOCOL: "protocol", DST_PORT: "dst_port",
          SRC_V4: "src", DST_V4: "dst", SRC_V6: "src", DST_V6: "dst"}
VARIABLE = 65535  # an IPFIX field length meaning "length given in the record" (RFC 7011 section 7)
INT_CODE = {1: "B", 2: "H", 4: "I", 8: "Q"}


class Refused(Exception):
    """A datagram (or part of one) that cannot be decoded; `reason` is a label of the refusal counts."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Template:
    """A v9 or IPFIX data template, compiled: a struct format when every field has a fixed length."""

    fields: tuple[tuple[int, int], ...]  # (element id or -1 for an enterprise/ignored one, length)
    record: struct.Struct | None  # None when a field has variable length (IPFIX)
    picks: tuple[tuple[str, int, int], ...]  # (what, index in the unpacked tuple, length) of the wanted fields

    @classmethod
    def compile(cls, fields: tuple[tuple[int, int], ...]) -> Template:
        """Unwanted fields become pad bytes of the format; wanted ones an integer or a byte string."""
        fmt = [">"]
        fixed: list[tuple[str, int, int]] = []
        by_position: list[tuple[str, int, int]] = []
        for position, (element, length) in enumerate(fields):
            what = WANTED.get(element)
            if what is None or length in (0, VARIABLE):
                if length != VARIABLE:
                    fmt.append(f"{length}x")
                continue
            code = INT_CODE.get(length) if what not in ("src", "dst") else None
            fmt.append(code or f"{length}s")
            fixed.append((what, len(fixed), length))
            by_position.append((what, position, length))
        if any(length == VARIABLE for _, length in fields):
            return cls(fields, None, tuple(by_position))
        return cls(fields, struct.Struct("".join(fmt)), tuple(fixed))

    def flows(self, data: bytes) -> Iterator[Flow]:
        """The records of one data set's body (padding after the last whole record ignored)."""
        if self.record is None:
            yield from self._variable(data)
            return
        size = self.record.size
        if size == 0:
            return
        whole = len(data) - len(data) % size
        picks = self.picks
        for values in self.record.iter_unpack(data[:whole] if whole != len(data) else data):
            yield _flow(picks, values)

    def _variable(self, data: bytes) -> Iterator[Flow]:
        """Records with variable-length fields (IPFIX): read field by field (RFC 7011 section 7)."""
        at, end = 0, len(data)
        minimum = sum(length for _, length in self.fields if length != VARIABLE) + sum(
            1 for _, length in self.fields if length == VARIABLE)
        while end - at >= minimum and minimum > 0:
            values: list[object] = []
            for _element, length in self.fields:
                if length == VARIABLE:
                    if at >= end:
                        raise Refused("truncated", "variable-length field past the set's end")
                    length = data[at]
                    at += 1
                    if length == 255:
                        if at + 2 > end:
                            raise Refused("truncated", "variable-length field past the set's end")
                        length = int.from_bytes(data[at:at + 2], "big")
                        at += 2
                    if at + length > end:
                        raise Refused("truncated", "variable-length field past the set's end")
                    at += length
                    values.append(None)
                    continue
                if at + length > end:
                    raise Refused("truncated", "record past the set's end")
                values.append(data[at:at + length])
                at += length
            yield _flow(self.picks, tuple(values))


ORDER = ("src", "dst", "dst_port", "protocol", "bytes", "packets")  # a Flow's fields


def _flow(picks: tuple[tuple[str, int, int], ...], values: tuple[object, ...]) -> Flow:
    """A Flow from one record's unpacked values: addresses as text, reduced-size integers (RFC 7011
    section 6.2) widened; a field the template lacks is empty or 0."""
    got: dict[str, object] = {"src": "", "dst": "", "dst_port": 0, "protocol": 0, "bytes": 0, "packets": 0}
    for what, index, _length in picks:
        value = values[index]
        if what in ("src", "dst"):
            got[what] = _address(value) if isinstance(value, bytes) else ""
        elif isinstance(value, bytes):
            got[what] = int.from_bytes(value, "big")
        else:
            got[what] = value
    return tuple(got[what] for what in ORDER)  # type: ignore[return-value]


def _address(raw: bytes) -> str:
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return raw.hex()


def v5(data: bytes) -> list[Flow]:
    """A NetFlow v5 datagram: a 24-byte header and `count` 48-byte records, nothing more and nothing less."""
    if len(data) < V5_HEADER.size:
        raise Refused("truncated", f"v5 datagram of {len(data)} bytes, shorter than its header")
    count = V5_HEADER.unpack_from(data)[1]
    if not 1 <= count <= V5_MAX:
        raise Refused("malformed", f"v5 record count {count} outside 1..{V5_MAX}")
    expected = V5_HEADER.size + count * V5_RECORD.size
    if len(data) < expected:
        raise Refused("truncated", f"v5 datagram of {len(data)} bytes, its {count} records need {expected}")
    if len(data) > expected:
        raise Refused("malformed", f"v5 datagram of {len(data)} bytes, its {count} records make {expected}")
    ntoa = socket.inet_ntoa
    out = []
    for (src, dst, _in, _out, packets, octets, _first, _last, _sport, dport, _flags, proto, _tos, _sas, _das,
         _sm, _dm) in V5_RECORD.iter_unpack(data[V5_HEADER.size:]):
        out.append((ntoa(src), ntoa(dst), dport, proto, octets, packets))
    return out
