"""Reporting periods cut in the configured time zone.

`2026Q3` in Asia/Shanghai is [2026-07-01 00:00+08:00, 2026-10-01 00:00+08:00).
Periods are half-open, so consecutive periods tile time exactly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.fields import parse_timestamp


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    timezone: str
    kind: str  # year, quarter, month, range

    def to_json(self) -> dict[str, str]:
        tz = ZoneInfo(self.timezone)
        return {"label": self.label, "kind": self.kind, "timezone": self.timezone,
                "start": self.start.astimezone(tz).isoformat(), "end": self.end.astimezone(tz).isoformat()}

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _local(year: int, month: int, tz: ZoneInfo) -> datetime:
    try:
        return datetime(year, month, 1, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):  # year 0, year 10000 (the end of 9999), or before year 1 in UTC
        raise InvalidInput(f"period: {year}-{month:02d} in {tz.key} is outside the years datetime can hold") from None


def parse_period(text: str, tz_name: str) -> Period:
    """'2026', '2026Q3', '2026-08' -> Period in tz_name; InvalidInput with the accepted forms otherwise."""
    tz = ZoneInfo(tz_name)
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})", text):
        y = int(m.group(1))
        return Period(text, _local(y, 1, tz), _local(y + 1, 1, tz), tz_name, "year")
    if m := re.fullmatch(r"(\d{4})-?[Qq]([1-4])", text):
        y, q = int(m.group(1)), int(m.group(2))
        start = _local(y, 3 * q - 2, tz)
        end = _local(y + 1, 1, tz) if q == 4 else _local(y, 3 * q + 1, tz)
        return Period(f"{y}Q{q}", start, end, tz_name, "quarter")
    if m := re.fullmatch(r"(\d{4})-(\d{2})-[Hh]([12])", text):
        # A half-month (1st-15th, 16th-end): the period of the HJ 212 semi-monthly analysis report.
        y, mo, half = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not 1 <= mo <= 12:
            raise InvalidInput(f"period {text!r}: month must be 01-12")
        mid = datetime(y, mo, 16, tzinfo=tz).astimezone(UTC)
        end = _local(y + 1, 1, tz) if mo == 12 else _local(y, mo + 1, tz)
        start, end = (_local(y, mo, tz), mid) if half == 1 else (mid, end)
        return Period(f"{y}-{mo:02d}-H{half}", start, end, tz_name, "half")
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            raise InvalidInput(f"period {text!r}: month must be 01-12")
        end = _local(y + 1, 1, tz) if mo == 12 else _local(y, mo + 1, tz)
        return Period(text, _local(y, mo, tz), end, tz_name, "month")
    raise InvalidInput(f"period {text!r}: use a year (2026), a quarter (2026Q3), a month (2026-08) or a half-month "
                       "(2026-08-H1: 1st-15th, 2026-08-H2: 16th-end)")


def range_period(start: str, end: str, tz_name: str) -> Period:
    try:
        s, e = parse_timestamp(start), parse_timestamp(end)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if e <= s:
        raise InvalidInput("the end of the range must be after its start")
    tz = ZoneInfo(tz_name)
    for name, at in (("start", s), ("end", e)):
        try:  # the figures show both ends in the configured zone: 9999-12-31T23:59Z is year 10000 in +08:00
            at.astimezone(tz)
        except OverflowError:
            raise InvalidInput(f"the range's {name} is outside the years 1 to 9999 in {tz_name}") from None
    return Period(f"{start}/{end}", s, e, tz_name, "range")


def containing(kind: str, at: datetime, tz_name: str) -> Period:
    """The year, quarter, month or half-month that contains instant `at`."""
    local = at.astimezone(ZoneInfo(tz_name))
    if kind == "year":
        return parse_period(f"{local.year}", tz_name)
    if kind == "quarter":
        return parse_period(f"{local.year}Q{(local.month - 1) // 3 + 1}", tz_name)
    if kind == "month":
        return parse_period(f"{local.year}-{local.month:02d}", tz_name)
    if kind == "half":
        return parse_period(f"{local.year}-{local.month:02d}-H{1 if local.day <= 15 else 2}", tz_name)
    raise ValueError(kind)


def previous(period: Period) -> Period:
    """The period of the same kind just before `period`, in its zone."""
    return containing(period.kind, period.start - timedelta(seconds=1), period.timezone)


def last_complete(kind: str, now: datetime, tz: str) -> Period:
    """The latest period of `kind` that has ended by `now` (the reports' delivery and `opsmon survey send`; here,
    beside containing(), so that a command reading it imports no report machinery)."""
    return previous(containing(kind, now, tz))
