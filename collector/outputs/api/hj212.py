"""HJ 212 exemptions through the API (issue 17): `GET/POST/DELETE /api/v1/hj212/exemptions`.

The rules are store/hj212_exemptions.py's, the same code path as `opsmon hj212 exempt add|list|remove`: a
reason and a proof are required, the DAU, its point and its factor must exist, end after start; each addition
and removal is audited with the person (`api:<token name>`). Reading needs a viewer, writing an operator.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel, Field

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.http import VIEWER, WRITE, Removed, documented, errors
from opsmon.collector.outputs.api.deps import Auth, body_text, parse_time
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.store.hj212_exemptions import (
    ExemptionRow,
    add_exemption,
    list_exemptions,
    remove_exemption,
)
from opsmon.collector.store.models import Hj212Exemption

Kind = Literal["stopped", "no_discharge", "equipment_stopped", "maintenance"]  # store/hj212_exemptions.KINDS


class ExemptionBody(BaseModel):
    asset: str = Field(min_length=1, max_length=128, description="The DAU's asset id (category dau)")
    point: str | None = Field(None, max_length=64, description="One monitoring point (default: every point)")
    factor: str | None = Field(None, max_length=64, description="One assessed factor of `point` (default: all)")
    start: str = Field(description="ISO 8601 with UTC offset: the first hour out of 应传 is the one starting then")
    end: str = Field(description="ISO 8601 with UTC offset, after start (hours starting before it)")
    kind: Kind = Field(description="stopped (停产), no_discharge (停排), equipment_stopped (设备停运) or maintenance")
    reason: str = Field(min_length=1, max_length=4000)
    proof: str = Field(min_length=1, max_length=4000, description=(
        "The filed document's number, file or URL: without it the assessment restores the original flags"))


ExemptionId = Annotated[int, Path(ge=1, le=2**62, description="The exemption's number")]
REQUIRED = ("asset", "start", "end", "kind", "reason", "proof")


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["hj212"])

    @router.get("/api/v1/hj212/exemptions", response_model=list[ExemptionRow], responses=VIEWER)
    def exemptions(_: str = Depends(auth.viewer), removed: bool = False) -> list[ExemptionRow]:
        """HJ 212 exemptions in force (and removed ones with ?removed=true), as `opsmon hj212 exempt list`."""
        return [ExemptionRow.of(row) for row in list_exemptions(face.store, include_removed=removed)]

    @router.post("/api/v1/hj212/exemptions", status_code=201, response_model=ExemptionRow,
                 responses={**WRITE, **errors(400, 422)})
    def add(body: Annotated[dict[str, Any], documented(ExemptionBody), Body()],
            actor: str = Depends(auth.operator)) -> ExemptionRow:
        """Take hours of a DAU, one point or one factor out of 应传 (audited); 422 naming what is wrong."""
        text = {k: body_text(body, k, k not in REQUIRED) for k in ExemptionBody.model_fields}
        missing = [k for k in REQUIRED if not text[k]]
        if missing:
            raise InvalidInput(f"required: {', '.join(missing)}")
        start, end = parse_time(text["start"], "start"), parse_time(text["end"], "end")
        assert start is not None and end is not None
        xid = add_exemption(face.store, asset_id=text["asset"] or "", point=text["point"], factor=text["factor"],
                            start=start, end=end, kind=text["kind"] or "", reason=text["reason"] or "",
                            proof=text["proof"] or "", actor=f"api:{actor}", now=face.now())
        with face.store.session() as s:
            row = s.get(Hj212Exemption, xid)
            assert row is not None
            return ExemptionRow.of(row)  # answered in the configured zone (app.local_json)

    @router.delete("/api/v1/hj212/exemptions/{exemption_id}", response_model=Removed,
                   responses={**WRITE, **errors(404)})
    def remove(exemption_id: ExemptionId, actor: str = Depends(auth.operator)) -> Removed:
        """Remove an exemption: the row is stamped (who, when) and kept; the audit log has it."""
        remove_exemption(face.store, exemption_id, f"api:{actor}", face.now())
        return Removed(removed=str(exemption_id))

    return router
