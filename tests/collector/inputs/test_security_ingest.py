"""Security results from agents in a real collector: baseline runs stored and scored per control point,
a check turning from pass to fail is an event and (where the policy says so) an incident resolved when
it passes again; FIM changes and brute-force sources are events; malformed parts are refused with a 4xx."""
from __future__ import annotations

import sqlite3
import time

import httpx

from tests.peers.collector import wait_for


def test_baseline_findings_scores_and_events(collector_factory) -> None:
    c = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    c.start()
    token = c.cli("agents", "enroll", "srv-01", "--category", "server", "--site", "urumqi").stdout.strip()
    seq = iter(range(1, 1000))

    def post(security: dict) -> httpx.Response:
        now = time.time()
        doc = {"schema": 1, "stream": "ab" * 16, "seq": next(seq), "ts": now, "interval": 1, "metrics": {},
               "security": security}
        return httpx.post(c.base + "/api/v1/agent/report", json=doc, timeout=5,
                          headers={"Authorization": f"Bearer {token}", "X-Opsmon-Sent-At": str(now)})

    def run(root_login: str, empty_pw: str, ran_at: float) -> dict:
        return {"baseline": {"policy": "opsmon-debian", "policy_version": "1.0", "ran_at": ran_at, "results": [
            {"id": "ac.ssh-root-login", "status": root_login, "evidence": "PermitRootLogin " + (
                "no" if root_login == "pass" else "yes")},
            {"id": "ia.no-empty-passwords", "status": empty_pw, "evidence": ""},
            {"id": "ac.shadow-perms", "status": "pass", "evidence": "0640 root:shadow"},
            {"id": "ri.coredump-storage", "status": "not_applicable", "evidence": "systemd-coredump absent"}]}}

    t0 = time.time()
    assert post(run("pass", "fail", t0)).status_code == 200
    scores = {r["control"]: r for r in c.get("/api/v1/compliance?asset=srv-01").json()}
    # access control: ssh root login and shadow permissions pass; identity: the empty password fails
    assert (scores["access_control"]["passed"], scores["access_control"]["failed"]) == (2, 0)
    assert (scores["identity_authentication"]["passed"], scores["identity_authentication"]["failed"]) == (0, 1)
    assert scores["identity_authentication"]["score"] == 0.0 and scores["access_control"]["score"] == 1.0
    assert scores["residual_information"]["score"] is None  # only not-applicable there: nothing counted
    # A failure seen on the first run is a known state, not a finding.
    assert c.get("/api/v1/incidents?status=active").json() == []
    # Root login turns from pass to fail: an event and (incident = true in the policy) a security incident.
    assert post(run("fail", "fail", t0 + 60)).status_code == 200
    inc = wait_for(lambda: c.get("/api/v1/incidents?status=active").json(), 20, "a security incident")[0]
    assert inc["kind"] == "security" and inc["asset"] == "srv-01" and "root" in inc["cause"].lower()
    # events go through the store writer (batched): wait for them rather than race it
    wait_for(lambda: any(e["kind"] == "security" and e["name"] == "ac.ssh-root-login"
                         for e in c.get("/api/v1/events?asset=srv-01").json()), 20, "the security event")
    baseline = c.get("/api/v1/assets/srv-01/baseline").json()
    root = next(ch for ch in baseline["checks"] if ch["id"] == "ac.ssh-root-login")
    assert root["status"] == "fail" and root["control"] == "access_control" and root["title_zh"]
    # An older run replayed late changes nothing; the fix resolves the incident.
    assert post(run("pass", "fail", t0 + 30)).status_code == 200
    assert c.get(f"/api/v1/incidents/{inc['id']}").json()["status"] == "open"
    assert post(run("pass", "fail", t0 + 120)).status_code == 200
    assert c.get(f"/api/v1/incidents/{inc['id']}").json()["status"] == "resolved"
    # FIM and brute force are events; authentication counts reach /metrics.
    assert post({"fim": [{"path": "/etc/passwd", "change": "modified", "detail": "sha256 changed", "ts": t0}],
                 "auth": {"failures": [{"source": "192.0.2.7", "user": "root", "count": 9}],
                          "logins": [{"user": "li.wei", "source": "192.0.2.10", "ts": t0}],
                          "bruteforce": [{"source": "192.0.2.7", "count": 9, "window_s": 60}]}}).status_code == 200
    wanted = {("fim", "modified"), ("auth", "bruteforce")}
    wait_for(lambda: wanted <= {(e["kind"], e["name"]) for e in c.get("/api/v1/events?asset=srv-01").json()},
             20, "the FIM and brute-force events")
    metrics = c.get("/metrics").text
    assert 'opsmon_host_auth_failures_total{asset="srv-01"} 9.0' in metrics
    assert 'opsmon_compliance_ratio{asset="srv-01",control="identity_authentication"} 0.0' in metrics
    # A malformed security part is refused as a whole, with the key named.
    bad = post({"baseline": {"policy": "x", "ran_at": t0, "results": [{"id": "a", "status": "maybe"}]}})
    assert bad.status_code == 422 and "security.baseline.results.0.status" in bad.json()["detail"]
    # A time no datetime holds (found by the API fuzz test: 200, then a traceback inside the commit and the
    # security part lost) is refused before anything is stored, naming the part.
    for part in ({"baseline": {"policy": "x", "ran_at": 1e300, "results": []}},
                 {"auth": {"logins": [{"user": "li.wei", "ts": -1.0}]}}):
        far = post(part)
        assert far.status_code == 422 and "security: ran_at and every ts" in far.json()["detail"], far.text
    # The history behind the report's as-of-period compliance: one row per change, none for repeats
    # or for the older run replayed late.
    c.stop()
    with sqlite3.connect(c.config.parent / "opsmon.db") as db:
        history = db.execute("SELECT check_id, status FROM baseline_history ORDER BY id").fetchall()
    assert history == [("ac.ssh-root-login", "pass"), ("ia.no-empty-passwords", "fail"), ("ac.shadow-perms", "pass"),
                       ("ri.coredump-storage", "not_applicable"), ("ac.ssh-root-login", "fail"),
                       ("ac.ssh-root-login", "pass")]
