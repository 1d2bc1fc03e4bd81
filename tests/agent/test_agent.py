"""The host agent: its collectors against independent oracles, its spool, and real processes end to end."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import func, select

from opsmon.agent.collectors import build
from opsmon.agent.config import load as load_agent_config
from opsmon.agent.errors import ConfigError
from opsmon.agent.spool import Spool
from opsmon.collector.store import open_store
from opsmon.collector.store.models import Asset, Observation
from tests.conftest import free_port
from tests.peers.agent import AgentProc, agent_config
from tests.peers.collector import Collector, wait_for

# -- collectors ------------------------------------------------------------------

def test_collectors_return_their_declared_shapes_on_this_platform() -> None:
    """Contract: every section is present with the right types; optional ones exactly when supported."""
    reg = build(["definitely-not-running-xyz"])
    m = reg.collect()
    assert set(m) == {"cpu", "memory", "system", "filesystems", "disks", "net", "sensors", "services", "smart"}
    assert all(v == 0 for v in reg.errors.values())
    assert m["cpu"]["count"] >= 1 and len(m["cpu"]["per_core"]) == m["cpu"]["count"]
    assert all(isinstance(v, float) for v in m["cpu"]["seconds"].values())
    assert len(m["cpu"]["load"]) == 3
    assert 0 < m["memory"]["available"] <= m["memory"]["total"]
    assert m["system"]["uptime"] > 0 and m["system"]["procs"] > 1
    assert m["services"] == {"definitely-not-running-xyz": False}
    assert (m["smart"] is None) == (shutil.which("smartctl") is None)


def test_filesystem_sizes_match_df() -> None:
    """Oracle: `df -B1` on the same mount, within 1 % (other writers change free space meanwhile)."""
    fs = {d["mountpoint"]: d for d in build([]).collect()["filesystems"]}
    assert "/" in fs
    out = subprocess.run(["df", "-B1", "--output=size,avail", "/"], capture_output=True, text=True, check=True)
    size, avail = map(int, out.stdout.splitlines()[1].split())
    assert fs["/"]["size"] == size
    assert abs(fs["/"]["avail"] - avail) <= 0.01 * size
    assert fs["/"]["files"] > 0


def _proc_net_dev_lo_rx() -> int:
    with open("/proc/net/dev") as fh:
        rows = [line.split() for line in fh.readlines()[2:]]
    return int(next(r for r in rows if r[0] == "lo:")[1])


def test_network_counters_match_proc_net_dev() -> None:
    """Oracle: /proc/net/dev read just before and just after; counters only grow, so ours lies between."""
    before = _proc_net_dev_lo_rx()
    nets = {d["interface"]: d for d in build([]).collect()["net"]}
    after = _proc_net_dev_lo_rx()
    assert before <= nets["lo"]["rx_bytes"] <= after


def test_service_presence_follows_the_process(tmp_path: Path) -> None:
    """A process with a name of its own, so nothing else on the machine can answer for it."""
    name = f"osvc{os.getpid() % 100000}"
    exe = tmp_path / name
    shutil.copy("/bin/sleep", exe)
    proc = subprocess.Popen([str(exe), "30"])
    try:
        # Between fork and exec the child still carries the test's own name: wait for the exec.
        deadline = time.monotonic() + 5
        while psutil.Process(proc.pid).name() != name and time.monotonic() < deadline:
            time.sleep(0.01)
        reg = build([name])
        assert reg.collect()["services"] == {name: True}
    finally:
        proc.kill()
        proc.wait()
    assert reg.collect()["services"] == {name: False}


# -- config and spool ----------------------------------------------------------------

def test_agent_config_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"

    def err(text: str) -> ConfigError:
        path.write_text(text)
        path.chmod(0o600)
        with pytest.raises(ConfigError) as e:
            load_agent_config(path)
        return e.value

    base = 'collector_url = "http://127.0.0.1:1"\ntoken = "opsmon_agent_x"\n'
    assert err(base + "colour = 1\n").key == "colour"
    assert err('token = "opsmon_agent_x"\n').key == "collector_url"
    assert err('collector_url = "http://127.0.0.1:1"\ntoken = "secret"\n').key == "token"
    assert err(base + 'interval = "soon"\n').key == "interval"
    assert "invalid TOML" in str(err("collector_url = \n"))
    # ca_file is read at load, not at the first https request: a missing or non-PEM file names the file and key
    missing = err(base + f'ca_file = "{tmp_path / "no-ca.pem"}"\n')
    assert (missing.file, missing.key) == (str(path), "ca_file") and str(tmp_path / "no-ca.pem") in str(missing)
    (tmp_path / "not-a-ca.pem").write_text("hello\n")
    assert err(base + f'ca_file = "{tmp_path / "not-a-ca.pem"}"\n').key == "ca_file"
    assert err(base + "ca_file = 7\n").key == "ca_file"
    path.write_text(base)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others; chmod 600"):
        load_agent_config(path)


def test_spool_is_bounded_oldest_first_and_counts_survive_restarts(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path), max_bytes=3000, max_age=3600)
    for seq in range(1, 11):
        spool.put(seq, b"x" * 1000)
    assert len(spool) == 3 and spool.dropped == 7
    assert [p.name for p, _ in spool.oldest()] == [f"{s:020d}.report" for s in (8, 9, 10)]
    again = Spool(str(tmp_path), max_bytes=3000, max_age=3600)
    assert again.dropped == 7 and len(again) == 3
    assert again.enforce(now=time.time() + 7200) == 3  # all older than an hour
    assert again.dropped == 10


# -- end to end ---------------------------------------------------------------------

def agent_rows(c: Collector, asset: str) -> int:
    store = open_store(f"sqlite:///{c.config.parent / 'opsmon.db'}", migrate=False)
    with store.session() as s:
        n = s.scalar(select(func.count(Observation.id)).where(Observation.asset_id == asset,
                                                               Observation.check_id == "agent"))
    store.close()
    return n


@pytest.fixture
def started(collector_factory):
    c = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    c.start()
    return c


def test_agent_reports_and_the_host_is_up_with_facts_and_metrics(started: Collector, tmp_path: Path) -> None:
    c = started
    enrolled = c.cli("agents", "enroll", "web-01", "--category", "server", "--site", "urumqi")
    assert enrolled.returncode == 0, enrolled.stderr
    token = enrolled.stdout.strip()
    assert token.startswith("opsmon_agent_")
    port = free_port()
    agent = AgentProc(agent_config(tmp_path, c.base, token, f'services = ["python3"]\nmetrics_port = {port}\n'))
    try:
        wait_for(lambda: c.states().get("web-01", {}).get("state") == "up", 20, "web-01 up")
        local = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text  # the agent's own, loopback only
        assert "opsmon_host_memory_total_bytes " in local and 'opsmon_host_cpu_seconds_total{mode="idle"}' in local
        metrics = c.get("/metrics").text
        assert 'opsmon_host_cpu_seconds_total{asset="web-01",mode="user"}' in metrics
        assert 'opsmon_host_filesystem_avail_bytes{asset="web-01",device=' in metrics
        assert 'opsmon_agent_last_report_timestamp_seconds{asset="web-01"}' in metrics
        asset = c.get("/api/v1/assets/web-01").json()
        assert asset["category"] == "server" and asset["site"] == "urumqi"
    finally:
        err = agent.stop()
    store = open_store(f"sqlite:///{c.config.parent / 'opsmon.db'}", migrate=False)
    with store.session() as s:
        facts = s.get(Asset, "web-01").facts
    store.close()
    assert facts["hostname"] and facts["cpu_count"] >= 1 and facts["memory_bytes"] > 0
    assert token not in err and token not in c.stop()[2]  # secrets never logged


def test_wrong_or_revoked_token_is_refused_and_stores_nothing(started: Collector, tmp_path: Path) -> None:
    c = started
    token = c.cli("agents", "enroll", "pc-07", "--category", "computer").stdout.strip()
    body = json.dumps({"schema": 1, "stream": "ab" * 16, "seq": 1, "ts": time.time(), "interval": 1,
                       "metrics": {}}).encode()

    def post(tok: str | None, content: bytes = body) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        return httpx.post(c.base + "/api/v1/agent/report", content=content, headers=headers, timeout=5)

    assert post(None).status_code == 401
    assert post("opsmon_agent_wrong").status_code == 401
    assert post(token.replace("opsmon_agent_", "opsmon_")).status_code == 401
    assert c.cli("agents", "revoke", "pc-07").returncode == 0
    # The collector's token cache lives 5 s. Probe it with a body that is no report: the token is
    # checked first, so the answer is 422 while the token still counts and 401 once it does not,
    # and nothing is stored either way.
    wait_for(lambda: post(token, b"{not json").status_code == 401, 20, "the revocation to take effect")
    assert post(token).status_code == 401
    assert agent_rows(c, "pc-07") == 0


def test_duplicates_are_stored_once_and_a_fast_clock_is_corrected(started: Collector) -> None:
    c = started
    token = c.cli("agents", "enroll", "db-01").stdout.strip()
    fence = c.cli("agents", "enroll", "db-02").stdout.strip()
    now = time.time()

    def post(seq: int, ts: float, sent_at: float | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if sent_at is not None:
            headers["X-Opsmon-Sent-At"] = str(sent_at)
        doc = {"schema": 1, "stream": "cd" * 16, "seq": seq, "ts": ts, "interval": 1, "metrics": {}}
        return httpx.post(c.base + "/api/v1/agent/report", json=doc, headers=headers, timeout=5)

    r = post(1, now, now)
    assert r.json() == {"status": "accepted", "interval": 1.0}
    assert post(1, now, now).json()["status"] == "duplicate"
    # An agent whose clock is 1 h fast: the offset measured at send corrects its timestamp.
    r = post(2, now + 3600, now + 3600)
    assert r.json()["status"] == "accepted"
    # Without the send time there is nothing to correct by: a timestamp 1 h ahead is refused.
    r = post(3, time.time() + 3600, None)
    assert r.status_code == 422 and "in the future" in r.json()["detail"]
    r = post(4, now, None)
    assert r.status_code == 200
    bad = httpx.post(c.base + "/api/v1/agent/report", content=b"{not json",
                     headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert bad.status_code == 422
    # The store writer commits in order, so once a report accepted after all of the above is
    # stored, everything they queued is stored too: then the count is final.
    doc = {"schema": 1, "stream": "fe" * 16, "seq": 1, "ts": time.time(), "interval": 1, "metrics": {}}
    assert httpx.post(c.base + "/api/v1/agent/report", json=doc, headers={"Authorization": f"Bearer {fence}"},
                      timeout=5).json()["status"] == "accepted"
    wait_for(lambda: agent_rows(c, "db-02") == 1, 15, "the fence report to be stored")
    assert agent_rows(c, "db-01") == 3  # seq 1, 2, 4
    store = open_store(f"sqlite:///{c.config.parent / 'opsmon.db'}", migrate=False)
    with store.session() as s:
        stamps = [o.ts.timestamp() for o in s.scalars(select(Observation).where(Observation.asset_id == "db-01"))]
    store.close()
    assert all(abs(t - now) < 5 for t in stamps), stamps  # the fast report landed at the true time


def test_report_route_answers_as_the_framework_did(started: Collector) -> None:
    """The bare report route: size limits, NaN, 401 headers; other methods and /docs still go to FastAPI."""
    c = started
    token = c.cli("agents", "enroll", "edge-01").stdout.strip()
    url = c.base + "/api/v1/agent/report"
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.post(url, content=b"{}", timeout=5)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"detail": "invalid, revoked or missing agent token"}
    assert r.headers["content-type"] == "application/json"
    r = httpx.post(url, content=b"x" * (1024 * 1024 + 1), headers=auth, timeout=5)
    assert r.status_code == 413 and r.json() == {"detail": "report larger than 1048576 bytes"}

    def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(20):
            yield b"x" * 65536

    assert httpx.post(url, content=chunks(), headers=auth, timeout=5).status_code == 413
    doc = (b'{"schema":1,"stream":"%s","seq":1,"ts":%.3f,"interval":1,"metrics":{"cpu":NaN}}'
           % (b"ef" * 16, time.time()))
    r = httpx.post(url, content=doc, headers=auth, timeout=5)
    assert r.status_code == 422 and "not a JSON report" in r.json()["detail"]
    r = httpx.post(url, content=doc.replace(b"NaN", b"1").replace(b'"interval":1,', b""), headers=auth, timeout=5)
    assert r.status_code == 422 and r.json()["detail"].startswith("interval")
    assert httpx.get(url, timeout=5).status_code == 405
    assert "/api/v1/agent/report" in c.get("/openapi.json").json()["paths"]
    assert agent_rows(c, "edge-01") == 0


def test_collector_outage_is_spooled_replayed_and_never_down(collector_factory, tmp_path: Path) -> None:
    c = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    c.start()
    token = c.cli("agents", "enroll", "file-01").stdout.strip()
    agent = AgentProc(agent_config(tmp_path, c.base, token))
    wait_for(lambda: c.states().get("file-01", {}).get("state") == "up", 20, "file-01 up")
    assert c.stop()[0] == 0
    before = agent_rows(c, "file-01")  # after the stop, which flushed the writer: nothing of these is pending

    def in_spool() -> int:
        return len(list((tmp_path / "spool").glob("*.report")))

    wait_for(lambda: in_spool() >= 3, 15, "the agent to spool 3 reports")  # one a second
    # Kill the agent too and restart it: the spool and the sequence survive.
    agent.proc.kill()
    agent.proc.wait()
    spooled = in_spool()
    stream_before = json.loads((tmp_path / "spool" / "stream.json").read_text())
    agent = AgentProc(agent_config(tmp_path, c.base, token))
    # The restarted agent is running and still spooling (the collector is still down).
    wait_for(lambda: in_spool() > spooled, 20, "the restarted agent to spool a report")
    c.start()
    try:
        wait_for(lambda: not in_spool(), 20, "the spool to drain")
        wait_for(lambda: c.states().get("file-01", {}).get("state") == "up", 20, "file-01 up again")
        # Drained means accepted, not yet written: wait for the writer, not for a guessed time.
        wait_for(lambda: agent_rows(c, "file-01") - before >= spooled, 15, "every spooled report stored")
        stream_after = json.loads((tmp_path / "spool" / "stream.json").read_text())
        assert stream_after["stream"] == stream_before["stream"] and stream_after["seq"] > stream_before["seq"]
        hist = c.get("/api/v1/assets/file-01/history").json()
        states = [i["state"] for i in hist["intervals"]]
        assert "down" not in states, hist["intervals"]
        # The outage is recorded, and the spool's reports (one a second, so no pause past the silence limit
        # between the first three) turn it into what they saw (docs/timeline.md, rule 7): up, never down.
        rows = [(i["state"], i["reason"]) for i in hist["intervals"]]
        assert ("up", "reported while the collector was not running") in rows, rows
    finally:
        agent.stop()


def test_silent_agent_is_down_or_degraded_when_ping_still_answers(collector_factory, tmp_path: Path) -> None:
    c = collector_factory("""
