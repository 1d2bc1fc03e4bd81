"""The agents' door, POST /api/v1/agent/report, kept with the inputs that read what comes through it.

Two ways in, one logic (ReportEndpoint), so they cannot drift apart:
- ReportRoute (bare.py), an ASGI application in front of FastAPI, serves it directly: 2,000 reports/s are the
  goal, and FastAPI's machinery cost about half of the event loop's time per report;
- the FastAPI route here documents it in /openapi.json and answers the same way when it is reached.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Body, Header, Request, Security
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.http import errors
from opsmon.collector.inputs.agents.ingest import MAX_BYTES, AgentReport

REPORT_PATH = "/api/v1/agent/report"
AGENT_TOKEN = HTTPBearer(scheme_name="agentToken", auto_error=False,
                         description="An agent's token (`opsmon agents enroll`), not a person's")

Refusal = tuple[int, dict[str, Any], tuple[tuple[str, str], ...]]
DURABLE_WAIT = 10.0  # seconds a report waits for its commit before the agent is told to keep it (503)
RETRY_AFTER = "10"
CHALLENGE = ("WWW-Authenticate", "Bearer")


class AgentAnswer(BaseModel):
    """What became of a report, and the settings the agent is to use."""

    status: Literal["accepted", "duplicate"]
    interval: float = Field(description="Seconds between reports")


class AgentDoor(Protocol):
    """What the door needs from the running collector."""

    def agent_for(self, token: str) -> tuple[str, str] | None:
        """(agent, asset) of a valid, unrevoked agent token; None otherwise."""

    def agent_report(self, agent: str, asset_id: str, body: bytes, sent_at: str | None,
                     backlog: str | None) -> AgentAnswer:
        """Take one report (at most MAX_BYTES) from `agent` with its headers; InvalidInput says why not."""

    def store_trouble(self) -> str | None:
        """Why the store cannot be written now, or None."""

    def durable(self) -> Awaitable[None]:
        """Resolves once everything taken so far is committed to the store."""


class ReportEndpoint:
    """The door's logic, independent of the web framework."""

    UNAUTHORIZED: Refusal = (401, {"detail": "invalid, revoked or missing agent token"}, (CHALLENGE,))

    def __init__(self, door: AgentDoor) -> None:
        self.door = door
        self.too_large = {"detail": f"report larger than {MAX_BYTES} bytes"}

    def agent(self, authorization: str | None) -> tuple[str, str] | None:
        """(agent, asset) for a valid `Bearer <agent token>`; None answers 401 (UNAUTHORIZED)."""
        scheme, _, token = (authorization or "").partition(" ")
        return self.door.agent_for(token.strip()) if scheme.lower() == "bearer" else None

    @staticmethod
    def too_large_declared(content_length: str | None) -> bool:
        """A Content-Length over MAX_BYTES is refused (413) before reading the body."""
        return content_length is not None and content_length.isdigit() and int(content_length) > MAX_BYTES

    async def ingest(self, found: tuple[str, str], body: bytes, sent_at: str | None, backlog: str | None) -> Refusal:
        """(status, answer, headers) for a body of at most MAX_BYTES from the agent `found`.

        An answer of 200 is a promise: the report (or, for a duplicate, its first copy) is committed. While
        the store cannot be written, or the commit takes longer than DURABLE_WAIT or refused an operation of its
        batch, the answer is 503 with Retry-After: the agent keeps the report and sends it again (a duplicate,
        if its first copy was committed after all)."""
        trouble = self.door.store_trouble()
        if trouble is not None:
            return 503, {"detail": f"the store cannot be written now ({trouble}); keep the report and send it "
                                   "again later"}, (("Retry-After", RETRY_AFTER),)
        agent, asset_id = found
        try:
            answer = self.door.agent_report(agent, asset_id, body, sent_at, backlog)
        except InvalidInput as exc:
            return 422, {"detail": str(exc)}, ()
        try:
            await asyncio.wait_for(self.door.durable(), DURABLE_WAIT)
        except Exception as exc:  # noqa: BLE001 - timed out, or its batch had a refused operation: no promise
            why = f"not within {DURABLE_WAIT:g} s" if isinstance(exc, TimeoutError) else str(exc)
            return 503, {"detail": f"the store did not commit the report ({why}); keep it and send it again "
                                   "later"}, (("Retry-After", RETRY_AFTER),)
        return 200, answer.model_dump(), ()

    async def serve(self, request: Request) -> JSONResponse:
        """The FastAPI way in."""
        found = self.agent(request.headers.get("authorization"))
        if found is None:
            status, doc, headers = self.UNAUTHORIZED
            return JSONResponse(doc, status_code=status, headers=dict(headers))
        if self.too_large_declared(request.headers.get("content-length")):
            return JSONResponse(self.too_large, status_code=413)
        body = b""
        async for chunk in request.stream():  # bounded even without Content-Length (chunked uploads)
            body += chunk
            if len(body) > MAX_BYTES:
                return JSONResponse(self.too_large, status_code=413)
        got = request.headers.get
        status, doc, headers = await self.ingest(found, body, got("x-opsmon-sent-at"), got("x-opsmon-backlog"))
        return JSONResponse(doc, status_code=status, headers=dict(headers))


class _ServedRaw(APIRoute):
    """An operation documented by its endpoint's signature but served by `serve` on the raw request: FastAPI
    would read the whole body before any check (past the size bound) and refuse bad JSON in its own form."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, serve: Callable[[Request], Awaitable[JSONResponse]],
                 **options: Any) -> None:
        self.serve = serve
        super().__init__(path, endpoint, **options)

    def get_route_handler(self) -> Callable[[Request], Awaitable[JSONResponse]]:
        return self.serve


def agent_router(endpoint: ReportEndpoint) -> APIRouter:
    def agent_report(report: Annotated[AgentReport, Body()],
                     _: Annotated[HTTPAuthorizationCredentials | None, Security(AGENT_TOKEN)],
                     x_opsmon_sent_at: Annotated[str | None, Header(
                         description="The agent's clock at sending, Unix seconds: its offset corrects the report's "
                                     "times")] = None,
                     x_opsmon_backlog: Annotated[int | None, Header(ge=0, le=10 ** 9, description=(
                         "Spooled reports that follow this one: the host is not judged silent while they drain"))]
                     = None) -> AgentAnswer:
        """Where agents push reports (agent token, not a person's). Answers with the settings to use.

        Served by ReportRoute ahead of FastAPI, and by ReportEndpoint.serve when FastAPI is reached.
        """
        raise AssertionError("documentation only: ReportEndpoint.serve answers")

    router = APIRouter()
    router.routes.append(_ServedRaw(REPORT_PATH, agent_report, serve=endpoint.serve, methods=["POST"], tags=["agents"],
                                    response_model=AgentAnswer, responses=errors(401, 413, 422, 503)))
    return router
