"""The HTTP API, assembled: one router per resource over the collector's narrow face (face.py).

Reads are outputs; the writes are inventory and maintenance edits (in the audit log) and people's actions on
incidents (on each incident's trail).
Authentication: `Authorization: Bearer <token>` (deps.py); the web console (/ui/, opsmon.collector.outputs.ui)
is mounted beside it with its own sessions. Agent reports come in through the inputs'
own door (opsmon.collector.inputs.agents.route and .bare), served ahead of FastAPI on the busiest path.
Handlers that read or change the live collector are `async`: they then run on the event loop that owns
it, never on a worker thread racing it; handlers that only read the database run on the thread pool.
Every time in an answer is ISO 8601 with the configured zone's offset (2026-12-06T20:55:00+08:00, the
instant 12:55Z): the response class writes them so, whichever reader produced them (issue 21 item 6).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import OperationalError

from opsmon.collector import __version__
from opsmon.collector.core.errors import Conflict, InvalidInput, NotFound
from opsmon.collector.core.lang import localise
from opsmon.collector.inputs.agents.bare import ReportRoute
from opsmon.collector.inputs.agents.route import ReportEndpoint, agent_router
from opsmon.collector.inputs.poller.route import share_router
from opsmon.collector.outputs.api import (
    ack,
    alerts,
    assets,
    audit,
    configs,
    docs,
    events,
    exclusions,
    flows,
    health,
    history,
    hj212,
    incident_owners,
    incidents,
    interfaces,
    maintenance,
    metrics,
    oncall,
    reports,
    security,
    sla,
    states,
    survey,
)
from opsmon.collector.outputs.api.bounds import Bounded
from opsmon.collector.outputs.api.deps import Auth, refuse_unknown_query
from opsmon.collector.outputs.api.face import CollectorFace
from opsmon.collector.outputs.ui import pages as console
from opsmon.collector.store import tokens

ERRORS = {InvalidInput: 422, NotFound: 404, Conflict: 409}


def _refusal(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def refused(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return refused


async def _store_unwritable(_: Request, exc: Exception) -> JSONResponse:
    """The store refused (locked past its timeout, disk full, connection lost), on a write or a read: nothing of
    the request was kept, so the sender is told to try again, never a 500."""
    return JSONResponse({"detail": f"the store cannot be used now ({type(exc).__name__}); nothing was changed, "
                                   "try again later"}, status_code=503, headers={"Retry-After": "10"})


def store_refusals() -> tuple[type[Exception], ...]:
    """The errors of a store that refused for now: SQLAlchemy's, and the drivers' own (store/dbapi.py)."""
    from opsmon.collector.store.dbapi import driver_refusals

    return (OperationalError, *driver_refusals())


def create_app(face: CollectorFace) -> ReportRoute:
    """The collector's ASGI application: agent reports on a bare route, everything else through FastAPI."""
    endpoint = ReportEndpoint(face)
    bounded = Bounded(fastapi_app(face, endpoint), face.max_body_bytes,
                      lambda token: tokens.authenticate(face.store, token) is not None)
    return ReportRoute(endpoint, bounded)


def local_json(zone: str) -> type[JSONResponse]:
    """FastAPI's JSON answer with its times in `zone` (core.lang.localise)."""

    class LocalTimeJSON(JSONResponse):
        def render(self, content: Any) -> bytes:
            return super().render(localise(content, zone))

    return LocalTimeJSON


def fastapi_app(face: CollectorFace, endpoint: ReportEndpoint) -> FastAPI:
    app = FastAPI(title="opsmon collector", version=__version__,
                  description="Assets, states and their history; metrics at /metrics. Times are ISO 8601 with the "
                              "offset of the configured time zone.",
                  default_response_class=local_json(face.timezone),
                  dependencies=[Depends(refuse_unknown_query)], docs_url=None, redoc_url=None)
    auth = Auth(face)

    for error, status in ERRORS.items():
        app.add_exception_handler(error, _refusal(status))
    for refused in store_refusals():
        app.add_exception_handler(refused, _store_unwritable)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    app.include_router(health.routes(face))
    for module in (assets, states, history, sla, maintenance, exclusions, hj212, security, configs, reports, events,
                   flows, interfaces, incidents, incident_owners, alerts, audit, metrics, oncall, survey):
        app.include_router(module.routes(face, auth))
    app.include_router(agent_router(endpoint))
    app.include_router(share_router(endpoint, face))
    app.include_router(ack.routes(face))
    console.mount(app, face)
    docs.mount(app)
    return app
