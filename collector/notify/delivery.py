"""Delivery: at-least-once per channel, in order, without ever holding up the caller.

Each channel has its own bounded queue and one worker task. A notice is tried
up to `RetryPolicy.attempts` times with the policy's waits between; every
attempt is reported through `record` (the incident engine stores these on the
incident). Notices of one channel go out in submission order, so "resolved"
never overtakes "opened". A dead channel only fills its own queue; when full
the oldest notice is dropped, counted and recorded. Error texts are scrubbed of
URL query strings and of every secret of the channel before they are recorded
or logged.

Every channel's attempts, deliveries, failures (given up after the last retry or
a permanent error) and drops are counted in `stats` from zero, for /metrics
(issue 18: a dead path was only log lines). A submission may name a `fallback`
channel: when every channel of the submission has failed or dropped the notice,
the fallback gets it, once, and its own attempts count as its own.

    dispatcher = Dispatcher(build_channels(cfg.notify, base, src), record=store_attempt)
    dispatcher.submit(notice, ["oncall-wecom", "alertmanager"], fallback="duty-mail")   # returns at once
    ...
    await dispatcher.close()
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.config.notify import RetryPolicy
from opsmon.collector.core.errors import NotFound
from opsmon.collector.notify.base import Channel, DeliveryError, scrub
from opsmon.collector.notify.message import Notice

log = logging.getLogger(__name__)

Record = Callable[[str, str, int, bool, "str | None", datetime], "Awaitable[None] | None"]
"""record(incident_id, channel, attempt, ok, error, at); attempt 0 means dropped before any try."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Stats:
    """One channel's counts since start. `attempted` counts every try (retries too); a notice ends as one of
    delivered, failed (after its last try) or dropped (queue full, never tried); `fallback` counts the notices
    this channel got because every channel of theirs failed."""

    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    fallback: int = 0


class _Group:
    """The channels one submission went to; when the last of them ends without delivering, the fallback."""

    def __init__(self, notice: Notice, left: int, fallback: str | None) -> None:
        self.notice = notice
        self.left = left
        self.fallback = fallback
        self.delivered = False


class _Lane:
    """One channel's queue and worker."""

    def __init__(self, channel: Channel, size: int) -> None:
        self.channel = channel
        self.queue: deque[tuple[Notice, _Group]] = deque()
        self.size = size
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.busy = False


