"""The routing table: order, isolation of guarded consumers, and a route for every message type."""
from __future__ import annotations

import logging
import typing
from pathlib import Path

import pytest

from opsmon.collector.config import load_config
from opsmon.collector.core import messages
from opsmon.collector.service.routes import Consumer, Router
from tests.conftest import utc, write_config

T0 = utc(2026, 8, 1)


def test_consumers_hear_a_message_in_the_table_order() -> None:
    heard: list[str] = []
    router = Router({messages.Heartbeat: [Consumer("a", lambda m: heard.append("a")),
                                          Consumer("b", lambda m: heard.append("b"), guarded=True),
                                          Consumer("c", lambda m: heard.append("c"))]})
    router.publish(messages.Heartbeat())
    assert heard == ["a", "b", "c"]


def test_a_guarded_failure_is_logged_once_until_it_succeeds_and_never_reaches_the_producer(
        caplog: pytest.LogCaptureFixture) -> None:
    fail = [True, True, False, True]
    after: list[int] = []

    def flaky(_m: object) -> None:
        if fail.pop(0):
            raise RuntimeError("boom")

    router = Router({messages.Heartbeat: [Consumer("incidents", flaky, guarded=True),
                                          Consumer("after", lambda m: after.append(1))]})
    with caplog.at_level(logging.ERROR, logger="opsmon.collector.service.routes"):
        for _ in range(4):
            router.publish(messages.Heartbeat())
    # failed, failed (not logged again), succeeded, failed (logged again): 2 lines; the next consumer heard all 4
    assert [r.getMessage() for r in caplog.records].count("a consumer failed on a message; the producer goes on") == 2
    assert len(after) == 4


def test_an_unguarded_failure_reaches_the_producer_and_an_unrouted_type_is_an_error() -> None:
    def broken(_m: object) -> None:
        raise RuntimeError("writer bug")

    router = Router({messages.Heartbeat: [Consumer("store", broken)]})
    with pytest.raises(RuntimeError, match="writer bug"):
        router.publish(messages.Heartbeat())
    with pytest.raises(TypeError, match="no route for Prune"):
        router.publish(messages.Prune(None, None))


def test_the_service_routes_every_message_type(tmp_path: Path) -> None:
    """Each type of core.messages (and check results) has a route; each stored type goes to the store first."""
    from opsmon.collector.service.service import Service

    config = load_config(str(write_config(tmp_path, f"""
        database: {{path: {tmp_path / 'c.db'}}}
        listen: {{host: 127.0.0.1, port: 0}}
    """)))
    service = Service(config)
    try:
        table = dict(service.router.describe())
        every = {t.__name__ for t in typing.get_args(messages.Message)}
        assert set(table) == every
        stored = {t.__name__ for t in typing.get_args(messages.Written)}
        assert {name for name, consumers in table.items() if consumers[:1] == ["store"]} == stored
        assert table["Observation"] == ["timeline"]
        assert table["Transition"] == ["store", "incidents"] and table["HardwareSignal"] == ["store", "incidents"]
        assert table["SecurityFinding"] == ["incidents"]
    finally:
        service.ctx.pinger.close()
        service.store.close()
