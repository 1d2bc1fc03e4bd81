"""The flow receiver (issue 23 item 5): NetFlow v5, v9 and IPFIX datagrams built from the specifications
(tests/collector/inputs/flow_packets.py), decoded, summed per link in fixed intervals, refused with a reason
when malformed, truncated, from an unknown exporter or beyond the rate; and the stored intervals read back.

Every expected figure is summed by hand in the comments beside it.
"""
from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsmon.collector.config.flows import FlowsConfig
from opsmon.collector.core.messages import FlowRow, FlowTop, Message
from opsmon.collector.inputs.flows.aggregate import Aggregator
from opsmon.collector.inputs.flows.decode import Refused
from opsmon.collector.inputs.flows.receiver import FlowReceiver
from opsmon.collector.inputs.flows.templates import Decoder
from opsmon.collector.store.db import Store
from opsmon.collector.store.flows import top_talkers
from opsmon.collector.store.writer import StoreWriter
from tests.collector.inputs.flow_packets import (
    IN_BYTES,
    IN_PKTS,
    IPV6_DST,
    IPV6_SRC,
    L4_DST_PORT,
    PROTOCOL,
    V9_FIELDS,
    flowset,
    ip,
    ipfix_message,
    template,
    v5,
    v9_header,
    v9_record,
)
from tests.conftest import free_port, run_cli, write_config

T0 = 1_800_000_000.0  # a multiple of 300 (6,000,000 x 300): an interval starts here
TCP, UDP = 6, 17


def test_v5_records_are_summed_per_key_with_the_rest_in_other() -> None:
    """Three v5 records, top 1: the two to 10.2.0.9:443/tcp are one key (1500 + 500 = 2000 bytes, 3 + 1 = 4
    packets, 2 flows), the DNS one (120 bytes, 2 packets, 1 flow) falls into `other`."""
    data = v5([("10.1.0.5", "10.2.0.9", 443, TCP, 1500, 3), ("10.1.0.5", "10.2.0.9", 443, TCP, 500, 1),
               ("10.1.0.7", "10.2.0.9", 53, UDP, 120, 2)])
    assert len(data) == 24 + 3 * 48  # header + 3 fixed 48-byte records = 168
    flows = Decoder().decode(data, "192.0.2.1")
    assert flows == [("10.1.0.5", "10.2.0.9", 443, TCP, 1500, 3), ("10.1.0.5", "10.2.0.9", 443, TCP, 500, 1),
                     ("10.1.0.7", "10.2.0.9", 53, UDP, 120, 2)]
    agg = Aggregator(interval=300, top=1, max_keys=10)
    assert agg.add("link-a", flows, T0 + 10) == []
    assert agg.due(T0 + 299.9) == []  # still inside [T0, T0 + 300)
    start = datetime.fromtimestamp(T0, UTC)
    assert agg.due(T0 + 300) == [FlowTop("link-a", start, start + timedelta(seconds=300), (
        FlowRow("10.1.0.5", "10.2.0.9", 443, TCP, 2000, 4, 2), FlowRow("other", "other", -1, -1, 120, 2, 1)))]
    assert agg.open == {}


def test_max_keys_bounds_an_interval_and_totals_stay_exact() -> None:
    """max_keys 2: keys 1 and 2 (10 and 20 bytes) are held, 3 and 4 (30 and 40) go straight to other (70 bytes,
    2 flows); the rows sum to 10 + 20 + 30 + 40 = 100 bytes as sent."""
    agg = Aggregator(interval=60, top=10, max_keys=2)
    agg.add("l", [(f"10.0.0.{n}", "10.9.0.1", 80, TCP, 10 * n, n) for n in (1, 2, 3, 4)], T0)
    (top,) = agg.flush()
    assert top.rows == (FlowRow("10.0.0.2", "10.9.0.1", 80, TCP, 20, 2, 1),
                        FlowRow("10.0.0.1", "10.9.0.1", 80, TCP, 10, 1, 1), FlowRow("other", "other", -1, -1, 70, 7, 2))
    assert sum(r.bytes for r in top.rows) == 100


