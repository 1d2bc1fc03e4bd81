"""An active collector and its standby on one PostgreSQL database (issue 22 item 5, docs/operations.md).

Real processes: two `opsmon serve` on one database, the second with `database.standby`, a real agent
reporting every second with both addresses, and a real TCP target. The active one is killed with
SIGKILL; the standby takes the lock, recovers the timeline and starts listening, the agent's spool
drains into it, and the evidence is what a restart of one collector would leave: the time nobody
watched is unknown (from the dead collector's last heartbeat to the standby's start), never down,
and every report the agent made is stored exactly once.
"""
from __future__ import annotations

import json
import signal
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from opsmon.collector.store import open_store
from opsmon.collector.store.models import AgentStream, Observation, StateInterval
from tests.peers.agent import AgentProc, agent_config
from tests.peers.collector import wait_for


def _fresh_database(postgres_url: str) -> str:
    """A database of this test's own on the session's PostgreSQL server."""
    name = f"standby_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return postgres_url.rsplit("/", 1)[0] + "/" + name


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def test_standby_takes_over_after_kill_9_with_the_gap_unknown_and_no_report_lost(
        collector_factory, tcp_listener, postgres_url: str, tmp_path: Path) -> None:
    url = _fresh_database(postgres_url)
    assets = f"""
assets:
  - {{id: db, category: server, address: 127.0.0.1, checks: [{{type: tcp, port: {tcp_listener}}}]}}
"""
    extra = "api:\n  public_read: true\nagents:\n  interval: 1s\n"
    active = collector_factory(assets, extra, folder="a", database_url=url, standby=True)
    standby = collector_factory(assets, extra, folder="b", database_url=url, standby=True)
    active.start()
    token = active.cli("agents", "enroll", "pc-01").stdout.strip()
    assert token.startswith("opsmon_agent_"), token
    agent = AgentProc(agent_config(tmp_path, [active.base, standby.base], token))
    try:
        # The same config on both hosts: the second waits, says so, and does not listen.
        standby.start(wait=False)
        wait_for(lambda: "standby:" in standby.output(), 30, "the standby to say it waits")
        assert "another collector is running on this database" in standby.output(), standby.output()
        assert not standby._healthy()
        wait_for(lambda: {a: s["state"] for a, s in active.states().items()} == {"db": "up", "pc-01": "up"}, 30,
                 "db and pc-01 up on the active collector")
        time.sleep(2)  # a few reports and checks on the active one

        # The standby is held still for 4 s across the kill (SIGSTOP), as a host that takes a while to notice
        # would be: a takeover faster than the timeline's silence limit (2 s here) is filled as up by the
        # checks' own results (docs/timeline.md, rule 7), which would leave no gap to check.
        assert standby.proc is not None
        standby.proc.send_signal(signal.SIGSTOP)
        killed = time.time()
        active.crash()
        time.sleep(4)
        resumed = time.time()
        standby.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: standby._healthy(), 30, "the standby to take over and answer")
        answered = time.time()
        took_over = answered - resumed
        # 0.5 s poll + the PostgreSQL session's end (at once after kill -9: the socket closes) + the
        # recovery and the first load of a small inventory: seconds, whatever the machine's load.
        assert took_over < 15, took_over
        wait_for(lambda: {a: s["state"] for a, s in standby.states().items()} == {"db": "up", "pc-01": "up"}, 30,
                 "db and pc-01 up on the standby")
        wait_for(lambda: "collector unreachable; reports go to the next one" in agent.log.read_text(), 15,
                 "the agent to turn to the standby")
        time.sleep(2)
    finally:
        agent_log = agent.stop()
    spool = tmp_path / "spool"
    assert not list(spool.glob("*.report")), agent_log  # the agent handed every report over
    stream = json.loads((spool / "stream.json").read_text())
    assert standby.stop()[0] == 0  # flushes everything accepted

    store = open_store(url, migrate=False)
    with store.session() as s:
        rows = s.scalar(select(func.count(Observation.id)).where(Observation.asset_id == "pc-01",
                                                                Observation.check_id == "agent"))
        max_seq = s.scalar(select(AgentStream.max_seq).where(AgentStream.agent == "pc-01",
                                                             AgentStream.stream == stream["stream"]))
        db = [(r.state, r.reason, r.start_ts.timestamp(), r.end_ts.timestamp() if r.end_ts else None)
              for r in s.scalars(select(StateInterval).where(StateInterval.asset_id == "db")
                                 .order_by(StateInterval.start_ts))]
        pc = [r.state for r in s.scalars(select(StateInterval).where(StateInterval.asset_id == "pc-01"))]
    store.close()
    # Every report the agent made (sequence 1..max_seq, one a second across both collectors) is stored,
    # none twice: a report sent to the dying collector and again to the standby counts once.
    assert max_seq is not None and max_seq >= 6 and rows == max_seq, (rows, max_seq)

    # db, watched by the collectors' own TCP check: up until the active one's last heartbeat, unknown
    # from there to the standby's start, up again. By hand: the gap starts at most one heartbeat
    # (1 s) plus one flush before the kill, and ends when the standby took the lock, after it was let
    # go and before it answered: at least 4 s, at most 4 s + the takeover + that beat; no second is down.
    states = [(state, reason) for state, reason, _, _ in db]
    assert "down" not in [s for s, _ in states] and "down" not in pc, (db, pc)
    gaps = [(start, end) for state, reason, start, end in db if reason == "collector not running"]
    assert len(gaps) == 1, db
    gap_start, gap_end = gaps[0]
    assert killed - 2.5 <= gap_start <= killed + 0.1, (killed, gap_start)
    assert resumed <= gap_end <= answered, (resumed, gap_end, answered)
    assert 4 <= gap_end - gap_start <= 4 + took_over + 2.5
    for (_, _, _, end), (_, _, start, _) in zip(db, db[1:], strict=False):
        assert end == start  # the intervals still tile: nothing is counted twice
    # before the first check result of each start, the asset waits for it (unknown, its own reason)
    assert [s for s, r in states if r != "waiting for the first check result"] == ["up", "unknown", "up"], db
    print(f"takeover {took_over:.2f} s after kill -9; unknown {gap_end - gap_start:.2f} s; {rows} reports, none lost")
