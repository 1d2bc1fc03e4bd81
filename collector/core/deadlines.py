"""One rule for "did the response come in time", used by the incident deadline, the SLA and the report.

Times are compared to the millisecond: that is what the store keeps (UTCMillis), so a comparison made in
memory on microseconds could say "in time" where the same comparison read back from the store says "late"
(an acknowledgement 0.4 ms after the deadline). Every place that judges a response calls these functions;
docs/sla.md ("Fault response") states the rule.
"""
from __future__ import annotations

from datetime import datetime, timedelta


def millis(t: datetime) -> int:
    """`t` as whole milliseconds since the epoch, rounded as the store rounds it."""
    return int(round(t.timestamp() * 1000))


def deadline_for(opened: datetime, limit_seconds: float) -> datetime:
    """Respond by: the opening plus the limit."""
    return opened + timedelta(seconds=limit_seconds)


def in_time(responded: datetime, deadline: datetime) -> bool:
    """A response at `responded` is in time for `deadline`: at it or before it, to the millisecond
    (acknowledged at exactly 60:00.000 of a 1-hour limit is in time; 60:00.001 is not)."""
    return millis(responded) <= millis(deadline)


def response_seconds(opened: datetime, responded: datetime) -> float:
    """Response time in seconds, to the millisecond (never negative)."""
    return max(0, millis(responded) - millis(opened)) / 1000