def test_v9_data_before_its_template_waits_then_decodes() -> None:
    """RFC 3954: a data flowset (id 256) from source id 7 comes before template 256 (22-byte records: src, dst,
    src port, dst port, protocol, tcp flags, bytes, packets). It waits; the template unlocks it. A data set of
    source id 8 with the same template id is another template's (section 5.2) and keeps waiting."""
    dropped: list[str] = []
    decoder = Decoder(pending_sets=2, on_drop=dropped.append)
    two = v9_record("10.1.0.5", "10.9.9.9", 22, TCP, 1000, 10) + v9_record("10.1.0.6", "10.9.9.9", 22, TCP, 3000, 20)
    assert len(flowset(256, two)) == 4 + 44  # 2 x 22 bytes, 48 already a multiple of 4: no padding
    assert decoder.decode(v9_header(2, 7) + flowset(256, two), "192.0.2.1") == []
    assert decoder.decode(v9_header(1, 8) + flowset(256, two), "192.0.2.1") == []
    assert len(decoder.pending) == 2
    flows = decoder.decode(v9_header(1, 7) + flowset(0, template(256, V9_FIELDS)), "192.0.2.1")
    assert flows == [("10.1.0.5", "10.9.9.9", 22, TCP, 1000, 10), ("10.1.0.6", "10.9.9.9", 22, TCP, 3000, 20)]
    assert [key for key, _ in decoder.pending] == [("192.0.2.1", 9, 8, 256)]  # source id 8's still waits
    # Template and data in one datagram; the data set padded 22 + 4 = 26 -> 28 bytes, the 2 pad bytes ignored.
    one = flowset(256, v9_record("10.1.0.7", "10.9.9.8", 161, UDP, 87, 1))
    assert len(one) == 28
    assert decoder.decode(v9_header(1, 7) + one, "192.0.2.1") == [("10.1.0.7", "10.9.9.8", 161, UDP, 87, 1)]
    # Two more orphans (exporter 192.0.2.2) with room for 2: the oldest waiting (source id 8's) is dropped, counted.
    decoder.decode(v9_header(1, 1) + flowset(300, two), "192.0.2.2")
    decoder.decode(v9_header(1, 1) + flowset(301, two), "192.0.2.2")
    assert dropped == ["192.0.2.1"]
    assert len(decoder.pending) == 2


def test_ipfix_reduced_size_enterprise_and_variable_fields_options_skipped() -> None:
    """RFC 7011: template 300 = sourceIPv6Address (16), destinationIPv6Address (16), destinationTransportPort (2),
    protocolIdentifier (1), octetDeltaCount in 3 bytes (reduced-size, section 6.2), packetDeltaCount (8), an
    enterprise element (PEN 9, 4 bytes) and a variable-length one (interfaceName, 82). Record 1's name is 5 bytes
    (1-byte length), record 2's 300 bytes (255, then a 2-byte length, section 7). An options template (set 3,
    id 400) and its data set are skipped: no flow, nothing waiting."""
    fields = [(IPV6_SRC, 16), (IPV6_DST, 16), (L4_DST_PORT, 2), (PROTOCOL, 1), (IN_BYTES, 3), (IN_PKTS, 8),
              (1, 4, 9), (82, 65535)]

    def record(src: str, dst: str, port: int, octets: int, packets: int, name: bytes) -> bytes:
        size = bytes([len(name)]) if len(name) < 255 else b"\xff" + struct.pack(">H", len(name))
        return (ip(src) + ip(dst) + struct.pack(">HB", port, TCP) + octets.to_bytes(3, "big")
                + struct.pack(">Q", packets) + b"\xde\xad\xbe\xef" + size + name)

    options = struct.pack(">HHH", 400, 2, 1) + struct.pack(">HHHH", 10, 4, 1, 8)  # scope ingressInterface; octets
    data = (record("2001:db8::5", "2001:db8::9", 443, 70_000, 50, b"eth0/")
            + record("2001:db8::6", "2001:db8::9", 443, 0x0101_01, 2, b"x" * 300))
    decoder = Decoder()
    # The template set padded to 8 bytes (RFC 7011 section 3.3.1): 4 + (4 + 7 x 4 + 8) = 44 -> 48, 4 zero bytes.
    assert len(flowset(2, template(300, fields), pad_to=8)) == 48
    message = ipfix_message([flowset(2, template(300, fields), pad_to=8), flowset(3, options), flowset(400, b"\0" * 12),
                             flowset(300, data)], domain=42)
    assert decoder.decode(message, "192.0.2.1") == [
        ("2001:db8::5", "2001:db8::9", 443, TCP, 70_000, 50), ("2001:db8::6", "2001:db8::9", 443, TCP, 65793, 2)]
    assert decoder.pending == type(decoder.pending)() and decoder.options_skipped == 1  # 0x010101 = 65793
    # Withdrawn (field count 0): the next data set of template 300 waits again.
    decoder.decode(ipfix_message([flowset(2, struct.pack(">HH", 300, 0))], domain=42), "192.0.2.1")
    assert decoder.decode(ipfix_message([flowset(300, data)], domain=42), "192.0.2.1") == []
    assert len(decoder.pending) == 1


