"""Flows per site (the prefecture a link serves, the inventory's `site` of the link asset) and exporters whose link
is no link of the inventory (issue 23 item 5). v5 datagrams built from the specification (flow_packets.py) go
through the receiver into a real store (StoreWriter, SQLite); the site figures are read back as the CLI and the
API read them. Every figure is summed by hand in the docstrings and comments.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsmon.collector.config.flows import FlowsConfig
from opsmon.collector.config.inventory import AssetSpec, remove_asset, upsert_assets
from opsmon.collector.core.messages import FlowRow, FlowTop, Message
from opsmon.collector.inputs.flows.receiver import FlowReceiver
from opsmon.collector.store.db import Store
from opsmon.collector.store.flows import site_totals, top_talkers
from opsmon.collector.store.writer import StoreWriter
from tests.collector.inputs.flow_packets import v5
from tests.conftest import run_cli, write_config

T0 = 1_800_000_000.0  # a multiple of 300: an interval starts here (2027-01-15 08:00:00 UTC)
TCP = 6
KASHGAR, HOTAN = "喀什", "和田"  # sites written in Chinese in the inventory, shown as written
ASSETS = [
    AssetSpec(id="wan-kashgar-1", name="喀什专线一", category="link", site=KASHGAR),
    AssetSpec(id="wan-kashgar-2", name="喀什专线二", category="link", site=KASHGAR),
    AssetSpec(id="wan-hotan", name="和田专线", category="link", site=HOTAN),
    AssetSpec(id="border-fw", name="边界防火墙", category="security", site="乌鲁木齐"),
]
SITES_LOG = "opsmon.collector.inputs.flows.sites"
EXPORTERS = {"127.0.0.1": "wan-kashgar-1", "127.0.0.2": "wan-kashgar-2", "127.0.0.3": "wan-hotan",
             "127.0.0.4": "wan-typo"}


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def receiver_of(publish: Any, now: list[datetime], inventory: list[dict[str, Any]], **extra: Any) -> FlowReceiver:
    """A receiver (interval 300 s) whose live inventory is inventory[0] (a test swaps it, as a reload does)."""
    settings = FlowsConfig(enabled=True, exporters=EXPORTERS, interval=300, top=10, **extra)
    return FlowReceiver(settings, publish, lambda: now[0], monotonic=lambda: 100.0, assets=lambda: inventory[0])


def test_sites_sum_their_links_in_the_same_intervals_and_read_back(store: Store, tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Two links in 喀什 (wan-kashgar-1, -2), one in 和田 (wan-hotan), and 127.0.0.4 exporting for wan-typo, no asset.

    T0 + 290 (interval [T0, T0 + 300)):
      wan-kashgar-1: 10.1.0.5 -> 10.9.0.1:443/tcp 1000 bytes 2 packets
      wan-kashgar-2: 10.1.0.5 -> 10.9.0.1:443/tcp 500 bytes 1 packet; 10.1.0.6 -> 10.9.0.1:22/tcp 40 bytes 1 packet
      wan-hotan:     10.3.0.1 -> 10.9.0.1:443/tcp 700 bytes 1 packet
    T0 + 310 (interval [T0 + 300, T0 + 600): 20 s later, across the boundary):
      wan-kashgar-1: 10.1.0.5 -> 10.9.0.1:443/tcp 3000 bytes 3 packets
      wan-hotan:     10.3.0.1 -> 10.9.0.1:443/tcp 200 bytes 1 packet
      wan-typo:      10.4.0.1 -> 10.9.0.1:80/tcp 50 bytes 1 packet

    喀什 = first interval 1000 + 500 + 40 = 1540, second 3000: 4540 bytes over 2 intervals; its key
    10.1.0.5 -> 10.9.0.1:443 = 1000 + 500 + 3000 = 4500 bytes, 2 + 1 + 3 = 6 packets, 3 flows (the two links'
    rows of one interval summed), then 10.1.0.6 -> :22 40 bytes; 6 + 1 = 7 packets, 4 flows in all.
    和田 = 700 + 200 = 900 bytes, 2 packets, 2 flows, 2 intervals. unknown (wan-typo) = 50 bytes, 1 interval.
    """
    caplog.set_level(logging.WARNING, logger=SITES_LOG)
    upsert_assets(store, ASSETS, "test", now=at(-3600))
    writer = StoreWriter(store, at(0))
    writer.start()
    now = [at(290)]
    inventory = [{a.id: a for a in ASSETS}]
    receiver = receiver_of(writer.put, now, inventory)
    receiver.received(v5([("10.1.0.5", "10.9.0.1", 443, TCP, 1000, 2)]), "127.0.0.1")
    receiver.received(v5([("10.1.0.5", "10.9.0.1", 443, TCP, 500, 1), ("10.1.0.6", "10.9.0.1", 22, TCP, 40, 1)]),
                      "127.0.0.2")
    receiver.received(v5([("10.3.0.1", "10.9.0.1", 443, TCP, 700, 1)]), "127.0.0.3")
    now[0] = at(310)
    receiver._tick()  # closes the three links' first intervals
    receiver.received(v5([("10.1.0.5", "10.9.0.1", 443, TCP, 3000, 3)]), "127.0.0.1")
    receiver.received(v5([("10.3.0.1", "10.9.0.1", 443, TCP, 200, 1)]), "127.0.0.3")
    receiver.received(v5([("10.4.0.1", "10.9.0.1", 80, TCP, 50, 1)]), "127.0.0.4")
    # after the first interval only: 喀什 1540, 和田 700, unknown nothing yet (every configured site from 0)
    assert receiver.counts.site_bytes == {KASHGAR: 1540, HOTAN: 700, "unknown": 0}
    now[0] = at(600)
    receiver._tick()
    receiver._tick()  # the inventory is the same mapping: not judged again, no second warning
    assert receiver.counts.site_bytes == {KASHGAR: 4540, HOTAN: 900, "unknown": 50}
    assert receiver.counts.placements == {"127.0.0.1": (KASHGAR, "link"), "127.0.0.2": (KASHGAR, "link"),
                                          "127.0.0.3": (HOTAN, "link"), "127.0.0.4": ("unknown", "unknown")}
    warned = [r for r in caplog.records if r.name == SITES_LOG and r.levelno == logging.WARNING]
    assert len(warned) == 1 and "不在资产清单中" in warned[0].getMessage()
    assert (warned[0].exporter, warned[0].link) == ("127.0.0.4", "wan-typo")  # type: ignore[attr-defined]
    _metrics_say_the_same(receiver)
    assert writer.stop()

    rows, total, intervals = top_talkers(store, None, at(0), at(600), site=KASHGAR)
    assert [(r.src, r.dst, r.dst_port, r.protocol, r.bytes, r.packets, r.flows) for r in rows] == [
        ("10.1.0.5", "10.9.0.1", 443, TCP, 4500, 6, 3), ("10.1.0.6", "10.9.0.1", 22, TCP, 40, 1, 1)]
    assert (total.bytes, total.packets, total.flows, intervals) == (4540, 7, 4, 2)
    # the same fixed intervals: 喀什's first one alone is 1000 + 500 + 40 = 1540, its second 3000
    assert top_talkers(store, None, at(0), at(300), site=KASHGAR)[1].bytes == 1540
    assert top_talkers(store, None, at(300), at(600), site=KASHGAR)[1].bytes == 3000
    assert top_talkers(store, None, at(0), at(600), site="unknown")[1:] == (FlowRow("*", "*", -1, -1, 50, 1, 1), 1)
    sites = site_totals(store, at(0), at(600))
    assert [(t.site, t.bytes, t.packets, t.flows, t.intervals, t.links) for t in sites] == [
        (KASHGAR, 4540, 7, 4, 2, [("wan-kashgar-1", "喀什专线一", 4000), ("wan-kashgar-2", "喀什专线二", 540)]),
        (HOTAN, 900, 2, 2, 2, [("wan-hotan", "和田专线", 900)]),
        ("unknown", 50, 1, 1, 1, [("wan-typo", "wan-typo", 50)])]
    store.close()
    _cli_and_api_read_the_same(tmp_path)


