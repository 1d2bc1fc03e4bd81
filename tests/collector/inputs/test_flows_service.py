"""The flow receiver in a real `opsmon serve` (issue 23 item 5): v5 datagrams from the allowed exporter are
summed per link and, once the 1-second interval ends, stored and read back by `opsmon flows top`; the datagrams
of an address that is no exporter are not; an sFlow datagram on the separate sFlow port, from an exporter whose
link is no asset, is summed under site `unknown` with one warning; per site in /metrics and `opsmon flows sites`.
One start for all checks."""
from __future__ import annotations

import json
import socket
import time

from tests.collector.inputs.flow_packets import ethernet_ipv4, sampled_header, sflow_datagram, sflow_flow_sample, v5
from tests.conftest import free_port
from tests.peers.collector import wait_for

ASSETS = """
assets:
  - id: wan-kashgar
    name: 喀什专线 / WAN link Kashgar
    category: link
    site: kashgar
    address: 127.0.0.1
    checks:
      - {type: icmp}
"""


def test_flows_are_received_summed_stored_and_read(collector_factory) -> None:
    """From 127.0.0.1 (exporter of wan-kashgar): 3 datagrams of 2 records each, 10.1.0.5 -> 10.2.0.9:443/tcp
    1000 bytes 2 packets and 10.1.0.6 -> 10.2.0.9:22/tcp 40 bytes 1 packet: 3 x 1000 = 3000 bytes, 6 packets,
    3 flows and 3 x 40 = 120 bytes, 3 packets, 3 flows; total 3120 bytes. From 127.0.0.3 (no exporter): 2
    datagrams of 9999 bytes each, refused, so nothing of them appears. From 127.0.0.2 (exporter of wan-typo, no
    asset) to the sFlow port: one flow sample at 1 in 256 of a 482-byte frame = 482 x 256 = 123,392 bytes, under
    site unknown; site kashgar (wan-kashgar's) holds 3120."""
    port, sflow_port = free_port(), free_port()
    c = collector_factory(ASSETS, extra=f"""
api:
  public_read: true
flows:
  enabled: true
  host: 127.0.0.1
  port: {port}
  sflow_port: {sflow_port}
  interval: 1s
  exporters: {{"127.0.0.1": wan-kashgar, "127.0.0.2": wan-typo}}
""")
    c.start()
    data = v5([("10.1.0.5", "10.2.0.9", 443, 6, 1000, 2), ("10.1.0.6", "10.2.0.9", 22, 6, 40, 1)])
    exporter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    exporter.bind(("127.0.0.1", 0))
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.3", 0))
    start = time.time()
    time.sleep(1 - start % 1 + 0.05)  # at the start of a 1-second interval, so the 3 land in one
    for _ in range(3):
        exporter.sendto(data, ("127.0.0.1", port))
    for _ in range(2):
        stranger.sendto(v5([("10.9.9.9", "10.2.0.9", 80, 6, 9999, 1)]), ("127.0.0.1", port))
    typo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    typo.bind(("127.0.0.2", 0))
    typo.sendto(sflow_datagram([sflow_flow_sample(256, [sampled_header(1, 482, ethernet_ipv4(
        "10.1.0.8", "10.2.0.9", 6, 443))])]), ("127.0.0.1", sflow_port))
    exporter.close()
    stranger.close()
    typo.close()

    def top() -> dict | None:
        proc = c.cli("flows", "top", "--link", "wan-kashgar", "--period", time.strftime("%Y"), "--format", "json")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        return doc if doc["intervals"] else None

    doc = wait_for(top, 20, "a stored flow interval")
    assert doc["total"] == {"bytes": 3120, "packets": 9, "flows": 6} and doc["intervals"] == 1
    assert [(r["src"], r["dst"], r["dst_port"], r["protocol"], r["bytes"], r["packets"], r["flows"])
            for r in doc["rows"]] == [("10.1.0.5", "10.2.0.9", 443, 6, 3000, 6, 3),
                                      ("10.1.0.6", "10.2.0.9", 22, 6, 120, 3, 3)]
    # /metrics: 3 datagrams x 2 records = 6 from the exporter; 2 refused from 127.0.0.3; 5 datagrams in all.
    metrics = c.get("/metrics").text
    assert 'opsmon_flow_records_total{exporter="127.0.0.1",link="wan-kashgar"} 6.0' in metrics
    assert 'opsmon_flow_refused_total{reason="unknown_exporter",source="127.0.0.3"} 2.0' in metrics
    assert 'opsmon_flow_site_bytes_total{site="kashgar"} 3120.0' in metrics
    assert ('opsmon_flow_exporter_info{exporter="127.0.0.2",inventory="unknown",link="wan-typo",site="unknown"} 1.0'
            in metrics)

    def sites() -> dict | None:
        proc = c.cli("flows", "sites", "--period", time.strftime("%Y"), "--format", "json")
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        return doc if len(doc["sites"]) == 2 else None

    doc = wait_for(sites, 20, "both sites' stored intervals")
    assert [(s["site"], s["bytes"], [link["name"] for link in s["links"]]) for s in doc["sites"]] == [
        ("unknown", 123_392, ["wan-typo"]), ("kashgar", 3120, ["喀什专线 / WAN link Kashgar"])]
    # 3 + 2 + 1 datagrams (the sFlow one on its own port); 2 intervals (one per link)
    metrics = c.get("/metrics").text
    assert "opsmon_flow_datagrams_total 6.0" in metrics and "opsmon_flow_intervals_total 2.0" in metrics
    assert 'opsmon_flow_site_bytes_total{site="unknown"} 123392.0' in metrics
    code, _out, _err = c.stop()
    assert code == 0
    # 127.0.0.3's refusals by reason: its first at once, the second in the line written at stop (1 + 1 = 2).
    assert c.log().count("source=127.0.0.3 refused=unknown_exporter:1") == 2
    assert c.log().count("流量导出设备对应的链路不在资产清单中") == 1  # once, though the receiver ticked for seconds
