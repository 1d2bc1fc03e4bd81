"""The satisfaction survey's figure: (满意 + 基本满意) / answers, with its sample size (docs/sla.md).

Why apart from engine.py: it reads the survey's two tables alone (store/surveys.py), none of what an Evaluation
loads, so `opsmon survey results` and GET /api/v1/surveys measure the survey targets without reading any
interval or importing the engine (measure_surveys); engine.Evaluation calls survey_result for `opsmon sla`, so the
figure is computed one way.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from opsmon.collector.core.survey import SATISFIED
from opsmon.collector.sla.periods import Period
from opsmon.collector.sla.results import PeriodResult, SurveyDetail, TargetResult
from opsmon.collector.sla.targets import Target, TargetTable
from opsmon.collector.sla.verdicts import measured_period, result, verdict
from opsmon.collector.store.surveys import Answer, Sent, answers, invitations

if TYPE_CHECKING:
    from opsmon.collector.store.dbapi import Readable


def read_surveys(store: Readable, period: Period) -> tuple[list[Sent], list[Answer]]:
    """The invitations and answers of the surveys of the periods inside `period`, read once for every survey
    target and, in GET /api/v1/surveys, for the contacts' listing too (store/surveys.contacts)."""
    return invitations(store, period.start, period.end), answers(store, period.start, period.end)


def survey_result(t: Target, surveyed: tuple[list[Sent], list[Answer]]) -> TargetResult:
    """(满意 + 基本满意) / answers, over the surveys of the periods inside this one (a year: its quarters), from
    read_surveys' lists.

    The sample size goes with it: answers of the contacts the survey reached (a contact counted once per
    period). Nobody answered: no data, never a pass."""
    invited, got = surveyed
    sent = {(i.period, i.email) for i in invited if i.delivered}
    by = {score: sum(1 for a in got if a.score == score) for score in ("satisfied", "fair", "dissatisfied")}
    detail = SurveyDetail(sent=len(sent), answered=len(got), **by)
    value = sum(1 for a in got if a.score in SATISFIED) / len(got) if got else None
    passed, status = verdict(t, value, t.threshold, None, 0.0)
    return result(t, t.threshold, value, passed, status, detail=detail)


def measure_surveys(surveyed: tuple[list[Sent], list[Answer]], table: TargetTable, period: Period,
                    now: datetime | None = None) -> PeriodResult:
    """The survey targets of `table` alone over read_surveys' lists, as engine.measure() gives them, without
    loading an Evaluation (loading it, every interval, incident and asset of the period, was most of `opsmon
    survey results`' time: 0.53 s over 1,000 assets; issue 25 item 2)."""
    return PeriodResult(measured_period(period, now or datetime.now(UTC)),
                        tuple(survey_result(t, surveyed) for t in table.targets if t.measure == "survey"))