V5_ONE = v5([("10.1.0.5", "10.2.0.9", 443, TCP, 100, 1)])


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "truncated"),
    (b"\x00", "truncated"),
    (b"\x00\x07" + b"\0" * 40, "version"),  # NetFlow v7 is not taken
    (V5_ONE[:10], "truncated"),  # a header cut
    (V5_ONE[:24 + 47], "truncated"),  # one byte short of its record
    (V5_ONE + b"\0", "malformed"),  # a byte more than count x 48
    (struct.pack(">HH", 5, 0) + V5_ONE[4:24], "malformed"),  # count 0
    (struct.pack(">HH", 5, 31) + V5_ONE[4:], "malformed"),  # count above 30
    (v9_header(1, 1)[:19], "truncated"),
    (v9_header(1, 1) + struct.pack(">HH", 256, 2), "malformed"),  # a set shorter than its own header
    (v9_header(1, 1) + struct.pack(">HH", 256, 40) + b"\0" * 8, "truncated"),  # a set past the end
    (v9_header(1, 1) + b"\0\0\0", "truncated"),  # 3 bytes, not a set header
    (v9_header(1, 1) + flowset(7, b"\0" * 4), "malformed"),  # reserved set id
    (v9_header(1, 1) + flowset(0, template(5, V9_FIELDS)), "malformed"),  # template id below 256
    (v9_header(1, 1) + flowset(0, struct.pack(">HH", 256, 3) + struct.pack(">HH", 8, 4)), "truncated"),
    (ipfix_message([], 1)[:15], "truncated"),
    (struct.pack(">HHIII", 10, 40, 0, 0, 1) + b"\0" * 4, "truncated"),  # says 40 bytes, 20 came
    (struct.pack(">HHIII", 10, 16, 0, 0, 1) + b"\0" * 4, "malformed"),  # says 16 bytes, 20 came
    (ipfix_message([flowset(2, template(300, [(82, 65535)])), flowset(300, b"\x09abc")], 1), "truncated"),
])
def test_malformed_and_truncated_datagrams_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        Decoder().decode(data, "192.0.2.1")
    assert refused.value.reason == reason


def test_receiver_over_udp_allow_list_refusals_flood_and_interval() -> None:
    """A real UDP socket on loopback. The rate clock stands still, so exactly `burst` (20) datagrams of
    127.0.0.1 pass. From 127.0.0.2 (no exporter): 1 refused unknown_exporter. From 127.0.0.1: a v7 datagram
    (version) and a cut v5 (truncated) take 2 tokens, then a flood of 30 one-record v5 datagrams: 18 pass,
    12 refused rate. The interval then holds 18 flows: 18 x 100 = 1800 bytes, 18 packets, stored at its end."""
    published: list[Message] = []
    now = [datetime.fromtimestamp(T0 + 5, UTC)]
    settings = FlowsConfig(enabled=True, host="127.0.0.1", port=free_port(), exporters={"127.0.0.1": "link-a"},
                           interval=60, rate=10, burst=20, top=5)
    receiver = FlowReceiver(settings, published.append, lambda: now[0], monotonic=lambda: 100.0)

    async def run() -> None:
        receiver.bind()
        receiver.start()
        await asyncio.sleep(0.05)
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.2", 0))
        exporter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        exporter.bind(("127.0.0.1", 0))
        address = ("127.0.0.1", receiver.port)
        stranger.sendto(V5_ONE, address)
        exporter.sendto(b"\x00\x07" + b"\0" * 40, address)
        exporter.sendto(V5_ONE[:50], address)
        for _ in range(30):
            exporter.sendto(V5_ONE, address)
        deadline = time.monotonic() + 10
        while receiver.counts.datagrams < 33 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        now[0] = datetime.fromtimestamp(T0 + 60, UTC)  # the interval [T0, T0 + 60) has ended
        receiver._tick()
        receiver.close()
        stranger.close()
        exporter.close()

    asyncio.run(run())
    assert receiver.counts.datagrams == 33 and receiver.counts.flows == 18
    assert receiver.counts.refused == {("unknown_exporter", "127.0.0.2"): 1, ("version", "127.0.0.1"): 1,
                                       ("truncated", "127.0.0.1"): 1, ("rate", "127.0.0.1"): 12}
    start = datetime.fromtimestamp(T0, UTC)
    assert published == [FlowTop("link-a", start, start + timedelta(seconds=60),
                                 (FlowRow("10.1.0.5", "10.2.0.9", 443, TCP, 1800, 18, 18),))]


