"""Prometheus alerts reach opsmon through a real Alertmanager: its webhook payload, sent with the bearer
token from a credentials file as rules/alertmanager.yml configures it, opens an incident in a real
collector, and the resolved notification resolves it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.peers.alertmanager import Alertmanager
from tests.peers.collector import wait_for


def test_alert_through_a_real_alertmanager_opens_and_resolves(collector_factory, tmp_path: Path) -> None:
    c = collector_factory("assets: []\n", extra="api:\n  public_read: true\n")
    c.start()
    token_file = tmp_path / "opsmon-token"
    token_file.write_text(c.cli("tokens", "create", "alertmanager", "--role", "operator").stdout.strip() + "\n")
    token_file.chmod(0o600)
    am = Alertmanager(tmp_path / "am", f"{c.base}/api/v1/alertmanager", token_file).start()
    try:
        started = datetime.now(UTC) - timedelta(minutes=1)
        alert = {"labels": {"alertname": "HostFilesystemFull", "asset": "srv-7", "severity": "critical",
                            "mountpoint": "/var"},
                 "annotations": {"summary": "/var on srv-7 is 97% full"},
                 "startsAt": started.isoformat()}
        assert httpx.post(f"{am.url}/api/v2/alerts", json=[alert], timeout=10).status_code == 200
        inc = wait_for(lambda: next(iter(c.get("/api/v1/incidents?status=active").json()), None), 30,
                       "the incident from Alertmanager's notification")
        assert (inc["asset"], inc["source"], inc["status"]) == ("srv-7", "prometheus", "open")
        assert inc["cause"] == "HostFilesystemFull: /var on srv-7 is 97% full"
        trail = c.get(f"/api/v1/incidents/{inc['id']}").json()["trail"]
        assert [(e["action"], e["actor"]) for e in trail] == [("opened", "opsmon")]  # opened by detection
        # Resolved in Prometheus: Alertmanager sends the resolved notification (send_resolved).
        alert["endsAt"] = datetime.now(UTC).isoformat()
        assert httpx.post(f"{am.url}/api/v2/alerts", json=[alert], timeout=10).status_code == 200
        wait_for(lambda: c.get(f"/api/v1/incidents/{inc['id']}").json()["status"] == "resolved", 30,
                 "the incident resolved by Alertmanager")
        assert len(c.get("/api/v1/incidents").json()) == 1  # firing then resolved: one incident, not two
    finally:
        am.stop()
