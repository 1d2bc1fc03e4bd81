"""What the SLA engine returns: frozen, typed results that the CLI, the report and /metrics read by field.

    result = measure(store, table, period)          # opsmon.collector.sla.engine
    for t in result.targets:
        t.value, t.passed, t.status, t.coverage, t.budget_left_seconds, t.detail, t.worst

`as_document()` gives the JSON document `/api/v1/sla` serves and `opsmon sla --format json` prints,
in the shape it has always had ("pass" for `passed`, local ISO times, `detail` {} when there is
none). Every result is also a read-only mapping over that document (`t["value"]`), equal to a
dict holding the same document: for readers that want the JSON shape (tests comparing documents).
Code in opsmon reads the fields.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

Status = Literal["pass", "fail", "low_coverage", "no_data"]
STATUSES: tuple[Status, ...] = get_args(Status)


class Document(Mapping[str, Any]):
    """A read-only mapping over `as_document()`, equal to any mapping holding the same document."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # equal to dicts, so not hashable

    def as_document(self) -> dict[str, Any]:
        """Field name -> value; results whose JSON differs from their fields override it."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def __getitem__(self, key: str) -> Any:
        return self.as_document()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_document())

    def __len__(self) -> int:
        return len(self.as_document())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Document):
            return self.as_document() == other.as_document()
        if isinstance(other, Mapping):
            return self.as_document() == dict(other)
        return NotImplemented


@dataclass(frozen=True, eq=False)
class WorstAsset(Document):
    """An asset of an availability target, worst first."""

    asset: str
    value: float
    down_seconds: float


@dataclass(frozen=True, eq=False)
class AssetFigure(Document):
    """One asset of an availability target: its own value and coverage over its life in the period."""

    asset: str
    value: float | None  # None: nothing observed
    coverage: float | None  # None: no expected time (in maintenance all its life in the period)
    observed_seconds: float
    expected_seconds: float

    # One is made per asset and availability target (50k at a province's scale): the fields are set straight into
    # the instance, not through the frozen dataclass's object.__setattr__ one by one, and the document is written
    # out, not found by fields(). The same object and the same document.
    def __init__(self, asset: str, value: float | None, coverage: float | None, observed_seconds: float,
                 expected_seconds: float) -> None:
        d = self.__dict__
        d["asset"] = asset
        d["value"] = value
        d["coverage"] = coverage
        d["observed_seconds"] = observed_seconds
        d["expected_seconds"] = expected_seconds

    def as_document(self) -> dict[str, Any]:
        return {"asset": self.asset, "value": self.value, "coverage": self.coverage,
                "observed_seconds": self.observed_seconds, "expected_seconds": self.expected_seconds}


@dataclass(frozen=True, eq=False)
class SlowIncident(Document):
    """An incident of a response target, slowest response first."""

    incident: str
    asset: str
    kind: str
    response_seconds: float | None
    acknowledged: bool


@dataclass(frozen=True, eq=False)
class AvailabilityDetail(Document):
    """The fleet's seconds behind an availability figure (opsmon.collector.sla.availability)."""

    assets: int
    up_seconds: float
    down_seconds: float
    observed_seconds: float
    maintenance_seconds: float
    unknown_seconds: float
    unreachable_excluded_seconds: float
    expected_seconds: float
    exclusion_seconds: float = 0.0  # taken out by approved exclusions (out of both sides, like maintenance)
    outside_hours_seconds: float = 0.0  # existing time outside service hours: on neither side, nor expected
    hardware_fault_seconds: float = 0.0  # up time under an open major/critical hardware fault, counted down


@dataclass(frozen=True, eq=False)
class HealedIncident(Document):
    """A fault that healed before any response: listed whether judged or not (docs/sla.md, "Fault response")."""

    incident: str
    asset: str
    healed_seconds: float  # opened to resolved
    response_seconds: float | None  # a response recorded after it healed; None: none
    recorded_after: bool  # the response was recorded after the fact
    counted: bool  # judged (False: healed under the target's self_healed_under)
    within: bool | None  # the judgement when counted


@dataclass(frozen=True, eq=False)
class ResponseDetail(Document):
    """The incidents behind a response time or rate (opsmon.collector.sla.responses)."""

    incidents: int
    judged: int
    within_limit: int
    pending: int
    limit_seconds: float
    unacknowledged_misses: int
    excluded: tuple[str, ...] = ()  # ids taken out by approved exclusions
    self_healed: tuple[HealedIncident, ...] = ()
    self_healed_under_seconds: float = 0.0  # healed faster than this: not judged

    def as_document(self) -> dict[str, Any]:
        doc = super().as_document()
        doc["excluded"] = list(self.excluded)
        doc["self_healed"] = [h.as_document() for h in self.self_healed]
        return doc


@dataclass(frozen=True, eq=False)
class CountDetail(Document):
    """A count target: how many deliveries were recorded, and the threshold of its official period."""

    entries: int
    period: str  # year, quarter or month: the period the threshold is set for
    threshold: float  # for that period; TargetResult.threshold is prorated to the measured one

    def as_document(self) -> dict[str, Any]:
        return {"entries": self.entries, f"threshold_per_{self.period}": self.threshold}


