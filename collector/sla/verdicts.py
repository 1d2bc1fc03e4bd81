"""A target's result from its measured value: the verdict (pass, fail, no data, low coverage), the result carrying
the table's own words, and the period as measured.

Why apart from engine.py: the survey figure (sla/survey.py) needs these and nothing of the Evaluation, and
importing the engine (its threads, the availability, lives, service-hours and HJ 212 passes) cost
`opsmon survey results` most of its start (issue 25 item 2).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from opsmon.collector.sla.periods import Period
from opsmon.collector.sla.results import MeasuredPeriod, Status, TargetResult
from opsmon.collector.sla.targets import Target


def verdict(t: Target, value: float | None, threshold: float, coverage: float | None,
            floor: float) -> tuple[bool, Status]:
    """Pass or fail; no value is no data, and too little known time is low coverage: neither ever passes."""
    if value is None:
        return False, "no_data"
    if coverage is not None and coverage < floor:
        return False, "low_coverage"
    ok = t.passes(value, threshold)
    return ok, "pass" if ok else "fail"


def result(t: Target, threshold: float, value: float | None, passed: bool, status: Status,
           **measured: Any) -> TargetResult:
    """A target's result: its own words from the table, the figures measured for it."""
    return TargetResult(id=t.id, name_zh=t.name_zh, name_en=t.name_en, project=t.project, measure=t.measure,
                        unit=t.unit, comparator=t.comparator, threshold=threshold, judged_over=t.period,
                        value=value, passed=passed, status=status, **measured)


def measured_period(period: Period, now: datetime) -> MeasuredPeriod:
    """The period as measured at `now`: complete once it has ended, its figures reaching min(now, end)."""
    return MeasuredPeriod(period.label, period.kind, period.timezone, period.start, period.end,
                          complete=now >= period.end, as_of=min(now, period.end))
