"""Notification health in a real `opsmon serve` (issue 18, item 6), one collector start for all of it:
a level whose every channel fails (an endpoint answering 500, a closed port) falls back to the policy's
fallback channel; the counters in /metrics per channel, computed by hand; acknowledging an incident
silences its alert and the original alert it came from in a real Alertmanager, and resolving it expires
both silences."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import closed_port
from tests.peers.alertmanager import Alertmanager
from tests.peers.collector import wait_for
from tests.peers.receiver import Recorder


def test_a_failing_level_falls_back_counters_in_metrics_and_ack_silences(collector_factory, recorder,
                                                                         tmp_path: Path) -> None:
    broken, rescue = recorder((500, b"internal error")), recorder((200, b"{}"))
    am = Alertmanager(tmp_path / "am", "http://127.0.0.1:9/unused").start()
    try:
        _scenario(collector_factory, broken, rescue, am, tmp_path)
    finally:
        am.stop()


def _scenario(collector_factory: Any, broken: Recorder, rescue: Recorder, am: Alertmanager, tmp_path: Path) -> None:
    # Hardware alerts page through Alertmanager; everything else (the tcp fault below) through two channels
    # that both fail, with `rescue` as the policy's fallback. `idle` is configured and used by no policy.
    (tmp_path / "oncall.yaml").write_text(
        "people:\n  li.wei: {name: 李伟, email: li.wei@example.org}\n"
        "policies:\n"
        "  pager:\n    fallback: rescue\n"
        "    levels:\n      - {after: 0s, notify: [person:li.wei], channels: [broken, dead]}\n"
        "  am:\n    levels:\n      - {after: 0s, notify: [person:li.wei], channels: [am]}\n"
        "routes:\n  - {match: {kind: [hardware]}, policy: am}\n  - {policy: pager}\n")
    hook = "{type: webhook, secret: webhook-secret-1, url: "
    down = ("{id: fw-01, category: security, criticality: high, address: 127.0.0.1, "
            f"checks: [{{type: tcp, port: {closed_port()}}}]}}")
    c = collector_factory(f"assets:\n  - {down}\n", extra=("api:\n  public_read: true\n"
            f"incidents:\n  oncall_file: oncall.yaml\n  link_key_file: {tmp_path / 'ack.key'}\n"
            "notify:\n  retry: {backoff: [0.2]}\n  channels:\n"
            f"    broken: {hook}'{broken.url}/hook'}}\n"
            f"    dead: {hook}'http://127.0.0.1:{closed_port()}/hook'}}\n"
            f"    rescue: {hook}'{rescue.url}/hook'}}\n"
            f"    idle: {hook}'{rescue.url}/idle'}}\n"
            f"    am: {{type: alertmanager, url: '{am.url}'}}\n"))
    c.start()
    operator = c.cli("tokens", "create", "li.wei", "--role", "operator").stdout.strip()
    auth = {"Authorization": f"Bearer {operator}"}

    # 1. fw-01 down: the opened notice fails on both channels of level 1 (2 attempts each: backoff [0.2]),
    #    then goes to `rescue` once.
    notice = wait_for(lambda: rescue.requests[0].json() if rescue.requests else None, 30, "the fallback's notice")
    assert (notice["event"], notice["asset_id"], notice["level"]) == ("opened", "fw-01", 1)
    assert len(broken.requests) == 2 and rescue.requests[0].path == "/hook"
    trail = c.get(f"/api/v1/incidents/{notice['incident_id']}").json()["trail"]
    tried = sorted((e["detail"]["channel"], e["detail"]["attempt"], e["action"]) for e in trail
                   if e["action"] in ("delivered", "delivery_failed"))
    assert tried == [("broken", 1, "delivery_failed"), ("broken", 2, "delivery_failed"),
                     ("dead", 1, "delivery_failed"), ("dead", 2, "delivery_failed"), ("rescue", 1, "delivered")]

    # 2. A hardware alert from Alertmanager's webhook: opened on `am`, acknowledged (a silence), resolved
    #    by Alertmanager's resolved notification (the silence expired): three notices on `am`, each delivered at once.
    body = {"alerts": [{"status": "firing", "fingerprint": "f00d", "annotations": {"summary": "fan failed"},
                        "labels": {"alertname": "FanFailed", "instance": "srv-9", "severity": "warning",
                                   "kind": "hardware"}}]}
    answer = httpx.post(f"{c.base}/api/v1/alertmanager", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    [inc_id] = answer.json()["incidents"]
    api, query = am.url + "/api/v2", {"filter": f'incident="{inc_id}"'}
    wait_for(lambda: httpx.get(api + "/alerts", params=query).json(), 30, "the incident's alert in Alertmanager")
    assert httpx.post(f"{c.base}/api/v1/incidents/{inc_id}/ack", json={}, headers=auth).status_code == 200

    def silences() -> list[dict[str, Any]]:
        return [s for s in httpx.get(api + "/silences", params=query).json() if s["createdBy"] == "opsmon"]

    def originals() -> list[dict[str, Any]]:
        """opsmon's silences of the original alert: matchers exactly its four labels (issue 18 item 6)."""
        return [s for s in httpx.get(api + "/silences", params={"filter": 'alertname="FanFailed"'}).json()
                if s["createdBy"] == "opsmon"]

    [sil] = wait_for(silences, 30, "the silence made by the acknowledgement")
    assert sil["status"]["state"] == "active" and "li.wei" in sil["comment"]
    [orig] = wait_for(originals, 30, "the silence of the original alert")
    assert orig["status"]["state"] == "active" and inc_id in orig["comment"]
    assert {m["name"]: m["value"] for m in orig["matchers"]} == body["alerts"][0]["labels"]
    body["alerts"][0]["status"] = "resolved"  # resolved in Prometheus, told by Alertmanager's webhook
    assert httpx.post(f"{c.base}/api/v1/alertmanager", json=body, headers=auth).status_code == 200
    wait_for(lambda: [s["status"]["state"] for s in silences() + originals()] == ["expired"] * 2, 30,
             "both silences expired")

    # 3. The counters, by hand. broken: 2 attempts, 1 notice failed; dead: the same; rescue: 1 attempt,
    #    1 delivered, 1 fallback; am: opened + acknowledged + resolved = 3 attempts, 3 delivered; idle: 0
    #    everywhere but present; nothing dropped.
    want = {"broken": (2, 0, 1, 0, 0), "dead": (2, 0, 1, 0, 0), "rescue": (1, 1, 0, 0, 1),
            "am": (3, 3, 0, 0, 0), "idle": (0, 0, 0, 0, 0)}
    kinds = {"broken": "webhook", "dead": "webhook", "rescue": "webhook", "idle": "webhook", "am": "alertmanager"}

    def lines() -> set[str]:
        return set(c.get("/metrics").text.splitlines())

    expected = {f'opsmon_notifications_{field}_total{{channel="{name}",type="{kinds[name]}"}} {float(n)}'
                for name, values in want.items()
                for field, n in zip(("attempted", "delivered", "failed", "dropped", "fallback"), values, strict=True)}
    wait_for(lambda: expected <= lines(), 20, "the counters computed by hand")
    assert "webhook-secret-1" not in c.log()
