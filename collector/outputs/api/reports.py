"""Generated SLA reports: the listing, and each file with its SHA-256."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from opsmon.collector.core.errors import NotFound
from opsmon.collector.core.http import VIEWER, errors
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.report.delivery import MEDIA

# Report ids are the store's 64-bit integers: a larger one cannot exist, and SQLite would refuse it (a 500) if asked.
ReportId = Annotated[int, PathParam(ge=1, le=2 ** 63 - 1)]
FILE = {"description": "The report file; header X-Opsmon-SHA256 lets the receiver check it",
        "headers": {"X-Opsmon-SHA256": {"description": "SHA-256 of the file, hex", "schema": {"type": "string"}}},
        "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA.values()}}


class ReportDoc(BaseModel):
    id: int
    period: str
    lang: str
    format: str
    file: str
    sha256: str
    size: int
    created_at: str


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["reports"])
    store = face.store

    @router.get("/api/v1/reports", response_model=list[ReportDoc], responses=VIEWER)
    def report_listing(_: str = Depends(auth.viewer)) -> list[dict[str, Any]]:
        """Generated SLA reports, newest first, each with its SHA-256."""
        from opsmon.collector.outputs.report.delivery import listing

        return listing(store)

    @router.get("/api/v1/reports/{report_id}", response_class=FileResponse,
                responses={200: FILE, **VIEWER, **errors(404, 422)})
    def report_file(report_id: ReportId, _: str = Depends(auth.viewer)) -> Response:
        """The report file itself; X-Opsmon-SHA256 lets the receiver check it."""
        from opsmon.collector.outputs.report.delivery import find

        row = find(store, report_id)
        if row is None:
            raise NotFound(f"no report {report_id}")
        return FileResponse(row.path, media_type=MEDIA.get(row.format, "application/octet-stream"),
                            filename=Path(row.path).name, headers={"X-Opsmon-SHA256": row.sha256})

    return router
