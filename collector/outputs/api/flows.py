"""GET /api/v1/flows/top: a link's (or a site's links') top talkers from the stored flow intervals, as `opsmon flows
top`; GET /api/v1/flows/sites: each site's traffic, as `opsmon flows sites` (docs/flows.md).

Read-only, for a viewer. The figures are store/flows.py's: per (src, dst, dst port, protocol), bytes, packets and
flow records summed over the intervals that start in [from, to), largest first, then one `other` row.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from opsmon.collector.core.http import VIEWER, errors
from opsmon.collector.outputs.api.deps import Auth, parse_time
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.store.flows import site_totals, top_talkers


class FlowTotal(BaseModel):
    bytes: int
    packets: int
    flows: int


class FlowRowDoc(FlowTotal):
    src: str
    dst: str
    dst_port: int | None  # None on the `other` row
    protocol: int | None


class FlowTopDoc(BaseModel):
    link: str | None
    site: str | None
    start: str
    end: str
    intervals: int
    total: FlowTotal
    rows: list[FlowRowDoc]


class FlowSiteLinkDoc(BaseModel):
    link: str
    name: str
    bytes: int


class FlowSiteDoc(FlowTotal):
    site: str
    intervals: int
    links: list[FlowSiteLinkDoc]


class FlowSitesDoc(BaseModel):
    start: str
    end: str
    sites: list[FlowSiteDoc]


def routes(face: CollectorFace, auth: Auth) -> APIRouter:
    router = APIRouter(tags=["flows"])

    @router.get("/api/v1/flows/top", response_model=FlowTopDoc, responses={**VIEWER, **errors(422)})
    def top(_: str = Depends(auth.viewer), link: str | None = Query(None, min_length=1, max_length=128, description=(
                "The link asset id (as under flows.exporters); or give site")),
            site: str | None = Query(None, min_length=1, max_length=128, description=(
                "A site (prefecture) of the inventory: its links' rows summed; unknown = links no asset with a "
                "site claims, and a removed link's intervals wholly after its removal")),
            from_: str = Query(alias="from", description="ISO 8601 with UTC offset"),
            to: str = Query(description="ISO 8601 with UTC offset, after from"),
            limit: int = Query(20, ge=1, le=10_000, description="Rows before `other`")) -> dict[str, Any]:
        """A link's (or a site's) top (src, dst, dst port, protocol) by bytes over [from, to), then `other`, and the
        total."""
        if (link is None) == (site is None):
            raise HTTPException(422, "give link or site, one of them")
        start, end = _span(from_, to)
        rows, total, intervals = top_talkers(face.store, link, start, end, limit, site=site)
        return {"link": link, "site": site, "start": start.isoformat(), "end": end.isoformat(), "intervals": intervals,
                "total": {"bytes": total.bytes, "packets": total.packets, "flows": total.flows},
                "rows": [{"src": r.src, "dst": r.dst, "dst_port": r.dst_port if r.dst_port >= 0 else None,
                          "protocol": r.protocol if r.protocol >= 0 else None, "bytes": r.bytes,
                          "packets": r.packets, "flows": r.flows} for r in rows]}

    @router.get("/api/v1/flows/sites", response_model=FlowSitesDoc, responses={**VIEWER, **errors(422)})
    def sites(_: str = Depends(auth.viewer), from_: str = Query(alias="from", description="ISO 8601 with UTC offset"),
              to: str = Query(description="ISO 8601 with UTC offset, after from")) -> dict[str, Any]:
        """Each site's (prefecture's) bytes, packets, flows and intervals over [from, to), largest first, with its
        links (id, inventory name, bytes)."""
        start, end = _span(from_, to)
        return {"start": start.isoformat(), "end": end.isoformat(),
                "sites": [{"site": t.site, "bytes": t.bytes, "packets": t.packets, "flows": t.flows,
                           "intervals": t.intervals,
                           "links": [{"link": link, "name": name, "bytes": octets} for link, name, octets in t.links]}
                          for t in site_totals(face.store, start, end)]}

    return router


def _span(from_: str, to: str) -> tuple[Any, Any]:
    start, end = parse_time(from_, "from"), parse_time(to, "to")
    assert start is not None and end is not None
    if end <= start:
        raise HTTPException(422, "to must be after from")
    return start, end
