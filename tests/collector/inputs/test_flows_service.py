"""The flow receiver in a real `opsmon serve` (issue 23 item 5): v5 datagrams from the allowed exporter are
summed per link and, once the 1-second interval ends, stored and read back by `opsmon flows top`; the datagrams
of an address that is no exporter are not. One start for all checks."""
from __future__ import annotations

import json
import socket
import time

from tests.collector.inputs.flow_packets import v5
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
    datagrams of 9999 bytes each, refused, so nothing of them appears."""
    port = free_port()
    c = collector_factory(ASSETS, extra=f"""
api:
  public_read: true
flows:
  enabled: true
  host: 127.0.0.1
  port: {port}
  interval: 1s
  exporters: {{"127.0.0.1": wan-kashgar}}
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
    exporter.close()
    stranger.close()

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
    assert "opsmon_flow_datagrams_total 5.0" in metrics and "opsmon_flow_intervals_total 1.0" in metrics
    code, _out, _err = c.stop()
    assert code == 0
    # 127.0.0.3's refusals by reason: its first at once, the second in the line written at stop (1 + 1 = 2).
    assert c.log().count("source=127.0.0.3 refused=unknown_exporter:1") == 2
