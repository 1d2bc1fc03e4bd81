"""Proof that the rules and dashboards work the day they are installed.

A real Prometheus scrapes a real collector that polls a real snmpd and receives a real
agent's reports, with a real fault (and its incident, acknowledged); it loads rules/.
Then every recording rule and every dashboard panel's query goes through Prometheus's
HTTP API: each must parse and return data. Only panels on hardware sensors a virtual
machine does not have (temperatures, fans, SMART) may come back empty, and they are named.

The collector also receives HJ 212 from a DAU (two points: ww1 sends the hour before the current one, ww2
nothing), pings a link (ICMP RTT and loss) and checks an HTTPS server whose certificate expires in a day, so
the HJ 212 dashboard, the link latency and loss and the certificate panels have data too.
"""
from __future__ import annotations

import http.server
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import yaml

from opsmon.collector.inputs.hj212 import wrap
from tests.collector.inputs.flow_packets import v5
from tests.collector.inputs.test_hj212_service import ASSETS as HJ212_ASSETS
from tests.conftest import ROOT, closed_port, free_port
from tests.peers.agent import AgentProc, agent_config
from tests.peers.collector import wait_for
from tests.peers.prometheus import Prometheus
from tests.peers.smtp import self_signed
from tests.peers.snmp import credentials_yaml

