"""Proof that the rules and dashboards work the day they are installed.

A real Prometheus scrapes a real collector that polls a real snmpd and receives a real
agent's reports, with a real fault (and its incident, acknowledged); it loads rules/.
Then every recording rule and every dashboard panel's query goes through Prometheus's
HTTP API: each must parse and return data. Only panels on hardware sensors a virtual
machine does not have (temperatures, fans, SMART) may come back empty, and they are named.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import yaml

from tests.conftest import ROOT, closed_port
from tests.peers.agent import AgentProc, agent_config
from tests.peers.collector import wait_for
from tests.peers.prometheus import Prometheus
from tests.peers.snmp import credentials_yaml

PLATFORM_DEPENDENT = ("opsmon_host_temperature_celsius", "opsmon_host_fan_rpm", "opsmon_host_smart_healthy")
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


def test_rules_and_every_dashboard_query_return_data(snmpd, collector_factory, tmp_path: Path) -> None:
    c = collector_factory(f"""
assets:
  - id: sw-core
    category: network
    site: prefecture-01
    address: 127.0.0.1
    checks: [{{type: snmp, credential: v2, port: {snmpd.port}, interval: 2s}}]
  - id: wan-01
    category: link
    site: prefecture-01
    checks: [{{type: snmp_interface, device: sw-core, interface: lo, interval: 2s}}]
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
""", extra="api:\n  public_read: true\nagents:\n  interval: 1s\nsla:\n  refresh: 1s\n"
            "snmp:\n  credentials:\n" + credentials_yaml("    ") + "\n")
    c.start()
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
                      "opsmon_incident_time_to_resolve_seconds_count", "opsmon_if_utilisation_ratio",
                      "hrProcessorLoad", "opsmon_host_auth_failures_total", "opsmon_compliance_ratio")
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
        for dashboard, title, expr in queries:
            answer = prom.query(concrete(expr))
            if answer.get("status") != "success":
                failed.append((dashboard, title, expr, answer.get("error")))
            elif not answer["data"]["result"] and not any(m in expr for m in PLATFORM_DEPENDENT):
                empty.append((f"{dashboard}: {title}", expr))
        assert failed == [], failed
        assert empty == [], "\n".join(map(str, empty))

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
        prom.stop()
        agent.stop()


def test_dashboard_provisioning_points_at_prometheus() -> None:
    ds = yaml.safe_load((ROOT / "grafana" / "provisioning" / "datasources" / "opsmon.yaml").read_text())
    assert any(d.get("type") == "prometheus" for d in ds["datasources"])
    boards = yaml.safe_load((ROOT / "grafana" / "provisioning" / "dashboards" / "opsmon.yaml").read_text())
    assert boards["providers"] and boards["providers"][0]["type"] == "file"

