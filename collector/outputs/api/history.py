"""GET /api/v1/assets/{asset_id}/history: state intervals over a range, with seconds per state."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from opsmon.collector.config.inventory import list_assets
from opsmon.collector.core.errors import NotFound
from opsmon.collector.core.http import VIEWER, errors
from opsmon.collector.outputs.api.deps import Auth, parse_time
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.store.history import asset_history


class Interval(BaseModel):
    state: str
    start: str
    end: str | None = Field(description="null: still open")
    reason: str


class History(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    asset: str
    from_: str = Field(alias="from")
    to: str
    seconds: dict[str, float] = Field(description="Seconds in each state within the range")
    intervals: list[Interval]


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["history"])
    store = face.store

    @router.get("/api/v1/assets/{asset_id}/history", response_model=History,
                responses={**VIEWER, **errors(404, 422)})
    def history(asset_id: str, _: str = Depends(auth.viewer),
                from_: str | None = Query(None, alias="from", description="ISO 8601; default 24 h ago"),
                to: str | None = Query(None, description="ISO 8601; default now")) -> History:
        """State intervals clipped to [from, to), with seconds per state."""
        now = face.now()
        end = parse_time(to, "to") or now
        start = parse_time(from_, "from") or end - timedelta(days=1)
        if end <= start:
            raise HTTPException(422, "to must be after from")
        if end - start > timedelta(days=3660):
            raise HTTPException(422, "the range may span at most 10 years")
        if not list_assets(store, include_removed=True, asset_id=asset_id):
            raise NotFound(f"no asset {asset_id!r}")
        spans, totals = asset_history(store, asset_id, start, end, now)
        return History(
            asset=asset_id, from_=start.isoformat(), to=end.isoformat(),
            seconds={k: round(v, 3) for k, v in totals.items()},
            intervals=[Interval(state=s.state, start=s.start.isoformat(), end=s.end.isoformat() if s.end else None,
                                reason=s.reason) for s in spans],
        )

    return router
