"""The one rule for lines that can repeat without end: the first at once, then one per interval per key."""
from __future__ import annotations

from opsmon.collector.core.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_line_at_once_then_one_a_minute_saying_how_many_were_held() -> None:
    """Asks at t = 0, 10, 20, 59.9, 60, 61, 200 (seconds after the first) with every = 60:
    0 writes (held 0); 10, 20, 59.9 are held (3); 60 writes saying 3; 61 held; 200 writes saying 1."""
    clock = Clock()
    throttle = Throttle(60.0, clock)
    seen = []
    for t in (0, 10, 20, 59.9, 60, 61, 200):
        clock.now = 1000.0 + t
        seen.append(throttle.ask("q3"))
    assert seen == [0, None, None, None, 3, None, 1]


def test_keys_are_throttled_apart_and_since_says_when_the_last_line_was() -> None:
    clock = Clock()
    throttle = Throttle(60.0, clock)
    assert throttle.since("a") is None
    assert throttle.ask("a") == 0
    assert throttle.ask("b") == 0  # another key: its own first line
    clock.now += 30
    assert throttle.ask("a") is None
    assert throttle.since("a") == 30.0
    assert not throttle.due("a")
    clock.now += 30
    assert throttle.due("a")
    throttle.written("a")  # a caller writing its own pending counts (the receivers' refusals)
    assert throttle.since("a") == 0.0
    assert not throttle.due("a")


def test_memory_is_bounded_by_forgetting_the_least_recently_written_key() -> None:
    """max_keys = 2: a, b written; a written again (now the most recent); c forgets b, not a.
    b's next line is then a first one (held 0) although it was written 0 s ago; b's return forgets a
    (written before c), and c, written 0 s ago, is held."""
    clock = Clock()
    throttle = Throttle(60.0, clock, max_keys=2)
    for key in ("a", "b", "a", "c"):
        clock.now += 61 if key == "a" else 0
        throttle.ask(key)
    assert throttle.since("b") is None
    assert throttle.since("a") == 0.0
    assert throttle.ask("b") == 0
    assert throttle.since("a") is None
    assert throttle.ask("c") is None