assets:
  - {id: app-01, category: server, address: 127.0.0.1, checks: [{type: icmp}]}
""", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    c.start()
    token = c.cli("agents", "enroll", "app-01").stdout.strip()
    lone = c.cli("agents", "enroll", "app-02").stdout.strip()
    (tmp_path / "a1").mkdir()
    (tmp_path / "a2").mkdir()
    a1 = AgentProc(agent_config(tmp_path / "a1", c.base, token))
    a2 = AgentProc(agent_config(tmp_path / "a2", c.base, lone))
    # app-01 is up on ICMP alone at first: wait until both agents' reports have been seen.
    wait_for(lambda: all(c.get(f"/api/v1/assets/{a}").json().get("check_status", {}).get("agent", {})
                         .get("status") == "up" for a in ("app-01", "app-02")), 20, "both agents reporting")
    a1.proc.kill()
    a2.proc.kill()
    a1.proc.wait()
    a2.proc.wait()
    try:
        wait_for(lambda: c.states()["app-01"]["state"] == "degraded" and c.states()["app-02"]["state"] == "down",
                 30, "app-01 degraded (ping answers) and app-02 down")
    except AssertionError as exc:
        docs = [c.get(f"/api/v1/assets/{a}").json() for a in ("app-01", "app-02")]
        raise AssertionError(f"{exc}: {docs}; {time.time()}") from None
    assert c.states()["app-02"]["reason"] == "agent: agent not reporting"
    assert "agent not reporting" in c.states()["app-01"]["reason"]


def test_agent_verifies_the_collector_certificate(collector_factory, tmp_path: Path) -> None:
    from tests.collector.inputs.test_checks import _tls_files

    ca, _ = _tls_files(tmp_path, days=30)
    c = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n",
                          tls=(tmp_path / "cert.pem", tmp_path / "key.pem", ca))
    c.start()
    token = c.cli("agents", "enroll", "tls-01").stdout.strip()
    untrusting = tmp_path / "no-ca"
    untrusting.mkdir()
    bad = AgentProc(agent_config(untrusting, c.base, token))
    (tmp_path / "ca").mkdir()
    good = AgentProc(agent_config(tmp_path / "ca", c.base, token, f'ca_file = "{ca}"\n'))
    try:
        wait_for(lambda: c.states().get("tls-01", {}).get("state") == "up", 20, "tls-01 up over verified TLS")
        # refused to talk: kept its reports (it logs the failure before spooling the report)
        wait_for(lambda: list((untrusting / "spool").glob("*.report")), 20, "the untrusting agent to spool")
    finally:
        err = bad.stop()
        good.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in err or "certificate verify failed" in err
    assert os.stat(untrusting / "spool").st_mode & 0o077 == 0  # spool readable by the agent's user only


class Gate:
    """A TCP relay between agent and collector that the test can cut and restore."""

    def __init__(self, target_port: int) -> None:
        import threading

        self.target = target_port
        self.port = free_port()
        self.open = threading.Event()
        self.open.set()
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import select
        import socket as s

        srv = s.socket()
        srv.setsockopt(s.SOL_SOCKET, s.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(64)
        srv.settimeout(0.2)
        while not self._stop:
            try:
                client, _ = srv.accept()
            except OSError:
                continue
            if not self.open.is_set():
                client.close()  # the path is cut: connections die at once
                continue
            upstream = s.create_connection(("127.0.0.1", self.target))
            for sock in (client, upstream):
                sock.settimeout(5)
            idle = 0.0
            while self.open.is_set() and idle < 5:  # cutting the path also ends a kept-alive connection
                ready, _, _ = select.select([client, upstream], [], [], 0.2)
                if not ready:
                    idle += 0.2
                    continue
                idle = 0.0
                done = False
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        done = True
                        break
                    (upstream if sock is client else client).sendall(data)
                if done:
                    break
            client.close()
            upstream.close()
        srv.close()

    def close(self) -> None:
        self._stop = True


def test_a_broken_path_to_a_running_collector_is_not_down_time(started: Collector, tmp_path: Path) -> None:
    """The collector runs throughout; the agent cannot reach it for 6 s, spools, then replays.

    While cut, the host shows down (agent not reporting); after the replay the history holds no down."""
    c = started
    token = c.cli("agents", "enroll", "branch-01").stdout.strip()
    gate = Gate(c.port)
    agent = AgentProc(agent_config(tmp_path, f"http://127.0.0.1:{gate.port}", token))
    try:
        wait_for(lambda: c.states().get("branch-01", {}).get("state") == "up", 20, "branch-01 up")
        gate.open.clear()
        wait_for(lambda: c.states()["branch-01"]["state"] == "down", 20, "branch-01 down while cut")
        # Stay cut for two more reports, however slow the machine: they are spooled, then replayed.
        cut = len(list((tmp_path / "spool").glob("*.report")))
        wait_for(lambda: len(list((tmp_path / "spool").glob("*.report"))) >= cut + 2, 20, "two more reports spooled")
        gate.open.set()
        wait_for(lambda: not list((tmp_path / "spool").glob("*.report")), 20, "the spool to drain")
        wait_for(lambda: c.states()["branch-01"]["state"] == "up", 20, "branch-01 up again")
        hist = c.get("/api/v1/assets/branch-01/history").json()["intervals"]
        assert "down" not in [i["state"] for i in hist], hist
    finally:
        agent.stop()
        gate.close()
