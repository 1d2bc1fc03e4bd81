"""sFlow version 5 datagrams to flow records, scaled by their sampling rate, with the standard library.

sFlow does not export flows: an agent samples one packet in `sampling_rate` and sends the packet's first
bytes (or its decoded IP fields) with the rate. So each sample becomes one record of our Flow shape worth
`sampling_rate` packets and `frame_length x sampling_rate` bytes: the estimate the specification intends
("sampling_rate ... 1 in N packets"; the collector multiplies). The aggregator counts each sample as one
"flow", so for an sFlow link the flows column is the number of samples.

The layout, from sFlow.org's "sFlow Version 5" (sflow_version_5.txt, July 2004), XDR (RFC 4506): every
integer is 4 bytes big-endian and every `opaque<>` is a 4-byte length then the bytes padded to a multiple
of 4:

- `sample_datagram_v5`: version (5), agent address (type 1 = IPv4, 4 bytes; 2 = IPv6, 16 bytes; 0 =
  unknown, none), sub_agent_id, sequence_number, uptime, then `sample_record samples<>`: a count and per
  sample a `data_format` (enterprise << 12 | format) and an `opaque sample_data<>`.
- enterprise 0, format 1 `flow_sample`: sequence_number, source_id, sampling_rate, sample_pool, drops,
  input, output (seven integers), then `flow_record flow_records<>` (data_format + opaque each).
- enterprise 0, format 3 `flow_sample_expanded`: sequence_number, source_id_type, source_id_index,
  sampling_rate, sample_pool, drops, input format and value, output format and value (ten integers), then
  the flow records.
- counter samples (formats 2 and 4) and any other enterprise's or format's sample: skipped by their length
  (link volume comes from the flows; the SNMP poller already has the interface counters).
- flow record enterprise 0, format 1 `sampled_header`: header_protocol (1 = Ethernet ISO 802.3, 11 = IPv4,
  12 = IPv6), frame_length ("original length of packet before sampling"), stripped, `opaque header<>`;
  format 3 `sampled_ipv4`: length, protocol, src_ip, dst_ip, src_port, dst_port, tcp_flags, tos; format 4
  `sampled_ipv6`: the same with 16-byte addresses and priority. Other records (switch, router, gateway
  data) are skipped.

Of a sample's records, the first that yields addresses counts (an agent may send both the raw header and
the decoded IPv4 record of one packet: counting both would double it). A sample of a non-IP packet (ARP,
LLDP) yields nothing. A sampled Ethernet header may carry 802.1Q / 802.1ad tags (skipped).

Why no library: the one sFlow parser on PyPI (`pysflow`, 0.1.2) was last released in November 2018 and
decodes every record into objects of all its fields; the four layouts above are small and `struct` reads
them in a few lines, bounded by the datagram (nothing is kept between datagrams: sFlow has no templates).

A datagram whose lengths do not add up raises `Refused` (truncated / malformed), never anything else.
"""
from __future__ import annotations

import socket
import struct

from opsmon.collector.inputs.flows.decode import Flow, Refused

SFLOW_VERSION = b"\0\0\0\x05"  # the first 4 bytes; a NetFlow datagram starts with a 2-byte version instead
U32 = struct.Struct(">I")
# agent address type -> bytes of the address: UNKNOWN (0, `case UNKNOWN: void` in sFlow v5), IPv4 (1), IPv6 (2)
ADDRESS_BYTES = {0: 0, 1: 4, 2: 16}
FLOW_SAMPLE, FLOW_SAMPLE_EXPANDED = 1, 3  # sample formats (enterprise 0)
FLOW_SAMPLE_HEAD = struct.Struct(">7I")  # sequence, source id, rate, pool, drops, input, output
EXPANDED_HEAD = struct.Struct(">10I")  # sequence, source type, source index, rate, pool, drops, in x2, out x2
SAMPLED_HEADER, SAMPLED_IPV4, SAMPLED_IPV6 = 1, 3, 4  # flow record formats (enterprise 0)
ETHERNET, IPV4, IPV6 = 1, 11, 12  # header_protocol values
SAMPLED_V4 = struct.Struct(">II4s4sIIII")  # length, protocol, src, dst, src port, dst port, tcp flags, tos
SAMPLED_V6 = struct.Struct(">II16s16sIIII")
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
PORTED = (6, 17, 132)  # TCP, UDP, SCTP: their destination port is the transport header's bytes 2..3
MAX_SAMPLES = 10_000  # far beyond what a 64 KiB datagram can hold; a larger count is malformed
MAX_RECORDS = 1000


def is_sflow(data: bytes) -> bool:
    return data[:4] == SFLOW_VERSION


