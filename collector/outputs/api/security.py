"""Security results from agents: compliance per control point, and a host's baseline checks."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from opsmon.collector.core.errors import NotFound
from opsmon.collector.core.http import VIEWER, errors
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.live import Baseline, ComplianceRow


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["security"])

    @router.get("/api/v1/compliance", response_model=list[ComplianceRow], responses=VIEWER)
    async def compliance(_: str = Depends(auth.viewer), asset: str | None = None) -> list[ComplianceRow]:
        """Per host and control point: baseline checks passed and failed, and the share passed."""
        return [r for r in face.compliance() if asset is None or r.asset == asset]

    @router.get("/api/v1/assets/{asset_id}/baseline", response_model=Baseline, responses={**VIEWER, **errors(404)})
    async def baseline(asset_id: str, _: str = Depends(auth.viewer)) -> Baseline:
        """The latest result of every baseline check on a host, with its evidence and since when."""
        found = face.baseline(asset_id)
        if found is None:
            raise NotFound(f"no baseline results for {asset_id!r} yet")
        return found

    return router
