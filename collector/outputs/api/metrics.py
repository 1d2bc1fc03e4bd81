"""GET /metrics: Prometheus' text format (viewer role, or none with `api.public_read`)."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics(_: str = Depends(auth.viewer)) -> Response:
        # Rendering 5,000 assets takes ~0.8 s: do it off the loop. The collectors take their
        # snapshots with list(dict.items()), which is atomic under the GIL.
        body = await asyncio.to_thread(face.render_metrics)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
