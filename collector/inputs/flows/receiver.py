"""The flow receiver: NetFlow v5/v9, IPFIX and sFlow v5 over UDP from the allowed exporters, summed per link and
per site (the prefecture its link serves, from the inventory: sites.py) (issue 23).

An input (inputs/base.py), on when `flows.enabled`. The port takes datagrams from anyone, so, as at the trap
port (issue 16), nothing a sender does costs more than a counter: each datagram passes the per-source rate
limit before anything else (inputs/snmp/trap_limits.py), then the exporter allow-list, then the decoder; every
refusal is counted by reason and source and logged at most a line a minute per source
(inputs/snmp/trap_refusals.py). What is kept is the aggregator's bounded sums (aggregate.py); each closed
interval leaves as one `FlowTop` message, stored by the store writer.

With `flows.sflow_port`, a second socket takes sFlow v5 only (its IANA port, 6343, beside NetFlow's 2055): the
same handling, the same per-source buckets (a source does not double its rate by using both ports).
"""
from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.core.messages import Event, FlowTop, Message
from opsmon.collector.inputs.base import InputContext, bind_udp
from opsmon.collector.inputs.flows.aggregate import Aggregator
from opsmon.collector.inputs.flows.baseline import History, VolumeBaseline
from opsmon.collector.inputs.flows.boundary import Boundary
from opsmon.collector.inputs.flows.decode import Refused
from opsmon.collector.inputs.flows.sflow import is_sflow
from opsmon.collector.inputs.flows.sites import Sites
from opsmon.collector.inputs.flows.templates import Decoder
from opsmon.collector.inputs.snmp.trap_limits import SourceBuckets
from opsmon.collector.inputs.snmp.trap_refusals import Refusals

log = logging.getLogger(__name__)

RECEIVE_BUFFER = 4 << 20  # a few seconds of a busy exporter wait in the kernel (capped by net.core.rmem_max)
TICK = 1.0  # seconds between looks for intervals that ended and for refusal lines due
REFUSED_LINE = "流量数据报被拒收（每个来源每分钟至多一行）/ flow datagrams refused (a line a minute per source at most)"
# Why a datagram (or a data set) was refused: the reasons of FlowCounts.refused.
REASONS = {
    "rate": "beyond the source's rate limit (flows.rate, burst): dropped before decoding",
    "unknown_exporter": "a source address not under flows.exporters",
    "unknown_link": "an exporter whose link is no asset of the inventory (flows.unknown_links: refuse)",
    "version": "not NetFlow v5, v9, IPFIX or sFlow v5 (on flows.sflow_port: not sFlow v5)",
    "truncated": "shorter than its header, records or sets say",
    "malformed": "lengths or ids that contradict the specification",
    "no_template": "a v9/IPFIX data set whose template did not come while flows.pending_sets held it",
    "error": "a datagram the receiver failed to handle (a defect: the log line names the exception)",
}


def make(ctx: InputContext) -> FlowReceiver | None:
    """The receiver, when `flows.enabled`."""
    settings = ctx.config.flows
    if not settings.enabled:
        return None
    return FlowReceiver(settings, ctx.publish, ctx.clock, history=ctx.flow_totals, assets=ctx.assets)


def boundary_of(settings: Any) -> Boundary | None:
    """The allowed-destinations check, when any network is configured (flows.allowed_destinations)."""
    allowed = settings.allowed_destinations
    if not allowed.networks and not any(allowed.links.values()):
        return None
    return Boundary(allowed.networks, allowed.links, allowed.prefix_v4, allowed.prefix_v6, allowed.max_events,
                    allowed.incident)


@dataclass
class FlowCounts:
    """What the receiver has seen, for /metrics and the tests."""

    refused: dict[tuple[str, str], int]  # (reason, source label) -> datagrams or data sets refused
    datagrams: int = 0  # that reached the port
    flows: int = 0  # flow records decoded and summed
    intervals: int = 0  # closed intervals published
    outside: dict[str, int] = field(default_factory=dict)  # link -> events of traffic outside the allowed networks
    site_bytes: dict[str, int] = field(default_factory=dict)  # site -> bytes of its links' closed intervals (from 0)
    # exporter -> (its link's site, link / not_link / unknown in the inventory): opsmon_flow_exporter_info
    placements: dict[str, tuple[str, str]] = field(default_factory=dict)
    link_bytes: dict[str, int] = field(default_factory=dict)  # link -> bytes of its closed intervals (from 0)
    last_interval: dict[str, int] = field(default_factory=dict)  # link -> bytes of its last closed interval
    baseline: dict[str, float] = field(default_factory=dict)  # link -> baseline of its last judged interval
    by_exporter: dict[str, int] = field(default_factory=dict)  # exporter -> flow records (each from 0)
    links: dict[str, str] = field(default_factory=dict)  # exporter -> its link, for the metric's label
    # exporter -> Unix seconds of its last decodable datagram (the receiver's start until its first), for the
    # silent-exporter alert: a template-only datagram counts, the exporter is alive
    last_seen: dict[str, float] = field(default_factory=dict)


