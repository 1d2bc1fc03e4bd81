"""rules/targets.yaml: the performance-target table as data, validated like the config."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from opsmon.collector.config.basics import bundled_targets_path  # noqa: F401  (re-exported)
from opsmon.collector.config.yamlfile import read_yaml
from opsmon.collector.core.errors import ConfigError, ConfigProblems
from opsmon.collector.core.fields import FROZEN, Duration, ObjectId
from opsmon.collector.core.states import Category
from opsmon.collector.core.workdays import WorkCalendar, load_calendar
from opsmon.collector.sla.service_hours import ServiceHours

Measure = Literal["availability", "response_time", "response_rate", "count", "manual", "hj212_rate", "survey"]
Comparator = Literal[">=", ">", "<=", "<"]


class Scope(BaseModel):
    """Which assets (and, for incident measures, which incident kinds) a target covers; empty = all."""

    model_config = FROZEN
    categories: tuple[Category, ...] = ()
    tags: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    kinds: tuple[str, ...] = Field((), description="Incident kinds (hardware, availability, ...); incident measures")


class Hj212Rules(BaseModel):
    """How an hj212_rate target counts (docs/hj212.md, "Rates"): the national defaults unless the
    centre's assessment says otherwise."""

    model_config = FROZEN
    effective_flags: tuple[str, ...] = Field(("N",), min_length=1, description=(
        "Flags whose hourly values are effective (有效); N = instrument working normally"))
    unflagged: Literal["effective", "not_effective"] = Field("effective", description=(
        "A value sent without a flag (HJ/T 212-2005 units)"))
    denominator: Literal["transmitted", "should"] = Field("transmitted", description=(
        "有效率 = 有效 / 实传 (transmitted: the national reading) or 有效 / 应传 (should)"))
    correction_day: int = Field(10, ge=1, le=28, description=(
        "Values and exemptions count if they arrive by the end of this day of the next month (local time)"))
    aggregation: Literal["pooled", "mean"] = Field("pooled", description=(
        "A prefecture's and the region's rate: pooled counts, or the mean of their enterprises' rates"))


class Level(BaseModel):
    """A 二级指标 of the budget's table (数量指标, 质量指标, 时效指标, ...)."""

    model_config = FROZEN
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


class Indicator(Level):
    """A 一级指标 (产出指标, 效益指标, 满意度指标) and its 二级指标, in the order the table lists them."""

    levels: dict[str, Level] = Field(min_length=1)


def compare(comparator: str, value: float, threshold: float) -> bool:
    return {">=": value >= threshold, ">": value > threshold,
            "<=": value <= threshold, "<": value < threshold}[comparator]


class Target(BaseModel):
    model_config = FROZEN
    id: ObjectId
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    project: str = ""
    indicator: str | None = Field(None, description="LEVEL1.LEVEL2 of the table's `indicators:` (一级.二级指标)")
    goal_zh: str = Field("", description="The 指标值 as the budget writes it (e.g. ≥95%); default: the threshold")
    goal_en: str = ""
    measure: Measure
    scope: Scope = Scope()
    comparator: Comparator
    threshold: float
    unit: Literal["ratio", "seconds", "count", "value"] = "ratio"
    period: Literal["year", "quarter", "month"] = Field("year", description="The period it is officially judged over")
    degraded_as: Literal["down", "up"] = "down"
    unreachable_as: Literal["excluded", "down"] = Field(
        "excluded", description="excluded: charged to the parent, not the child (default); down: charged to both")
    limit: Duration | None = Field(None, description="response_rate: acknowledged within this counts as responded")
    self_healed_under: Duration | None = Field(None, description=(
        "response_time, response_rate: a fault that healed before any response in less than this is not judged "
        "(listed as such); unset: every fault is judged (docs/sla.md)"))
    coverage_floor: float | None = Field(None, ge=0, le=1)
    worst: int = Field(10, ge=0, le=1000, description="How many worst assets or incidents to list")
    hj212: Hj212Rules | None = Field(None, description="hj212_rate: how the hours are counted (default: national)")
    service_hours: ServiceHours | None = Field(None, description=(
        "availability: count only these hours (default: the category's, from the table's service_hours:)"))
    hardware_faults_as: Literal["down", "ignored"] = Field("ignored", description=(
        "availability: down counts an open hardware fault of major or critical severity as down time "
        "(not working normally), ignored counts only the asset's state"))

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        if self.measure in ("availability", "response_rate", "manual", "hj212_rate", "survey") and self.unit == "ratio":
            if not 0 <= self.threshold <= 1:
                raise ValueError("a ratio threshold is between 0 and 1 (write 0.95 for 95%)")
        if self.measure == "response_rate" and self.limit is None:
            raise ValueError("a response_rate target needs a limit (e.g. 1h)")
        if self.measure == "response_time" and self.unit != "seconds":
            raise ValueError("a response_time target has unit: seconds (threshold in seconds)")
        if self.measure == "count" and self.unit != "count":
            raise ValueError("a count target has unit: count")
        if self.measure == "hj212_rate" and self.unit != "ratio":
            raise ValueError("an hj212_rate target has unit: ratio")
        if self.hj212 is not None and self.measure != "hj212_rate":
            raise ValueError("hj212: applies to an hj212_rate target only")
        if self.measure == "survey" and self.unit != "ratio":
            raise ValueError("a survey target has unit: ratio (the share of satisfied answers)")
        if self.self_healed_under and self.measure not in ("response_time", "response_rate"):
            raise ValueError("self_healed_under applies to incident measures (response_time, response_rate) only")
        if self.measure != "availability" and (self.service_hours is not None or self.hardware_faults_as != "ignored"):
            raise ValueError("service_hours and hardware_faults_as apply to an availability target only")
        if self.scope.kinds and self.measure not in ("response_time", "response_rate"):
            raise ValueError("scope.kinds applies to incident measures (response_time, response_rate) only")
        return self

    def goal(self, lang: str) -> str:
        """The 指标值 as the budget writes it, in `lang` ("" when the table gives none)."""
        return self.goal_zh if lang == "zh" else (self.goal_en or self.goal_zh)

    def passes(self, value: float, threshold: float | None = None) -> bool:
        """Compare against the threshold (or a prorated one, for counts over a shorter period)."""
        return compare(self.comparator, value, self.threshold if threshold is None else threshold)