class Dispatcher:
    """Fans notices out to channels. Use from the event loop's thread; `submit` never blocks or raises on delivery."""

    def __init__(self, channels: Mapping[str, Channel], record: Record, policy: RetryPolicy | None = None, *,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 clock: Callable[[], datetime] = _now) -> None:
        self.policy = policy or RetryPolicy()
        self._lanes = {name: _Lane(ch, self.policy.queue_size) for name, ch in channels.items()}
        self._record = record
        self._sleep = sleep
        self._clock = clock
        self._closed = False
        self._side: set[asyncio.Task[None]] = set()
        self.stats: dict[str, Stats] = {name: Stats() for name in channels}

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self._lanes)

    @property
    def dropped(self) -> dict[str, int]:
        return {name: st.dropped for name, st in self.stats.items()}

    def types(self) -> dict[str, str]:
        """Channel name -> its type (wecom, email...), for the metrics' labels."""
        return {name: lane.channel.type_name for name, lane in self._lanes.items()}

    def queued(self) -> dict[str, int]:
        return {name: len(lane.queue) for name, lane in self._lanes.items()}

    def submit(self, notice: Notice, channel_names: Iterable[str], fallback: str | None = None) -> None:
        """Queue `notice` for each named channel and return; `fallback` gets it when all of them fail.
        NotFound for a name no channel has."""
        if self._closed:
            raise RuntimeError("Dispatcher is closed")
        names = list(dict.fromkeys(channel_names))
        unknown = [n for n in [*names, *([fallback] if fallback else [])] if n not in self._lanes]
        if unknown:
            raise NotFound(f"no notification channel named {', '.join(map(repr, unknown))}")
        group = _Group(notice, len(names), None if fallback in names else fallback)
        for name in names:
            self._queue(name, notice, group)

    def _queue(self, name: str, notice: Notice, group: _Group) -> None:
        lane = self._lanes[name]
        if len(lane.queue) >= lane.size:
            old, old_group = lane.queue.popleft()
            self.stats[name].dropped += 1
            log.warning("notify channel=%s queue full (%d): dropped the oldest notice of incident %s",
                        name, lane.size, old.incident_id)
            self._spawn(self._report(old.incident_id, name, 0, False, "dropped: channel queue full"))
            self._ended(old_group, False)
        lane.queue.append((notice, group))
        lane.wake.set()
        if lane.task is None:
            lane.task = asyncio.get_running_loop().create_task(self._work(lane), name=f"notify-{name}")

    def _ended(self, group: _Group, delivered: bool) -> None:
        """One channel of `group` is done with its notice; after the last, the fallback if none delivered."""
        group.left -= 1
        group.delivered = group.delivered or delivered
        if group.left or group.delivered or group.fallback is None or self._closed:
            return
        name, notice = group.fallback, group.notice
        log.warning("notify: every channel failed the %s notice of incident %s; trying fallback channel %s",
                    notice.event, notice.incident_id, name)
        self.stats[name].fallback += 1
        self._queue(name, notice, _Group(notice, 1, None))

    def pending(self) -> int:
        """Notices not yet delivered or given up (queued or in flight)."""
        return sum(len(lane.queue) + lane.busy for lane in self._lanes.values())

    async def join(self, timeout: float | None = None) -> None:
        """Wait until every queue is empty and no attempt is in flight (for shutdown drains and tests)."""
        async def idle() -> None:
            while self.pending() or self._side:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(idle(), timeout)

    async def close(self) -> None:
        """Stop all workers (queued notices are abandoned and logged) and close the channels."""
        self._closed = True
        lanes = list(self._lanes.values())
        for lane in lanes:
            if lane.task is not None:
                lane.task.cancel()
        for task in [*[lane.task for lane in lanes if lane.task is not None], *self._side]:
            task.cancel()
        await asyncio.gather(*[lane.task for lane in lanes if lane.task is not None], *self._side,
                             return_exceptions=True)
        for lane in lanes:
            left = len(lane.queue) + lane.busy
            if left:
                log.warning("notify channel=%s closed with %d notice(s) undelivered", lane.channel.name, left)
            try:
                await lane.channel.aclose()
            except Exception:
                log.exception("notify channel=%s failed to close", lane.channel.name)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    async def _work(self, lane: _Lane) -> None:
        while True:
            if not lane.queue:
                lane.wake.clear()
                await lane.wake.wait()
                continue
            notice, group = lane.queue.popleft()
            lane.busy = True
            delivered = False
            try:
                delivered = await self._deliver(lane, notice)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notify channel=%s: unexpected error delivering incident %s",
                              lane.channel.name, notice.incident_id)
            finally:
                lane.busy = False
            self._ended(group, delivered)

    async def _deliver(self, lane: _Lane, notice: Notice) -> bool:
        """Try until delivered (True) or given up (False), counting each attempt and the outcome."""
        channel = lane.channel
        stats = self.stats[channel.name]
        attempts = self.policy.attempts
        for attempt in range(1, attempts + 1):
            stats.attempted += 1
            try:
                await channel.send(notice, self._clock())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                permanent = isinstance(exc, DeliveryError) and exc.permanent
                reason = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
                error = scrub(reason, channel.secrets)
                last = permanent or attempt == attempts
                log.warning("notify channel=%s incident=%s attempt %d/%d failed%s: %s", channel.name,
                            notice.incident_id, attempt, attempts, " (giving up)" if last else "", error)
                if last:
                    stats.failed += 1
                await self._report(notice.incident_id, channel.name, attempt, False, error)
                if last:
                    return False
                await self._sleep(self.policy.backoff[attempt - 1])
            else:
                stats.delivered += 1
                log.info("notify channel=%s incident=%s event=%s delivered (attempt %d)",
                         channel.name, notice.incident_id, notice.event, attempt)
                await self._report(notice.incident_id, channel.name, attempt, True, None)
                return True
        return False

    async def _report(self, incident_id: str, channel: str, attempt: int, ok: bool, error: str | None) -> None:
        """Call `record`; its own failure is logged, never allowed to stop delivery."""
        try:
            result = self._record(incident_id, channel, attempt, ok, error, self._clock())
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("notify: recording the attempt for incident %s on %s failed", incident_id, channel)
