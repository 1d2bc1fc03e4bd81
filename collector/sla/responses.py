"""Pure arithmetic of fault response: incidents in, response time and rate out.

response time = acknowledged - opened, to the millisecond (opsmon.collector.core.deadlines: one rule for
the SLA, the incident deadline and the report). An incident opened in the period is judged:
- excluded by an approved exclusion (store/exclusions.py): not judged, listed;
- self-healed (resolved before any response) in less than the target's `self_healed_under`: not judged,
  listed (nobody could have answered it);
- acknowledged (whenever, live or recorded after it healed): by its response time;
- unacknowledged, with more than the limit elapsed by `now`: a miss. Its response time is
  unknown but at least the time elapsed at the later of the period's end (`until`: for a
  period still running, now) and its deadline (opened + limit). For a finished period that
  point, not `now`, is the figure: regenerating it must not show a response time that grows
  with the day it was regenerated on. Being a miss, it fails a response-time target even
  when that figure equals the limit;
- unacknowledged and still within its limit: pending, not yet counted either way.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from opsmon.collector.core.deadlines import deadline_for, in_time, response_seconds


@dataclass(frozen=True)
class IncidentTimes:
    id: str
    asset_id: str
    kind: str
    opened: datetime
    acknowledged: datetime | None
    resolved: datetime | None = None
    recorded_after: bool = False  # the response was recorded after the fault healed (issue 18 item 3)

    @property
    def self_healed(self) -> bool:
        """Resolved before any live response: the fault healed on its own (a response recorded after the fact
        may claim a time before the healing; it was still not acknowledged while the incident was open)."""
        return self.resolved is not None and (self.acknowledged is None or self.recorded_after
                                              or self.acknowledged > self.resolved)

    @property
    def healed_seconds(self) -> float | None:
        return response_seconds(self.opened, self.resolved) if self.resolved is not None else None


@dataclass(frozen=True)
class Judged:
    incident: IncidentTimes
    seconds: float | None  # response time; for an unacknowledged miss, the time elapsed so far
    within: bool | None  # None = pending, or not counted (see uncounted)
    acknowledged: bool
    uncounted: str | None = None  # "excluded" or "self_healed": listed, never judged

    @property
    def pending(self) -> bool:
        return self.within is None and self.uncounted is None


def judge(incidents: list[IncidentTimes], limit: float, now: datetime, until: datetime,
          healed_under: float = 0.0, excluded: Collection[str] = ()) -> list[Judged]:
    out = []
    for inc in incidents:
        acked = inc.acknowledged is not None
        if inc.id in excluded:
            out.append(Judged(inc, None, None, acked, "excluded"))
            continue
        healed = inc.healed_seconds
        if inc.self_healed and healed is not None and healed < healed_under:
            out.append(Judged(inc, None, None, acked, "self_healed"))
            continue
        deadline = deadline_for(inc.opened, limit)
        if inc.acknowledged is not None:
            out.append(Judged(inc, response_seconds(inc.opened, inc.acknowledged),
                              in_time(inc.acknowledged, deadline), True))
            continue
        if in_time(now, deadline):
            out.append(Judged(inc, response_seconds(inc.opened, now), None, False))
        else:
            at_least = max(limit, response_seconds(inc.opened, until))
            out.append(Judged(inc, at_least, False, False))
    return out


def response_rate(judged: list[Judged]) -> tuple[float | None, int, int, int]:
    """(rate, within, counted, pending); rate None when nothing could be counted yet."""
    counted = [j for j in judged if j.within is not None]
    within = sum(1 for j in counted if j.within)
    pending = sum(1 for j in judged if j.pending)
    return (within / len(counted) if counted else None), within, len(counted), pending


def longest_response(judged: list[Judged]) -> float | None:
    counted = [j.seconds for j in judged if j.within is not None and j.seconds is not None]
    return max(counted) if counted else None
