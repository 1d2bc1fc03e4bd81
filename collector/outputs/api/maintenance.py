"""Maintenance windows: those in force (config file and API), and API edits, each audited."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from opsmon.collector.core.http import VIEWER, WRITE, Removed, documented, errors
from opsmon.collector.core.maintenance import WindowSpec, parse_window
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.live import WindowDoc


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["maintenance"])

    @router.get("/api/v1/maintenance", response_model=list[WindowDoc], response_model_exclude_none=True,
                responses=VIEWER)
    async def windows(_: str = Depends(auth.viewer)) -> list[WindowDoc]:
        return face.windows()

    @router.post("/api/v1/maintenance", status_code=201, response_model=WindowSpec, response_model_exclude_none=True,
                 responses={**WRITE, **errors(400, 409, 422)})
    async def add_window(body: Annotated[dict[str, Any], documented(WindowSpec), Body()],
                         actor: str = Depends(auth.operator)) -> WindowSpec:
        spec = parse_window(body)
        face.add_window(spec, f"api:{actor}")
        return spec

    @router.delete("/api/v1/maintenance/{window_id}", response_model=Removed,
                   responses={**WRITE, **errors(404, 409)})
    async def remove_window(window_id: str, actor: str = Depends(auth.operator)) -> Removed:
        face.remove_window(window_id, f"api:{actor}")
        return Removed(removed=window_id)

    return router
