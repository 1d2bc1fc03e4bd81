"""Runs every check on its interval (APScheduler, asyncio) within a concurrency bound.

- First runs are spread over the interval by a stable hash of the job id, so
  thousands of checks with one interval do not fire in the same second.
- A semaphore bounds checks in flight; every check has a timeout shorter than
  its interval, so a hanging target holds one slot for at most that long.
- Lag = actual start - scheduled time (including the wait for a slot) is
  measured per run and exported as a histogram.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from opsmon.collector.core.states import Observation
from opsmon.collector.inputs.checks import Check

log = logging.getLogger(__name__)


def spread_offset(job_id: str, interval: float) -> float:
    digest = hashlib.blake2b(job_id.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % 1_000_000) / 1_000_000 * interval



class SchedulerMetrics(Protocol):
    """The counters and histograms the scheduler feeds (the outputs' CollectorMetrics has them)."""

    scheduler_skipped: Any
    scheduler_missed: Any
    scheduler_lag: Any
    check_duration: Any
    check_results: Any

class CheckScheduler:
    def __init__(self, on_result: Callable[[Observation], None], max_concurrency: int,
                 metrics: SchedulerMetrics) -> None:
        self.on_result = on_result
        self.metrics = metrics
        self.max_concurrency = max_concurrency
        self._sem: asyncio.Semaphore | None = None
        self._scheduled: dict[str, datetime] = {}
        self._jobs: dict[str, tuple[Check, float, str]] = {}
        self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
        self.scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self.scheduler.add_listener(self._on_skipped, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self.in_flight = 0
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False

    def start(self) -> None:
        """Start on the running loop; jobs synced before now are anchored to this moment."""
        self._sem = asyncio.Semaphore(self.max_concurrency)
        self.scheduler.start()
        pending, self._jobs = self._jobs, {}
        self.sync(pending)

    async def shutdown(self) -> None:
        """Stop scheduling, then cancel and await checks in flight, so no result arrives after the store stops."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        self._scheduled[event.job_id] = event.scheduled_run_times[-1]

    def _on_skipped(self, event: JobEvent) -> None:
        self.metrics.scheduler_skipped.inc()

    def _on_missed(self, event: JobEvent) -> None:
        # Counted, not logged: APScheduler's own warning per missed run would flood the log under load.
        self.metrics.scheduler_missed.inc()

    def sync(self, checks: dict[str, tuple[Check, float, str]], now: datetime | None = None) -> None:
        """Make the scheduled jobs equal `checks` ({job_id: (check, interval, fingerprint)})."""
        now = now or datetime.now(UTC)
        if not self.scheduler.running:
            self._jobs = dict(checks)  # added by start(), so first runs are not late by the start-up time
            return
        for job_id in list(self._jobs):
            if job_id not in checks:
                self.scheduler.remove_job(job_id)
                del self._jobs[job_id]
        for job_id, (check, interval, fingerprint) in checks.items():
            old = self._jobs.get(job_id)
            if old is not None and old[2] == fingerprint:
                continue
            if old is not None:
                self.scheduler.remove_job(job_id)
            start = now + timedelta(seconds=spread_offset(job_id, interval))
            self.scheduler.add_job(
                self._run, IntervalTrigger(seconds=interval, start_date=start, timezone=UTC),
                args=(job_id, check), id=job_id, name=job_id, misfire_grace_time=max(1, int(interval)),
                next_run_time=start,
            )
            self._jobs[job_id] = (check, interval, fingerprint)

    @property
    def job_count(self) -> int:
        return len(self._jobs)

    async def _run(self, job_id: str, check: Check) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        scheduled = self._scheduled.pop(job_id, None)
        assert self._sem is not None
        async with self._sem:
            self.in_flight += 1
            try:
                if scheduled is not None:
                    self.metrics.scheduler_lag.observe(max(0.0, time.time() - scheduled.timestamp()))
                t0 = time.perf_counter()
                try:
                    obs = await check.run()
                except asyncio.CancelledError:
                    if self._stopping:
                        return  # cancelled by shutdown: not an error worth a traceback
                    raise
                self.metrics.check_duration.labels(check.type_name).observe(time.perf_counter() - t0)
                self.metrics.check_results.labels(check.type_name, obs.status).inc()
            finally:
                self.in_flight -= 1
        self.on_result(obs)
