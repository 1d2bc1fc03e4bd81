"""GET /metrics: Prometheus' text format (viewer role, or none with `api.public_read`), gzipped when the scraper
accepts it (Prometheus always does: a 5,000-asset page shrinks about tenfold on the wire)."""
from __future__ import annotations

import asyncio
import gzip

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import gzip_accepted

from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace


def _render(face: CollectorFace, compress: bool) -> bytes:
    body = face.render_metrics()
    return gzip.compress(body, compresslevel=6) if compress else body


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request, _: str = Depends(auth.viewer)) -> Response:
        # Rendering (and compressing) 5,000 assets takes ~0.8 s: do it off the loop. The collectors take their
        # snapshots with list(dict.items()), which is atomic under the GIL.
        compress = gzip_accepted(request.headers.get("accept-encoding", ""))
        body = await asyncio.to_thread(_render, face, compress)
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"} if compress else {"Vary": "Accept-Encoding"}
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers=headers)

    return router
