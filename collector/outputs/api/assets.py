"""The inventory: assets with their live state; edits are audited and picked up at once."""
from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, Field

from opsmon.collector.config.inventory import (
    AssetSpec,
    InventoryFile,
    asset_document,
    list_assets,
    parse_inventory_doc,
    validate_asset,
)
from opsmon.collector.config.yamlfile import YamlDoc
from opsmon.collector.core.errors import ConfigError, InvalidInput, NotFound
from opsmon.collector.core.fields import ObjectId, parse_timestamp
from opsmon.collector.core.http import VIEWER, WRITE, Removed, documented, errors
from opsmon.collector.outputs.api.deps import Auth
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.api.live import CheckStatus


class AssetDoc(AssetSpec):
    """An asset as stored (empty fields left out), with its live state."""

    removed_at: str | None = Field(description="When it was removed (its history is kept); null while monitored")
    joined_at: str | None = Field(None, description="When it joined, as imported from the system opsmon replaces "
                                  "(its figures start there); absent when not known")
    state: str | None = Field(description="null: not monitored (removed, or not loaded yet)")
    since: str | None = None
    reason: str | None = None
    check_status: dict[str, CheckStatus] | None = None


class AssetPut(AssetSpec):
    id: ObjectId | None = Field(None, description="Optional; the id in the URL counts")  # type: ignore[assignment]


class AssetChanges(BaseModel):
    """Ids by outcome; empty outcomes are left out."""

    created: list[str] | None = None
    updated: list[str] | None = None
    restored: list[str] | None = None
    unchanged: list[str] | None = None


EXAMPLE = {"assets": [{"id": "wan-hami", "category": "link", "site": "hami", "address": "10.65.1.1",
                       "checks": [{"type": "icmp"}]}]}


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["assets"])
    store = face.store

    def state_doc(asset_id: str) -> dict[str, Any]:
        state = face.live_state(asset_id)
        return {"state": None} if state is None else dict(state)

    def asset_docs(include_removed: bool, **filters: str | None) -> list[dict[str, Any]]:
        """The rows as documents; runs in a worker thread (thousands of rows take most of a second)."""
        out = []
        for row in list_assets(store, include_removed, **filters):
            out.append(asset_document(row))
        return out

    @router.get("/api/v1/assets", response_model=list[AssetDoc], responses=VIEWER)
    async def assets(_: str = Depends(auth.viewer), category: str | None = None, site: str | None = None,
                     include_removed: bool = False) -> Response:
        docs = await asyncio.to_thread(asset_docs, include_removed, category=category or None, site=site or None)
        for doc in docs:  # live states on the loop, where the timeline changes
            doc.update(state_doc(doc["id"]))
        body = await asyncio.to_thread(lambda: json.dumps(docs, ensure_ascii=False).encode())
        return Response(body, media_type="application/json")

    @router.get("/api/v1/assets/{asset_id}", response_model=AssetDoc, response_model_exclude_unset=True,
                responses={**VIEWER, **errors(404)})
    async def asset(asset_id: str, _: str = Depends(auth.viewer)) -> dict[str, Any]:
        docs = await asyncio.to_thread(asset_docs, True, asset_id=asset_id)
        if not docs:
            raise NotFound(f"no asset {asset_id!r}")
        docs[0].update(state_doc(asset_id))
        return docs[0]

    @router.put("/api/v1/assets/{asset_id}", response_model=AssetChanges, response_model_exclude_unset=True,
                responses={**WRITE, **errors(400, 422)})
    async def put_asset(asset_id: str, body: Annotated[dict[str, Any], documented(AssetPut), Body()],
                        actor: str = Depends(auth.operator)) -> dict[str, Any]:
        """Create or update one asset (same rules as `opsmon assets import`)."""
        if body.get("id", asset_id) != asset_id:
            raise InvalidInput(f"id in the body ({body.get('id')!r}) differs from the URL ({asset_id!r})")
        spec = validate_asset({**body, "id": asset_id})
        result = face.upsert_assets([spec], f"api:{actor}")
        return {k: v for k, v in result.items() if v}

    @router.post("/api/v1/assets/import", response_model=AssetChanges, response_model_exclude_unset=True,
                 responses={**WRITE, **errors(400, 422)})
    async def import_assets(body: Annotated[dict[str, Any], documented(InventoryFile), Body(examples=[EXAMPLE])],
                            actor: str = Depends(auth.operator)) -> dict[str, Any]:
        """Create or update many assets at once, exactly like `opsmon assets import` (all or nothing)."""
        try:
            specs = parse_inventory_doc(YamlDoc("request body", body, {}))
        except ConfigError as exc:
            raise InvalidInput(exc.keyed()) from None  # every problem of the body, not the first
        result = face.upsert_assets(specs, f"api:{actor}")
        return {k: v for k, v in result.items() if v}

    @router.delete("/api/v1/assets/{asset_id}", response_model=Removed, responses={**WRITE, **errors(404, 422)})
    async def delete_asset(asset_id: str, actor: str = Depends(auth.operator),
                           at: str | None = Query(None, description="When it left, ISO 8601 with offset "
                                                  "(default now): its figures end there")) -> Removed:
        """Mark removed: monitoring stops, history is kept (intervals after `at` stay out of its figures)."""
        when = None
        if at is not None:
            try:
                when = parse_timestamp(at)
            except ValueError:
                raise InvalidInput(f"at: {at!r} is not an ISO 8601 timestamp with a UTC offset") from None
        face.remove_asset(asset_id, f"api:{actor}", when)
        return Removed(removed=asset_id)

    return router
