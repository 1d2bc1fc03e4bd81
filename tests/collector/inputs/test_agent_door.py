"""The agents' door keeps its promise: a report answered `accepted` (or `duplicate`) is on disk, whatever
kills the collector next; bad values are refused at the door with the field, never a 500."""
from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from opsmon.collector.store import open_store
from opsmon.collector.store.models import AgentStream
from tests.peers.collector import STREAM, post_report, stored_reports, wait_for


def test_every_answered_report_survives_kill_9(collector_factory, tmp_path: Path) -> None:
    """Three rounds of 20 reports, each round ended by kill -9 right after the last answer: all 60 stored.

    Before the writer's commit was awaited, the reports of the last ~50 ms before the kill were answered
    and lost (the agent deletes what was answered)."""
    c = collector_factory("assets: []\n", extra="agents:\n  interval: 60s\n")
    c.start()
    token = c.cli("agents", "enroll", "web-01", "--category", "server").stdout.strip()
    seq, ts = 0, 0.0
    for _round in range(3):
        for _ in range(20):
            seq, ts = seq + 1, time.time()
            r = post_report(c, token, seq, ts=ts)
            assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        c.crash()
        assert stored_reports(c, "web-01") == (seq, seq)
        c.start()
    # after the restarts the collector still knows every sequence it answered: a resend is a duplicate
    assert post_report(c, token, seq, ts=ts).json()["status"] == "duplicate"
    assert stored_reports(c, "web-01") == (60, 60)


def test_bad_values_are_refused_at_the_door_with_the_field(collector_factory) -> None:
    c = collector_factory("assets: []\n", extra="agents:\n  interval: 60s\n")
    c.start()
    token = c.cli("agents", "enroll", "db-01", "--category", "server").stdout.strip()
    url, auth = c.base + "/api/v1/agent/report", {"Authorization": f"Bearer {token}"}
    r = post_report(c, token, 2 ** 63)  # beyond the store's 64-bit sequence column
    assert r.status_code == 422 and r.json()["detail"].startswith("seq"), r.text
    r = post_report(c, token, 1, ts=-1e12)  # before the year 1
    assert r.status_code == 422 and "ts" in r.json()["detail"], r.text
    r = httpx.post(url, timeout=10, headers={**auth, "X-Opsmon-Sent-At": "1e308"}, json={
        "schema": 1, "stream": STREAM, "seq": 1, "ts": time.time(), "interval": 1, "metrics": {}})
    assert r.status_code == 422 and r.json()["detail"] == "X-Opsmon-Sent-At must be Unix seconds", r.text
    deep = b'{"schema":1,"metrics":' + b"[" * 10000 + b"]" * 10000 + b"}"
    r = httpx.post(url, content=deep, headers=auth, timeout=10)
    assert r.status_code == 422 and "deep" in r.json()["detail"], r.text
    # none of it cost a good report, and nothing was stored from the bad ones
    assert post_report(c, token, 1).json()["status"] == "accepted"
    assert stored_reports(c, "db-01") == (1, 1)
    assert "Traceback" not in c.log()


def test_while_the_store_cannot_be_written_reports_get_503_and_none_is_lost(collector_factory) -> None:
    """The database locked by another process: the door answers 503 with Retry-After (the agent keeps the
    report), health says degraded; unlocked, the resend is taken and every report is stored once."""
    import sqlite3

    c = collector_factory("assets: []\n", extra="agents:\n  interval: 60s\napi:\n  public_read: true\n")
    c.start()
    token = c.cli("agents", "enroll", "app-01", "--category", "server").stdout.strip()
    assert post_report(c, token, 1).json()["status"] == "accepted"
    lock = sqlite3.connect(c.config.parent / "opsmon.db", isolation_level=None, timeout=30)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        second = time.time()  # the agent keeps the refused report and sends it again unchanged, ts included
        refused = wait_for(lambda: (r := post_report(c, token, 2, ts=second)).status_code == 503 and r, 60,
                           "a 503 while locked")
        assert refused.headers["retry-after"] == "10" and "keep" in refused.json()["detail"], refused.text
        health = wait_for(lambda: (h := c.get("/api/v1/health").json())["status"] == "degraded" and h, 30,
                          "health to say degraded")
        assert "locked" in health["store_error"], health
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    answer = wait_for(lambda: (r := post_report(c, token, 2, ts=second)).status_code == 200 and r.json(), 60,
                      "the resend taken")
    assert answer["status"] in ("accepted", "duplicate")  # duplicate: the first copy was committed after all
    health = c.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["store_error"] is None
    c.crash()
    assert stored_reports(c, "app-01") == (2, 2)