class FlowReceiver:
    name = "flows"

    def __init__(self, settings: Any, publish: Callable[[Message], None],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic, history: History | None = None,
                 assets: Callable[[], Mapping[str, Any]] = dict) -> None:
        self.settings = settings
        self.publish = publish
        self.clock = clock
        self.exporters: dict[str, str] = dict(settings.exporters)
        self.sites = Sites(self.exporters, assets, settings.unknown_links == "refuse")
        self.refusals = Refusals(settings.refused_sources, lambda address: address in self.exporters,
                                 clock=monotonic, line=REFUSED_LINE)
        self.buckets = SourceBuckets(settings.rate, settings.burst, clock=monotonic)
        self.decoder = Decoder(settings.max_templates, settings.pending_sets,
                               on_drop=lambda source: self.refusals.refuse("no_template", source))
        self.aggregator = Aggregator(settings.interval, settings.top, settings.max_keys, boundary_of(settings))
        links = set(self.exporters.values())
        self.counts = FlowCounts(self.refusals.counts, by_exporter=dict.fromkeys(self.exporters, 0),
                                 links=dict(self.exporters), outside=dict.fromkeys(links, 0),
                                 link_bytes=dict.fromkeys(links, 0),
                                 last_seen=dict.fromkeys(self.exporters, self.clock().timestamp()))
        base = settings.baseline
        self.baseline = (VolumeBaseline(history, base.weeks, base.min_weeks, base.factor, base.floor_bytes)
                         if history is not None and base.weeks > 0 else None)
        if self.baseline is not None:
            self.counts.baseline = self.baseline.last
        self.judged: set[str] = set()  # links whose first (partial) interval since start has closed
        self._judging: asyncio.Task[None] | None = None  # the latest interval's judgement (off the loop: _judge)
        self._closed = False
        self.sock: socket.socket | None = None
        self.port: int | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.sflow_sock: socket.socket | None = None  # flows.sflow_port's, when configured
        self.sflow_port: int | None = None
        self.sflow_transport: asyncio.DatagramTransport | None = None
        self._ticker: asyncio.TimerHandle | None = None

    def bind(self) -> None:
        """Take the port(s) at start, so a taken port fails the start, naming the address."""
        sock = bind_udp(self.settings.host, self.settings.port, RECEIVE_BUFFER, "flows")
        sock.setblocking(False)
        self.sock = sock
        self.port = sock.getsockname()[1]
        if self.settings.sflow_port is not None:
            try:
                sflow = bind_udp(self.settings.host, self.settings.sflow_port, RECEIVE_BUFFER,
                                 "sFlow (flows.sflow_port)")
            except BaseException:
                sock.close()
                self.sock = None
                raise
            sflow.setblocking(False)
            self.sflow_sock = sflow
            self.sflow_port = sflow.getsockname()[1]

    def start(self) -> None:
        """Receive on the bound socket; called inside the running event loop."""
        if self.sock is None:
            raise RuntimeError("FlowReceiver.start() before bind()")
        loop = asyncio.get_running_loop()
        receiver = self

        class _Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
                receiver.received(data, str(addr[0]))

        class _SflowProtocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
                receiver.received(data, str(addr[0]), sflow_only=True)

        self._place()
        loop.create_task(self._listen(loop, _Protocol, sflow=False))
        if self.sflow_sock is not None:
            loop.create_task(self._listen(loop, _SflowProtocol, sflow=True))
        self._ticker = loop.call_later(TICK, self._tick)
        log.info("flow receiver listening", extra={
            "address": f"{self.settings.host}:{self.port}", "exporters": len(self.exporters),
            "sflow_address": f"{self.settings.host}:{self.sflow_port}" if self.sflow_sock is not None else "-"})

    async def _listen(self, loop: asyncio.AbstractEventLoop, protocol: Callable[[], asyncio.DatagramProtocol],
                      sflow: bool) -> None:
        sock = self.sflow_sock if sflow else self.sock
        transport, _ = await loop.create_datagram_endpoint(protocol, sock=sock)
        if (self.sflow_sock if sflow else self.sock) is None:  # closed while the endpoint was being made
            transport.close()
            return
        if sflow:
            self.sflow_transport = transport
        else:
            self.transport = transport

    def _place(self) -> None:
        """Each exporter's site and standing from the live inventory (sites.py): at start, then when it reloads."""
        if self.sites.refresh(self.clock().timestamp()):
            self.counts.placements = {exporter: (p.site, p.state) for exporter, p in self.sites.placements.items()}
            for placement in self.sites.by_link.values():
                self.counts.site_bytes.setdefault(placement.site, 0)

    def received(self, data: bytes, source: str, sflow_only: bool = False) -> None:
        """One datagram: rate limit, allow-list, decode, sum. Never raises: a refusal is counted instead.
        `sflow_only`: it came to flows.sflow_port, where anything but sFlow v5 is refused (reason version)."""
        self.counts.datagrams += 1
        if source.startswith("::ffff:"):
            source = source[7:]  # an IPv4 exporter seen through a dual-stack socket
        if not self.buckets.take(source):
            self.refusals.refuse("rate", source)
            return
        link = self.exporters.get(source)
        if link is None:
            self.refusals.refuse("unknown_exporter", source)
            return
        if not self.sites.placements:
            self._place()  # received() before start() (the tests feed datagrams by hand)
        if self.sites.refused(source):
            self.refusals.refuse("unknown_link", source, link)
            return
        if sflow_only and not is_sflow(data):
            self.refusals.refuse("version", source, "not sFlow v5 on flows.sflow_port")
            return
        try:
            flows = self.decoder.decode(data, source)
        except Refused as refused:
            self.refusals.refuse(refused.reason, source, str(refused)[:200])
            return
        except Exception as exc:  # noqa: BLE001 - one odd datagram must not stop the receiver
            self.refusals.refuse("error", source, f"{type(exc).__name__}: {exc}"[:200])
            return
        now = self.clock().timestamp()
        self.counts.last_seen[source] = now
        if flows:
            self.counts.flows += len(flows)
            self.counts.by_exporter[source] += len(flows)
            self._publish(self.aggregator.add(link, flows, now))

    def _publish(self, closed: list[Any], judge: bool = True) -> None:
        """Closed intervals and their events out; each interval's volume counted and (but the first after start
        and the partial one at stop) judged against its baseline."""
        for message in closed:
            self.publish(message)
            if isinstance(message, Event):
                self.counts.outside[message.asset_id or ""] = self.counts.outside.get(message.asset_id or "", 0) + 1
            if not isinstance(message, FlowTop):
                continue
            self.counts.intervals += 1
            octets = sum(row.bytes for row in message.rows)
            self.counts.link_bytes[message.link] = self.counts.link_bytes.get(message.link, 0) + octets
            site = self.sites.site_of(message.link, message.start.timestamp(), message.end.timestamp())
            self.counts.site_bytes[site] = self.counts.site_bytes.get(site, 0) + octets
            self.counts.last_interval[message.link] = octets
            if self.baseline is not None and judge and message.link in self.judged:
                self._judging = asyncio.get_running_loop().create_task(self._judge(
                    self._judging, self.baseline, message.link, message.start, message.end, octets))
            self.judged.add(message.link)

    async def _judge(self, before: asyncio.Task[None] | None, baseline: VolumeBaseline, link: str, start: datetime,
                     end: datetime, octets: int) -> None:
        """One interval's judgement, after the FlowTop it judges was published: the baseline reads the stored
        intervals (a SQL query), so it runs on a worker thread, never on the event loop that receives the
        datagrams; its events are published back on the loop. Judgements run one at a time in the order the
        intervals closed (each waits for the one before), so a link's events keep their order and the
        baseline's per-link state is never changed by two threads at once."""
        if before is not None:
            await asyncio.wait([before])
        try:
            events = await asyncio.to_thread(baseline.judge, link, start, end, octets)
        except Exception as exc:  # noqa: BLE001 - a store that cannot be read must not stop the receiver
            log.warning("flow baseline not read", extra={"link": link, "error": str(exc)[:200]})
            return
        if self._closed:  # nothing is published after close() (inputs/base.py)
            return
        for event in events:
            self.publish(event)

    async def judged_all(self) -> None:
        """Wait for the judgements of the intervals closed so far (the tests, which feed datagrams by hand)."""
        while self._judging is not None and not self._judging.done():
            await asyncio.wait([self._judging])

    def _tick(self) -> None:
        """Once a second: intervals that ended to the store, refusal lines due to the log."""
        self._place()
        self._publish(self.aggregator.due(self.clock().timestamp()))
        self.refusals.tick()
        if self.transport is not None or self.sock is not None:
            self._ticker = asyncio.get_running_loop().call_later(TICK, self._tick)

    def close(self) -> None:
        """Stop receiving; the open intervals are published (partial), pending refusal lines written. A judgement
        still on its worker thread publishes nothing (a baseline event of the last second before a stop is lost)."""
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        for transport, sock in ((self.transport, self.sock), (self.sflow_transport, self.sflow_sock)):
            if transport is not None:
                transport.close()  # closes its socket
            elif sock is not None:
                sock.close()
        self.transport = self.sflow_transport = None
        self.sock = self.sflow_sock = None
        self._publish(self.aggregator.flush(), judge=False)
        self.refusals.flush()
