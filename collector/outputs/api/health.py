"""GET /api/v1/health: liveness, and the numbers that tell whether the collector keeps up."""
from __future__ import annotations

from fastapi import APIRouter

from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.live import Health


def routes(face: CollectorFace) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/api/v1/health", response_model=Health)
    async def health() -> Health:
        """Liveness plus the numbers that tell whether the collector keeps up (no token needed)."""
        return face.health()

    return router
