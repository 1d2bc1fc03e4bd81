"""What the pages show, from the typed results: the target table's rows and the incidents, in the person's
language and the configured time zone. Presentation only: the figures come from the SLA engine and the
incident records, and are written with the report's functions (outputs/report/fmt.py)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from opsmon.collector.core.fields import parse_timestamp
from opsmon.collector.core.lang import Lang
from opsmon.collector.outputs.report import fmt
from opsmon.collector.sla.availability import Figures
from opsmon.collector.sla.cache import Answer
from opsmon.collector.sla.periods import Period
from opsmon.collector.sla.render import fmt_value
from opsmon.collector.sla.responses import IncidentTimes
from opsmon.collector.sla.results import PeriodResult, TargetResult
from opsmon.collector.store.history import Span
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
    return target_rows_of(result.targets, lang)


def target_rows_of(targets: Iterable[TargetResult], lang: Lang) -> list[TargetRow]:
    return [TargetRow(t.id, t.name(lang), fmt.value(t), fmt.threshold(t), t.status, fmt.status(t, lang),
                      fmt.budget(t.budget_left_seconds, lang), fmt.coverage(t.coverage)) for t in targets]


@dataclass(frozen=True)
class AssetFigures:
    """One asset behind an availability figure: its seconds and its own figure, as the report writes them."""

    id: str
    name: str
    up: str
    down: str
    maintenance: str
    unknown: str
    value: str
    coverage: str

    @classmethod
    def of(cls, asset_id: str, name: str, f: Figures, lang: Lang) -> AssetFigures:
        return cls(asset_id, name, fmt.duration(f.good, lang), fmt.duration(f.bad, lang),
                   fmt.duration(f.maintenance, lang), fmt.duration(f.unknown, lang), fmt_value(f.value, "ratio"),
                   fmt.coverage(f.coverage))


@dataclass(frozen=True)
class IncidentFigures:
    """One incident behind a response figure: when it opened and how long its response took (or is taking)."""

    id: str
    asset: str
    kind: str
    opened: str
    response: str

    @classmethod
    def of(cls, i: IncidentTimes, asset: str, now: datetime, tz: str, lang: Lang) -> IncidentFigures:
        took = ((i.acknowledged or now) - i.opened).total_seconds()
        return cls(i.id, asset, i.kind, local(i.opened, tz),
                   fmt.duration(took, lang) + ("" if i.acknowledged else " …"))


def check_rows(checks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(type, the rest) of each configured check, as text: `tcp`, `host=10.0.0.5 port=443`. A viewer reads this:
    a URL's user:password@ and the values of HTTP headers (an Authorization) are left out; credentials are
    named in checks, never written, so nothing else is secret."""
    import re

    def shown(key: str, value: Any) -> str:
        if key == "headers" and isinstance(value, dict):
            return ",".join(value)  # the names only
        return re.sub(r"^(https?://)[^/@]*@", r"\1", str(value)) if key == "url" else str(value)

    return [(str(c.get("type", "?")), " ".join(f"{k}={shown(k, v)}" for k, v in c.items()
                                             if k != "type" and v not in (None, {}, [])))
            for c in checks]


def time_left(deadline: str | None, now: datetime, words: dict[str, str], lang: Lang) -> tuple[str, bool]:
    """(text, overdue): how long until the deadline, or how long past it; whole minutes rounded down."""
    if deadline is None:
        return "-", False
    seconds = (parse_timestamp(deadline) - now).total_seconds()
    text = fmt.duration(max(60.0, abs(seconds) // 60 * 60), lang)
    return (f"{words['overdue']} {text}", True) if seconds < 0 else (text, False)


ORDER = {"open": 0, "acknowledged": 1}  # open first, then acknowledged, then the rest; newest first in each


def incident_order(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=lambda d: ORDER.get(d["status"], 2))  # stable: the store's newest-first stays


def can_act(person: Person, doc: dict[str, Any]) -> bool:
    """An operator may acknowledge an open incident and resolve or comment on a live one."""
    from opsmon.collector.outputs.api.deps import RANK

    return RANK[person.role] >= RANK["operator"] and doc["status"] in ("open", "acknowledged")


RELOAD = 2  # seconds after which a page whose figures are being measured reloads itself


def offer(answer: Answer) -> dict[str, Any]:
    """How a page about a period says where its figures stand: `state` "computing" (none yet: the page says they
    are being measured), "refreshing" (the period's previous figures, as of their own time, while newer ones are
    measured), "failed" (the measurement failed: the page names `error`, and reloads once the cache has
    forgotten the failure, FAILED_FOR, to try again) or "" (current); `reload`: the seconds after which the page
    reloads itself (0: never)."""
    from opsmon.collector.sla.cache import FAILED_FOR

    if answer.error:
        return {"state": "failed", "reload": int(FAILED_FOR), "error": answer.error[:300]}
    state = "" if answer.fresh else "computing" if answer.result is None else "refreshing"
    return {"state": state, "reload": RELOAD if state else 0}


def period_of(text: str, now: datetime, tz: str) -> Period:
    """The period a page was asked for (2026Q4, 2026-11, 2026); this quarter when none; 422 with the forms
    accepted otherwise."""
    from opsmon.collector.core.errors import InvalidInput
    from opsmon.collector.outputs.ui.session import Refused
    from opsmon.collector.sla.periods import containing, parse_period

    if not text:
        return containing("quarter", now, tz)
    if len(text) > 32:
        raise Refused(422, "考核期过长。", "period: at most 32 characters")
    try:
        return parse_period(text, tz)
    except InvalidInput as exc:
        raise Refused(422, f"考核期无效：{exc}", str(exc)) from None


def period_choices(now: datetime, tz: str) -> list[tuple[str, str]]:
    """(kind, label) of the periods the picker offers: this and the previous quarter, month and year."""
    from opsmon.collector.sla.periods import containing, previous

    out = []
    for kind in ("quarter", "month", "year"):
        this = containing(kind, now, tz)
        out += [(kind, this.label), (kind, previous(this).label)]
    return out


@dataclass(frozen=True)
class Bar:
    """One stretch of an asset's state bar: where it starts and how wide it is, in per cent of the period."""

    state: str
    x: float
    width: float
    title: str


def state_bar(spans: list[Span], start: datetime, end: datetime, now: datetime, tz: str) -> list[Bar]:
    """The asset's states over [start, end) as stretches of a 100-wide bar (server-drawn SVG, no script).
    Time not yet come or never recorded is left blank."""
    total = (end - start).total_seconds()
    bars = []
    for s in spans:
        stop = s.end or min(end, now)
        x = (s.start - start).total_seconds() / total * 100
        width = (stop - s.start).total_seconds() / total * 100
        if width > 0:
            bars.append(Bar(s.state, round(x, 4), round(max(width, 0.05), 4),
                            f"{s.state} {local(s.start, tz)} - {local(stop, tz)} {s.reason}"))
    return bars
