"""Counters from zero, proved by a real Prometheus (issue 23 item 2).

The dashboard's "文件完整性变化（24 小时）" said 0 after four changes: `opsmon_fim_changes_total{asset}` first
appeared with its first change, at 1, and increase() needs two samples of a series, so the first change was
never counted. Now every host's counters exist at 0 from its enrolment, and a host first heard of in a report
that already carries changes is shown at 0 for one scrape before its count.

The collector's own metrics code (CollectorMetrics, SecurityCollector over a SecurityBook) is served on a
loopback port in-process and scraped by Debian's Prometheus every second; the panel's query is read from the
committed dashboard (grafana/dashboards/security.json), with its variables at "All".
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client import start_http_server

from opsmon.collector.inputs.security import SecurityBook, SecurityIn
from opsmon.collector.outputs.metrics import CollectorMetrics, StateCollector
from opsmon.collector.store import Store
from tests.conftest import ROOT, free_port
from tests.peers.collector import wait_for
from tests.peers.prometheus import Prometheus

PANEL = "文件完整性变化（24 小时） / File integrity changes, 24 h"


def panel_query() -> str:
    board = json.loads((ROOT / "grafana" / "dashboards" / "security.json").read_text(encoding="utf-8"))

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    (expr,) = [t["expr"] for p in panels(board["panels"]) if p.get("title") == PANEL for t in p["targets"]]
    return str(expr).replace("$site", ".*").replace("$category", ".*")


def query_at(prom: Prometheus, expr: str, at: float) -> list[dict[str, Any]]:
    """The instant query evaluated at `at` (the time of a sample: nothing extrapolated past it)."""
    answer = httpx.get(f"{prom.url}/api/v1/query", params={"query": expr, "time": at}, timeout=10).json()
    return list(answer["data"]["result"])


def value_at(prom: Prometheus, expr: str, at: float) -> float:
    (sample,) = query_at(prom, expr, at)
    return float(sample["value"][1])


def scraped(prom: Prometheus, asset: str, value: float) -> float | None:
    """The time of the latest sample of the host's FIM counter once it reads `value`, else None (the sample's
    own time, from a range selector: timestamp() of a filtered vector is the evaluation time)."""
    got = prom.query(f'opsmon_fim_changes_total{{asset="{asset}"}}[1m]')["data"]["result"]
    if not got:
        return None
    ts, last = got[0]["values"][-1]
    return float(ts) if float(last) == value else None


def test_the_fim_panel_counts_a_hosts_first_change(store: Store) -> None:
    """web9 is first heard of in a report carrying one change of /etc/passwd; db1 is enrolled and quiet.

    Samples of web9's counter: 0 (the scrape after the report: held), then 1. At the time of the sample that
    reads 1, increase(...[1d]) over the samples 0, 1 is 1 - 0 = 1 (Prometheus does not extrapolate a counter
    below its zero at the start, nor past the last sample when evaluated at it); db1 adds 0: the panel says 1.
    A second report of 2 changes: 0, 1, 3 -> 3. (Before the fix web9's first sample read 1 and the panel said
    0, then 2.)"""
    book = SecurityBook(store, lambda _m: None, lambda _p, _c: None, ())
    book.enrolled("db1")
    metrics = CollectorMetrics()
    metrics.registry.register(StateCollector(lambda: [("web9", "server", "urumqi", "up", "web9"),
                                                      ("db1", "server", "urumqi", "up", "db1")]))
    metrics.watch_security(book)
    port = free_port()
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
    prom = Prometheus([f"127.0.0.1:{port}"], [])
    try:
        wait_for(lambda: prom.query('opsmon_fim_changes_total{asset="db1"}')["data"]["result"], 30, "db1 at 0")
        now = datetime.now(UTC)
        book.accept("web9", SecurityIn.model_validate(
            {"fim": [{"path": "/etc/passwd", "change": "modified", "ts": now.timestamp()}]}), 0.0, now)
        at = wait_for(lambda: scraped(prom, "web9", 1), 30, "web9's counter at 1")
        history = query_at(prom, 'opsmon_fim_changes_total{asset="web9"}[1d]', at)
        assert [float(v) for _t, v in history[0]["values"]] == [0.0, 1.0]  # born at 0, then its first change
        assert value_at(prom, panel_query(), at) == 1.0
        book.accept("web9", SecurityIn.model_validate(
            {"fim": [{"path": "/etc/hosts", "change": "modified", "ts": now.timestamp()},
                     {"path": "/etc/group", "change": "mode", "ts": now.timestamp()}]}), 0.0, now)
        at = wait_for(lambda: scraped(prom, "web9", 3), 30, "web9's counter at 3")
        assert value_at(prom, panel_query(), at) == 3.0
        assert value_at(prom, 'opsmon_fim_changes_total{asset="db1"}', at) == 0.0
    finally:
        prom.stop()
        server.shutdown()
