"""The relay: every accepted frame of a DAU, unchanged, to the upstream platforms its check names (issue 17, item 6).

Why: a DAU has a few upstream slots; where none is free for opsmon, opsmon sits in front of a platform and
forwards what the unit sends, so the platform must lose nothing by it. The guarantees are the agents' spool's
(agent/spool.py, docs/reliability.md), with one difference said below:

- **Unchanged.** The bytes from `##` to the CRC as the unit sent them, then CR LF (the standard's tail: a
  unit that leaves it out gets it added, since a platform that frames on it needs it).
- **Queued before answered.** `forward()` writes the frame to each upstream's queue folder (a temporary file,
  fsync, rename, fsync of the folder) on the relay's thread, and the receiver writes no reply of that read
  before it is done, so a frame the unit was answered for survives kill -9. A write that fails: no reply of
  that read is written (counted as withheld, logged), so the unit sends the frames again.
- **In order, once.** One sender per upstream sends the oldest frame first, one at a time; a frame whose Flag
  asks for an answer leaves the queue only when the platform's 9014 with its QN came back (within
  `answer_wait`; else the connection is made again and the frame resent; after SEND_TRIES sends without an
  answer it is given up and counted, as HJ 212 has a sender do: a platform that never answers must not stall the
  queue), one that asks for none once it is written. A collector killed between sending a frame and removing
  it sends that one frame again after the restart: at most one copy per upstream, which the platform's own
  resend handling (the unit resends too) takes. Unreachable: reconnect with backoff (1 s doubling to 60 s).
- **Bounded, loudly.** Unlike the agents' spool, which drops its oldest reports, a full queue (`max_queue`
  frames) refuses the new frame: what is queued is a contiguous, in-order stretch of the unit's history, and
  a platform that was away long gets the oldest hours first, which it can still count (the correction
  deadline); the newest ones the unit keeps itself and sends on the platform's history request. Each refused
  frame is counted (`opsmon_hj212_relay_dropped_total{upstream}`, kept across restarts) and logged a line a
  minute per upstream at most.
- **Answers apart.** The platform's answers come back on opsmon's own connection to it and are read there:
  9014/9013 are counted and consumed, any request it sends (1012, 2061 with BeginTime, ...) is counted and
  ignored. Nothing the platform sends reaches the unit; opsmon answers the unit itself (session.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsmon.collector.inputs.hj212.frame import Framer
from opsmon.collector.inputs.hj212.packet import parsed

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
DROP_LOG_EVERY = 60.0
SEND_TRIES = 3  # sends of a frame without the platform's answer before it is given up (HJ 212 §6.1, Table 1)
SUFFIX = ".frame"


@dataclass
class RelayStats:
    """What /metrics shows of one upstream (outputs/metrics.py reads it at scrape time)."""

    queued: int = 0  # frames on disk now
    sent: int = 0  # frames delivered (answered by a 9014, or written when none was asked)
    dropped: int = 0  # frames refused by the full queue (kept across restarts)
    connected: int = 0  # 1 while a connection is up
    answers: int = 0  # the platform's 9014/9013 read and consumed
    requests: int = 0  # other frames the platform sent (its requests): read and ignored
    resent: int = 0  # frames sent again (no answer within answer_wait)
    unanswered: int = 0  # frames given up after SEND_TRIES sends without an answer (counted in sent too)


class RelayQueue:
    """One upstream's crash-safe queue: a file per frame, named by a sequence number, in a folder of its own."""

    def __init__(self, directory: Path, max_frames: int, stats: RelayStats) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.max_frames = max_frames
        self.stats = stats
        for tmp in self.dir.glob("*.tmp"):  # a write cut by a crash: never answered, so the unit resends it
            tmp.unlink(missing_ok=True)
        self.files = sorted(self.dir.glob("*" + SUFFIX))
        self.next = int(self.files[-1].stem) + 1 if self.files else 1
        self._state = self.dir / "state.json"
        try:
            stats.dropped = int(json.loads(self._state.read_text()).get("dropped", 0))
        except (OSError, ValueError, AttributeError):
            stats.dropped = 0
        stats.queued = len(self.files)

    def put(self, raw: bytes) -> bool:
        """Write `raw` durably at the end; False (counted) when the queue is full. OSError when the disk fails."""
        if len(self.files) >= self.max_frames:
            self.stats.dropped += 1
            self._save_state()
            return False
        path = self.dir / f"{self.next:020d}{SUFFIX}"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.dir)
        self.next += 1
        self.files.append(path)
        self.stats.queued = len(self.files)
        return True

    def head(self) -> tuple[Path, bytes] | None:
        """The oldest frame still to send, or None."""
        while self.files:
            path = self.files[0]
            try:
                return path, path.read_bytes()
            except FileNotFoundError:
                self.files.pop(0)
        return None

    def pop(self, path: Path) -> None:
        """The oldest frame was delivered: remove it."""
        path.unlink(missing_ok=True)
        if self.files and self.files[0] == path:
            self.files.pop(0)
        self.stats.queued = len(self.files)

    def _save_state(self) -> None:
        tmp = self._state.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"dropped": self.stats.dropped}))
        os.replace(tmp, self._state)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _qn_and_answer(raw: bytes) -> tuple[str | None, bool]:
    """The frame's QN and whether its Flag asks for an answer (the platform's 9014)."""
    for _, packet in parsed(Framer(9999).feed(raw)):
        return packet.qn, packet.wants_answer
    return None, False


