"""NetFlow v5, v9 (RFC 3954) and IPFIX (RFC 7011) datagrams built field by field from the specifications,
for the flow tests and bench/flow_bench.py. Nothing here comes from the code under test."""
from __future__ import annotations

import socket
import struct

# Information element ids (RFC 3954 section 8 / IANA IPFIX registry).
IN_BYTES, IN_PKTS, PROTOCOL, L4_SRC_PORT, IPV4_SRC, L4_DST_PORT, IPV4_DST = 1, 2, 4, 7, 8, 11, 12
IPV6_SRC, IPV6_DST = 27, 28
TCP_FLAGS = 6


def ip(address: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address)


def v5(records: list[tuple[str, str, int, int, int, int]], sequence: int = 0) -> bytes:
    """A v5 datagram: 24-byte header (version 5, count, sysUptime, unix_secs, unix_nsecs, flow_sequence,
    engine_type, engine_id, sampling_interval), then per record (src, dst, dst port, protocol, bytes, packets)
    the 48 bytes: srcaddr, dstaddr, nexthop, input, output, dPkts, dOctets, First, Last, srcport, dstport,
    pad1, tcp_flags, prot, tos, src_as, dst_as, src_mask, dst_mask, pad2."""
    head = struct.pack(">HHIIIIBBH", 5, len(records), 1000, 1_700_000_000, 0, sequence, 0, 0, 0)
    body = b"".join(
        ip(src) + ip(dst) + ip("0.0.0.0") + struct.pack(">HHIIII", 1, 2, packets, octets, 900, 990)
        + struct.pack(">HHBBBBHHBBH", 40000, port, 0, 0x18, proto, 0, 0, 0, 24, 24, 0)
        for src, dst, port, proto, octets, packets in records)
    return head + body


def v9_header(count: int, source_id: int, sequence: int = 0) -> bytes:
    """Version 9, count (records of all flowsets), sysUptime, unix_secs, package sequence, source id."""
    return struct.pack(">HHIIII", 9, count, 1000, 1_700_000_000, sequence, source_id)


def ipfix_message(sets: list[bytes], domain: int, sequence: int = 0) -> bytes:
    """Version 10, length (the whole message), export time, sequence number, observation domain id."""
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), 1_700_000_000, sequence, domain) + body


def flowset(set_id: int, body: bytes, pad_to: int = 4) -> bytes:
    """A (flow)set: id, length (header included), body, padded with zeros to a multiple of `pad_to`."""
    pad = (-(4 + len(body))) % pad_to
    return struct.pack(">HH", set_id, 4 + len(body) + pad) + body + b"\0" * pad


def template(template_id: int, fields: list[tuple[int, int]] | list[tuple[int, int, int]]) -> bytes:
    """A template record: id, field count, then (type, length) or, IPFIX enterprise, (type|0x8000, length, PEN)."""
    out = struct.pack(">HH", template_id, len(fields))
    for field in fields:
        if len(field) == 3:
            out += struct.pack(">HHI", field[0] | 0x8000, field[1], field[2])
        else:
            out += struct.pack(">HH", field[0], field[1])
    return out


# The layout the v9 and IPFIX tests and the bench use: src, dst, src port, dst port, protocol, tcp flags,
# bytes (4), packets (4): 4+4+2+2+1+1+4+4 = 22 bytes a record.
V9_FIELDS = [(IPV4_SRC, 4), (IPV4_DST, 4), (L4_SRC_PORT, 2), (L4_DST_PORT, 2), (PROTOCOL, 1), (TCP_FLAGS, 1),
             (IN_BYTES, 4), (IN_PKTS, 4)]


def v9_record(src: str, dst: str, port: int, proto: int, octets: int, packets: int) -> bytes:
    return ip(src) + ip(dst) + struct.pack(">HHBBII", 40000, port, proto, 0x10, octets, packets)