PLATFORM_DEPENDENT = ("opsmon_host_temperature_celsius", "opsmon_host_fan_rpm", "opsmon_host_smart_healthy")
# A link's volume baseline needs flows.baseline.min_weeks (2) weeks of stored intervals, which a proof of minutes
# cannot have: those panels stay empty here (the baseline's figures: tests/collector/inputs/test_flows_baseline.py).
NEEDS_WEEKS = ("opsmon_flow_link_baseline_bytes",)
BUILTINS = {"__rate_interval": "1m", "__interval": "5s", "__range": "5m", "__range_s": "300", "interval": "5s"}


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) for every query of every panel, rows' panels included."""
    out = []
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")):
        doc = json.loads(path.read_text())
        stack = list(doc.get("panels", []))
        while stack:
            panel = stack.pop(0)
            stack.extend(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((path.stem, panel.get("title", "?"), target["expr"]))
    return out


def concrete(expr: str) -> str:
    """Grafana's variables replaced as Grafana would with 'All' selected."""
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return BUILTINS.get(name, ".*")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", sub, expr)


class _Portal(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _https(tmp_path: Path) -> http.server.ThreadingHTTPServer:
    """An HTTPS server on loopback whose self-signed certificate expires in a day (tests/peers/smtp.self_signed)."""
    cert, key = self_signed(tmp_path, "portal")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, name="proof-https", daemon=True).start()
    return server


def _hj212_hour(port: int) -> datetime:
    """ww1 (MN DXCBZ000000005) sends the hourly values of the hour before the current one, both flagged N, then
    the same frame with a wrong password (refused, reason password). Returns the hour (Asia/Shanghai)."""
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    segment = (f"QN={hour:%Y%m%d%H%M%S}000;ST=32;CN=2061;PW=PASSWORD;MN=DXCBZ000000005;Flag=5;"
               f"CP=&&DataTime={hour:%Y%m%d%H%M%S};w01018-Avg=12.5,w01018-Flag=N;w21003-Avg=0.8,w21003-Flag=N&&")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as dau:
        dau.sendall(wrap(segment.replace("PASSWORD", "123456")))
        assert b"CN=9014" in dau.recv(4096)  # Flag=5 asks for the answer: sent once the values are stored
        dau.sendall(wrap(segment.replace("PASSWORD", "654321")))
        time.sleep(0.2)
    return hour


# The DAU of the receiver's service test, silent for an hour before it is down (no third incident here), and a
# second point with an MN of its own that never sends (a point at 0).
DAU = HJ212_ASSETS.split("assets:\n", 1)[1].replace("stale_after: 3s", "stale_after: 1h") + \
    "          ww2: {mn: DXCBZ000000006, factors: {w01018: {limit: 50}}}\n"


def _flows(port: int, stop: threading.Event) -> None:
    """wan-01's exporter (127.0.0.1): two flows every 0.5 s, one to a destination outside the allowed networks;
    and a stranger (127.0.0.3) refused as an unknown exporter, so every flow panel has a series."""
    exporter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    exporter.bind(("127.0.0.1", 0))
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.3", 0))
    try:
        while not stop.is_set():
            exporter.sendto(v5([("10.1.0.5", "10.2.0.9", 443, 6, 1000, 2), ("10.1.0.6", "198.51.100.7", 80, 6, 40, 1)]),
                            ("127.0.0.1", port))
            stranger.sendto(v5([("10.9.9.9", "10.2.0.9", 80, 6, 9999, 1)]), ("127.0.0.1", port))
            stop.wait(0.5)
    finally:
        exporter.close()
        stranger.close()


def test_rules_and_every_dashboard_query_return_data(snmpd, collector_factory, tmp_path: Path) -> None:
    portal = _https(tmp_path)
    hj212_port = free_port()
    flow_port = free_port()
    c = collector_factory(f"""
assets:
  - id: sw-core
    name: 核心交换机
    category: network
    site: prefecture-01
    address: 127.0.0.1
    checks: [{{type: snmp, credential: v2, port: {snmpd.port}, interval: 2s,
              profiles: [auto, interfaces-packets]}}]
  - id: wan-01
    name: 一号专线
    category: link
    site: prefecture-01
    checks: [{{type: snmp_interface, device: sw-core, interface: lo, interval: 2s}},
             {{type: icmp, host: 127.0.0.1, packets: 2, interval: 2s}}]
  - id: portal
    name: 门户网站
    category: system
    site: urumqi
    checks: [{{type: http, url: "https://127.0.0.1:{portal.server_address[1]}/", tls_verify: false, tls_warn_days: 0,
              interval: 2s}}]
  - id: db-01
    category: server
    site: urumqi
    criticality: high
    address: 127.0.0.1
    checks: [{{type: tcp, port: {closed_port()}}}]
  - id: db-02
    category: server
    site: urumqi
    address: 127.0.0.1
    checks: [{{type: tcp, port: {closed_port()}}}]
""" + DAU, extra="api:\n  public_read: true\nagents:\n  interval: 1s\nsla:\n  refresh: 1s\n"
            "snmp:\n  credentials:\n" + credentials_yaml("    ") + "\n"
            f"hj212:\n  enabled: true\n  port: {hj212_port}\n  credentials:\n    dxcbz: {{password: '123456'}}\n"
            f"flows:\n  enabled: true\n  host: 127.0.0.1\n  port: {flow_port}\n  interval: 1s\n"
            "  exporters: {'127.0.0.1': wan-01}\n  allowed_destinations:\n    networks: [10.0.0.0/8]\n")
    c.start()
    stop_flows = threading.Event()
    flows = threading.Thread(target=_flows, args=(flow_port, stop_flows), daemon=True)
    flows.start()
    hour = _hj212_hour(hj212_port)
    # In a half-month's first hour (00:xx on the 1st or 16th) the hour sent belongs to the previous half-month:
    # nothing is due yet in this one and its rates have no value (0/0), so those panels may be empty then.
    first_hour = (hour + timedelta(hours=1)).hour == 0 and (hour + timedelta(hours=1)).day in (1, 16)
    token = c.cli("agents", "enroll", "web-01", "--category", "server", "--site", "urumqi").stdout.strip()
    operator = c.cli("tokens", "create", "li.wei", "--role", "operator").stdout.strip()
    auth_log = tmp_path / "auth.log"
    auth_log.write_text("")
    agent = AgentProc(agent_config(tmp_path, c.base, token, 'services = ["python3", "opsmon-absent-svc"]\n'
                                   f'auth_log = "{auth_log}"\n'))
    prom = Prometheus([f"127.0.0.1:{c.port}"], sorted((ROOT / "rules" / "prometheus").glob("*.yml")))
    try:
        # Logins and failures in the host's auth log, after the agent started reading it: its first
        # read starts at the end and records the position, so lines written earlier are never seen.
        wait_for(lambda: "file" in json.loads((tmp_path / "spool" / "auth-state.json").read_text() or "{}")
                 if (tmp_path / "spool" / "auth-state.json").exists() else False, 60,
                 "the agent's first read of the auth log")
        stamp = time.strftime("%b %d %H:%M:%S")
        with auth_log.open("a") as log:
            log.write(f"{stamp} web-01 sshd[4242]: Failed password for root from 192.0.2.7 port 50022 ssh2\n"
                      f"{stamp} web-01 sshd[4243]: Accepted publickey for li from 192.0.2.10 port 50023 ssh2\n")
        # Two faults: db-01's incident is acknowledged and resolved by hand, db-02's stays open.
        incidents = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(
            c.get("/api/v1/incidents?status=active").json()), 30, "two incidents")
        first = next(i for i in incidents if i["asset"] == "db-01")
        auth = {"Authorization": f"Bearer {operator}"}
        httpx.post(f"{c.base}/api/v1/incidents/{first['id']}/ack", json={"note": "proof"},
                   headers=auth).raise_for_status()
        httpx.post(f"{c.base}/api/v1/incidents/{first['id']}/resolve", json={"note": "restarted"},
                   headers=auth).raise_for_status()

        def ready() -> bool:
            needed = ("opsmon:host_cpu_utilisation:ratio_rate5m", "rate(ifHCInOctets[1m])",
                      "opsmon:asset_up:avg_by_site", "opsmon_sla_value",
                      "opsmon_incident_time_to_acknowledge_seconds_count",
                      "opsmon_incident_time_to_resolve_seconds_count", "opsmon:if_utilisation:ratio_rate5m",
                      "hrProcessorLoad", "opsmon_host_auth_failures_total", "opsmon_compliance_ratio",
                      "opsmon_icmp_rtt_seconds", "opsmon_tls_cert_not_after_seconds",
                      "opsmon_hj212_frames_refused_total", 'opsmon_hj212_transmitted_hourly_values{point="ww1"} > 0',
                      "opsmon_flow_outside_events_total > 0", "rate(opsmon_flow_link_bytes_total[1m]) > 0",
                      "rate(opsmon_flow_site_bytes_total[1m]) > 0")
            missing[:] = [q for q in needed if not prom.query(q)["data"]["result"]]
            return not missing

        missing: list[str] = []
        try:
            wait_for(ready, 90, "Prometheus to hold agent, SNMP, SLA and incident data")
        except AssertionError as e:
            raise AssertionError(f"{e}; still empty: {missing}") from None
        time.sleep(3)

        empty, failed = [], []
        for group in prom.rules():
            for rule in group["rules"]:
                assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
                if rule["type"] == "recording":
                    answer = prom.query(rule["name"])
                    if not answer["data"]["result"]:
                        empty.append(("recording rule", rule["name"]))
        queries = panel_queries()
        assert len(queries) >= 20, "the dashboards are missing"
        with ThreadPoolExecutor(4) as pool:  # Prometheus answers queries in parallel: the proof's runtime stays
            answers = list(pool.map(lambda q: prom.query(concrete(q[2])), queries))
        for (dashboard, title, expr), answer in zip(queries, answers, strict=True):
            if answer.get("status") != "success":
                failed.append((dashboard, title, expr, answer.get("error")))
            elif not answer["data"]["result"] and not any(m in expr for m in PLATFORM_DEPENDENT + NEEDS_WEEKS) and not (
                    first_hour and "opsmon_hj212_" in expr and ("_hourly_values" in expr or "_ratio" in expr)):
                empty.append((f"{dashboard}: {title}", expr))
        assert failed == [], failed
        assert empty == [], "\n".join(map(str, empty))

        # HJ 212 by hand. The hour sent is the DAU's first value, so its life and the hours due start there: due are
        # the complete hours from it to now, 1 (2 if the clock has passed an hour since). ww1's two factors each
        # sent it, flag N: 实传 1, 有效 1, rate 1/due; ww2 sent nothing: 实传 0, its point at 0 (0/due).
        def hj(name: str, point: str, factor: str) -> float:
            result = prom.query(f'opsmon_hj212_{name}{{point="{point}",factor="{factor}"}}')
            return float(result["data"]["result"][0]["value"][1])

        if not first_hour:
            due = hj("should_hourly_values", "ww1", "w01018")
            assert due in (1, 2)
            assert [hj(f"{k}_hourly_values", "ww1", f) for k in ("transmitted", "effective")
                    for f in ("w01018", "w21003")] == [1, 1, 1, 1]
            assert (hj("should_hourly_values", "ww2", "w01018"), hj("transmitted_hourly_values", "ww2", "w01018")) \
                == (due, 0)
            rate = prom.query('opsmon_hj212_effective_transmission_ratio{point="ww1",factor="w21003"}')
            assert float(rate["data"]["result"][0]["value"][1]) == 1 / due
            at_0 = prom.query('count(sum by (asset, point) (opsmon_hj212_effective_hourly_values)'
                              ' / sum by (asset, point) (opsmon_hj212_should_hourly_values) == 0)')
            assert at_0["data"]["result"][0]["value"][1] == "1"  # ww2
        # This collector's /metrics has the HJ 212, ICMP, certificate and asset families: promtool finds nothing in
        # them. (It flags the SNMP series, which keep snmp_exporter's names and camelCase labels, and the agents'
        # opsmon_host_cpu_count; test_selfwatch.py checks a collector that has neither.)
        lint = subprocess.run([shutil.which("promtool") or "promtool", "check", "metrics"],
                              input=c.get("/metrics").text, capture_output=True, text=True, timeout=30)
        found = (lint.stdout + lint.stderr).splitlines()
        ours = ("opsmon_hj212_", "opsmon_icmp_", "opsmon_asset_", "opsmon_tls_", "opsmon_sla_", "opsmon_incident")
        assert found and [line for line in found if line.startswith(ours)] == [], found
        refused = prom.query('opsmon_hj212_frames_refused_total{reason="password"}')["data"]["result"]
        assert [r["value"][1] for r in refused] == ["1"]
        # Flows per site: wan-01 is prefecture-01's only link, so the site's bytes are the link's, in the same scrape;
        # its exporter is placed by the inventory as a link of prefecture-01.
        same = prom.query('opsmon_flow_site_bytes_total{site="prefecture-01"} - on() '
                          'opsmon_flow_link_bytes_total{link="wan-01"}')["data"]["result"]
        assert [r["value"][1] for r in same] == ["0"]
        info = prom.query("opsmon_flow_exporter_info")["data"]["result"]
        assert [(r["metric"]["exporter"], r["metric"]["link"], r["metric"]["site"], r["metric"]["inventory"])
                for r in info] == [("127.0.0.1", "wan-01", "prefecture-01", "link")]
        # ICMP to loopback, 2 requests a run, both answered: loss 0. The certificate expires in a day (under 30).
        assert prom.query('opsmon_icmp_loss_ratio{asset="wan-01"}')["data"]["result"][0]["value"][1] == "0"
        days = prom.query('(opsmon_tls_cert_not_after_seconds{asset="portal"} - time()) / 86400')["data"]["result"]
        assert 0.9 < float(days[0]["value"][1]) < 1.01

        # The collector watched by Prometheus (issue 20): healthy, so its self-watch alerts are inactive on the
        # real series (Prometheus scraped /metrics gzipped: it asks for gzip); stopped, the scrape fails and
        # OpsmonCollectorDown goes pending at the next evaluation (it fires after its `for: 2m`).
        def selfwatch() -> dict[str, str]:
            group = next(g for g in prom.rules() if g["name"] == "opsmon-collector")
            return {r["name"]: r["state"] for r in group["rules"]}

        assert selfwatch() == dict.fromkeys(("OpsmonCollectorDown", "OpsmonCollectorNotScraped", "OpsmonStoreFailing",
                                             "OpsmonStoreDroppingOperations", "OpsmonStoreQueueGrowing",
                                             "OpsmonSlaWorkerStale"), "inactive")
        assert [r["value"][1] for r in prom.query('opsmon_store_healthy{job="opsmon"}')["data"]["result"]] == ["1"]
        assert [r["value"][1] for r in prom.query('opsmon_build_info{job="opsmon"}')["data"]["result"]] == ["1"]
        c.stop()
        wait_for(lambda: selfwatch()["OpsmonCollectorDown"] == "pending", 15,
                 "OpsmonCollectorDown pending after the collector stopped")
    finally:
        stop_flows.set()
        flows.join(5)
        prom.stop()
        agent.stop()
        portal.shutdown()


def test_dashboard_provisioning_points_at_prometheus() -> None:
    ds = yaml.safe_load((ROOT / "grafana" / "provisioning" / "datasources" / "opsmon.yaml").read_text())
    assert any(d.get("type") == "prometheus" for d in ds["datasources"])
    boards = yaml.safe_load((ROOT / "grafana" / "provisioning" / "dashboards" / "opsmon.yaml").read_text())
    assert boards["providers"] and boards["providers"][0]["type"] == "file"