def test_the_writer_sets_aside_only_the_operation_python_refuses(tmp_path: Path) -> None:
    """An integer beyond 64 bits raises OverflowError in the driver (not an SQLAlchemy error): only that
    operation is dropped and counted; the rest of its batch is committed. Its waiter is told the batch was not
    all stored (StoreRefused: the door answers 503), never "committed": before, the door answered 200 for a
    report whose operation had been set aside."""
    from datetime import UTC, datetime

    import pytest

    from opsmon.collector.core.messages import Event, StreamPosition
    from opsmon.collector.store.models import Event as EventRow
    from opsmon.collector.store.writer import StoreRefused, StoreWriter

    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    now = datetime.now(UTC)
    writer = StoreWriter(store, now)
    writer.start()
    writer.put(Event(None, now, "test", "trap", "before", "info", "kept"))
    writer.put(StreamPosition("srv", STREAM, 2 ** 63, now))
    writer.put(Event(None, now, "test", "trap", "after", "info", "kept"))
    with pytest.raises(StoreRefused):
        writer.durable().result(timeout=30)
    writer.put(Event(None, now, "test", "trap", "later", "info", "kept"))
    writer.durable().result(timeout=30)  # the next batch, all committed: answered as such
    assert writer.stop()
    assert writer.dropped == 1 and writer.failing is None  # set aside, not a store fault
    with store.session() as s:
        assert sorted(e.name for e in s.scalars(select(EventRow))) == ["after", "before", "later"]
        assert s.scalar(select(func.count()).select_from(AgentStream)) == 0
    store.close()


def test_a_waiter_that_gave_up_does_not_stop_the_writer(tmp_path: Path) -> None:
    """A door whose wait timed out cancels its future; the writer answers the others and goes on."""
    from datetime import UTC, datetime

    from opsmon.collector.core.messages import Heartbeat
    from opsmon.collector.store.writer import StoreWriter

    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    writer = StoreWriter(store, datetime.now(UTC))
    writer.put(Heartbeat())
    gave_up, waiting = writer.durable(), writer.durable()
    assert gave_up.cancel()
    writer.start()
    waiting.result(timeout=30)
    writer.put(Heartbeat())
    writer.durable().result(timeout=30)
    assert writer.alive and writer.stop()
    store.close()


def test_a_backlog_replayed_after_a_restart_opens_no_incident(collector_factory) -> None:
    """Two agents report every second (agents.interval 2 s: silence limit 3 x 2 = 6 s); the collector is killed
    for 10 s while they spool; after its restart each replays its spool oldest first, pausing 0.8 s (four ticks)
    after the first replay (a slow link, or a collector busy with 600 agents' backlogs). One says how many follow
    (X-Opsmon-Backlog, as opsmon-agent does), one is too old to: it is covered only by the start-up grace (no
    silence judged before 6 s after the door opened), so the two agents' replays go in turn, as two agents' would,
    and all of them are in well within the 6 s even on a loaded machine (a 1 s interval left 3 s, which 16
    sequential posts at load 10 sometimes passed).

    Before: the first replay, 10-11 s old, older than the 6 s silence limit, left the agent's latest result stale at
    the next tick: "agent not reporting", an incident opened (and paged), then "resolved" by the next replay."""
    c = collector_factory("assets: []\n", extra="agents:\n  interval: 2s\napi:\n  public_read: true\n")
    c.start()
    agents = {name: c.cli("agents", "enroll", name, "--category", "server").stdout.strip()
              for name in ("says-backlog", "old-agent")}
    seqs = dict.fromkeys(agents, 0)
    spools: dict[str, list[dict[str, object]]] = {name: [] for name in agents}

    def report(name: str) -> dict[str, object]:
        seqs[name] += 1
        return {"schema": 1, "stream": STREAM, "seq": seqs[name], "ts": time.time(), "interval": 1, "metrics": {}}

    def send(name: str, doc: dict[str, object], backlog: int | None = None) -> int:
        headers = {"Authorization": f"Bearer {agents[name]}", "X-Opsmon-Sent-At": str(time.time())}
        if backlog is not None:
            headers["X-Opsmon-Backlog"] = str(backlog)
        try:
            return httpx.post(c.base + "/api/v1/agent/report", json=doc, headers=headers, timeout=5).status_code
        except httpx.TransportError:
            return 0

    for _ in range(3):
        for name in agents:
            assert send(name, report(name)) == 200
        time.sleep(1)
    c.crash()
    for _ in range(10):
        for name in agents:
            spools[name].append(report(name))
        time.sleep(1)
    c.start()
    for name in agents:  # the first replay of each
        assert send(name, spools[name][0], len(spools[name]) if name == "says-backlog" else None) == 200
    time.sleep(0.8)  # four ticks (0.2 s) with the agents' latest results 10-11 s old
    for i in range(1, len(spools["old-agent"])):
        for name in agents:
            left = len(spools[name]) - i
            assert send(name, spools[name][i], left if name == "says-backlog" else None) == 200
    for _ in range(4):
        for name in agents:
            assert send(name, report(name)) == 200
        time.sleep(1)
    incidents = c.get("/api/v1/incidents").json()
    assert incidents == [], incidents
    for name in agents:
        states = [(i["state"], i["reason"]) for i in c.get(f"/api/v1/assets/{name}/history").json()["intervals"]]
        assert not [s for s in states if s[0] == "down"], (name, states)
        assert states[-1] == ("up", ""), (name, states)


