"""The satisfaction survey: /survey/{token}, the page behind a contact's signed link (no login; only its
POST answers, mail scanners prefetch GETs), and GET /api/v1/surveys, who was asked and what they said."""
from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.http import OPERATOR, errors
from opsmon.collector.core.signing import LinkRefused
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.sla import SlaPeriod, SlaTarget
from opsmon.collector.outputs.api.survey_page import done_html, form_html, refused_html


class SurveyContact(BaseModel):
    """One contact asked for one period (a quarter, or the incident id of a survey after it)."""

    period: str
    department: str
    contact: str
    email: str
    sent_at: str
    delivered: bool = Field(description="The mail went")
    error: str | None = Field(description="Why the mail did not go")
    expires_at: str
    score: str | None = Field(description="satisfied (满意), fair (基本满意), dissatisfied (不满意); null: no answer")
    comment: str | None
    answered_at: str | None


class Surveys(BaseModel):
    period: SlaPeriod
    targets: list[SlaTarget] = Field(description="The survey targets' figures, with detail.sent and .answered")
    contacts: list[SurveyContact]


NOT_ON = ("the satisfaction survey is not configured", "未配置满意度调查")


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["surveys"])

    @router.get("/survey/{token}", include_in_schema=False)
    def survey_page(token: str) -> Response:
        """The question, for a link that can still be answered; why not, for one that cannot (audited)."""
        links = face.survey_links()
        if links is None:
            return HTMLResponse(refused_html(*NOT_ON), status_code=404)
        try:
            inv = links.check(token, face.now())
        except LinkRefused as exc:
            return HTMLResponse(refused_html(exc.reason_en, exc.reason_zh), status_code=exc.status)
        return HTMLResponse(form_html(inv.period, face.department_name(inv.department)))

    @router.post("/survey/{token}", include_in_schema=False)
    async def survey_answer(token: str, request: Request) -> Response:
        """A form post (application/x-www-form-urlencoded): score and an optional comment."""
        links = face.survey_links()
        if links is None:
            return HTMLResponse(refused_html(*NOT_ON), status_code=404)
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        score = (form.get("score") or [""])[0]
        comment = (form.get("comment") or [""])[0]
        try:
            inv = await asyncio.to_thread(links.answer, token, score, comment, face.now())
        except LinkRefused as exc:
            return HTMLResponse(refused_html(exc.reason_en, exc.reason_zh), status_code=exc.status)
        except InvalidInput as exc:
            try:
                inv = await asyncio.to_thread(links.check, token, face.now())
            except LinkRefused as refused:
                return HTMLResponse(refused_html(refused.reason_en, refused.reason_zh), status_code=refused.status)
            return HTMLResponse(form_html(inv.period, face.department_name(inv.department),
                                          (str(exc), "请选择一项评价（意见不超过 2000 字）")), status_code=422)
        return HTMLResponse(done_html(inv.period))

    @router.get("/api/v1/surveys", response_model=Surveys, responses={**OPERATOR, **errors(422)})
    def surveys(_: str = Depends(auth.operator),
                period: str | None = Query(None, description="2026Q3, 2026-08 or 2026; default: this year")
                ) -> dict[str, Any]:
        """Each contact asked in the period's surveys, whether the mail went, and their answer; and the
        satisfaction figure with its sample size (the `survey` targets of the table, as /api/v1/sla has them).
        Operator role, even with api.public_read: names, addresses and comments are personal data."""
        from opsmon.collector.sla.periods import containing, parse_period
        from opsmon.collector.sla.survey import measure_surveys, read_surveys
        from opsmon.collector.sla.targets import load_targets
        from opsmon.collector.store.surveys import contacts

        tz = face.timezone
        chosen = parse_period(period, tz) if period else containing("year", face.now(), tz)
        table = load_targets(face.targets_path())
        surveyed = read_surveys(face.store, chosen)  # the two tables once, for the figure and the contacts
        result = measure_surveys(surveyed, table, chosen, face.now())  # `opsmon survey results`' figure
        return {"period": result.period.as_document(), "targets": [t.as_document() for t in result.targets],
                "contacts": contacts(*surveyed, tz)}

    return router
