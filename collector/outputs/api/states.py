"""GET /api/v1/states: the current state of every monitored asset."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from opsmon.collector.core.http import VIEWER
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.live import StateRow


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["states"])

    @router.get("/api/v1/states", response_model=list[StateRow], responses=VIEWER)
    async def states(_: str = Depends(auth.viewer)) -> list[StateRow]:
        """Current state of every monitored asset."""
        return face.live_states()

    return router