def sflow(data: bytes) -> list[Flow]:
    """The sampled packets of one sFlow v5 datagram, each scaled by its sample's sampling rate."""
    end = len(data)
    if end < 8:
        raise Refused("truncated", f"sFlow datagram of {end} bytes, shorter than its header")
    address_type = U32.unpack_from(data, 4)[0]
    size = ADDRESS_BYTES.get(address_type)
    if size is None:
        raise Refused("malformed", f"sFlow agent address type {address_type} (0 = unknown, 1 = IPv4, 2 = IPv6)")
    at = 8 + size + 12  # agent address, sub agent id, sequence number, uptime
    if end < at + 4:
        raise Refused("truncated", f"sFlow datagram of {end} bytes, shorter than its header")
    count = U32.unpack_from(data, at)[0]
    at += 4
    if count > MAX_SAMPLES:
        raise Refused("malformed", f"sFlow sample count {count}")
    flows: list[Flow] = []
    for number in range(count):
        sample_type, body, at = _opaque(data, at, end, f"sample {number + 1} of {count}")
        enterprise, form = sample_type >> 12, sample_type & 0xFFF
        if enterprise != 0 or form not in (FLOW_SAMPLE, FLOW_SAMPLE_EXPANDED):
            continue  # counter samples and others' samples: not flows
        head = FLOW_SAMPLE_HEAD if form == FLOW_SAMPLE else EXPANDED_HEAD
        if len(body) < head.size + 4:
            raise Refused("truncated", f"flow sample {number + 1} of {len(body)} bytes")
        rate = head.unpack_from(body)[2 if form == FLOW_SAMPLE else 3]
        if rate == 0:
            raise Refused("malformed", f"flow sample {number + 1} with sampling rate 0")
        flow = _sample(body, head.size, rate, number + 1)
        if flow is not None:
            flows.append(flow)
    if at != end:
        raise Refused("malformed", f"{end - at} bytes after the last of {count} samples")
    return flows


def _opaque(data: bytes, at: int, end: int, what: str) -> tuple[int, bytes, int]:
    """A data_format and its opaque<> (length, bytes, padding to 4) at `at`: (format, bytes, next offset)."""
    if end - at < 8:
        raise Refused("truncated", f"sFlow {what}: its format and length run past the end")
    form, length = struct.unpack_from(">II", data, at)
    start = at + 8
    stop = start + length
    if stop > end:
        raise Refused("truncated", f"sFlow {what} says {length} bytes, {end - start} remain")
    return form, data[start:stop], stop + (-length % 4)


def _sample(body: bytes, at: int, rate: int, number: int) -> Flow | None:
    """The flow of one flow sample: its first record that yields addresses, scaled by `rate`."""
    count = U32.unpack_from(body, at)[0]
    at += 4
    if count > MAX_RECORDS:
        raise Refused("malformed", f"flow sample {number} with {count} records")
    end = len(body)
    found: Flow | None = None
    for index in range(count):
        form, record, at = _opaque(body, at, end, f"record {index + 1} of sample {number}")
        if found is not None or form >> 12 != 0:
            continue
        form &= 0xFFF
        if form == SAMPLED_HEADER:
            found = _header(record, rate)
        elif form in (SAMPLED_IPV4, SAMPLED_IPV6):
            layout = SAMPLED_V4 if form == SAMPLED_IPV4 else SAMPLED_V6
            if len(record) < layout.size:
                raise Refused("truncated", f"sampled IP record of {len(record)} bytes in sample {number}")
            length, protocol, src, dst, _sport, dport, _flags, _tos = layout.unpack_from(record)
            found = (_text(src), _text(dst), dport, protocol, length * rate, rate)
    return found


def _header(record: bytes, rate: int) -> Flow | None:
    """A sampled_header record: the frame's addresses, protocol and destination port from its first bytes."""
    if len(record) < 16:
        raise Refused("truncated", f"sampled header record of {len(record)} bytes")
    protocol, frame_length, _stripped, length = struct.unpack_from(">IIII", record)
    header = record[16:16 + length]
    if len(header) < length:
        raise Refused("truncated", f"sampled header says {length} bytes, {len(header)} came")
    at = 0
    if protocol == ETHERNET:
        if length < 14:
            return None
        ethertype, at = int.from_bytes(header[12:14], "big"), 14
        while ethertype in VLAN_TAGS and length >= at + 4:
            ethertype, at = int.from_bytes(header[at + 2:at + 4], "big"), at + 4
        protocol = {0x0800: IPV4, 0x86DD: IPV6}.get(ethertype, 0)
    if protocol == IPV4 and length >= at + 20:
        ihl = (header[at] & 0x0F) * 4
        proto = header[at + 9]
        fragment = int.from_bytes(header[at + 6:at + 8], "big") & 0x1FFF
        src, dst = header[at + 12:at + 16], header[at + 16:at + 20]
        port_at = at + ihl + 2 if fragment == 0 and proto in PORTED else -1
    elif protocol == IPV6 and length >= at + 40:
        proto = header[at + 6]
        src, dst = header[at + 8:at + 24], header[at + 24:at + 40]
        port_at = at + 42 if proto in PORTED else -1
    else:
        return None  # not IP (ARP, LLDP, MPLS...), or cut before its addresses
    port = int.from_bytes(header[port_at:port_at + 2], "big") if 0 <= port_at <= length - 2 else 0
    return (_text(src), _text(dst), port, proto, frame_length * rate, rate)


def _text(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