class Upstream:
    """One platform: its queue and the task that sends it, in order, over a connection of its own."""

    def __init__(self, name: str, spec: Any, directory: Path) -> None:
        self.name = name
        self.spec = spec
        self.stats = RelayStats()
        self.queue = RelayQueue(directory, spec.max_queue, self.stats)
        self.wake = asyncio.Event()
        self.answered: dict[str, asyncio.Event] = {}  # QN awaited -> set when its 9014 comes
        self.task: asyncio.Task[None] | None = None
        self.tries: dict[Path, int] = {}  # frame -> sends without an answer
        self._drop_logged = 0.0
        self._drops_unlogged = 0

    def put(self, raw: bytes) -> None:
        """Queue `raw` (on the relay's thread); the sender is woken afterwards on the event loop (Relay.wake)."""
        if self.queue.put(raw):
            return
        self._drops_unlogged += 1
        now = time.monotonic()
        if now - self._drop_logged >= DROP_LOG_EVERY:
            log.warning("HJ 212 转发队列已满，数据包未排队 / HJ 212 relay queue full: frames not queued for it",
                        extra={"upstream": self.name, "max_queue": self.spec.max_queue,
                               "dropped": self._drops_unlogged, "dropped_total": self.stats.dropped})
            self._drop_logged, self._drops_unlogged = now, 0

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())
        if self.stats.queued:
            log.info("hj212 relay queue read back", extra={"upstream": self.name, "queued": self.stats.queued})

    async def _run(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            if self.queue.head() is None:
                self.wake.clear()
                await self.wake.wait()
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.spec.host, self.spec.port), self.spec.answer_wait)
            except (OSError, TimeoutError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self.stats.connected = 1
            log.info("hj212 relay connected", extra={"upstream": self.name, "queued": self.stats.queued})
            listener = asyncio.get_running_loop().create_task(self._listen(reader))
            sent = self.stats.sent
            try:
                await self._send(writer, listener)
            except (OSError, ConnectionError, TimeoutError):
                pass
            finally:
                self.stats.connected = 0
                listener.cancel()
                writer.transport.abort()
                self.answered.clear()
            if self.stats.sent > sent:
                delay = BACKOFF_FIRST  # the link worked: try again at once
            else:  # a platform that takes connections and nothing else must not be hammered
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    async def _send(self, writer: asyncio.StreamWriter, listener: asyncio.Task[None]) -> None:
        """Send the queue's head until the queue is empty and stays so, or the link fails (raises)."""
        while not listener.done():
            head = self.queue.head()
            if head is None:
                self.wake.clear()
                waiter = asyncio.ensure_future(self.wake.wait())
                await asyncio.wait({waiter, listener}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                continue
            path, raw = head
            qn, wanted = _qn_and_answer(raw)
            answered = self.answered.setdefault(qn, asyncio.Event()) if wanted and qn else None
            writer.write(raw)
            await asyncio.wait_for(writer.drain(), self.spec.answer_wait)
            if answered is not None:
                try:
                    await asyncio.wait_for(answered.wait(), self.spec.answer_wait)
                except TimeoutError:
                    tries = self.tries[path] = self.tries.get(path, 0) + 1
                    if tries < SEND_TRIES:
                        self.stats.resent += 1
                        raise
                    # HJ 212's own rule for a sender (§6.1, Table 1: 3 tries): a platform that never answers
                    # must not stall the queue behind one frame; it was sent three times.
                    self.stats.unanswered += 1
                    log.warning("HJ 212 上级平台未应答，已放弃该帧 / the upstream never answered a frame: given up "
                                "after its tries", extra={"upstream": self.name, "qn": qn, "tries": tries})
                finally:
                    self.answered.pop(qn or "", None)
            self.tries.pop(path, None)
            self.queue.pop(path)
            self.stats.sent += 1
        raise ConnectionError("the upstream closed the connection")

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        """Read what the platform sends: its answers are consumed and counted, its requests counted and ignored."""
        framer = Framer(9999)
        while True:
            data = await reader.read(65536)
            if not data:
                return
            for _, packet in parsed(framer.feed(data)):
                if packet.cn in ("9014", "9013"):
                    self.stats.answers += 1
                    event = self.answered.get(packet.qn or "")
                    if event is not None:
                        event.set()
                else:
                    self.stats.requests += 1

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None


@dataclass
class Relay:
    """The upstreams by name; forward() queues an accepted frame for each upstream its DAU's check names.

    The writes run on `executor`, one thread: an fsync takes milliseconds (8 ms wall, 0.3 ms CPU per frame on
    the 2-core test machine), which the event loop must not wait for, and one thread keeps the queues in the
    order the frames were accepted in."""

    upstreams: dict[str, Upstream] = field(default_factory=dict)
    unknown: set[tuple[str, str]] = field(default_factory=set)  # (asset, name) already logged
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="hj212-relay"))

    @classmethod
    def make(cls, specs: Mapping[str, Any], directory: Path) -> Relay:
        return cls({name: Upstream(name, spec, directory / name) for name, spec in sorted(specs.items())})

    def forward(self, asset_id: str, names: Iterable[str], raw: bytes) -> None:
        """Queue `raw` durably for each upstream named (before the unit is answered); OSError if a write fails.

        `raw` is the frame as received from `##` to the CRC (frame.py); the tail is written as the standard's
        CR LF, whatever the unit sent (CR LF, one of them, or none: the framer does not keep them)."""
        raw = raw + b"\r\n"
        for name in names:
            upstream = self.upstreams.get(name)
            if upstream is None:
                if (asset_id, name) not in self.unknown:
                    self.unknown.add((asset_id, name))
                    log.error("数采仪的转发目标未配置 / a DAU relays to an upstream hj212.upstreams does not have",
                              extra={"asset": asset_id, "upstream": name})
                continue
            upstream.put(raw)

    def forward_all(self, frames: Iterable[tuple[str, Iterable[str], bytes]]) -> None:
        """forward() each (asset, upstream names, raw), in order (on the executor's thread)."""
        for asset_id, names, raw in frames:
            self.forward(asset_id, names, raw)

    def wake(self) -> None:
        """Wake the senders with something queued (on the event loop)."""
        for upstream in self.upstreams.values():
            if upstream.queue.files:
                upstream.wake.set()

    def start(self) -> None:
        for upstream in self.upstreams.values():
            upstream.start()

    def close(self) -> None:
        for upstream in self.upstreams.values():
            upstream.close()
        self.executor.shutdown(wait=True)  # a write under way finishes: its frame was not answered yet

    def stats(self) -> dict[str, RelayStats]:
        return {name: u.stats for name, u in self.upstreams.items()}

