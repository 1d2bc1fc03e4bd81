"""The collector's stream rule (inputs/agents/streams.py), through Ingest with a real store and writer.

A replay (same seq, same ts) is a duplicate and stored once; a stream that went back (seq at or below the
highest, ts newer than anything taken) is taken from its first report, counted and logged once per agent
and period; a jump is taken and counted; an agent restart (its reserved block of numbers) is neither.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from opsmon.agent.runner import SEQ_BLOCK
from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.messages import Message, StreamPosition
from opsmon.collector.core.states import Observation
from opsmon.collector.inputs.agents import streams
from opsmon.collector.inputs.agents.ingest import Ingest
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.models import AgentStream
from opsmon.collector.store.writer import StoreWriter

T = 1_800_000_000.0  # the agent's clock at its first report (2027-01-15)
STREAM = "cd" * 16


class Collector:
    """An Ingest over a real store; its stream positions go through a real writer, as in the service."""

    def __init__(self, store: Store, now: float = T + 10_000) -> None:
        self.store = store
        self.now = now
        self.stored: list[Observation] = []
        self.writer = StoreWriter(store, datetime.fromtimestamp(now, UTC))
        self.writer.start()
        self.ingest = Ingest(store, self._publish, lambda: datetime.fromtimestamp(self.now, UTC))

    def _publish(self, msg: Message) -> None:
        if isinstance(msg, Observation):
            self.stored.append(msg)
        elif isinstance(msg, StreamPosition):
            self.writer.put(msg)

    def send(self, seq: int, ts: float, interval: float = 30.0, agent: str = "web-01") -> str:
        body = json.dumps({"schema": 1, "stream": STREAM, "seq": seq, "ts": ts, "interval": interval,
                           "metrics": {}}).encode()
        return self.ingest.accept(agent, agent, self.ingest.parse(body), None, body)

    def close(self) -> None:
        assert self.writer.flush() and self.writer.stop()


@pytest.fixture
def collector(store: Store) -> Iterator[Collector]:
    c = Collector(store)
    yield c
    c.close()


def test_a_replay_after_a_lost_answer_is_a_duplicate_and_stored_once(collector: Collector) -> None:
    assert [collector.send(s, T + s) for s in (1, 2, 3)] == ["accepted"] * 3
    assert collector.send(3, T + 3) == "duplicate"  # the answer to 3 was lost: the agent sends it again
    assert collector.send(2, T + 2) == "duplicate"  # and from the spool, an older one
    assert len(collector.stored) == 3
    assert collector.ingest.streams.anomalies == {"jump": 0, "back": 0}


def test_an_agent_restart_skips_its_reserved_block_without_an_anomaly(collector: Collector) -> None:
    """runner.py reserves SEQ_BLOCK numbers on disk; after a crash it resumes past them."""
    assert streams.JUMP_SLACK > SEQ_BLOCK + 1  # the two constants live apart (the agent never imports us)
    for s in range(1, 6):
        collector.send(s, T + 30 * s)
    assert collector.send(SEQ_BLOCK + 1, T + 30 * 6 + 5) == "accepted"  # restarted 5 s later: seq 5 -> 101
    assert collector.send(SEQ_BLOCK + 2, T + 30 * 7 + 5) == "accepted"
    assert collector.ingest.streams.anomalies == {"jump": 0, "back": 0}


def test_a_stream_that_went_back_is_taken_from_its_first_live_report(collector: Collector,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """An old agent's --once beside the service took seq 106; the service goes on at 6, 7, ... Each of its
    reports is newer than anything taken, so none is a replay; real replays on either side still are."""
    for s in range(1, 6):
        collector.send(s, T + 30 * s)
    assert collector.send(106, T + 30 * 5 + 12) == "accepted"  # the intruder: within a restart's reach
    assert collector.ingest.streams.anomalies == {"jump": 0, "back": 0}
    with caplog.at_level(logging.WARNING, logger="opsmon.collector.inputs.agents.streams"):
        answers = [collector.send(s, T + 30 * s) for s in range(6, 12)]
    print(f"live seq 6..11 after 106: {answers}")
    assert answers == ["accepted"] * 6
    assert collector.ingest.streams.anomalies == {"jump": 0, "back": 6}
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and warned[0].kind == "back" and warned[0].max_seq == 106  # type: ignore[attr-defined]
    # replays: the live one whose answer was lost, and the intruder's from a spool: both duplicates
    assert collector.send(11, T + 30 * 11) == "duplicate"
    assert collector.send(106, T + 30 * 5 + 12) == "duplicate"
    # the live stream passes 106 in order: normal again
    assert collector.send(107, T + 30 * 107) == "accepted"
    assert collector.ingest.streams.anomalies["back"] == 6
    assert len(collector.stored) == 5 + 1 + 6 + 1


def test_a_forward_jump_is_taken_and_counted_but_a_spool_that_dropped_reports_is_not(store: Store) -> None:
    c = Collector(store, now=T + 200 * 86400)
    try:
        c.send(1, T)
        # 4 days offline at 30 s: 11,520 reports made, the oldest dropped by the spool's bound
        assert c.send(11_000, T + 4 * 86400) == "accepted"
        assert c.ingest.streams.anomalies == {"jump": 0, "back": 0}
        assert c.send(50_000, T + 4 * 86400 + 30) == "accepted"  # 39,000 ahead in 30 s: not a restart
        assert c.ingest.streams.anomalies == {"jump": 1, "back": 0}
        assert c.send(50_001, T + 4 * 86400 + 60) == "accepted"
        assert c.ingest.streams.anomalies == {"jump": 1, "back": 0}
    finally:
        c.close()


def test_the_rule_survives_a_collector_restart(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'restart.db'}")
    first = Collector(store)
    for s in (1, 2, 3):
        first.send(s, T + 30 * s)
    first.send(106, T + 100)  # ahead, from a second process
    first.close()
    again = Collector(store)
    try:
        assert again.ingest.streams.positions[("web-01", STREAM)] == streams.Position(106, round((T + 100) * 1000))
        assert again.send(3, T + 90) == "duplicate"  # a replay stays one across the restart
        assert again.send(106, T + 100) == "duplicate"
        assert again.send(4, T + 120) == "accepted"  # the live stream, newer than anything taken
        assert again.ingest.streams.anomalies == {"jump": 0, "back": 1}
    finally:
        again.close()
    store.close()


def test_a_stream_stored_before_max_ts_follows_the_old_rule_until_its_next_report(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'old.db'}")
    first = Collector(store)
    first.send(50, T)
    first.close()
    with store.session() as s:  # as migration 0012 leaves a row written before it
        s.execute(update(AgentStream).values(max_ts_ms=None))
        s.commit()
    again = Collector(store)
    try:
        assert again.send(7, T + 60) == "duplicate"  # unknown time: at or below max_seq is a duplicate
        assert again.send(51, T + 90) == "accepted"
        assert again.send(8, T + 120) == "accepted"  # now it knows the stream's time
        assert again.ingest.streams.anomalies == {"jump": 0, "back": 1}
    finally:
        again.close()
    store.close()


def test_anomalies_are_logged_once_per_agent_per_period(collector: Collector,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="opsmon.collector.inputs.agents.streams"):
        for agent in ("a-1", "a-2"):
            collector.send(200, T, agent=agent)
            collector.send(5, T + 30, agent=agent)
            collector.send(6, T + 60, agent=agent)
        collector.now += streams.LOG_EVERY
        collector.send(7, T + 90, agent="a-1")
    lines = [(r.agent, r.not_logged_since) for r in caplog.records]  # type: ignore[attr-defined]
    assert lines == [("a-1", 0), ("a-2", 0), ("a-1", 1)]
    assert collector.ingest.streams.anomalies["back"] == 5


def test_a_timestamp_that_is_not_a_number_is_refused_not_judged(collector: Collector) -> None:
    collector.send(1, T)
    body = b'{"schema":1,"stream":"' + STREAM.encode() + b'","seq":1,"ts":1e999,"interval":30,"metrics":{}}'
    assert collector.ingest.accept("web-01", "web-01", collector.ingest.parse(body), None, body) == "duplicate"
    body = body.replace(b'"seq":1', b'"seq":2')
    with pytest.raises(InvalidInput):
        collector.ingest.accept("web-01", "web-01", collector.ingest.parse(body), None, body)


def test_a_pollers_results_are_its_own_checks_only_and_stored_once_with_their_report(store: Store) -> None:
    """A site poller's report (docs/poller.md) carries three results; the poller `p-hotan` owns srv/tcp only.

    - srv/tcp at T+1 and T+2: published with the poller as observer, at their times (no clock offset here);
    - db/tcp (owned by nobody: the collector runs it) is dropped and counted: polled 2, refused 1;
    - the same report again (its answer was lost) is a duplicate: nothing more is published.
    """
    c = Collector(store)
    c.ingest.owner_of = lambda asset, check, at: "p-hotan" if (asset, check) == ("srv", "tcp") else None
    results = [{"asset": "srv", "check": "tcp", "ts": T + 1, "status": "up", "latency_ms": 0.4},
               {"asset": "srv", "check": "tcp", "ts": T + 2, "status": "down", "reason": "connection refused"},
               {"asset": "db", "check": "tcp", "ts": T + 2, "status": "up"}]
    body = json.dumps({"schema": 1, "stream": STREAM, "seq": 1, "ts": T + 3, "interval": 5, "metrics": {},
                       "observations": results}).encode()
    try:
        assert c.ingest.accept("p-hotan", "p-hotan", c.ingest.parse(body), None, body) == "accepted"
        assert c.ingest.accept("p-hotan", "p-hotan", c.ingest.parse(body), None, body) == "duplicate"
    finally:
        c.close()
    polled = [(o.asset_id, o.check_id, o.ts.timestamp(), o.status, o.observer) for o in c.stored
              if o.check_id == "tcp"]
    assert polled == [("srv", "tcp", T + 1, "up", "p-hotan"), ("srv", "tcp", T + 2, "down", "p-hotan")]
    assert (c.ingest.polled, c.ingest.polled_refused) == (2, 1)
