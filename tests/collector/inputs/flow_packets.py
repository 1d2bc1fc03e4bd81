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


# sFlow version 5 (sFlow.org, sflow_version_5.txt), XDR: 4-byte big-endian integers, opaque<> = length + bytes
# padded with zeros to a multiple of 4.
def xdr_opaque(data_format: int, body: bytes) -> bytes:
    """A data_format (enterprise << 12 | format) and its opaque<>: length, bytes, zero padding to 4."""
    return struct.pack(">II", data_format, len(body)) + body + b"\0" * (-len(body) % 4)


def sflow_datagram(samples: list[bytes], agent: str = "192.0.2.1", sequence: int = 1) -> bytes:
    """sample_datagram_v5: version 5, agent address (type 1 IPv4 / 2 IPv6, then the address; agent "": type 0
    UNKNOWN, no address bytes), sub_agent_id, sequence_number, uptime, then samples<> (count, then each
    sample_record as built by the helpers below)."""
    kind = 0 if not agent else 2 if ":" in agent else 1
    return (struct.pack(">II", 5, kind) + (ip(agent) if agent else b"") + struct.pack(">III", 0, sequence, 60_000)
            + struct.pack(">I", len(samples)) + b"".join(samples))


def sflow_flow_sample(rate: int, records: list[bytes], expanded: bool = False) -> bytes:
    """flow_sample (format 1): sequence_number, source_id, sampling_rate, sample_pool, drops, input, output,
    flow_records<>; flow_sample_expanded (format 3): sequence_number, source_id_type, source_id_index,
    sampling_rate, sample_pool, drops, input format/value, output format/value, flow_records<>."""
    if expanded:
        head = struct.pack(">10I", 1, 0, 3, rate, rate * 10, 0, 0, 3, 0, 4)
    else:
        head = struct.pack(">7I", 1, 3, rate, rate * 10, 0, 3, 4)
    return xdr_opaque(3 if expanded else 1, head + struct.pack(">I", len(records)) + b"".join(records))


def sflow_counter_sample() -> bytes:
    """counters_sample (format 2): sequence_number, source_id, counter_records<> with one generic interface
    record (format 1, 88 bytes of counters: zeros here). Carries no flows."""
    record = xdr_opaque(1, b"\0" * 88)
    return xdr_opaque(2, struct.pack(">III", 1, 3, 1) + record)


def ethernet_ipv4(src: str, dst: str, proto: int, dport: int, vlan: int | None = None) -> bytes:
    """An Ethernet II frame's first bytes: dst MAC, src MAC, [802.1Q tag 0x8100 + TCI], ethertype 0x0800, a
    20-byte IPv4 header (version 4, IHL 5, protocol at byte 9, src at 12, dst at 16), then the transport
    header's source and destination ports."""
    tag = struct.pack(">HH", 0x8100, vlan) if vlan is not None else b""
    ipv4 = struct.pack(">BBHHHBBH", 0x45, 0, 1500, 1, 0, 64, proto, 0) + ip(src) + ip(dst)
    return b"\x02" * 6 + b"\x04" * 6 + tag + struct.pack(">H", 0x0800) + ipv4 + struct.pack(">HH", 40000, dport)


def ipv6_packet(src: str, dst: str, proto: int, dport: int) -> bytes:
    """A raw IPv6 header (version 6, payload length, next header at byte 6, hop limit, src, dst) + ports."""
    return struct.pack(">IHBB", 6 << 28, 100, proto, 64) + ip(src) + ip(dst) + struct.pack(">HH", 40000, dport)


def sampled_header(protocol: int, frame_length: int, header: bytes) -> bytes:
    """flow record format 1: header_protocol (1 Ethernet, 11 IPv4, 12 IPv6), frame_length, stripped,
    header<>."""
    return xdr_opaque(1, struct.pack(">III", protocol, frame_length, 4) + struct.pack(">I", len(header))
                      + header + b"\0" * (-len(header) % 4))


def sampled_ipv4(src: str, dst: str, proto: int, dport: int, length: int) -> bytes:
    """flow record format 3: length, protocol, src_ip, dst_ip, src_port, dst_port, tcp_flags, tos."""
    return xdr_opaque(3, struct.pack(">II", length, proto) + ip(src) + ip(dst) + struct.pack(">IIII", 40000, dport,
                                                                                              0x10, 0))