def _metrics_say_the_same(receiver: FlowReceiver) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from opsmon.collector.outputs.metrics import FlowCollector

    registry = CollectorRegistry()
    registry.register(FlowCollector(receiver.counts))
    text = generate_latest(registry).decode()
    assert f'opsmon_flow_site_bytes_total{{site="{KASHGAR}"}} 4540.0' in text, text
    assert f'opsmon_flow_site_bytes_total{{site="{HOTAN}"}} 900.0' in text
    assert 'opsmon_flow_site_bytes_total{site="unknown"} 50.0' in text
    assert ('opsmon_flow_exporter_info{exporter="127.0.0.4",inventory="unknown",link="wan-typo",site="unknown"} 1.0'
            in text)
    assert (f'opsmon_flow_exporter_info{{exporter="127.0.0.2",inventory="link",link="wan-kashgar-2",'
            f'site="{KASHGAR}"}} 1.0' in text)


def _cli_and_api_read_the_same(tmp_path: Path) -> None:
    """`opsmon flows sites` and `flows top --site` (JSON), GET /api/v1/flows/sites and /flows/top?site=: the figures
    of the test above; the API refuses both link and site, or neither, with 422."""
    config = write_config(tmp_path, "timezone: Asia/Shanghai\ndatabase:\n  path: opsmon.db\n")
    window = ("--from", at(0).isoformat(), "--to", at(600).isoformat())
    proc = run_cli("--config", str(config), "flows", "sites", *window, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(s["site"], s["bytes"], s["intervals"], [link["name"] for link in s["links"]]) for s in doc["sites"]] == [
        (KASHGAR, 4540, 2, ["喀什专线一", "喀什专线二"]), (HOTAN, 900, 2, ["和田专线"]),
        ("unknown", 50, 1, ["wan-typo"])]
    table = run_cli("--config", str(config), "flows", "top", "--site", KASHGAR, *window).stdout
    assert f"地州 / site: {KASHGAR}" in table and "4500" in table and "99.1%" in table  # 4500 / 4540 = 99.12 %

    from types import SimpleNamespace

    import httpx

    from opsmon.collector.outputs.api.app import create_app
    from opsmon.collector.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    face = SimpleNamespace(store=store, max_body_bytes=1 << 20, timezone="Asia/Shanghai", now=lambda: at(600),
                           public_read=True)
    app = create_app(face)  # type: ignore[arg-type]
    span = f"from={at(0).isoformat().replace('+', '%2B')}&to={at(600).isoformat().replace('+', '%2B')}"

    async def get(path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            return await client.get(path)

    try:
        sites = asyncio.run(get(f"/api/v1/flows/sites?{span}"))
        assert sites.status_code == 200, sites.text
        assert [(s["site"], s["bytes"], s["packets"], s["flows"]) for s in sites.json()["sites"]] == [
            (KASHGAR, 4540, 7, 4), (HOTAN, 900, 2, 2), ("unknown", 50, 1, 1)]
        top = asyncio.run(get(f"/api/v1/flows/top?site={KASHGAR}&{span}&limit=1"))
        assert top.status_code == 200, top.text
        # limit 1: the :22 row (40 bytes, 1 packet, 1 flow) goes to other
        assert [(r["src"], r["dst_port"], r["bytes"]) for r in top.json()["rows"]] == [
            ("10.1.0.5", 443, 4500), ("other", None, 40)]
        assert top.json()["site"] == KASHGAR and top.json()["link"] is None
        assert asyncio.run(get(f"/api/v1/flows/top?{span}")).status_code == 422
        both = asyncio.run(get(f"/api/v1/flows/top?link=wan-hotan&site={HOTAN}&{span}"))
        assert both.status_code == 422 and "link or site" in both.text
    finally:
        store.close()


def test_an_exporter_whose_link_is_not_a_link_is_warned_once_or_refused(caplog: pytest.LogCaptureFixture) -> None:
    """unknown_links: refuse. 127.0.0.4 exports for wan-typo, no asset: its 2 datagrams are refused (reason
    unknown_link) and nothing of them is summed; 127.0.0.1 (wan-kashgar-1, a link) sums its 100 bytes. After a
    reload that adds wan-typo as a link (a new inventory mapping), 127.0.0.4's next datagram (70 bytes) is summed
    under 和田. border-fw (category security) as an exporter's "link": warned as not a link, summed under its site.
    Warnings: wan-typo unknown (once for 2 datagrams and 3 ticks), border-fw not a link (once): 2 lines."""
    caplog.set_level(logging.WARNING, logger=SITES_LOG)
    published: list[Message] = []
    now = [at(10)]
    inventory = [{a.id: a for a in ASSETS}]
    exporters = {**EXPORTERS, "127.0.0.5": "border-fw"}
    settings = FlowsConfig(enabled=True, exporters=exporters, interval=300, unknown_links="refuse")
    receiver = FlowReceiver(settings, published.append, lambda: now[0], monotonic=lambda: 100.0,
                            assets=lambda: inventory[0])
    one = v5([("10.1.0.5", "10.9.0.1", 443, TCP, 100, 1)])
    receiver.received(one, "127.0.0.1")
    receiver.received(one, "127.0.0.4")
    receiver.received(one, "127.0.0.4")
    receiver._tick()
    receiver._tick()
    assert receiver.counts.refused == {("unknown_link", "127.0.0.4"): 2}
    assert receiver.counts.by_exporter["127.0.0.4"] == 0 and receiver.counts.flows == 1
    assert receiver.counts.placements["127.0.0.5"] == ("乌鲁木齐", "not_link")
    inventory[0] = {**inventory[0], "wan-typo": AssetSpec(id="wan-typo", category="link", site=HOTAN)}
    receiver._tick()  # the reload's new mapping: judged again, now a link of 和田
    receiver.received(v5([("10.4.0.1", "10.9.0.1", 80, TCP, 70, 1)]), "127.0.0.4")
    receiver.close()
    assert receiver.counts.refused == {("unknown_link", "127.0.0.4"): 2}
    assert receiver.counts.placements["127.0.0.4"] == (HOTAN, "link")
    assert {(t.link, sum(r.bytes for r in t.rows)) for t in published if isinstance(t, FlowTop)} == {
        ("wan-kashgar-1", 100), ("wan-typo", 70)}
    assert receiver.counts.site_bytes[HOTAN] == 70 and receiver.counts.site_bytes[KASHGAR] == 100
    lines = [r.getMessage() for r in caplog.records if r.name == SITES_LOG and r.levelno == logging.WARNING]
    assert len(lines) == 2 and sum("不在资产清单中" in line for line in lines) == 1
    assert sum("不是链路" in line for line in lines) == 1


def test_stored_site_figures_follow_the_inventory_at_read_time(store: Store) -> None:
    """A link's rows count for the site the inventory gives it when read: wan-x (1000 bytes at T0) is no asset,
    so `unknown`; once imported with site 和田, 和田 holds its 1000 bytes and unknown nothing."""
    writer = StoreWriter(store, at(0))
    writer.start()
    writer.put(FlowTop("wan-x", at(0), at(300), (FlowRow("a", "b", 443, TCP, 1000, 1, 1),)))
    assert writer.stop()
    assert [(t.site, t.bytes) for t in site_totals(store, at(0), at(300))] == [("unknown", 1000)]
    upsert_assets(store, [AssetSpec(id="wan-x", category="link", site=HOTAN)], "test", now=at(0) - timedelta(hours=1))
    assert [(t.site, t.bytes) for t in site_totals(store, at(0), at(300))] == [(HOTAN, 1000)]
    assert top_talkers(store, None, at(0), at(300), site="unknown")[2] == 0


def test_a_removed_link_counts_for_unknown_from_its_removal_and_for_its_site_again_once_restored(
        store: Store) -> None:
    _removed_and_restored(store)


def test_removed_and_restored_links_give_the_same_site_figures_on_postgresql(postgres_url: str) -> None:
    """The row's site is SQL (store/flows.py: a CASE with a correlated EXISTS on asset_absences, placing each
    link-interval for every site's sums; a named site's top filters its assets' rows on the same test): the scenario
    below, in a database of its own on the PostgreSQL peer, gives the same figures."""
    from opsmon.collector.store.db import open_store
    from tests.peers.postgres import own_database

    store = open_store(own_database(postgres_url, "flows_sites"))
    try:
        _removed_and_restored(store)
    finally:
        store.close()


def _removed_and_restored(store: Store) -> None:
    """wan-kashgar-2 (喀什) is removed at T0 + 300 (exactly where an interval starts), restored at T0 + 750 (inside
    one) and removed again at T0 + 1050 (inside one). The receiver learns each change by a reload at the same instant
    (its live inventory swapped, then a tick). An interval counts for the link's site if the link was in the inventory
    at any moment of it, for `unknown` only if it was out for the whole interval:
      [T0, T0 + 300), before the removal:       wan-kashgar-1 1000 bytes; wan-kashgar-2 500 (T0 + 100) + 20 (T0 + 290),
                                                one key: 520 bytes, 2 packets, 2 flows -> 喀什
      [T0 + 300, T0 + 600), starts at removed_at, restored only later: wan-kashgar-1 3000 -> 喀什; wan-kashgar-2 300
                                                -> unknown (1 packet, 1 flow)
      [T0 + 600, T0 + 900), restored at 750:    wan-kashgar-2 40 (T0 + 610, still removed) + 5 (T0 + 760) = 45 bytes,
                                                2 packets -> 喀什 (the absence [300, 750) does not cover it whole)
      [T0 + 900, T0 + 1200), removed at 1050:   wan-kashgar-2 8 (T0 + 1100, after the removal) -> 喀什 (it started
                                                before removed_at: the past before the removal stays)
    喀什 = 1000 + 520 + 3000 + 45 + 8 = 4573 bytes, 1 + 2 + 1 + 2 + 1 = 7 packets, 7 flows, 4 intervals; its links
    wan-kashgar-1 1000 + 3000 = 4000 and wan-kashgar-2 520 + 45 + 8 = 573. unknown = 300 bytes, 1 packet, 1 flow,
    1 interval, all of wan-kashgar-2. 和田 nothing. The metric says the same: 喀什 4573, unknown 300, 和田 0.
    Before the fix the store counted all of wan-kashgar-2 (520 + 300 + 45 + 8 = 873) under 喀什: 4873 and no
    unknown; and the receiver counted [T0, T0 + 300) for unknown (520), as it closed after the removal's reload.
    """
    upsert_assets(store, ASSETS, "test", now=at(-3600))
    writer = StoreWriter(store, at(0))
    writer.start()
    now = [at(100)]
    live = {a.id: a for a in ASSETS}
    without = {k: v for k, v in live.items() if k != "wan-kashgar-2"}
    inventory = [live]
    receiver = receiver_of(writer.put, now, inventory)

    def send(when: float, exporter: str, octets: int, src: str = "10.1.0.7") -> None:
        now[0] = at(when)
        receiver.received(v5([(src, "10.9.0.1", 443, TCP, octets, 1)]), exporter)

    def tick(when: float, live_now: dict[str, Any]) -> None:
        now[0] = at(when)
        inventory[0] = live_now  # the reload (a new mapping when it changed), then the receiver's tick
        receiver._tick()

    send(100, "127.0.0.2", 500)
    send(290, "127.0.0.2", 20)
    send(290, "127.0.0.1", 1000, "10.1.0.5")
    remove_asset(store, "wan-kashgar-2", "test", now=at(300))
    tick(300, without)  # learns the removal, then closes [T0, T0 + 300): it started before, so 喀什
    assert receiver.counts.site_bytes == {KASHGAR: 1520, HOTAN: 0, "unknown": 0}
    send(310, "127.0.0.2", 300)
    send(310, "127.0.0.1", 3000, "10.1.0.5")
    tick(600, without)
    assert receiver.counts.site_bytes == {KASHGAR: 4520, HOTAN: 0, "unknown": 300}
    send(610, "127.0.0.2", 40)
    upsert_assets(store, [ASSETS[1]], "test", now=at(750))  # `opsmon assets import` restores it
    tick(750, live)
    send(760, "127.0.0.2", 5)
    tick(900, live)
    assert receiver.counts.site_bytes == {KASHGAR: 4565, HOTAN: 0, "unknown": 300}
    remove_asset(store, "wan-kashgar-2", "test", now=at(1050))
    tick(1050, without)
    send(1100, "127.0.0.2", 8)
    tick(1200, without)
    assert receiver.counts.site_bytes == {KASHGAR: 4573, HOTAN: 0, "unknown": 300}
    assert writer.stop()

    sites = site_totals(store, at(0), at(1200))
    assert [(t.site, t.bytes, t.packets, t.flows, t.intervals, t.links) for t in sites] == [
        (KASHGAR, 4573, 7, 7, 4, [("wan-kashgar-1", "喀什专线一", 4000), ("wan-kashgar-2", "喀什专线二", 573)]),
        ("unknown", 300, 1, 1, 1, [("wan-kashgar-2", "喀什专线二", 300)])]
    rows, total, intervals = top_talkers(store, None, at(0), at(1200), site="unknown")
    assert [(r.src, r.bytes, r.packets, r.flows) for r in rows] == [("10.1.0.7", 300, 1, 1)] and intervals == 1
    rows, total, intervals = top_talkers(store, None, at(0), at(1200), site=KASHGAR)
    assert [(r.src, r.bytes) for r in rows] == [("10.1.0.5", 4000), ("10.1.0.7", 573)]
    assert (total.bytes, total.packets, total.flows, intervals) == (4573, 7, 7, 4)
    # the removal's edge: the interval starting at removed_at has only wan-kashgar-1's 3000 for 喀什
    assert top_talkers(store, None, at(300), at(600), site=KASHGAR)[1].bytes == 3000
    # per link nothing moves: wan-kashgar-2's own figure is every byte it exported, 520 + 300 + 45 + 8 = 873
    assert top_talkers(store, "wan-kashgar-2", at(0), at(1200))[1].bytes == 873


def test_the_site_of_an_interval_is_the_last_the_link_had_in_the_inventory_during_it() -> None:
    """Sites alone, an interval [0, 300) and its link wan-x, exported by two exporters (one history entry per change,
    not two). Learned at 100: moved from 喀什 to 和田 -> 和田 (the stored figures read the inventory now: 和田 too).
    Added at 100, unknown before -> 和田 (stored: no removal on record, so 和田). Removed at 100 -> 喀什 (it was there
    at the start). Removed at 0 exactly -> unknown (start at or after removed_at). Removed at 100 and restored at 200
    -> 喀什. Learned exactly at the end, 300 -> it does not count for [0, 300): a removal at 300 leaves 喀什, a
    restore at 300 after a removal at 0 leaves unknown (the absence [0, 300) covers the interval whole)."""
    from opsmon.collector.inputs.flows.sites import Sites

    kashgar = {"wan-x": AssetSpec(id="wan-x", category="link", site=KASHGAR)}
    hotan = {"wan-x": AssetSpec(id="wan-x", category="link", site=HOTAN)}

    def site(*changes: tuple[float, dict[str, AssetSpec]], first: dict[str, AssetSpec] = kashgar) -> str:
        inventory = [first]
        sites = Sites({"127.0.0.1": "wan-x", "127.0.0.2": "wan-x"}, lambda: inventory[0])
        sites.refresh(-50.0)
        for when, mapping in changes:
            inventory[0] = dict(mapping)  # each reload hands a new mapping
            sites.refresh(when)
        assert all(len(past) == 1 + len(changes) for past in sites.history.values())
        return sites.site_of("wan-x", 0.0, 300.0)

    assert site((100.0, hotan)) == HOTAN
    assert site((100.0, hotan), first={}) == HOTAN
    assert site((100.0, {})) == KASHGAR
    assert site((0.0, {})) == "unknown"
    assert site((100.0, {}), (200.0, kashgar)) == KASHGAR
    assert site((300.0, {})) == KASHGAR
    assert site((0.0, {}), (300.0, kashgar)) == "unknown"
