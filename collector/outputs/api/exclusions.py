"""After-the-fact exclusions (issue 18 item 2): requested by one person, approved by another, each audited.

The rules are store/exclusions.py's (the CLI uses the same): a reason is required, an outage lies in the
past, an approver is not the requester (422 naming who asked).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel, Field

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.http import VIEWER, WRITE, Removed, documented, errors
from opsmon.collector.outputs.api.deps import Auth, body_text, parse_time
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.store.exclusions import (
    ExclusionRequest,
    approve_exclusion,
    list_exclusions,
    remove_exclusion,
    request_exclusion,
)


class ExclusionBody(BaseModel):
    incident: str | None = Field(None, description="The incident to take out of the response figures, or")
    asset: str | None = Field(None, description="the asset whose span [start, end) leaves its availability")
    start: str | None = Field(None, description="ISO 8601 with offset")
    end: str | None = Field(None, description="ISO 8601 with offset, not in the future")
    planned: bool = Field(False, description="The asset's outage was planned work (reclassified after the fact)")
    reason: str = Field(min_length=1, max_length=4000)


class ExclusionDoc(BaseModel):
    id: int
    incident: str | None
    asset: str | None
    start: str | None
    end: str | None
    planned: bool = Field(False, description="An outage reclassified as planned work")
    reason: str
    requested_by: str
    requested_at: str
    approved_by: str | None
    approved_at: str | None
    removed_by: str | None
    removed_at: str | None
    status: str = Field(description="pending (counts nothing yet), approved, or removed")


ExclusionId = Annotated[int, Path(ge=1, le=2**62, description="The exclusion's number")]


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["exclusions"])

    @router.get("/api/v1/exclusions", response_model=list[ExclusionDoc], responses=VIEWER)
    def exclusions(_: str = Depends(auth.viewer), removed: bool = False) -> list[dict[str, object]]:
        """Exclusions, pending and approved (and removed ones with ?removed=true)."""
        return list_exclusions(face.store, include_removed=removed)

    @router.post("/api/v1/exclusions", status_code=201, response_model=ExclusionDoc,
                 responses={**WRITE, **errors(400, 404, 409, 422)})
    def request(body: Annotated[dict[str, Any], documented(ExclusionBody), Body()],
                actor: str = Depends(auth.operator)) -> dict[str, object]:
        """Ask for an exclusion: it counts once another person approves it."""
        start, end = (parse_time(body_text(body, k, True), k) for k in ("start", "end"))
        planned = body.get("planned", False)
        if not isinstance(planned, bool):
            raise InvalidInput("planned: true or false")
        req = ExclusionRequest(reason=body_text(body, "reason") or "", incident=body_text(body, "incident", True),
                               asset=body_text(body, "asset", True), start=start, end=end, planned=planned)
        return request_exclusion(face.store, req, f"api:{actor}", face.now())

    @router.post("/api/v1/exclusions/{exclusion_id}/approve", response_model=ExclusionDoc,
                 responses={**WRITE, **errors(404, 409, 422)})
    def approve(exclusion_id: ExclusionId, actor: str = Depends(auth.operator)) -> dict[str, object]:
        """Approve: by another person than the one who asked (422 otherwise)."""
        return approve_exclusion(face.store, exclusion_id, f"api:{actor}", face.now())

    @router.delete("/api/v1/exclusions/{exclusion_id}", response_model=Removed, responses={**WRITE, **errors(404)})
    def remove(exclusion_id: ExclusionId, actor: str = Depends(auth.operator)) -> Removed:
        remove_exclusion(face.store, exclusion_id, f"api:{actor}", face.now())
        return Removed(removed=str(exclusion_id))

    return router
