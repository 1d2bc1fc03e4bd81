"""GET /api/v1/sla: every target of the target table, measured over a period (the same as `opsmon sla`)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.http import VIEWER, errors
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace


class SlaPeriod(BaseModel):
    label: str
    kind: str = Field(description="year, quarter, month or range")
    timezone: str
    start: str
    end: str
    complete: bool = Field(description="The period has ended")
    as_of: str = Field(description="Measured up to here")


class SlaTarget(BaseModel):
    """One target's figure; `worst` and `detail` depend on its measure."""

    id: str
    name_zh: str
    name_en: str
    project: str
    measure: str
    unit: str
    comparator: str
    threshold: float
    judged_over: str
    value: float | None
    pass_: bool = Field(alias="pass")
    status: str = Field(description="pass, fail, no_data or low_coverage")
    coverage: float | None
    budget_left_seconds: float | None
    worst: list[dict[str, Any]]
    detail: dict[str, Any]
    per_asset: list[dict[str, Any]] = Field(
        description="Availability targets: every asset in scope, by id, with its own value, coverage, "
                    "observed_seconds and expected_seconds (its life inside the period less maintenance)")


class SlaResult(BaseModel):
    period: SlaPeriod
    targets: list[SlaTarget]


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["sla"])

    @router.get("/api/v1/sla", response_model=SlaResult, responses={**VIEWER, **errors(422)})
    def sla(_: str = Depends(auth.viewer),
            period: str | None = Query(None, description="2026Q3, 2026-08 or 2026; default: this quarter"),
            from_: str | None = Query(None, alias="from", description="ISO 8601 start of a custom range"),
            to: str | None = Query(None, description="ISO 8601 end of a custom range")) -> dict[str, Any]:
        """Every target of the target table, measured over the period (the same as `opsmon sla`)."""
        from opsmon.collector.sla.periods import containing, parse_period, range_period

        tz = face.timezone
        if from_ or to:
            if not (from_ and to):
                raise InvalidInput("give both from and to, or period")
            chosen = range_period(from_, to, tz)
        else:
            chosen = parse_period(period, tz) if period else containing("quarter", face.now(), tz)
        # As of now; a settled past period from the period cache (any change to it empties the cache).
        return face.measured(chosen, live=True).result.as_document()

    return router
