"""One agent, one stream (issue 16 item 6): a second agent process on the same spool must not cost the
running agent's reports, and the collector must notice and recover from a stream that jumps or goes back.

Real processes throughout: `python -m agent` (the installed `opsmon-agent`) against a real collector on
loopback. Before the fix, `--once` beside the service took the next block of sequence numbers from the
shared spool; the collector then answered every live report "duplicate" (stored nothing) for 100
reports (50 minutes at the default 30 s interval), and neither side logged anything.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from opsmon.agent.errors import SpoolBusy
from opsmon.agent.spool import SpoolLock
from tests.agent.test_agent import agent_rows
from tests.conftest import ROOT
from tests.peers.agent import AGENT, AgentProc, agent_config
from tests.peers.collector import Collector, wait_for

WINDOW = 6.0  # seconds of live reports measured after the intrusion; the agent reports every second


def test_the_spool_lock_names_its_holder_and_is_free_again_once_released(tmp_path: Path) -> None:
    """flock conflicts between two opens of the file even in one process, so this needs no second one."""
    held = SpoolLock.acquire(str(tmp_path / "spool"))
    with pytest.raises(SpoolBusy) as busy:
        SpoolLock.acquire(str(tmp_path / "spool"))
    assert busy.value.pid == os.getpid() and busy.value.spool == str(tmp_path / "spool")
    assert f"pid {os.getpid()}" in str(busy.value) and str(tmp_path / "spool") in str(busy.value)
    held.release()
    SpoolLock.acquire(str(tmp_path / "spool")).release()
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700


def _live_rows_after(c: Collector, asset: str, what: str) -> tuple[int, int]:
    """(rows stored in the WINDOW that follows, rows before it), printed: the figures of the test."""
    before = agent_rows(c, asset)
    time.sleep(WINDOW)
    after = agent_rows(c, asset)
    print(f"{what}: {after - before} live reports stored in {WINDOW:.0f} s (rows {before} -> {after})")
    return after - before, before


def _enrolled(collector_factory, name: str) -> tuple[Collector, str]:
    c = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    c.start()
    return c, c.cli("agents", "enroll", name, "--category", "server").stdout.strip()


def test_once_beside_the_running_agent_costs_no_live_report(collector_factory, tmp_path: Path) -> None:
    """`opsmon-agent --once` run by hand beside the service sends its report and every live report of the
    service is still stored. Failed before the fix: 0 live reports stored in the window."""
    c, token = _enrolled(collector_factory, "web-01")
    config = agent_config(tmp_path, c.base, token)
    agent = AgentProc(config)
    try:
        wait_for(lambda: agent_rows(c, "web-01") >= 3, 20, "3 reports of the service stored")
        stream_before = json.loads((tmp_path / "spool" / "stream.json").read_text())
        once = subprocess.run([*AGENT, "--config", str(config), "--once"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        print(f"--once: exit {once.returncode}; stderr: {once.stderr.strip()}")
        assert once.returncode == 0, once.stderr
        live, _ = _live_rows_after(c, "web-01", "after --once beside the service")
        assert live >= WINDOW - 2, "the service's reports were dropped after --once"
        # --once left the service's spool alone: same stream, no block of numbers taken from it
        stream_after = json.loads((tmp_path / "spool" / "stream.json").read_text())
        assert stream_after["stream"] == stream_before["stream"]
        assert stream_after["seq"] - stream_before["seq"] <= 100, (stream_before, stream_after)
    finally:
        agent.stop()


def test_collector_recovers_when_an_older_agent_jumps_the_stream(collector_factory, tmp_path: Path) -> None:
    """What an agent without the spool lock does with `--once`: one report on the service's stream with the
    next reserved block's number. The collector takes the live reports that follow (their timestamps are
    newer than anything it took), counts the anomaly in /metrics and logs it once. Failed before the fix:
    0 live reports stored in the window, no metric, no log line."""
    c, token = _enrolled(collector_factory, "db-01")
    agent = AgentProc(agent_config(tmp_path, c.base, token))
    try:
        wait_for(lambda: agent_rows(c, "db-01") >= 3, 20, "3 reports of the service stored")
        doc = json.loads((tmp_path / "spool" / "stream.json").read_text())
        jumped = doc["seq"] + 1  # the number an old `--once` took: the service's reserved block, plus one
        r = httpx.post(c.base + "/api/v1/agent/report", timeout=10, json={
            "schema": 1, "stream": doc["stream"], "seq": jumped, "ts": time.time(), "interval": 1, "metrics": {}},
            headers={"Authorization": f"Bearer {token}", "X-Opsmon-Sent-At": str(time.time())})
        assert r.json()["status"] == "accepted", r.text
        live, _ = _live_rows_after(c, "db-01", f"after a report at seq {jumped} on the service's stream")
        assert live >= WINDOW - 2, "live reports were dropped as duplicates"
        metrics = c.get("/metrics").text
        back = [line for line in metrics.splitlines() if line.startswith("opsmon_agent_stream_anomalies_total")]
        print("\n".join(back))
        assert 'opsmon_agent_stream_anomalies_total{kind="back"}' in metrics
        assert float(next(x for x in back if 'kind="back"' in x).split()[-1]) >= WINDOW - 2
        warned = [line for line in c.log().splitlines() if "stream" in line and "back" in line]
        print("\n".join(warned))
        assert len(warned) == 1, "the anomaly is logged once per agent and period, not per report"
    finally:
        agent.stop()


def test_a_second_agent_on_the_spool_refuses_and_a_killed_one_frees_it(collector_factory, tmp_path: Path) -> None:
    """A second service process on the same spool exits non-zero naming the holder's pid and the spool; the
    lock is the kernel's, so after kill -9 of the holder a new agent starts at once. Failed before the fix:
    the second agent ran beside the first."""
    c, token = _enrolled(collector_factory, "app-01")
    config = agent_config(tmp_path, c.base, token)
    first = AgentProc(config)
    try:
        wait_for(lambda: agent_rows(c, "app-01") >= 2, 20, "the first agent reporting")
        second = subprocess.run([*AGENT, "--config", str(config)], cwd=ROOT, capture_output=True, text=True,
                                timeout=15)
        print(f"second agent: exit {second.returncode}; stderr: {second.stderr.strip()}")
        assert second.returncode == 3
        assert str(first.proc.pid) in second.stderr and str(tmp_path / "spool") in second.stderr
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        third = AgentProc(config)
        try:
            before = agent_rows(c, "app-01")
            wait_for(lambda: agent_rows(c, "app-01") >= before + 2, 20, "the agent after kill -9 reporting")
            assert third.proc.poll() is None
        finally:
            third.stop()
    finally:
        if first.proc.poll() is None:
            first.stop()
