"""Who owns an incident: reassign it to a person of the on-call roster, or take it over (operator role)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import Field

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.http import documented
from opsmon.collector.incidents.read import show_incident
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.incidents import ACTED, IncidentTrail, Note, NoteBody, _note


class ReassignBody(NoteBody):
    to: str = Field(max_length=128, description="A person of oncall.yaml (their id under people)")


Reassign = Annotated[dict[str, Any], documented(ReassignBody)]


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["incidents"])
    store = face.store

    @router.post("/api/v1/incidents/{incident_id}/reassign", response_model=IncidentTrail, responses=ACTED)
    async def reassign_incident(incident_id: str, body: Annotated[Reassign, Body()],
                                actor: str = Depends(auth.operator)) -> dict[str, Any]:
        """Give the incident to a person of the on-call roster: they own it from now (follow-ups go to them)
        and are told. Audited."""
        to = (body or {}).get("to")
        if not isinstance(to, str) or not to:
            raise InvalidInput("to: the person to give the incident to (an id under people in oncall.yaml)")
        face.reassign(incident_id, actor, to, _note(body))
        return show_incident(store, incident_id)

    @router.post("/api/v1/incidents/{incident_id}/takeover", response_model=IncidentTrail, responses=ACTED)
    async def take_over_incident(incident_id: str, body: Note | None = Body(None),
                                 actor: str = Depends(auth.operator)) -> dict[str, Any]:
        """The token's person takes the incident: acknowledged by them if still open, theirs from now. Audited."""
        face.take_over(incident_id, actor, _note(body))
        return show_incident(store, incident_id)

    return router