def test_stored_intervals_read_as_top_talkers(store: Store, tmp_path: Path) -> None:
    """Two intervals of link-a in [T0, T0 + 600), one after (ignored) and one of link-b (ignored):
    a->b:443/tcp = 2000 + 100 = 2100 bytes, 4 + 1 = 5 packets, 2 + 1 = 3 flows; c->b:53/udp 900, 9, 3;
    other 120 + 50 = 170, 3, 2. With --limit 1 the DNS row joins other: 170 + 900 = 1070 bytes, 12 packets,
    5 flows. Total 2100 + 1070 = 3170 bytes, 17 packets, 8 flows, over 2 intervals."""
    t0 = datetime.fromtimestamp(T0, UTC)
    five = timedelta(seconds=300)
    writer = StoreWriter(store, t0)
    writer.start()
    for link, start, rows in [
        ("link-a", t0, (FlowRow("a", "b", 443, TCP, 2000, 4, 2), FlowRow("other", "other", -1, -1, 120, 2, 1))),
        ("link-a", t0 + five, (FlowRow("c", "b", 53, UDP, 900, 9, 3), FlowRow("a", "b", 443, TCP, 100, 1, 1),
                               FlowRow("other", "other", -1, -1, 50, 1, 1))),
        ("link-a", t0 + 2 * five, (FlowRow("a", "b", 443, TCP, 99_999, 9, 9),)),
        ("link-b", t0, (FlowRow("a", "b", 443, TCP, 77_777, 7, 7),)),
    ]:
        writer.put(FlowTop(link, start, start + five, rows))
    assert writer.stop()
    rows, total, intervals = top_talkers(store, "link-a", t0, t0 + 2 * five, limit=1)
    assert [(r.src, r.dst, r.dst_port, r.protocol, r.bytes, r.packets, r.flows) for r in rows] == [
        ("a", "b", 443, TCP, 2100, 5, 3), ("other", "other", -1, -1, 1070, 12, 5)]
    assert (total.bytes, total.packets, total.flows, intervals) == (3170, 17, 8, 2)
    store.close()
    config = write_config(tmp_path, "timezone: Asia/Shanghai\ndatabase:\n  path: opsmon.db\n")
    window = ("--from", t0.isoformat(), "--to", (t0 + 2 * five).isoformat())
    proc = run_cli("--config", str(config), "flows", "top", "--link", "link-a", *window, "--limit", "1",
                   "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["total"] == {"bytes": 3170, "packets": 17, "flows": 8} and doc["intervals"] == 2
    assert [(r["src"], r["dst_port"], r["protocol"], r["bytes"]) for r in doc["rows"]] == [
        ("a", 443, TCP, 2100), ("other", None, None, 1070)]
    table = run_cli("--config", str(config), "flows", "top", "--link", "link-a", *window, "--limit", "1").stdout
    assert "tcp" in table and "66.2%" in table  # 2100 / 3170 = 66.25 %
    _api_reads_the_same(tmp_path, t0, t0 + 2 * five)


def _api_reads_the_same(tmp_path: Path, start: datetime, end: datetime) -> None:
    """GET /api/v1/flows/top (in-process, the test_api_local_time way): the same figures as the CLI, the bounds
    in the configured zone; no token 401, a missing link, a bad time or to before from 422."""
    from types import SimpleNamespace

    import httpx

    from opsmon.collector.outputs.api.app import create_app
    from opsmon.collector.store import open_store, tokens

    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    token = tokens.create(store, "reader", "viewer", "test")
    face = SimpleNamespace(store=store, max_body_bytes=1 << 20, timezone="Asia/Shanghai", now=lambda: end,
                           public_read=False)
    app = create_app(face)  # type: ignore[arg-type]
    window = f"from={start.isoformat().replace('+', '%2B')}&to={end.isoformat().replace('+', '%2B')}"

    async def get(query: str, auth: bool = True) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            return await client.get(f"/api/v1/flows/top?{query}",
                                    headers={"Authorization": f"Bearer {token}"} if auth else {})

    try:
        answer = asyncio.run(get(f"link=link-a&{window}&limit=1"))
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        assert doc["total"] == {"bytes": 3170, "packets": 17, "flows": 8} and doc["intervals"] == 2
        assert [(r["src"], r["dst_port"], r["bytes"]) for r in doc["rows"]] == [("a", 443, 2100), ("other", None, 1070)]
        assert doc["start"] == "2027-01-15T16:00:00+08:00"  # T0 = 2027-01-15 08:00:00 UTC
        assert asyncio.run(get(f"link=link-a&{window}", auth=False)).status_code == 401
        assert asyncio.run(get(window)).status_code == 422
        assert asyncio.run(get("link=link-a&from=yesterday&to=today")).status_code == 422
        back = f"from={end.isoformat().replace('+', '%2B')}&to={start.isoformat().replace('+', '%2B')}"
        refused = asyncio.run(get(f"link=link-a&{back}"))
        assert refused.status_code == 422 and "after from" in refused.text
    finally:
        store.close()


def test_flows_are_off_unless_configured_and_exporters_are_addresses() -> None:
    """The default section turns nothing on; an exporter given by name, not address, is a config error."""
    from pydantic import ValidationError

    from opsmon.collector.config.schema import CollectorConfig
    from opsmon.collector.inputs.flows.receiver import make

    class Ctx:
        config = CollectorConfig.model_validate({"database": {"path": "x.db"}})

    assert Ctx.config.flows.enabled is False and make(Ctx()) is None  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="'router-1' is not an IP address"):
        FlowsConfig(enabled=True, exporters={"router-1": "wan-kashgar"})


