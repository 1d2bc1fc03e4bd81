"""The history pull: ask a connected unit for the hourly values (CN 2061) it has not sent, while they can count.

Why: an hour whose value arrives by its correction deadline counts as transmitted (sla/hj212_rates.py), and a
unit keeps its data; a link that dropped for a while leaves gaps the unit fills only when asked. HJ 212-2017
C.20–C.23: the platform sends the data command with `BeginTime` and `EndTime` (both the hour's start,
`YYYYMMDDhhmmss` in the unit's clock), the unit answers 9011, the data (stored like any upload, once per key),
then 9012 (9xxx: keep-alives to the receiver).

Every `check_every`, for each unit connected now whose point has assessed factors: the complete hours of the
last `lookback` that ended at least `grace` ago and whose correction deadline is still ahead, less those whose
every assessed factor is stored, make the missing hours; consecutive ones form a gap (cut at `max_hours`), and
one request asks for a gap. A gap is asked at most once per `retry_every`; at most `max_requests` requests
go out per check (oldest gaps first: they are nearest their deadline). Requests and the hours recovered
(asked, and stored since) are counted and logged.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opsmon.collector.inputs.hj212.answers import history_request
from opsmon.collector.inputs.hj212.units import Unit, Units

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)


@dataclass
class HistoryStats:
    requests: int = 0  # 2061 history requests sent
    hours_asked: int = 0  # hours those requests asked for
    recovered: int = 0  # hours asked for that were stored afterwards


class HistoryPull:
    """Finds each connected unit's missing hours and writes the requests for them on its connection."""

    def __init__(self, spec: Any, units: Units, zone: str, clock: Callable[[], datetime],
                 hours: Callable[[str, datetime], Iterable[tuple[datetime, str]]],
                 deadline: Callable[[datetime], datetime]) -> None:
        self.spec = spec
        self.units = units
        self.zone = ZoneInfo(zone)
        self.clock = clock
        self.hours = hours  # (data_time UTC, factor) of the 2061 values stored for an MN since an instant
        self.deadline = deadline  # an hour (UTC) -> its correction deadline (UTC)
        self.stats = HistoryStats()
        self.asked: dict[tuple[str, datetime], datetime] = {}  # (MN, gap's first hour) -> when asked
        self.pending: dict[str, set[datetime]] = {}  # MN -> hours asked, not stored yet

    def missing(self, unit: Unit, now: datetime) -> list[datetime]:
        """The hours (UTC starts) of the unit's point still missing a value of an assessed factor, oldest first."""
        end = (now - timedelta(seconds=self.spec.grace)).replace(minute=0, second=0, microsecond=0) - HOUR
        first = (now - timedelta(seconds=self.spec.lookback)).replace(minute=0, second=0, microsecond=0)
        if first > end or not unit.factors:
            return []
        have: dict[datetime, set[str]] = {}
        for at, factor in self.hours(unit.mn, first):
            have.setdefault(at, set()).add(factor)
        want = set(unit.factors)
        out = []
        h = first
        while h <= end:
            if self.deadline(h) > now and not want <= have.get(h, set()):
                out.append(h)
            h += HOUR
        self._recovered(unit.mn, {h for h, f in have.items() if want <= f})
        return out

    def _recovered(self, mn: str, complete: set[datetime]) -> None:
        waiting = self.pending.get(mn)
        if not waiting:
            return
        got = waiting & complete
        if got:
            self.stats.recovered += len(got)
            waiting -= got
            log.info("hj212 history pull: hours recovered", extra={"mn": mn, "hours": len(got)})

    def gaps(self, hours: list[datetime]) -> list[tuple[datetime, datetime]]:
        """Consecutive hours as (first, last), each at most max_hours long."""
        out: list[tuple[datetime, datetime]] = []
        for h in hours:
            if out and h - out[-1][1] == HOUR and (h - out[-1][0]) // HOUR < self.spec.max_hours:
                out[-1] = (out[-1][0], h)
            else:
                out.append((h, h))
        return out

    def requests(self, links: dict[str, str]) -> list[tuple[str, bytes]]:
        """(MN, request bytes) to send now, for the connected units (`links`: MN -> ST of its last frame)."""
        now = self.clock()
        due: list[tuple[datetime, str, datetime]] = []
        for mn in sorted(links):
            unit = self.units.get(mn)
            if unit is None:
                continue
            for first, last in self.gaps(self.missing(unit, now)):
                asked = self.asked.get((mn, first))
                if asked is None or now - asked >= timedelta(seconds=self.spec.retry_every) or now < asked:
                    due.append((first, mn, last))
        out = []
        for first, mn, last in sorted(due)[: self.spec.max_requests]:
            unit = self.units.get(mn)
            assert unit is not None
            pw = self.units.password(unit)
            if pw is None:
                continue
            self.asked[(mn, first)] = now
            n = (last - first) // HOUR + 1
            self.pending.setdefault(mn, set()).update(first + k * HOUR for k in range(n))
            self.stats.requests += 1
            self.stats.hours_asked += n
            begin, end = first.astimezone(self.zone), last.astimezone(self.zone)
            log.info("hj212 history pull: missing hours asked for",
                     extra={"mn": mn, "begin": begin.isoformat(), "end": end.isoformat(), "hours": n})
            out.append((mn, history_request(mn, links[mn], pw, begin, end, now.astimezone(self.zone))))
        return out
