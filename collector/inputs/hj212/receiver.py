"""The HJ 212 receiver: an asyncio TCP server the DAUs connect to, one connection per unit, many at once.

An input (inputs/base.py), on when `hj212.enabled`. Each connection reads at most READ_CHUNK bytes at a time
into its own framer (bounded by hj212.max_segment), so a unit cannot make the collector hold more than one
frame's worth for it; garbage between frames and frames cut across reads are the framer's business
(frame.py); the rules per frame are session.py's.

An acknowledgement is a promise (docs/architecture.md, lesson 19): a 9014 is written only after the store
writer has committed what its frame brought (`durable()`, the agents' door's way), within
hj212.answer_wait; while the store is in trouble no 9014 is sent, so the unit keeps its data and sends it
again (stored once: the data table's key ignores the copy).
"""
from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsmon.collector.core.messages import Message
from opsmon.collector.core.secrets import read_named
from opsmon.collector.inputs.base import InputContext
from opsmon.collector.inputs.hj212.frame import Framer
from opsmon.collector.inputs.hj212.history import HistoryPull
from opsmon.collector.inputs.hj212.packet import parsed
from opsmon.collector.inputs.hj212.relay import Relay
from opsmon.collector.inputs.hj212.session import UNKNOWN, Counts, Reply, Session, Shared
from opsmon.collector.inputs.hj212.units import Units
from opsmon.collector.inputs.snmp.trap_refusals import Refusals

log = logging.getLogger(__name__)

READ_CHUNK = 65536
# At start, split parts received this recently are read back from hj212_frames into the reassembler: a part
# is answered once its raw frame is committed, so a restart must not lose its values. Older ones were given up
# (and stored) before the restart, unless the collector was down longer than this.
REJOIN_AGE = timedelta(hours=1)
TICK = 1.0  # seconds between writes of pending refusal log lines
# Group commit: the 9014s every connection owes within this window wait for one durable() together, so the
# frames of a window are committed in one transaction (the store writer gathers 50 ms after a write, and the
# service's durable() does not hurry it: a window under that puts the frames and their one waiter in the same
# batch). At 85 frames/s that is ~4 frames a commit instead of one, and each commit costs much the same whatever
# it holds (bench/hj212_bench.py, docs/hj212.md "Cost"); an answer comes ~50 ms later, against the unit's 10 s
# wait (HJ 212-2017 Table 1).
GATHER = 0.04
TURNED_AWAY_EVERY = 60.0  # seconds between two log lines of refused connections from one source address
REFUSED_LINE = ("HJ 212 数据包被拒收（每个数采仪每分钟至多一行）/ "
                "HJ 212 frames refused (a line a minute per DAU at most)")


def make(ctx: InputContext) -> Hj212Receiver | None:
    """The receiver, when `hj212.enabled`; the passwords are read now (a missing one fails the start)."""
    settings = ctx.config.hj212
    if not settings.enabled:
        return None
    passwords = read_named(settings.credentials, "password", "hj212.credentials", Path(ctx.config.base_dir or "."),
                           ctx.config.source_file or "collector.yaml")
    units = Units(ctx.assets, passwords, settings.stale_after)
    zone = settings.timezone or ctx.config.timezone
    relay = (Relay.make(settings.upstreams, Path(ctx.config.resolve(settings.relay_dir)))
             if settings.upstreams else None)
    history = (HistoryPull(settings.history, units, zone, ctx.clock, ctx.hj212_hours, ctx.hj212_deadline)
               if settings.history.enabled and ctx.hj212_hours is not None and ctx.hj212_deadline is not None
               else None)
    return Hj212Receiver(settings, zone, units, ctx.publish, ctx.clock, ctx.durable, ctx.store_trouble,
                         ctx.hj212_frames_since, relay=relay, history=history)


