"""The event loop's watch: a callback that holds the loop is named in one log line while it holds it."""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from opsmon.collector.outputs.metrics import CollectorMetrics
from opsmon.collector.service.loopwatch import LoopWatch


def _held_by_a_locked_store(path: Path) -> None:
    """What the watch must find: a synchronous write on the loop that waits (busy_timeout 1.5 s) on a lock."""
    conn = sqlite3.connect(path, timeout=1.5)
    try:
        conn.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError:
        pass
    finally:
        conn.close()


def test_a_stall_is_logged_once_with_the_function_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The loop is held 1.5 s by a write waiting on a locked SQLite; threshold 0.5 s, beat every 0.1 s.

    Expected by hand: one "stalled" line naming `_held_by_a_locked_store` (seen 0.5-0.6 s in, while it waits),
    one "runs again" line with 1.5 - 0.1 (the beat due 0.1 s after the last one) = about 1.4 s; stalls == 1;
    the loop's lag after it returns is under the threshold; the metrics page carries the count.
    """
    db = tmp_path / "s.db"
    setup = sqlite3.connect(db)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (x)")
    setup.commit()
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    watch = LoopWatch(threshold=0.5, period=0.1, log_every=60)

    async def main() -> None:
        watch.start(asyncio.get_running_loop())
        await asyncio.sleep(0.3)  # beats on time: no stall
        assert watch.stalls == 0
        _held_by_a_locked_store(db)
        await asyncio.sleep(0.4)  # the beat runs again; the watch sees it within period/2

    try:
        with caplog.at_level(logging.WARNING, logger="opsmon.collector.service.loopwatch"):
            asyncio.run(main())
    finally:
        watch.close()
        lock.close()
    lines = [(r.getMessage(), r.__dict__) for r in caplog.records]
    assert [m for m, _ in lines] == ["event loop stalled", "event loop runs again"], lines
    stalled, again = lines[0][1], lines[1][1]
    assert "test_loopwatch.py" in stalled["where"] and "_held_by_a_locked_store" in stalled["where"]
    assert 0.5 <= stalled["stalled_s"] < 1.5  # seen just past the threshold (rounded to 0.01 s)
    assert 1.1 < again["stalled_s"] < 2.5, again  # 1.4 s by hand; the machine's load adds
    assert watch.stalls == 1 and 1.1 < watch.longest < 2.5
    metrics = CollectorMetrics()
    metrics.watch_loop(watch)
    from prometheus_client import generate_latest
    page = generate_latest(metrics.registry).decode()
    assert "opsmon_event_loop_stalls_total 1.0" in page, page


def test_stalls_after_the_first_are_counted_not_logged_within_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    """A fake clock: three stalls 10 s apart with log_every 60 s give one logged stall (and its end); the fourth,
    70 s after the first, is logged with stalls_not_logged == 2."""
    now = [100.0]
    watch = LoopWatch(threshold=1.0, period=0.25, log_every=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="opsmon.collector.service.loopwatch"):
        for start in (100.0, 110.0, 120.0, 170.0):
            now[0] = start
            watch._beat = start  # the loop beats
            now[0] = start + 3.0  # then is held 3 s
            watch.check()
            watch._beat = now[0]  # runs again
            watch.check()
    messages = [(r.getMessage(), r.__dict__.get("stalls_not_logged")) for r in caplog.records]
    assert messages == [("event loop stalled", None), ("event loop runs again", None),
                        ("event loop stalled", 2), ("event loop runs again", None)], messages
    assert watch.stalls == 4
    assert watch.longest == pytest.approx(2.75)  # 3 s held, the beat was due 0.25 s after the last
