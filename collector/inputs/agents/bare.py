"""POST /api/v1/agent/report served ahead of FastAPI (the busiest path), with ReportEndpoint's logic."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opsmon.collector.core.http import asgi_json as _answer
from opsmon.collector.inputs.agents.ingest import MAX_BYTES
from opsmon.collector.inputs.agents.route import REPORT_PATH, ReportEndpoint

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ReportRoute:
    """The ASGI application: POST /api/v1/agent/report served directly, every other request by `fallback`.

    Same answers as the FastAPI route (status, JSON body, headers); only the framework's per-request
    work is skipped. Anything but a POST to exactly that path (another method, a trailing slash,
    lifespan) goes to FastAPI, which answers it as before.
    """

    def __init__(self, endpoint: ReportEndpoint, fallback: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.endpoint = endpoint
        self.fastapi = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == REPORT_PATH and scope["method"] == "POST":
            await self._report(scope, receive, send)
        else:
            await self.fastapi(scope, receive, send)

    async def _report(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = content_length = sent_at = backlog = None
        for name, value in scope["headers"]:  # lower-case names; the first of repeated headers counts, as in Starlette
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"content-length" and content_length is None:
                content_length = value.decode("latin-1")
            elif name == b"x-opsmon-sent-at" and sent_at is None:
                sent_at = value.decode("latin-1")
            elif name == b"x-opsmon-backlog" and backlog is None:
                backlog = value.decode("latin-1")
        found = self.endpoint.agent(authorization)
        if found is None:
            await _answer(send, *self.endpoint.UNAUTHORIZED)
            return
        if self.endpoint.too_large_declared(content_length):
            await _answer(send, 413, self.endpoint.too_large)
            return
        chunks: list[bytes] = []
        size = 0
        while True:  # bounded even without Content-Length (chunked uploads)
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # nobody to answer
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BYTES:
                    await _answer(send, 413, self.endpoint.too_large)
                    return
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        status, doc, headers = await self.endpoint.ingest(found, body, sent_at, backlog)
        await _answer(send, status, doc, headers)
