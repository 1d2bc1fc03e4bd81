"""The agents' door under faults, with agents sending all along: the collector killed -9 again and again, and
the store's file system filling up (killed -9 in the middle of that fault too). Nothing an agent was told is
stored is missing or stored twice.

What the door promises (route.py): 200 only for a committed report; 503 with Retry-After while the store cannot
be written, so the agent keeps the report and sends it again. The agents here are simulated threads that behave
as the real one does toward the door (spool every report, send the oldest first, delete it only on a 200).
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.peers.collector import STREAM, Collector, wait_for

AGENTS = 8
EVERY = 0.02  # seconds between two new reports of one agent: 8 agents make 400 reports a second
RESEND = 0.2  # seconds before a resend after a non-200 (the door says Retry-After: 10; a test has no 10 s to wait)
# Report n of an agent is dated T0 + n milliseconds (sent without X-Opsmon-Sent-At, so stored as dated): each is
# found again by its time. Dated now, not long ago: old reports would make the timeline call the agents silent.
T0 = int(time.time() * 1000)
# The writer logs a failing commit once a minute and its recovery once: a fault of a few seconds is a handful of
# lines, not one per refused report.
LOG_LINES_PER_FAULT = 20


@dataclass
class Agent:
    """One simulated agent: its spool (sequence numbers not yet answered 200) and what the door answered."""

    name: str
    token: str
    spool: deque[int] = field(default_factory=deque)
    made: int = 0
    answered: list[int] = field(default_factory=list)  # sequences answered 200, in order
    statuses: Counter[int | str] = field(default_factory=Counter)
    no_retry_after: int = 0

    def run(self, base: str, making: threading.Event, stop: threading.Event) -> None:
        url, headers = base + "/api/v1/agent/report", {"Authorization": f"Bearer {self.token}"}
        next_report = time.monotonic()
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                if making.is_set() and time.monotonic() >= next_report:
                    self.made += 1
                    self.spool.append(self.made)
                    next_report += EVERY
                if not self.spool:
                    time.sleep(EVERY / 2)
                    continue
                seq = self.spool[0]
                body = {"schema": 1, "stream": STREAM, "seq": seq, "ts": (T0 + seq) / 1000, "interval": 60,
                        "metrics": {}}
                try:
                    answer = client.post(url, json=body, headers=headers)
                except httpx.HTTPError:  # the collector is down (killed): keep the report
                    self.statuses["no answer"] += 1
                    time.sleep(RESEND)
                    continue
                self.statuses[answer.status_code] += 1
                if answer.status_code == 200:
                    self.answered.append(self.spool.popleft())
                    continue
                if answer.status_code == 503 and answer.headers.get("retry-after") != "10":
                    self.no_retry_after += 1
                time.sleep(RESEND)


def stored_times(db: Path) -> dict[str, list[int]]:
    """Each agent's stored report times (epoch ms), read from the database file after the collector stopped."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT asset_id, ts FROM observations WHERE check_id = 'agent'").fetchall()
    times: dict[str, list[int]] = {}
    for asset, ts in rows:
        times.setdefault(asset, []).append(ts)
    return times


def fill(where: Path) -> Path:
    """Fill the file system at `where` to the last byte with one file; returns it (delete it to free the space)."""
    filler = where / "filler"
    with open(filler, "wb", buffering=0) as f:
        chunk = b"\0" * (1 << 16)
        try:
            while True:
                f.write(chunk)
        except OSError:  # ENOSPC: the last bytes, a little at a time
            for size in (4096, 512, 1):
                try:
                    while True:
                        f.write(b"\0" * size)
                except OSError:
                    continue
    return filler


def log_lines(c: Collector) -> list[str]:
    return c.log().splitlines()


def _account(c: Collector, agents: list[Agent], answered_before_kill: dict[str, list[int]],
             figures: dict[str, object]) -> Counter[int | str]:
    """Adds what was made, answered and stored to `figures`; returns the door's answers by status."""
    stored = stored_times(c.db)
    statuses = sum((a.statuses for a in agents), Counter())
    made = sum(a.made for a in agents)
    lost = duplicates = lost_answered = 0
    for a in agents:
        times = stored.get(a.name, [])
        want = {T0 + seq for seq in range(1, a.made + 1)}
        lost += len(want - set(times))
        duplicates += len(times) - len(set(times))
        lost_answered += len({T0 + seq for seq in answered_before_kill[a.name]} - set(times))
    figures.update({"agents": len(agents), "reports made": made, "answered 200": statuses[200],
                    "answered 503": statuses[503], "no answer (killed)": statuses["no answer"],
                    "other answers": {s: n for s, n in statuses.items() if s not in (200, 503, "no answer")},
                    "stored": sum(len(t) for t in stored.values()), "lost": lost,
                    "lost of those answered before the kill": lost_answered, "duplicates": duplicates})
    return statuses


def _start_agents(c: Collector) -> tuple[list[Agent], list[threading.Thread], threading.Event, threading.Event]:
    agents = [Agent(f"srv-{i:02d}", c.cli("agents", "enroll", f"srv-{i:02d}", "--category", "server").stdout.strip())
              for i in range(AGENTS)]
    making, stop = threading.Event(), threading.Event()
    making.set()
    threads = [threading.Thread(target=a.run, args=(c.base, making, stop), daemon=True) for a in agents]
    for t in threads:
        t.start()
    return agents, threads, making, stop


