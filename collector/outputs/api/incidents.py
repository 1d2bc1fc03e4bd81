"""Incidents: the listing, one with its whole trail, and the people's actions on them (operator role)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.http import VIEWER, WRITE, documented, errors
from opsmon.collector.core.incidents import ImportedKind, Severity, Status
from opsmon.collector.core.states import Category
from opsmon.collector.incidents.read import IncidentFilter, list_incidents, show_incident
from opsmon.collector.outputs.api.deps import Auth, body_text, parse_time
from opsmon.collector.outputs.api.face import CollectorFace


class IncidentDoc(BaseModel):
    id: str
    asset: str
    kind: str
    severity: str | None
    status: str = Field(description="open, acknowledged, resolved, closed, merged or withdrawn "
                                     "(a false alarm: late results showed the asset up)")
    cause: str
    fault_at: str | None = Field(description="When the fault began (its first failing result)")
    opened_at: str | None
    deadline: str | None = Field(description="Respond by")
    acknowledged_at: str | None
    acknowledged_by: str | None
    response_seconds: float | None
    breached: bool = Field(description="Acknowledged after the deadline, or not yet with the deadline behind it")
    breached_at: str | None = Field(None, description=(
        "When the deadline passed unacknowledged, as recorded (once) by the collector"))
    maintenance_window: str | None = Field(None, description=(
        "The maintenance window(s) that covered the incident: not escalated nor notified while covered, left "
        "out of response figures unless it breached"))
    under_maintenance_since: str | None = Field(None, description="Under maintenance now, since then; else null")
    resolved_at: str | None
    resolved_by: str | None
    closed_at: str | None
    level: int = Field(description="Escalation level reached")
    attached: list[str] = Field(description="Incidents of dependent assets attached to this one")
    reopened: int
    note: str
    source: str
    response_recorded_at: str | None = Field(None, description=(
        "A response recorded after the fault healed: when it was recorded (acknowledged_at is the time counted)"))
    response_evidence: str | None = Field(None, description="The evidence given for the response time claimed")
    flapping_since: str | None = Field(None, description=(
        "Marked flapping (incidents.flap_reopens reopens within flap_window) since then: one notice, then none "
        "until it settles for flap_settle; null when not flapping"))


class TrailEntry(BaseModel):
    ts: str
    actor: str
    action: str
    detail: dict[str, Any]


class IncidentTrail(IncidentDoc):
    trail: list[TrailEntry] = Field(description="Every state change, escalation and delivery, with actors")


class ResponseBody(BaseModel):
    responded_at: str | None = Field(None, description=(
        "When you responded (ISO 8601 with offset); counted only with evidence, else the time of this record"))
    evidence: str = Field("", max_length=4000, description="What shows the time claimed: a call log, a ticket id")
    note: str = Field("", max_length=4000)


class NoteBody(BaseModel):
    note: str = Field("", max_length=4000)


def _note(body: dict[str, Any] | None) -> str:
    return body_text(body, "note") or ""


class ReassignBody(NoteBody):
    to: str = Field(max_length=128, description="A person of oncall.yaml (their id under people)")


Note = Annotated[dict[str, Any], documented(NoteBody)]
Reassign = Annotated[dict[str, Any], documented(ReassignBody)]
ACTED = {**WRITE, **errors(400, 404, 422)}  # 400: a body that is not JSON


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["incidents"])
    store = face.store

    @router.get("/api/v1/incidents", response_model=list[IncidentDoc], responses={**VIEWER, **errors(422)})
    def incidents(_: str = Depends(auth.viewer),
                  status: Literal[Status, "active"] | None = Query(None, description=(
                      "open, acknowledged, resolved, closed, merged, withdrawn, or active (open+acknowledged)")),
                  asset: str | None = None, severity: Severity | None = None,
                  kind: ImportedKind | None = None,
                  site: str | None = Query(None, description="The asset's site, as the inventory holds it now"),
                  category: Category | None = None,
                  breached: bool | None = Query(None, description="Acknowledged after its deadline, or still "
                                                                  "unacknowledged past it"),
                  acknowledged_by: str | None = None,
                  from_: str | None = Query(None, alias="from", description="Opened at or after"),
                  to: str | None = Query(None, description="Opened before"),
                  limit: int = Query(100, ge=1, le=10000)) -> list[dict[str, Any]]:
        """Incidents, newest first; a value outside a filter's vocabulary, or a parameter this does not take,
        is refused with 422 naming what is allowed."""
        where = IncidentFilter(status, asset, severity, kind, site, category, breached, acknowledged_by)
        return list_incidents(store, since=parse_time(from_, "from"), until=parse_time(to, "to"), limit=limit,
                              where=where, now=face.now())

    @router.get("/api/v1/incidents/{incident_id}", response_model=IncidentTrail, responses={**VIEWER, **errors(404)})
    def incident(incident_id: str, _: str = Depends(auth.viewer)) -> dict[str, Any]:
        """One incident with its whole trail: every state change, escalation and delivery, with actors."""
        return show_incident(store, incident_id)

    @router.post("/api/v1/incidents/{incident_id}/ack", response_model=IncidentTrail, responses=ACTED)
    async def ack_incident(incident_id: str, body: Note | None = Body(None),
                           actor: str = Depends(auth.operator)) -> dict[str, Any]:
        """Acknowledge (the response the SLA counts), by the token's person."""
        face.acknowledge(incident_id, actor, _note(body))
        return show_incident(store, incident_id)

    @router.post("/api/v1/incidents/{incident_id}/response", response_model=IncidentTrail,
                 responses={**ACTED, **errors(409)})
    async def record_response(incident_id: str, body: Annotated[dict[str, Any], documented(ResponseBody), Body()],
                              actor: str = Depends(auth.operator)) -> dict[str, Any]:
        """Record the response to a fault that healed before anyone acknowledged it (resolved or closed): by the
        token's person, audited. The time claimed counts only with evidence; without, the time of this record
        counts (docs/sla.md, "A fault that healed")."""
        at = parse_time(body_text(body, "responded_at", nullable=True), "responded_at")
        face.record_response(incident_id, actor, at, body_text(body, "evidence") or "", _note(body))
        return show_incident(store, incident_id)

    @router.post("/api/v1/incidents/{incident_id}/resolve", response_model=IncidentTrail, responses=ACTED)
    async def resolve_incident(incident_id: str, body: Annotated[Note, Body()],
                               actor: str = Depends(auth.operator)) -> dict[str, Any]:
        face.resolve(incident_id, actor, _note(body))
        return show_incident(store, incident_id)

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

    @router.post("/api/v1/incidents/{incident_id}/note", response_model=IncidentTrail, responses=ACTED)
    async def note_incident(incident_id: str, body: Annotated[Note, Body()],
                            actor: str = Depends(auth.operator)) -> dict[str, Any]:
        face.add_note(incident_id, actor, _note(body))
        return show_incident(store, incident_id)

    return router
