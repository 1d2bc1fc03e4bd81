"""Working days in China: the official public holidays and their adjusted working days (调休).

A weekday is not always a working day (春节, 国庆节) and a weekend day sometimes is (the Saturday or
Sunday worked to make the holiday longer). The State Council publishes each year's plan in November;
`chinese-calendar` carries every year up to its release and works offline. For a year it does not
know yet, the operator writes the plan in an override file (docs/sla.md, "Service hours"):

    # 国务院办公厅关于2027年部分节假日安排的通知
    holidays:
      - 2027-02-06..2027-02-12   # 春节
    workdays:
      - 2027-02-20               # 春节调休

A date in the file wins over the library. A year neither knows is refused (never guessed as
Monday to Friday): a figure management signs must not count a holiday as a working day.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]

from opsmon.collector.core.errors import ConfigError, InvalidInput, problems_error

KEYS = ("holidays", "workdays")


class CalendarGap(ConfigError, InvalidInput):
    """A date of a year that neither the library nor the override file knows: a config problem to the CLI,
    and a refusal with its reason to the API (422, never a 500) for a period the calendar cannot cut."""


class WorkCalendar:
    """Is a local date a working day? The library's answer, unless the override file says otherwise."""

    def __init__(self, holidays: dict[date, str] | None = None, workdays: dict[date, str] | None = None,
                 file: str = "") -> None:
        self.holidays = dict(holidays or {})
        self.workdays = dict(workdays or {})
        self.file = file
        self._years = {d.year for d in (*self.holidays, *self.workdays)}

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year in self._years:
                # A year only the operator's file knows: its plan is the whole plan (weekends rest, weekdays work).
                return day.weekday() < 5
            where = self.file or "calendar file (calendar: in rules/targets.yaml)"
            raise CalendarGap(where, "holidays", (
                f"the holiday calendar does not know {day.year} (chinese-calendar {chinese_calendar.__version__}); "
                f"add {day.year}'s holidays and adjusted working days (调休) to the calendar file, "
                "or upgrade chinese-calendar")) from None


def load_calendar(path: str | Path | None) -> WorkCalendar:
    """The calendar with the operator's override file (None: the library alone).

    Strict: an unknown key, an entry that is not a date YYYY-MM-DD or a range FIRST..LAST, a range
    backwards, or a date listed both as a holiday and as a working day is refused, every problem at
    once, each with file, line and key.
    """
    if path is None:
        return WorkCalendar()
    from opsmon.collector.config.yamlfile import read_yaml

    doc = read_yaml(path)
    data: Any = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "expected a mapping with holidays: and workdays: (lists of dates)")
    problems: list[ConfigError] = []
    found: dict[str, dict[date, tuple[int, str]]] = {k: {} for k in KEYS}
    for key, value in data.items():
        if key not in KEYS:
            problems.append(ConfigError(doc.where((key,)), str(key), "unknown key; expected holidays or workdays"))
            continue
        if value is None:
            continue
        if not isinstance(value, list):
            problems.append(ConfigError(doc.where((key,)), key, "expected a list of dates (YYYY-MM-DD or FIRST..LAST)"))
            continue
        for i, entry in enumerate(value):
            days, reason = _days(entry)
            if reason:
                problems.append(ConfigError(doc.where((key, i)), f"{key}[{i}]", reason))
            for day in days:
                found[key][day] = (i, str(entry))
    for day in sorted(set(found["holidays"]) & set(found["workdays"])):
        i, entry = found["workdays"][day]
        problems.append(ConfigError(doc.where(("workdays", i)), f"workdays[{i}]",
                                    f"{day.isoformat()} is listed both as a holiday and as a working day"))
    if problems:
        raise problems_error(problems, str(path))
    return WorkCalendar({d: e for d, (_, e) in found["holidays"].items()},
                        {d: e for d, (_, e) in found["workdays"].items()}, str(path))


def _days(entry: Any) -> tuple[list[date], str]:
    """The dates of one entry (YAML reads an unquoted 2027-02-06 as a date already), or why it is none."""
    if isinstance(entry, date):
        return [entry], ""
    first, sep, last = str(entry).partition("..")
    a, b = _date(first.strip()), _date(last.strip()) if sep else None
    if a is None or (sep and b is None):
        return [], f"{entry!r} is not a date YYYY-MM-DD or a range FIRST..LAST"
    if b is None:
        return [a], ""
    if b < a:
        return [], f"{entry!r}: the range ends before it starts"
    if (b - a).days > 366:
        return [], f"{entry!r}: a range longer than a year"
    return [a + timedelta(days=n) for n in range((b - a).days + 1)], ""


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None