def test_a_store_fault_longer_than_the_silence_limit_opens_no_incident(collector_factory) -> None:
    """The store is locked for 5 s while an agent reports every second (silence limit 3 s): its reports get 503
    and are kept, then resent oldest first once the store writes again. The collector's own fault is not the
    host's: before, the agent was judged "not reporting" 3 s into the fault (a down interval, an incident)."""
    import sqlite3

    c = collector_factory("assets: []\n", extra="agents:\n  interval: 1s\napi:\n  public_read: true\n")
    c.start()
    token = c.cli("agents", "enroll", "db-02", "--category", "server").stdout.strip()
    kept: list[tuple[int, float]] = []
    seq = 0

    def cycle() -> None:
        nonlocal seq
        seq += 1
        kept.append((seq, time.time()))
        while kept:  # oldest first, as the agent's spool; keep what is not answered 200
            try:
                r = post_report(c, token, kept[0][0], ts=kept[0][1])
            except httpx.TransportError:
                return
            if r.status_code != 200:
                return
            kept.pop(0)

    for _ in range(3):
        cycle()
        time.sleep(1)
    lock = sqlite3.connect(c.config.parent / "opsmon.db", isolation_level=None, timeout=30)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        def degraded() -> bool:
            # A health answer slower than the client's 5 s counts as "not yet": once in three runs of this file
            # (17:25 UTC, 2026-12-06, a quiet machine) one took longer while the lock was taken, so something on
            # the collector's event loop waited on the locked store; which, is not yet found (the note says so).
            try:
                return c.get("/api/v1/health").json()["status"] == "degraded"
            except httpx.TimeoutException:
                return False

        wait_for(degraded, 30, "health degraded")
        for _ in range(5):
            cycle()
            time.sleep(1)
        assert kept, "reports should have been refused while the store was locked"
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    for _ in range(5):
        cycle()
        time.sleep(1)
    assert not kept
    assert c.get("/api/v1/incidents").json() == []
    states = [(i["state"], i["reason"]) for i in c.get("/api/v1/assets/db-02/history").json()["intervals"]]
    assert "down" not in [s for s, _ in states], states
    assert stored_reports(c, "db-02")[1] == seq


def test_one_reports_messages_are_never_split_across_two_commits(tmp_path: Path) -> None:
    """The event loop publishes a report's messages one by one; the writer may wake between two of them. Held
    in StoreWriter.atomic(), they land in one commit: split, a kill -9 between the two commits kept the stream
    position without the data, and the agent's resend was then answered "duplicate" and lost."""
    from datetime import UTC, datetime

    from opsmon.collector.core.messages import Event, StreamPosition
    from opsmon.collector.store.writer import StoreWriter

    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    now = datetime.now(UTC)
    writer = StoreWriter(store, now)
    batches: list[list[str]] = []
    commit = writer._commit

    def recorded(batch: list[object]) -> None:
        batches.append([type(op).__name__ for op in batch])
        commit(batch)  # type: ignore[arg-type]

    writer._commit = recorded  # type: ignore[method-assign]
    writer.start()
    with writer.atomic():
        writer.put(Event(None, now, "test", "agent", "data", "info", ""))
        time.sleep(0.3)  # the writer took the first message and gathered 50 ms meanwhile
        writer.put(StreamPosition("srv", STREAM, 1, now))
    writer.durable().result(timeout=30)
    assert writer.stop()
    store.close()
    assert ["Event", "StreamPosition"] in batches, batches
