"""sFlow v5 (issue 23 item 5): datagrams built field by field from sFlow.org's "sFlow Version 5"
(tests/collector/inputs/flow_packets.py), decoded with each sample scaled by its sampling rate, summed per
link; malformed and truncated datagrams refused with a reason, counted, and never raised out of the receiver.

Every figure is computed by hand in the docstrings and comments.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsmon.collector.config.flows import FlowsConfig
from opsmon.collector.core.messages import FlowRow, Message
from opsmon.collector.inputs.flows.aggregate import Aggregator
from opsmon.collector.inputs.flows.decode import Refused
from opsmon.collector.inputs.flows.receiver import FlowReceiver
from opsmon.collector.inputs.flows.templates import Decoder
from tests.collector.inputs.flow_packets import (
    ethernet_ipv4,
    ipv6_packet,
    sampled_header,
    sampled_ipv4,
    sflow_counter_sample,
    sflow_datagram,
    sflow_flow_sample,
    xdr_opaque,
)

T0 = 1_800_000_000.0  # a multiple of 300: an interval starts here
TCP, UDP = 6, 17
ETHERNET, IPV4, IPV6 = 1, 11, 12  # header_protocol values of the specification

# Datagram A, from an IPv4 agent, six samples:
# 1. flow sample, rate 256: Ethernet frame with an 802.1Q tag, 10.1.0.5 -> 10.2.0.9 tcp/443, frame_length 1518
#    -> 1518 x 256 = 388,608 bytes, 256 packets
# 2. counter sample: no flow
# 3. expanded flow sample, rate 1000: a raw IPv4 header (protocol 11) 10.1.0.7 -> 10.2.0.9 udp/53, frame 100,
#    followed by the sampled_ipv4 record of the same packet (length 80): only the first counts
#    -> 100 x 1000 = 100,000 bytes, 1000 packets
# 4. flow sample, rate 512, only a sampled_ipv4 record 10.1.0.5 -> 10.2.0.9 tcp/22, length 60
#    -> 60 x 512 = 30,720 bytes, 512 packets
# 5. flow sample, rate 128: a raw IPv6 header (protocol 12) fd00::1 -> fd00::2 tcp/443, frame 1280
#    -> 1280 x 128 = 163,840 bytes, 128 packets
# 6. flow sample, rate 256: an ARP frame (ethertype 0x0806): not IP, no flow
ARP = b"\xff" * 6 + b"\x04" * 6 + b"\x08\x06" + b"\0" * 28
DATAGRAM_A = sflow_datagram([
    sflow_flow_sample(256, [sampled_header(ETHERNET, 1518, ethernet_ipv4("10.1.0.5", "10.2.0.9", TCP, 443, vlan=20))]),
    sflow_counter_sample(),
    sflow_flow_sample(1000, [sampled_header(IPV4, 100, ethernet_ipv4("10.1.0.7", "10.2.0.9", UDP, 53)[14:]),
                             sampled_ipv4("10.1.0.7", "10.2.0.9", UDP, 53, 80)], expanded=True),
    sflow_flow_sample(512, [sampled_ipv4("10.1.0.5", "10.2.0.9", TCP, 22, 60)]),
    sflow_flow_sample(128, [sampled_header(IPV6, 1280, ipv6_packet("fd00::1", "fd00::2", TCP, 443))]),
    sflow_flow_sample(256, [sampled_header(ETHERNET, 64, ARP)]),
])
# Datagram B, from an IPv6 agent: one more sample of key 1, rate 256, frame 482 -> 482 x 256 = 123,392 bytes.
DATAGRAM_B = sflow_datagram([sflow_flow_sample(256, [sampled_header(
    ETHERNET, 482, ethernet_ipv4("10.1.0.5", "10.2.0.9", TCP, 443))])], agent="2001:db8::1")


def test_sflow_samples_are_scaled_by_their_rate_and_summed() -> None:
    """Key 10.1.0.5 -> 10.2.0.9 tcp/443: 388,608 + 123,392 = 512,000 bytes, 256 + 256 = 512 packets, 2 samples.
    The interval's total: 512,000 + 100,000 + 30,720 + 163,840 = 806,560 bytes; packets 512 + 1000 + 512 +
    128 = 2152; 5 samples counted as flows (the counter sample and the ARP sample add nothing)."""
    decoder = Decoder()
    flows_a = decoder.decode(DATAGRAM_A, "192.0.2.1")
    assert flows_a == [("10.1.0.5", "10.2.0.9", 443, TCP, 388_608, 256),
                       ("10.1.0.7", "10.2.0.9", 53, UDP, 100_000, 1000),
                       ("10.1.0.5", "10.2.0.9", 22, TCP, 30_720, 512),
                       ("fd00::1", "fd00::2", 443, TCP, 163_840, 128)]
    flows_b = decoder.decode(DATAGRAM_B, "192.0.2.1")
    assert flows_b == [("10.1.0.5", "10.2.0.9", 443, TCP, 123_392, 256)]
    agg = Aggregator(interval=300, top=2, max_keys=100)
    agg.add("wan-a", flows_a, T0 + 1)
    agg.add("wan-a", flows_b, T0 + 2)
    (top,) = agg.flush()
    # top 2 by bytes: 512,000 (tcp/443 v4), 163,840 (v6); other: 100,000 + 30,720 = 130,720 bytes,
    # 1000 + 512 = 1512 packets, 2 samples
    assert top.rows == (FlowRow("10.1.0.5", "10.2.0.9", 443, TCP, 512_000, 512, 2),
                        FlowRow("fd00::1", "fd00::2", 443, TCP, 163_840, 128, 1),
                        FlowRow("other", "other", -1, -1, 130_720, 1512, 2))
    assert sum(row.bytes for row in top.rows) == 806_560
    assert sum(row.packets for row in top.rows) == 2152


def test_an_agent_address_of_unknown_type_is_no_address() -> None:
    """sFlow v5 (sFlow.org's sflow_version_5.txt): enum address_type { UNKNOWN = 0, IP_V4 = 1, IP_V6 = 2 },
    and `case UNKNOWN: void`, so type 0 is valid and followed by no address bytes. Datagram B's one sample from
    such an agent: 4 + 4 (version, type) + 12 (sub agent, sequence, uptime) + 4 (count) bytes of header, 4
    shorter than from an IPv4 agent; decoded as from B's IPv6 agent: 482 x 256 = 123,392 bytes, 256 packets."""
    datagram = sflow_datagram([sflow_flow_sample(256, [sampled_header(
        ETHERNET, 482, ethernet_ipv4("10.1.0.5", "10.2.0.9", TCP, 443))])], agent="")
    assert datagram[4:8] == b"\0\0\0\0" and len(datagram) == len(DATAGRAM_B) - 16
    assert Decoder().decode(datagram, "192.0.2.1") == [("10.1.0.5", "10.2.0.9", 443, TCP, 123_392, 256)]


def _cut_header_record() -> bytes:
    """A sampled_header record whose header<> says 64 bytes while its opaque holds 16 + 8."""
    return xdr_opaque(1, b"\0\0\0\x01" + b"\0\0\x05\xee" + b"\0\0\0\0" + b"\0\0\0\x40" + b"\0" * 8)


@pytest.mark.parametrize(("data", "reason"), [
    (b"\0\0\0\x05\0\0\0\x01", "truncated"),  # 8 bytes: the agent address and the rest missing
    (b"\0\0\0\x05\0\0\0\x03" + b"\0" * 20, "malformed"),  # address type 3: not UNKNOWN (0), IPv4 (1), IPv6 (2)
    (sflow_datagram([])[:-1], "truncated"),  # the sample count cut
    (DATAGRAM_B[:-1], "truncated"),  # the last byte of the only sample missing
    (DATAGRAM_B + b"\0\0\0\0", "malformed"),  # 4 bytes after the last sample
    (sflow_datagram([sflow_flow_sample(0, [])]), "malformed"),  # sampling rate 0
    (sflow_datagram([xdr_opaque(1, b"\0" * 12)]), "truncated"),  # a flow sample shorter than its 7 fields
    (sflow_datagram([sflow_flow_sample(256, [_cut_header_record()])]), "truncated"),
    (sflow_datagram([sflow_flow_sample(256, [xdr_opaque(3, b"\0" * 20)])]), "truncated"),  # sampled_ipv4 < 32
    (sflow_datagram([b"\0\0\0\x02\0\0\0\x00"] * 2)[:-4], "truncated"),  # 2 empty counter samples, the 2nd cut
])
def test_malformed_and_truncated_sflow_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        Decoder().decode(data, "192.0.2.1")
    assert refused.value.reason == reason


def test_every_cut_of_a_datagram_is_refused_never_raised() -> None:
    """Each prefix of datagram A, 0 to len - 1 bytes: a Refused (truncated or malformed), no other exception;
    a prefix of 2 or 3 bytes ends before the 4-byte version and is no NetFlow version either."""
    reasons = set()
    for length in range(len(DATAGRAM_A)):
        with pytest.raises(Refused) as refused:
            Decoder().decode(DATAGRAM_A[:length], "192.0.2.1")
        reasons.add(refused.value.reason)
    assert reasons <= {"truncated", "malformed", "version"}
    assert "truncated" in reasons


def test_the_receiver_counts_a_bad_sflow_datagram_and_keeps_going() -> None:
    """Through the receiver's datagram handling (what its UDP protocol calls): datagram A (4 flows), a cut one
    (refused truncated, no traceback), datagram B (1 flow): 5 flows, 3 datagrams, one refusal."""
    published: list[Message] = []
    settings = FlowsConfig(enabled=True, exporters={"127.0.0.1": "wan-a"}, interval=300)
    receiver = FlowReceiver(settings, published.append, lambda: datetime.fromtimestamp(T0 + 5, UTC),
                            monotonic=lambda: 100.0)
    receiver.received(DATAGRAM_A, "127.0.0.1")
    receiver.received(DATAGRAM_A[:100], "127.0.0.1")
    receiver.received(DATAGRAM_B, "127.0.0.1")
    assert receiver.counts.datagrams == 3 and receiver.counts.flows == 5
    assert receiver.counts.refused == {("truncated", "127.0.0.1"): 1}
    receiver.close()
    (top,) = published
    assert sum(row.bytes for row in top.rows) == 806_560  # as summed in the first test


def test_a_separate_sflow_port_takes_sflow_only_within_the_same_flood_bounds() -> None:
    """flows.sflow_port: a second UDP socket on loopback (sFlow's IANA port is 6343; a free one here). The rate
    clock stands still, so 127.0.0.1 has burst = 4 tokens for both ports together. In order, each awaited:
    1. datagram B to the sFlow port: decoded (token 1);
    2. a v5 datagram to the sFlow port: refused version (token 2: the bucket is passed before anything else);
    3. datagram B to the NetFlow port: decoded there too, as before (token 3);
    4-6. datagram B three times to the sFlow port: the first decoded (token 4), two refused rate.
    Summed: 3 x datagram B = 3 samples of 482 x 256 = 123,392 bytes = 370,176 bytes, 3 x 256 = 768 packets;
    6 datagrams reached the ports. A config with sflow_port equal to port is an error naming the key."""
    import asyncio
    import socket
    import time

    from pydantic import ValidationError

    from tests.collector.inputs.flow_packets import v5
    from tests.conftest import free_port

    published: list[Message] = []
    settings = FlowsConfig(enabled=True, host="127.0.0.1", port=free_port(), sflow_port=free_port(),
                           exporters={"127.0.0.1": "wan-a"}, interval=300, rate=1, burst=4)
    receiver = FlowReceiver(settings, published.append, lambda: datetime.fromtimestamp(T0 + 5, UTC),
                            monotonic=lambda: 100.0)

    async def run() -> None:
        receiver.bind()
        assert receiver.sflow_port == settings.sflow_port and receiver.port == settings.port
        receiver.start()
        exporter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        exporter.bind(("127.0.0.1", 0))
        deadline = time.monotonic() + 10
        while receiver.sflow_transport is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        sent = [(DATAGRAM_B, settings.sflow_port), (v5([("10.1.0.5", "10.2.0.9", 443, TCP, 100, 1)]),
                                                    settings.sflow_port),
                (DATAGRAM_B, settings.port)] + [(DATAGRAM_B, settings.sflow_port)] * 3
        for n, (data, port) in enumerate(sent, 1):
            exporter.sendto(data, ("127.0.0.1", port))
            while receiver.counts.datagrams < n and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
        exporter.close()
        receiver.close()

    asyncio.run(run())
    assert receiver.counts.datagrams == 6 and receiver.counts.flows == 3
    assert receiver.counts.refused == {("version", "127.0.0.1"): 1, ("rate", "127.0.0.1"): 2}
    (top,) = published
    assert top.rows == (FlowRow("10.1.0.5", "10.2.0.9", 443, TCP, 370_176, 768, 3),)
    assert receiver.sock is None and receiver.sflow_sock is None
    with pytest.raises(ValidationError, match="flows.sflow_port: 2055 is flows.port too"):
        FlowsConfig(enabled=True, sflow_port=2055)
    assert FlowsConfig(enabled=True).sflow_port is None  # off unless configured: sFlow on flows.port


def test_a_taken_sflow_port_fails_the_start_naming_it() -> None:
    """The sFlow port already bound by another socket: bind() raises naming flows.sflow_port and its address, and
    leaves the NetFlow port free again (it can be bound at once)."""
    import socket

    from tests.conftest import free_port

    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = free_port()
    settings = FlowsConfig(enabled=True, host="127.0.0.1", port=port, sflow_port=taken.getsockname()[1])
    receiver = FlowReceiver(settings, lambda _m: None)
    try:
        with pytest.raises(OSError, match=rf"sFlow \(flows.sflow_port\) on 127.0.0.1:{settings.sflow_port}"):
            receiver.bind()
        again = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        again.bind(("127.0.0.1", port))
        again.close()
    finally:
        taken.close()
