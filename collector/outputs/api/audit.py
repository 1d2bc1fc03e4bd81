"""GET /api/v1/audit: who changed what, when (operator role)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from opsmon.collector.core.http import OPERATOR, errors
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.store import audit


class AuditDoc(BaseModel):
    ts: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["audit"])
    store = face.store

    @router.get("/api/v1/audit", response_model=list[AuditDoc], responses={**OPERATOR, **errors(422)})
    def audit_log(_: str = Depends(auth.operator), limit: int = Query(100, ge=1, le=10000)) -> list[AuditDoc]:
        """The newest entries of the append-only audit log first."""
        return [AuditDoc(ts=e.ts.isoformat(), actor=e.actor, action=e.action, target=e.target, detail=e.detail)
                for e in audit.read(store, limit)]

    return router