MONTHS = {"year": 12, "quarter": 3, "month": 1, "half": 0.5}
MONTH_SECONDS = 30.4375 * 86400  # an average month (365.25 days / 12): what a custom range is counted in


def period_share(official: str, kind: str, seconds: float = 0.0) -> float:
    """The share of a target's official period (year, quarter, month) that a measured period is.

    A year, quarter or month counts in whole months (a quarter of a yearly target is 3/12, whatever
    its days); a custom range (kind "range") by its length in average months.
    """
    months = MONTHS.get(kind)
    return (months / MONTHS[official]) if months else seconds / (MONTHS[official] * MONTH_SECONDS)


def judged_threshold(target: Target, kind: str, seconds: float = 0.0) -> float:
    """The threshold a value measured over a period of `kind` (and length `seconds`) is judged against.

    Counts are prorated: 24 reports a year is 6 a quarter, 2 a month. Other thresholds (ratios,
    response times) hold for any period. The engine judges with it and the dashboards colour with it.
    """
    if target.measure != "count":
        return target.threshold
    return target.threshold * period_share(target.period, kind, seconds)


class TargetTable(BaseModel):
    model_config = FROZEN
    coverage_floor: float = Field(0.9, ge=0, le=1, description="Below this share of known time a target is flagged")
    indicators: dict[str, Indicator] = Field(default_factory=dict, description="一级指标 -> 二级指标, in table order")
    service_hours: dict[Category, ServiceHours] = Field(default_factory=dict, description=(
        "Service hours per asset category (computer: 08:30-18:00 on working days); a target's own win"))
    calendar: str | None = Field(None, description=(
        "Override file of holidays and adjusted working days (调休), relative to this file; "
        "default: the chinese-calendar library alone"))
    targets: tuple[Target, ...]
    _calendar: WorkCalendar = PrivateAttr(default_factory=WorkCalendar)

    @property
    def workdays(self) -> WorkCalendar:
        """The working-day calendar service hours are cut by (the library plus the override file)."""
        return self._calendar

    def hours_for(self, target: Target, category: str) -> ServiceHours | None:
        """The service hours of an asset of `category` under `target` (None: every hour counts)."""
        return target.service_hours or self.service_hours.get(category)  # type: ignore[call-overload]

    @model_validator(mode="after")
    def _unique(self) -> TargetTable:
        seen: set[str] = set()
        for t in self.targets:
            if t.id in seen:
                raise ValueError(f"target id {t.id!r} is used twice")
            seen.add(t.id)
        return self

    def hierarchy_problems(self) -> list[tuple[int, str]]:
        """(index of the target, reason) for every `indicator:` that names no 二级指标 of `indicators:`."""
        out = []
        for i, t in enumerate(self.targets):
            if t.indicator is None:
                continue
            first, _, second = t.indicator.partition(".")
            top = self.indicators.get(first)
            if not self.indicators:
                out.append((i, f"{t.indicator!r}: the file has no 'indicators:' hierarchy to place it in"))
            elif top is None or not second:
                out.append((i, f"{t.indicator!r} is not LEVEL1.LEVEL2 with LEVEL1 one of "
                               f"{', '.join(self.indicators)} (一级指标)"))
            elif second not in top.levels:
                out.append((i, f"{t.indicator!r}: {first} ({top.name_zh}) has no 二级指标 {second!r}; "
                               f"it has {', '.join(top.levels)}"))
        return out

    def place(self, target: Target) -> tuple[Indicator, Level] | None:
        """The target's 一级 and 二级指标, or None when it names none."""
        if target.indicator is None:
            return None
        first, _, second = target.indicator.partition(".")
        top = self.indicators[first]
        return top, top.levels[second]

    def floor(self, target: Target) -> float:
        return self.coverage_floor if target.coverage_floor is None else target.coverage_floor

    def response_limit(self, kind: str) -> float | None:
        """An incident's response deadline (seconds): the tightest response target covering its kind."""
        limits = [t.threshold if t.measure == "response_time" else t.limit for t in self.targets
                  if t.measure in ("response_time", "response_rate") and (not t.scope.kinds or kind in t.scope.kinds)]
        found = [float(x) for x in limits if x]
        return min(found) if found else None

    def get(self, target_id: str) -> Target:
        for t in self.targets:
            if t.id == target_id:
                return t
        raise KeyError(target_id)


def load_targets(path: str | Path) -> TargetTable:
    """The table, validated; every misplaced `indicator:` is named with its file, line and key."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(str(path), "", "expected a mapping with a 'targets:' list")
    table: TargetTable = doc.validate(TargetTable)
    problems = [ConfigError(doc.where(("targets", i, "indicator")), f"targets[{i}].indicator", reason)
                for i, reason in table.hierarchy_problems()]
    if problems:
        many = len(problems)
        raise ConfigProblems(f"{many} target{'s are' if many > 1 else ' is'} outside the indicator hierarchy "
                             "(indicators:)", problems)
    if table.calendar is not None:
        table._calendar = load_calendar(Path(path).parent / table.calendar)
    return table
