"""Pure arithmetic of fault response: incidents in, response time and rate out.

response time = acknowledged - opened. An incident opened in the period is judged:
- acknowledged (whenever): by its response time;
- unacknowledged, with more than the limit elapsed by `now`: a miss. Its response time is
  unknown but at least the time elapsed at the later of the period's end (`until`: for a
  period still running, now) and its deadline (opened + limit). For a finished period that
  point, not `now`, is the figure: regenerating it must not show a response time that grows
  with the day it was regenerated on. Being a miss, it fails a response-time target even
  when that figure equals the limit;
- unacknowledged and still within its limit: pending, not yet counted either way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class IncidentTimes:
    id: str
    asset_id: str
    kind: str
    opened: datetime
    acknowledged: datetime | None


@dataclass(frozen=True)
class Judged:
    incident: IncidentTimes
    seconds: float | None  # response time; for an unacknowledged miss, the time elapsed so far
    within: bool | None  # None = pending
    acknowledged: bool


def judge(incidents: list[IncidentTimes], limit: float, now: datetime, until: datetime) -> list[Judged]:
    out = []
    for inc in incidents:
        if inc.acknowledged is not None:
            seconds = max(0.0, (inc.acknowledged - inc.opened).total_seconds())
            out.append(Judged(inc, seconds, seconds <= limit, True))
            continue
        elapsed = max(0.0, (now - inc.opened).total_seconds())
        if elapsed <= limit:
            out.append(Judged(inc, elapsed, None, False))
        else:
            at_least = max(limit, (until - inc.opened).total_seconds())
            out.append(Judged(inc, at_least, False, False))
    return out


def response_rate(judged: list[Judged]) -> tuple[float | None, int, int, int]:
    """(rate, within, counted, pending); rate None when nothing could be counted yet."""
    counted = [j for j in judged if j.within is not None]
    within = sum(1 for j in counted if j.within)
    pending = len(judged) - len(counted)
    return (within / len(counted) if counted else None), within, len(counted), pending


def longest_response(judged: list[Judged]) -> float | None:
    counted = [j.seconds for j in judged if j.within is not None and j.seconds is not None]
    return max(counted) if counted else None
