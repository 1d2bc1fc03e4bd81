"""What the pages show, from the typed results: the target table's rows and the incidents, in the person's
language and the configured time zone. Presentation only: the figures come from the SLA engine and the
incident records, and are written with the report's functions (outputs/report/fmt.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from opsmon.collector.core.durations import format_duration
from opsmon.collector.core.fields import parse_timestamp
from opsmon.collector.core.lang import Lang
from opsmon.collector.outputs.report import fmt
from opsmon.collector.sla.results import PeriodResult
from opsmon.collector.store.users import Person


def local(value: datetime | str | None, tz: str) -> str:
    """A time as a person reads it: 2026-12-06 17:40:05 in the configured zone."""
    if value is None:
        return "-"
    when = parse_timestamp(value) if isinstance(value, str) else value
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class TargetRow:
    id: str
    name: str
    figure: str
    goal: str
    status: str  # pass, fail, low_coverage, no_data (the CSS class)
    verdict: str
    budget: str
    coverage: str


def target_rows(result: PeriodResult, lang: Lang) -> list[TargetRow]:
    return [TargetRow(t.id, t.name(lang), fmt.value(t), fmt.threshold(t), t.status, fmt.status(t, lang),
                      fmt.budget(t.budget_left_seconds, lang), fmt.coverage(t.coverage)) for t in result.targets]


def time_left(deadline: str | None, now: datetime, words: dict[str, str]) -> tuple[str, bool]:
    """(text, overdue): how long until the deadline, or how long past it; whole minutes rounded down."""
    if deadline is None:
        return "-", False
    seconds = (parse_timestamp(deadline) - now).total_seconds()
    text = format_duration(max(60.0, abs(seconds) // 60 * 60))
    return (f"{words['overdue']} {text}", True) if seconds < 0 else (text, False)


ORDER = {"open": 0, "acknowledged": 1}  # open first, then acknowledged, then the rest; newest first in each


def incident_order(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=lambda d: ORDER.get(d["status"], 2))  # stable: the store's newest-first stays


def can_act(person: Person, doc: dict[str, Any]) -> bool:
    """An operator may acknowledge an open incident and resolve or comment on a live one."""
    from opsmon.collector.outputs.api.deps import RANK

    return RANK[person.role] >= RANK["operator"] and doc["status"] in ("open", "acknowledged")