def test_flow_intervals_are_pruned_after_their_retention(store: Store) -> None:
    """Prune(flow_top_before = T0 + 300 s) deletes the intervals that start before it (link-a's and link-b's at
    T0) and keeps link-a's at T0 + 300 s: c->b 900 + a->b 100 + other 50 = 1050 bytes over 1 interval."""
    from opsmon.collector.core.messages import Prune

    t0 = datetime.fromtimestamp(T0, UTC)
    five = timedelta(seconds=300)
    writer = StoreWriter(store, t0)
    writer.start()
    writer.put(FlowTop("link-a", t0, t0 + five, (FlowRow("a", "b", 443, TCP, 2000, 4, 2),)))
    writer.put(FlowTop("link-b", t0, t0 + five, (FlowRow("a", "b", 443, TCP, 77_777, 7, 7),)))
    writer.put(FlowTop("link-a", t0 + five, t0 + 2 * five, (
        FlowRow("c", "b", 53, UDP, 900, 9, 3), FlowRow("a", "b", 443, TCP, 100, 1, 1),
        FlowRow("other", "other", -1, -1, 50, 1, 1))))
    writer.put(Prune(None, None, None, t0 + five))
    assert writer.flush()
    deadline = time.monotonic() + 30
    while writer.pruning and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not writer.pruning and writer.stop()
    rows, total, intervals = top_talkers(store, "link-a", t0, t0 + 2 * five, limit=5)
    assert [(r.src, r.bytes) for r in rows] == [("c", 900), ("a", 100), ("other", 50)]
    assert (total.bytes, intervals) == (1050, 1)
    assert top_talkers(store, "link-b", t0, t0 + 2 * five)[2] == 0


def test_each_exporter_has_a_last_seen_time_for_the_silence_alert() -> None:
    """opsmon_flow_exporter_last_seen_timestamp_seconds (what OpsmonFlowExporterSilent reads): every configured
    exporter from the receiver's start (T0 + 5); 127.0.0.1's moves to T0 + 30 with a decoded datagram, not to
    T0 + 40 with a truncated one (refused: nothing proves it works); 127.0.0.9 never sent: still T0 + 5."""
    from prometheus_client import CollectorRegistry, generate_latest

    from opsmon.collector.outputs.metrics import FlowCollector

    now = [datetime.fromtimestamp(T0 + 5, UTC)]
    settings = FlowsConfig(enabled=True, exporters={"127.0.0.1": "link-a", "127.0.0.9": "link-b"})
    receiver = FlowReceiver(settings, lambda _m: None, lambda: now[0], monotonic=lambda: 100.0)
    now[0] = datetime.fromtimestamp(T0 + 30, UTC)
    receiver.received(V5_ONE, "127.0.0.1")
    now[0] = datetime.fromtimestamp(T0 + 40, UTC)
    receiver.received(V5_ONE[:50], "127.0.0.1")
    assert receiver.counts.last_seen == {"127.0.0.1": T0 + 30.0, "127.0.0.9": T0 + 5.0}
    registry = CollectorRegistry()
    registry.register(FlowCollector(receiver.counts))
    text = generate_latest(registry).decode()
    name = "opsmon_flow_exporter_last_seen_timestamp_seconds"
    # the exposition writes floats short: 1800000030 as 1.80000003e+09, 1800000005 as 1.800000005e+09
    assert f'{name}{{exporter="127.0.0.1",link="link-a"}} 1.80000003e+09' in text, text
    assert f'{name}{{exporter="127.0.0.9",link="link-b"}} 1.800000005e+09' in text, text
