"""Stored device configurations (operator role: even redacted, a configuration maps the network).

A version is a number (1 is the first stored), `latest`, or `previous` (the one before latest).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel

from opsmon.collector.core.http import OPERATOR, errors
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.store.config_versions import diff, list_assets, list_versions, show, version_of


class ConfigSeries(BaseModel):
    asset_id: str
    name: str
    versions: int
    last_seen: datetime


class ConfigVersion(BaseModel):
    asset_id: str
    name: str
    version: int
    fetched_at: datetime
    last_seen: datetime
    sha256: str
    size: int
    command: str


class ConfigText(ConfigVersion):
    content: str


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["configs"])
    store = face.store

    @router.get("/api/v1/configs", response_model=list[ConfigSeries], responses=OPERATOR)
    def configs_assets(_: str = Depends(auth.operator)) -> list[dict[str, Any]]:
        """Devices with stored configurations (operator role: even redacted, a config maps the network)."""
        return list_assets(store)

    @router.get("/api/v1/configs/{asset_id}", response_model=list[ConfigVersion],
                responses={**OPERATOR, **errors(404)})
    def configs_versions(asset_id: str, name: str = "running",
                         _: str = Depends(auth.operator)) -> list[dict[str, Any]]:
        return list_versions(store, asset_id, name)

    @router.get("/api/v1/configs/{asset_id}/diff", response_class=Response,
                responses={200: {"description": "A unified diff from a to b; empty when they are the same",
                                 "content": {"text/plain": {"schema": {"type": "string"}}}},
                           **OPERATOR, **errors(404, 422)})
    def configs_diff(asset_id: str, a: str = "previous", b: str = "latest", name: str = "running",
                     _: str = Depends(auth.operator)) -> Response:
        return Response(diff(store, asset_id, version_of(a), version_of(b), name), media_type="text/plain")

    @router.get("/api/v1/configs/{asset_id}/{version}", response_model=ConfigText,
                responses={**OPERATOR, **errors(404, 422)})
    def configs_show(asset_id: str, version: str, name: str = "running",
                     _: str = Depends(auth.operator)) -> dict[str, Any]:
        return show(store, asset_id, version_of(version), name)

    return router
