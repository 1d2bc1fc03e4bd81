"""GET /api/v1/events: what devices and agents reported on their own (traps, file changes, brute force, ...)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from opsmon.collector.core.http import VIEWER, errors
from opsmon.collector.outputs.api.deps import Auth, parse_time
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.store.events import read_events


class EventDoc(BaseModel):
    id: int
    ts: str
    asset: str | None
    source: str
    kind: str
    name: str
    severity: str
    summary: str
    details: dict[str, Any]


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["events"])
    store = face.store

    @router.get("/api/v1/events", response_model=list[EventDoc], responses={**VIEWER, **errors(422)})
    def events(_: str = Depends(auth.viewer), asset: str | None = None, kind: str | None = None,
               name: str | None = Query(None, description="e.g. linkDown, coldStart"),
               from_: str | None = Query(None, alias="from", description="ISO 8601"),
               to: str | None = Query(None, description="ISO 8601"),
               limit: int = Query(100, ge=1, le=10000)) -> list[dict[str, Any]]:
        """Events devices reported on their own (SNMP traps), newest first."""
        return read_events(store, asset, parse_time(from_, "from"), parse_time(to, "to"), kind, name, limit)

    return router
