"""A link's volume against its baseline (issue 23 item 5): each interval's bytes against the median of the same
interval of the past weeks, read from the stored intervals; an event when the judgement changes; the per-link
metrics for Grafana. A real store (the `store` fixture) holds the history; every figure is computed by hand."""
from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from opsmon.collector.config.flows import FlowsConfig
from opsmon.collector.core.messages import Event, FlowRow, FlowTop, Message
from opsmon.collector.inputs.flows.receiver import FlowReceiver
from opsmon.collector.outputs.metrics import FlowCollector
from opsmon.collector.store.db import Store
from opsmon.collector.store.flows import interval_totals
from opsmon.collector.store.writer import StoreWriter
from tests.collector.inputs.flow_packets import v5

WEEK = 7 * 86400
S = 1_800_000_000.0 + 4 * WEEK  # an interval start (a multiple of 300: 604,800 = 2016 x 300) with 4 weeks behind
FIVE = 300


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def seed(store: Store) -> None:
    """wan-a's stored intervals (bytes of all rows of the interval, `other` included):
    - slot S - 300 (the receiver's first interval): 1 and 2 weeks before: 5000, 5000 -> baseline 5000
    - slot S: 1..4 weeks before: 300, 100, 200, 600 + other 400 = 1000 -> median of (100, 200, 300, 1000) =
      (200 + 300) / 2 = 250
    - slot S + 300: 1 week before only: 500 -> fewer than min_weeks (2): not judged
    - slot S + 600: 1 and 2 weeks before: 2000, 4000 -> median 3000
    and wan-b's slot S 1 week before, 9999 (another link: not counted for wan-a)."""
    writer = StoreWriter(store, at(S - 5 * WEEK))
    writer.start()
    history = [(S - FIVE, 1, 5000), (S - FIVE, 2, 5000), (S, 1, 300), (S, 2, 100), (S, 3, 200),
               (S + FIVE, 1, 500), (S + 2 * FIVE, 1, 2000), (S + 2 * FIVE, 2, 4000)]
    for slot, weeks, octets in history:
        start = at(slot - weeks * WEEK)
        writer.put(FlowTop("wan-a", start, start + timedelta(seconds=FIVE), (FlowRow("a", "b", 443, 6, octets, 1, 1),)))
    start = at(S - 4 * WEEK)
    writer.put(FlowTop("wan-a", start, start + timedelta(seconds=FIVE), (
        FlowRow("a", "b", 443, 6, 600, 1, 1), FlowRow("other", "other", -1, -1, 400, 1, 1))))
    writer.put(FlowTop("wan-b", at(S - WEEK), at(S - WEEK + FIVE), (FlowRow("a", "b", 443, 6, 9999, 1, 1),)))
    assert writer.stop()