def _drain(agents: list[Agent], making: threading.Event) -> None:
    """The agents stop making reports and send what they kept, until every spool is empty."""
    making.clear()
    wait_for(lambda: not any(a.spool for a in agents), 90, "every agent's spool to empty")


def _stop(threads: list[threading.Thread], stop: threading.Event) -> None:
    stop.set()
    for t in threads:
        t.join(35)


def test_kill_9_under_load_three_times_loses_nothing_answered(collector_factory) -> None:
    """8 agents send 400 reports a second; the collector is killed -9 three times while they do, and restarted
    each time after 1 s. Every report answered 200 before a kill is stored, every report kept is stored once
    it is resent, none twice."""
    c = collector_factory("assets: []\n", extra="agents:\n  interval: 60s\n")
    c.start()
    agents, threads, making, stop = _start_agents(c)
    answered_before_kill: dict[str, list[int]] = {a.name: [] for a in agents}
    try:
        for _round in range(3):
            taken = sum(a.statuses[200] for a in agents)
            wait_for(lambda taken=taken: sum(a.statuses[200] for a in agents) >= taken + 400, 30, "400 reports taken")
            for a in agents:
                answered_before_kill[a.name] = list(a.answered)
            c.crash()
            time.sleep(1)
            c.start()
        _drain(agents, making)
    finally:
        _stop(threads, stop)
    c.crash()
    figures: dict[str, object] = {"kills": 3}
    statuses = _account(c, agents, answered_before_kill, figures)
    print("\nkill -9 under load:", "; ".join(f"{k}: {v}" for k, v in figures.items()))
    assert not figures["other answers"], figures
    assert statuses["no answer"] >= 3  # the kills did land while the agents were sending
    assert figures["lost"] == 0 and figures["lost of those answered before the kill"] == 0, figures
    assert figures["duplicates"] == 0 and figures["stored"] == figures["reports made"], figures


def test_a_full_disk_loses_nothing_answered_and_the_resends_are_stored(small_tmpfs: Path, collector_factory) -> None:
    """Under load from 8 agents, the store's file system fills twice.

    The first time the space comes back with the collector up: health says degraded with the reason while the
    disk is full, and ok again once a write succeeds. The second time the collector is killed -9 during the
    fault, the space comes back, and it restarts on the same store. During both faults the door answers only 200
    or 503 with Retry-After (never 500, never 200 for what was not committed). At the end every report is stored
    exactly once: those answered 200 before the kill, and those the agents kept and sent again.
    """
    c = collector_factory("assets: []\n", extra="agents:\n  interval: 60s\n", database=small_tmpfs / "opsmon.db")
    c.start()
    agents, threads, making, stop = _start_agents(c)
    figures: dict[str, object] = {}
    try:
        wait_for(lambda: sum(len(a.answered) for a in agents) >= 400, 30, "400 reports taken before the fault")

        # fault 1: the disk fills; it frees again with the collector up
        before = len(log_lines(c))
        filler = fill(small_tmpfs)
        full_at = time.monotonic()
        health = wait_for(lambda: (h := c.get("/api/v1/health").json())["status"] == "degraded" and h, 60,
                          "health to say degraded")
        figures["degraded after s"] = round(time.monotonic() - full_at, 1)
        assert "full" in health["store_error"], health
        wait_for(lambda: sum(a.statuses[503] for a in agents) >= AGENTS, 30, "503s from the door")
        time.sleep(2)  # the fault lasts: the agents keep sending (and keep their reports)
        filler.unlink()
        freed_at = time.monotonic()
        health = wait_for(lambda: (h := c.get("/api/v1/health").json())["status"] == "ok" and h, 60, "health ok")
        figures["ok after space freed s"] = round(time.monotonic() - freed_at, 2)
        assert health["store_error"] is None
        fault_log = log_lines(c)[before:]
        figures["log lines, fault 1"] = len(fault_log)

        # fault 2: the disk fills and the collector is killed -9 in the middle of it
        taken = sum(a.statuses[200] for a in agents)
        wait_for(lambda: sum(a.statuses[200] for a in agents) >= taken + 200, 30, "reports taken again")
        before = len(log_lines(c))
        filler = fill(small_tmpfs)
        wait_for(lambda: c.get("/api/v1/health").json()["status"] == "degraded", 60, "degraded again")
        time.sleep(1)
        fault_log += log_lines(c)[before:]
        figures["log lines, fault 2"] = len(fault_log) - figures["log lines, fault 1"]
        answered_before_kill = {a.name: list(a.answered) for a in agents}
        c.crash()
        filler.unlink()
        c.start()
        time.sleep(1)
        _drain(agents, making)
    finally:
        _stop(threads, stop)
    c.crash()

    statuses = _account(c, agents, answered_before_kill, figures)
    lost, lost_answered, duplicates = figures["lost"], figures["lost of those answered before the kill"], \
        figures["duplicates"]
    print("\nfull disk:", "; ".join(f"{k}: {v}" for k, v in figures.items()))
    assert not figures["other answers"], figures  # never a 500: only 200, or 503 to keep the report
    assert sum(a.no_retry_after for a in agents) == 0
    assert statuses[503] >= AGENTS
    assert lost == 0 and lost_answered == 0 and duplicates == 0, figures
    assert figures["stored"] == figures["reports made"] == statuses[200]
    assert max(figures["log lines, fault 1"], figures["log lines, fault 2"]) <= LOG_LINES_PER_FAULT, \
        "\n".join(line[:300] for line in fault_log)
    assert "Traceback" not in c.log()