class Hj212Receiver:
    name = "hj212"

    def __init__(self, settings: Any, zone: str, units: Units, publish: Callable[[Message], None],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 durable: Callable[[], Awaitable[None]] | None = None,
                 trouble: Callable[[], str | None] = lambda: None,
                 frames_since: Callable[[datetime], Iterable[tuple[datetime, bytes, str]]] | None = None,
                 relay: Relay | None = None, history: HistoryPull | None = None) -> None:
        self.settings = settings
        # (received, raw, crc) of the stored frames received since then: raw is the masked copy (its CRC no longer
        # matches), crc the status found on receipt
        self.frames_since = frames_since
        self.units = units
        self.durable = durable
        self.trouble = trouble
        self.counts = Counts()
        self.refusals = Refusals(0, lambda label: label != UNKNOWN and units.get(label) is not None,
                                 other=UNKNOWN, line=REFUSED_LINE)
        self.shared = Shared(units, publish, clock, self.refusals, zone, self.counts)
        self.relay = relay
        if relay is not None:
            self.counts.relay = relay.stats()
            self.shared.relaying = True
        self.history = history
        if history is not None:
            self.counts.history = history.stats
        self.links: dict[str, tuple[asyncio.StreamWriter, str]] = {}  # MN -> its connection, the ST it sends
        self.sock: socket.socket | None = None
        self.port: int | None = None
        self.server: asyncio.base_events.Server | None = None
        # open connections -> when each last brought bytes (monotonic): the tick closes those idle for idle_timeout
        # (one look a tick for all, not a timer a read: bench/hj212_bench.py)
        self.writers: dict[asyncio.StreamWriter, float] = {}
        self.per_address: dict[str, int] = {}  # source address -> connections open from it
        # source address -> (monotonic time of its last "refused" log line, refusals since): a line a minute each
        self.turned_away: dict[str, tuple[float, int]] = {}
        self._ticker: asyncio.TimerHandle | None = None
        self._pulling: asyncio.Task[None] | None = None
        self._gathering: asyncio.Future[bool] | None = None  # the next group commit's outcome (see GATHER)

    def bind(self) -> None:
        """Take the port at start, so a taken port fails the start, naming the address."""
        host, port = self.settings.host, self.settings.port
        try:
            self.sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                             backlog=1024)
        except OSError as exc:
            raise OSError(f"cannot receive HJ 212 on {host}:{port}: {exc.strerror}") from None
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def start(self) -> None:
        """Serve on the bound socket; called inside the running event loop."""
        if self.sock is None:
            raise RuntimeError("Hj212Receiver.start() before bind()")
        self._refresh()
        self._rejoin()
        loop = asyncio.get_running_loop()
        loop.create_task(self._serve(self.sock))
        self._ticker = loop.call_later(TICK, self._tick)
        if self.relay is not None:
            self.relay.start()
        if self.history is not None:
            self._pulling = loop.create_task(self._pull())
        log.info("hj212 receiver listening", extra={"address": f"{self.settings.host}:{self.port}",
                                                     "units": len(self.units)})

    async def _serve(self, sock: socket.socket) -> None:
        self.server = await asyncio.start_server(self._connection, sock=sock, limit=READ_CHUNK)

    def _refresh(self) -> None:
        """Counters exist from zero for every configured DAU (lesson 21), once the inventory changes."""
        if self.units.refresh():
            for unit in self.units:
                self.counts.accepted.setdefault(unit.mn, 0)

    def _rejoin(self) -> None:
        """Put back into the reassembler the split parts stored in the last REJOIN_AGE (each was answered).

        A message whose parts are all there is stored again (the data table's key keeps one copy); one still
        missing parts waits for them as before, from when its first part came, and is stored with what came
        if they never do."""
        if self.frames_since is None:
            return
        shared = self.shared
        now, mono = shared.clock(), shared.monotonic()
        framer = Framer(max(self.settings.max_segment, 9999))
        rejoined = 0
        for received, raw, stored_crc in self.frames_since(now - REJOIN_AGE):
            for _item, packet in parsed(framer.feed(raw) + framer.close()):
                unit = self.units.get(packet.mn)
                if unit is None or not packet.is_split or packet.cn.startswith("9") or packet.cn == "1013":
                    continue
                crc = "modbus_le" if stored_crc == "modbus_le" else "ok"
                rejoined += 1
                whole = shared.reassembler.add(packet, crc, mono - max(0.0, (now - received).total_seconds()))
                if whole is not None:
                    shared.data(whole[0], unit, whole[1], now)
        if rejoined:
            log.info("hj212 split parts read back from the store", extra={"parts": rejoined,
                                                                         "waiting": len(shared.reassembler.pending)})

    def _tick(self) -> None:
        self.shared.expired()
        self.refusals.tick()
        now = time.monotonic()
        self._log_turned_away(now)
        for writer in [w for w, last in self.writers.items() if now - last >= self.settings.idle_timeout]:
            writer.transport.abort()  # a dead link the unit never closed: its read ends, _connection cleans up
        self._refresh()
        if self.shared.open:
            self._ticker = asyncio.get_running_loop().call_later(TICK, self._tick)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_info = writer.get_extra_info("peername")
        peer = str(peer_info[0]) if peer_info else "?"
        if not self.shared.open:
            writer.transport.abort()
            return
        if len(self.writers) >= self.settings.max_connections:
            self._turn_away(writer, peer, "max_connections")
            return
        if self.per_address.get(peer, 0) >= self.settings.max_per_address:
            self._turn_away(writer, peer, "max_per_address")
            return
        self.per_address[peer] = self.per_address.get(peer, 0) + 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.writers[writer] = time.monotonic()
        self.counts.connections = len(self.writers)
        session = Session(self.shared, peer, self.settings.max_segment)
        try:
            while self.shared.open:
                data = await reader.read(READ_CHUNK)
                if not data:
                    break
                self.writers[writer] = time.monotonic()
                replies = session.feed(data)
                await self._reply(writer, replies if await self._queued(session) else [])
                for mn, st in session.st.items():
                    self.links[mn] = (writer, st)
            if self.shared.open:
                session.close()
        except (ConnectionError, OSError):
            pass  # the unit went away: nothing to answer
        finally:
            for mn in session.st:  # the MNs this connection sent (a scan of every link cost O(units) a close)
                if self.links.get(mn, (None, ""))[0] is writer:
                    del self.links[mn]
            self.writers.pop(writer, None)
            self.counts.connections = len(self.writers)
            left = self.per_address.get(peer, 1) - 1
            if left > 0:
                self.per_address[peer] = left
            else:
                self.per_address.pop(peer, None)
            writer.transport.abort()

    def _turn_away(self, writer: asyncio.StreamWriter, peer: str, why: str) -> None:
        """Close a connection over a bound at once: counted (by bound), logged a line a minute per source address.

        A unit holds one connection; more from one address are a unit reconnecting before the old link timed
        out, or a client gone wrong (or hostile): hj212.max_per_address keeps one address from taking the
        slots of hj212.max_connections that the other units need."""
        writer.transport.abort()
        c = self.counts
        c.connections_refused += 1
        c.connections_refused_by[why] = c.connections_refused_by.get(why, 0) + 1
        last, since = self.turned_away.get(peer, (-math.inf, 0))
        now = time.monotonic()
        if now - last < TURNED_AWAY_EVERY:
            self.turned_away[peer] = (last, since + 1)
            return
        self.turned_away[peer] = (now, 0)
        self._log_refused_connections(peer, why, since + 1)

    def _log_turned_away(self, now: float) -> None:
        """At each tick: a source whose minute is over gets its line for the refusals since (or is forgotten)."""
        for peer, (last, since) in list(self.turned_away.items()):
            if now - last < TURNED_AWAY_EVERY:
                continue
            if since:
                self.turned_away[peer] = (now, 0)
                self._log_refused_connections(peer, None, since)
            else:
                del self.turned_away[peer]

    def _log_refused_connections(self, peer: str, why: str | None, refused: int) -> None:
        log.warning("HJ 212 连接被拒绝（每个来源地址每分钟至多一行）/ HJ 212 connections refused (a line a minute per "
                    "source address at most)",
                    extra={"source": peer, "bound": why or "max_connections/max_per_address", "refused": refused,
                           "from_source_now": self.per_address.get(peer, 0), "open": len(self.writers),
                           "max_per_address": self.settings.max_per_address,
                           "max_connections": self.settings.max_connections})

    async def _pull(self) -> None:
        """Every history.check_every: ask the connected units for their missing hours (history.py)."""
        assert self.history is not None
        while self.shared.open:
            await asyncio.sleep(self.settings.history.check_every)
            try:
                links = {mn: st for mn, (_, st) in self.links.items()}
                requests = await asyncio.to_thread(self.history.requests, links)
                for mn, data in requests:
                    link = self.links.get(mn)
                    if link is not None:
                        link[0].write(data)
            except Exception:  # noqa: BLE001 - a failed look-up (the store) is tried again at the next check
                log.exception("hj212 history pull failed; tried again at the next check")

    async def _queued(self, session: Session) -> bool:
        """Queue the session's accepted frames for the relay, durably, before any reply of theirs is written.

        The disk writes (an fsync each) run on the relay's own thread, in order; False when they failed: then no
        reply of this read is written, so the unit sends those frames again."""
        if self.relay is None or not session.forward:
            return True
        batch, session.forward = session.forward, []
        relay = self.relay
        try:
            await asyncio.get_running_loop().run_in_executor(
                relay.executor, relay.forward_all, [(u.asset_id, u.relay, raw) for u, raw in batch])
        except OSError as exc:
            self.counts.withheld += len(batch)
            log.error("HJ 212 转发队列写入失败，不应答 / the relay's queue cannot be written: frames not answered",
                      extra={"frames": len(batch), "error": f"{type(exc).__name__}: {exc}"})
            return False
        finally:
            relay.wake()
        return True

    async def _reply(self, writer: asyncio.StreamWriter, replies: list[Reply]) -> None:
        """Write the replies in order; the 9014s only once what came before them is committed."""
        if not replies:
            return
        committed = True
        if any(r.durable for r in replies):
            committed = await self._committed()
        out = bytearray()
        for reply in replies:
            if reply.durable and not committed:
                self.counts.withheld += 1
                continue
            out += reply.data
            self.counts.answers[reply.cn] = self.counts.answers.get(reply.cn, 0) + 1
        if out:
            writer.write(bytes(out))
            if writer.transport.get_write_buffer_size():  # the unit reads slowly: wait for room, not forever
                await asyncio.wait_for(writer.drain(), self.settings.answer_wait)

    async def _committed(self) -> bool:
        """True once the store has committed everything published so far; False if it is in trouble or slow."""
        if self.durable is None:
            return True
        if self.trouble() is not None:
            return False
        if self._gathering is None:
            loop = asyncio.get_running_loop()
            self._gathering = group = loop.create_future()
            loop.call_later(GATHER, self._commit_group, group)
            # answer_wait bounds the wait of the whole group: False (withheld) if the commit has not come by then
            loop.call_later(GATHER + self.settings.answer_wait, self._settle, group, False)
        return await self._gathering

    def _commit_group(self, group: asyncio.Future[bool]) -> None:
        """End a GATHER window: one durable() for everything published so far; `group` gets whether it came."""
        self._gathering = None
        assert self.durable is not None
        try:
            asyncio.ensure_future(self.durable()).add_done_callback(
                lambda done: self._settle(group, not done.cancelled() and done.exception() is None))
        except Exception:  # noqa: BLE001 - the writer cannot take a waiter: nothing is promised
            self._settle(group, False)

    @staticmethod
    def _settle(group: asyncio.Future[bool], committed: bool) -> None:
        """The group's outcome, once: committed in time, or not (a failed commit is no promise either)."""
        if not group.done():
            group.set_result(committed)

    def close(self) -> None:
        """Stop taking connections and frames; nothing is published after this returns."""
        self.shared.open = False
        if self.relay is not None:
            self.relay.close()
        if self._pulling is not None:
            self._pulling.cancel()
            self._pulling = None
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self.server is not None:
            self.server.close()
            self.server = None
        elif self.sock is not None:
            self.sock.close()
        self.sock = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.refusals.flush()