def test_volume_against_the_median_of_the_same_slot_of_past_weeks(store: Store) -> None:
    """weeks 4, min_weeks 2, factor 3, floor 500 (each judged interval has a figure >= 500). The receiver's intervals:
    - [S - 300, S): 10 bytes against 5000 would be low (10 x 3 < 5000), but it is the first since start
      (partial): not judged, no event
    - [S, S + 300): 800 > 3 x 250 = 750 -> high: event link_volume_high, ratio 800 / 250 = 3.2
    - [S + 300, S + 600): 800, 1 week of history: not judged, still high, no event
    - [S + 600, S + 900): 2000 against 3000: 2000 x 3 = 6000 >= 3000 and 2000 <= 9000 -> normal: event
      link_volume_normal (back from high), ratio 2000 / 3000 = 0.67
    - [S + 900, ...): 1 byte, stored at stop (partial): not judged.
    Metrics: bytes 10 + 800 + 800 + 2000 + 1 = 3611; last interval 1; baseline of the last judged 3000; no
    outside events (0, the link listed from zero)."""
    seed(store)
    published: list[Message] = []
    now = [at(S - FIVE + 1)]
    settings = FlowsConfig(enabled=True, exporters={"127.0.0.1": "wan-a"}, interval=FIVE,
                           baseline={"weeks": 4, "min_weeks": 2, "factor": 3, "floor_bytes": 500})
    receiver = FlowReceiver(settings, published.append, lambda: now[0], monotonic=lambda: 1.0,
                            history=lambda link, starts: interval_totals(store, link, starts))

    async def feed() -> None:  # on an event loop, as the receiver's UDP protocol calls it
        for ts, octets in ((S - FIVE + 1, 10), (S + 1, 800), (S + FIVE + 1, 800), (S + 2 * FIVE + 1, 2000),
                           (S + 3 * FIVE + 1, 1)):
            now[0] = at(ts)
            receiver.received(v5([("10.1.0.5", "10.2.0.9", 443, 6, octets, 1)]), "127.0.0.1")
        await receiver.judged_all()
        receiver.close()

    asyncio.run(feed())
    assert [m.end.timestamp() - S for m in published if isinstance(m, FlowTop)] == [0, 300, 600, 900, 1200]
    events = [m for m in published if isinstance(m, Event)]
    assert [(e.name, e.ts.timestamp() - S, e.details["bytes"], e.details["baseline"], round(e.details["ratio"], 2))
            for e in events] == [("link_volume_high", 300, 800, 250, 3.2),
                                 ("link_volume_normal", 900, 2000, 3000, 0.67)]
    assert events[0].kind == "traffic" and events[0].severity == "warning" and events[1].severity == "info"
    assert events[0].summary.startswith("wan-a: 流量高于基线（800 字节，基线 250，3.20 倍）/ volume above its baseline")
    registry = CollectorRegistry()
    registry.register(FlowCollector(receiver.counts))
    text = generate_latest(registry).decode()
    assert 'opsmon_flow_link_bytes_total{link="wan-a"} 3611.0' in text
    assert 'opsmon_flow_link_interval_bytes{link="wan-a"} 1.0' in text
    assert 'opsmon_flow_link_baseline_bytes{link="wan-a"} 3000.0' in text
    assert 'opsmon_flow_outside_events_total{link="wan-a"} 0.0' in text


def test_the_judgement_reads_the_store_off_the_event_loop() -> None:
    """The baseline reads the stored intervals (a SQL query): it must not hold the loop that receives the
    datagrams. A history reader (as InputContext.flow_totals) records the thread it runs on: never the loop's.
    Two links, each with its receiver's first interval [S - 300, S) (partial, not judged) and [S, S + 300) with
    1 and 2 weeks of history 100 and 100 (median 100) against 1000 > 3 x 100 -> high; the intervals close
    when the datagrams at S + 301 arrive, wan-a's first: each FlowTop is published before its event, and the
    events come in the order the intervals closed: wan-a's, then wan-b's. Two judgements: two reads."""
    readers: list[int] = []

    def history(link: str, starts: list[datetime]) -> dict[datetime, int]:
        readers.append(threading.get_ident())
        return {starts[0]: 100, starts[1]: 100}

    published: list[Message] = []
    now = [at(S - FIVE + 1)]
    settings = FlowsConfig(enabled=True, exporters={"127.0.0.1": "wan-a", "127.0.0.2": "wan-b"}, interval=FIVE,
                           baseline={"weeks": 2, "min_weeks": 2, "factor": 3, "floor_bytes": 0})
    receiver = FlowReceiver(settings, published.append, lambda: now[0], monotonic=lambda: 1.0, history=history)

    async def feed() -> int:
        for ts, octets in ((S - FIVE + 1, 10), (S + 1, 1000), (S + FIVE + 1, 1)):
            now[0] = at(ts)
            for source in ("127.0.0.1", "127.0.0.2"):
                receiver.received(v5([("10.1.0.5", "10.2.0.9", 443, 6, octets, 1)]), source)
        await receiver.judged_all()
        receiver.close()
        return threading.get_ident()

    loop_thread = asyncio.run(feed())
    assert len(readers) == 2 and loop_thread not in readers
    order = [(type(m).__name__, m.link if isinstance(m, FlowTop) else m.asset_id, m.end if isinstance(m, FlowTop)
              else m.ts) for m in published]
    judged = [o for o in order if o[0] == "Event"]
    assert judged == [("Event", "wan-a", at(S + FIVE)), ("Event", "wan-b", at(S + FIVE))]
    for link in ("wan-a", "wan-b"):
        assert order.index(("FlowTop", link, at(S + FIVE))) < order.index(("Event", link, at(S + FIVE)))
