"""Delivery: at-least-once per channel, in order, without ever holding up the caller.

Each channel has its own bounded queue and one worker task. A notice is tried
up to `RetryPolicy.attempts` times with the policy's waits between; every
attempt is reported through `record` (the incident engine stores these on the
incident). Notices of one channel go out in submission order, so "resolved"
never overtakes "opened". A dead channel only fills its own queue; when full
the oldest notice is dropped, counted and recorded. Error texts are scrubbed of
URL query strings and of every secret of the channel before they are recorded
or logged.

    dispatcher = Dispatcher(build_channels(cfg.notify, base, src), record=store_attempt)
    dispatcher.submit(notice, ["oncall-wecom", "alertmanager"])   # returns at once
    ...
    await dispatcher.close()
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
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


class _Lane:
    """One channel's queue and worker."""

    def __init__(self, channel: Channel, size: int) -> None:
        self.channel = channel
        self.queue: deque[Notice] = deque()
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
        self.dropped: dict[str, int] = dict.fromkeys(channels, 0)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self._lanes)

    def submit(self, notice: Notice, channel_names: Iterable[str]) -> None:
        """Queue `notice` for each named channel and return. NotFound for a name no channel has."""
        if self._closed:
            raise RuntimeError("Dispatcher is closed")
        names = list(dict.fromkeys(channel_names))
        unknown = [n for n in names if n not in self._lanes]
        if unknown:
            raise NotFound(f"no notification channel named {', '.join(map(repr, unknown))}")
        for name in names:
            lane = self._lanes[name]
            if len(lane.queue) >= lane.size:
                old = lane.queue.popleft()
                self.dropped[name] += 1
                log.warning("notify channel=%s queue full (%d): dropped the oldest notice of incident %s",
                            name, lane.size, old.incident_id)
                self._spawn(self._report(old.incident_id, name, 0, False, "dropped: channel queue full"))
            lane.queue.append(notice)
            lane.wake.set()
            if lane.task is None:
                lane.task = asyncio.get_running_loop().create_task(self._work(lane), name=f"notify-{name}")

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
            notice = lane.queue.popleft()
            lane.busy = True
            try:
                await self._deliver(lane, notice)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notify channel=%s: unexpected error delivering incident %s",
                              lane.channel.name, notice.incident_id)
            finally:
                lane.busy = False

    async def _deliver(self, lane: _Lane, notice: Notice) -> None:
        channel = lane.channel
        attempts = self.policy.attempts
        for attempt in range(1, attempts + 1):
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
                await self._report(notice.incident_id, channel.name, attempt, False, error)
                if last:
                    return
                await self._sleep(self.policy.backoff[attempt - 1])
            else:
                log.info("notify channel=%s incident=%s event=%s delivered (attempt %d)",
                         channel.name, notice.incident_id, notice.event, attempt)
                await self._report(notice.incident_id, channel.name, attempt, True, None)
                return

    async def _report(self, incident_id: str, channel: str, attempt: int, ok: bool, error: str | None) -> None:
        """Call `record`; its own failure is logged, never allowed to stop delivery."""
        try:
            result = self._record(incident_id, channel, attempt, ok, error, self._clock())
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("notify: recording the attempt for incident %s on %s failed", incident_id, channel)
