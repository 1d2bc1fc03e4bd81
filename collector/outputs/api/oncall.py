"""On call: who is on call now and next per schedule, and overrides added or removed without a restart
(operator role, audited)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.core.http import VIEWER, WRITE, Removed, documented, errors
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.oncall_doc import OncallDoc


class OverrideBody(BaseModel):
    schedule: str = Field(max_length=128)
    person: str = Field(max_length=128, description="A person of oncall.yaml")
    start: AwareDatetime
    end: AwareDatetime
    reason: str = Field("", max_length=512)


class OverrideAdded(BaseModel):
    id: int


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["oncall"])

    def doc() -> OncallDoc:
        found = face.oncall()
        if found is None:
            raise NotFound("no on-call configured (incidents.oncall_file)")
        return found

    @router.get("/api/v1/oncall", response_model=OncallDoc, responses={**VIEWER, **errors(404)})
    async def oncall(_: str = Depends(auth.viewer)) -> OncallDoc:
        """Who is on call now and next per schedule (overrides included), the overrides not yet over, and the
        problems of a refused oncall.yaml (the schedule before it stays in force)."""
        return doc()

    @router.post("/api/v1/oncall/overrides", status_code=201, response_model=OverrideAdded,
                 responses={**WRITE, **errors(400, 404, 422)})
    async def add_override(body: Annotated[dict[str, Any], documented(OverrideBody), Body()],
                           actor: str = Depends(auth.operator)) -> OverrideAdded:
        """Someone covers a schedule for a stretch (a swap, a holiday): in force at once; audited."""
        doc()
        try:
            o = OverrideBody.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InvalidInput(f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}") from None
        return OverrideAdded(id=face.add_override(o.schedule, o.person, o.start, o.end, o.reason, f"api:{actor}"))

    @router.delete("/api/v1/oncall/overrides/{override_id}", response_model=Removed,
                   responses={**WRITE, **errors(404)})
    async def remove_override(override_id: int, actor: str = Depends(auth.operator)) -> Removed:
        doc()
        face.remove_override(override_id, f"api:{actor}")
        return Removed(removed=str(override_id))

    return router