@dataclass(frozen=True, eq=False)
class ManualDetail(Document):
    """A value entered by hand: who entered it, when, the period it was entered for, and its evidence."""

    entered_by: str
    entered_at: datetime
    period_start: datetime
    period_end: datetime
    note: str
    evidence: str | None = None  # the file path or URL it was read from (None: entered before issue 19)
    evidence_sha256: str | None = None  # the file's SHA-256 when it was entered; None for a URL

    def as_document(self) -> dict[str, Any]:
        return {"entered_by": self.entered_by, "entered_at": self.entered_at.isoformat(),
                "for": [self.period_start.isoformat(), self.period_end.isoformat()], "note": self.note,
                "evidence": self.evidence, "evidence_sha256": self.evidence_sha256}


@dataclass(frozen=True, eq=False)
class WorstPoint(Document):
    """A monitoring point of an hj212_rate target, lowest effective transmission rate first."""

    asset: str
    enterprise: str
    point: str
    value: float
    should: int
    transmitted: int
    effective: int


@dataclass(frozen=True, eq=False)
class Hj212Detail(Document):
    """The hours behind an HJ 212 effective transmission rate (opsmon.collector.sla.hj212_rates)."""

    points: int
    series: int  # point x assessed factor
    should: int  # 应传
    transmitted: int  # 实传
    effective: int  # 有效
    exempt: int  # hours out of 应传 by an exemption
    late: int  # values that came after their correction deadline
    transmission_rate: float | None
    effective_rate: float | None
    points_below_90: int
    points_below_60: int
    points_at_0: int
    manual_value: float | None  # a value entered by hand (the national assessment's), shown beside this one



@dataclass(frozen=True, eq=False)
class SurveyDetail(Document):
    """The satisfaction survey behind a survey target: its sample size (answers of contacts sent to) and
    the answers by score (opsmon.collector.core.survey)."""

    sent: int  # contacts whose survey mail went, per period inside the measured one
    answered: int
    satisfied: int
    fair: int
    dissatisfied: int

    @property
    def sample(self) -> str:
        """'7/9': answers of contacts sent to, shown beside the figure."""
        return f"{self.answered}/{self.sent}"


Detail = AvailabilityDetail | ResponseDetail | CountDetail | ManualDetail | Hj212Detail | SurveyDetail


@dataclass(frozen=True, eq=False)
class TargetResult(Document):
    """One target of the table measured over a period, and the verdict."""

    id: str
    name_zh: str
    name_en: str
    project: str
    measure: str
    unit: str
    comparator: str
    threshold: float  # what the value was judged against (a count target's, prorated to the period)
    judged_over: str  # the period the target is officially judged over
    value: float | None
    passed: bool
    status: Status
    coverage: float | None = None
    budget_left_seconds: float | None = None
    worst: tuple[WorstAsset, ...] | tuple[SlowIncident, ...] | tuple[WorstPoint, ...] = ()
    detail: Detail | None = None  # None: nothing measured (a manual value never entered)
    per_asset: tuple[AssetFigure, ...] = ()  # availability targets: every asset in scope, by id

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en

    @property
    def availability(self) -> AvailabilityDetail:
        """The detail of an availability target (TypeError for another measure)."""
        if not isinstance(self.detail, AvailabilityDetail):
            raise TypeError(f"target {self.id} is measured as {self.measure}, not availability")
        return self.detail

    @property
    def pending(self) -> int:
        """Incidents of a response target not yet judged either way (0 for other measures)."""
        return self.detail.pending if isinstance(self.detail, ResponseDetail) else 0

    @property
    def worst_assets(self) -> tuple[WorstAsset, ...]:
        """The worst assets of an availability target."""
        return tuple(w for w in self.worst if isinstance(w, WorstAsset))

    def as_document(self) -> dict[str, Any]:
        return {
            "id": self.id, "name_zh": self.name_zh, "name_en": self.name_en, "project": self.project,
            "measure": self.measure, "unit": self.unit, "comparator": self.comparator, "threshold": self.threshold,
            "judged_over": self.judged_over, "value": self.value, "pass": self.passed, "status": self.status,
            "coverage": self.coverage, "budget_left_seconds": self.budget_left_seconds,
            "worst": [w.as_document() for w in self.worst],
            "detail": self.detail.as_document() if self.detail is not None else {},
            "per_asset": [a.as_document() for a in self.per_asset],
        }


@dataclass(frozen=True, eq=False)
class MeasuredPeriod(Document):
    """The period measured: its bounds (UTC), and how far into it the figures reach."""

    label: str
    kind: str  # year, quarter, month, range
    timezone: str
    start: datetime
    end: datetime
    complete: bool  # the period had ended when it was measured
    as_of: datetime  # min(now, end): nothing after it is counted

    @property
    def local_start(self) -> str:
        """The start as local ISO 8601 in the period's time zone (as the document shows it)."""
        return self.start.astimezone(ZoneInfo(self.timezone)).isoformat()

    @property
    def local_end(self) -> str:
        return self.end.astimezone(ZoneInfo(self.timezone)).isoformat()

    def as_document(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind, "timezone": self.timezone, "start": self.local_start,
                "end": self.local_end, "complete": self.complete, "as_of": self.as_of.isoformat()}


@dataclass(frozen=True, eq=False)
class PeriodResult(Document):
    """The whole target table measured over one period, in table order."""

    period: MeasuredPeriod
    targets: tuple[TargetResult, ...]

    def target(self, target_id: str) -> TargetResult:
        for t in self.targets:
            if t.id == target_id:
                return t
        raise KeyError(target_id)

    def as_document(self) -> dict[str, Any]:
        return {"period": self.period.as_document(), "targets": [t.as_document() for t in self.targets]}
