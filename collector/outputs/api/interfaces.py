"""GET /api/v1/assets/{asset_id}/interfaces: a device's latest SNMP poll."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from opsmon.collector.core.errors import NotFound
from opsmon.collector.core.http import VIEWER, errors
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.live import Interfaces


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["interfaces"])

    @router.get("/api/v1/assets/{asset_id}/interfaces", response_model=Interfaces,
                responses={**VIEWER, **errors(404)})
    async def interfaces(asset_id: str, _: str = Depends(auth.viewer)) -> Interfaces:
        """The latest SNMP poll of a device: interface rows with their rates, and present hardware faults. A device
        polled by a site poller: empty lists, `polled_by` and `reason` saying where its readings are."""
        found = face.interfaces(asset_id)
        if found is None:
            raise NotFound(f"no SNMP poll of {asset_id!r} yet")
        return found

    return router
