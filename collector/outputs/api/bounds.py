"""Every door bounded before it reads: the size limit and, for writes, the token are checked ahead of FastAPI.

FastAPI reads and parses a request's whole body before its dependencies run, so a route's own token check
comes after the body is in memory: an unauthenticated 200 MB PUT raised the collector from 141 to 747 MB
before its 401. This ASGI layer, in front of every route FastAPI serves (the agents' door bounds itself, in
opsmon.collector.inputs.agents.bare), answers first:

- 413 when the declared Content-Length exceeds `api.max_body_bytes`, or once a body without one (chunked)
  passes it; the body read so far is dropped;
- 401 for a request that may carry a body (any method but GET, HEAD and OPTIONS) without a valid token,
  before a byte of it is read; the route's dependency still checks the role. The acknowledge links
  (/ack/...) carry their own signed token in the path and read no body, and the web console (/ui/) its
  session cookie and CSRF token (its forms are a few hundred bytes), so they only get the size bound; so
  do the survey's links (/survey/...), whose small form body is read only within that bound.

A body within the bound is read here once and handed on whole, so the route sees the request unchanged.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from opsmon.collector.core.http import asgi_json

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

READS = frozenset({"GET", "HEAD", "OPTIONS"})
OWN_TOKEN = ("/ack/", "/ui/", "/survey/")  # authenticate themselves: a token in the path, the console session


class Bounded:
    """The ASGI layer described in the module docstring."""

    def __init__(self, app: App, max_bytes: int, authenticated: Callable[[str], bool]) -> None:
        """`authenticated(token)`: whether a person's token is valid and unrevoked (any role); it reads the
        store, so it runs on a worker thread."""
        self.app = app
        self.max_bytes = max_bytes
        self.authenticated = authenticated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization = None
        declared: int | None = None
        for name, value in scope["headers"]:  # the first of repeated headers counts, as in Starlette
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"content-length" and declared is None:
                text = value.decode("latin-1").strip()
                declared = int(text) if text.isdigit() else None
        method, path = scope["method"], scope["path"]
        if method in READS:
            if declared is not None and declared > self.max_bytes:
                await self._too_large(send)
                return
            await self.app(scope, receive, send)  # read routes take no body: FastAPI never reads it
            return
        if not path.startswith(OWN_TOKEN) and not await self._valid(authorization):
            await asgi_json(send, 401, {"detail": "a valid bearer token is required before the request body is read"},
                            (("WWW-Authenticate", "Bearer"),))
            return
        if declared is not None and declared > self.max_bytes:
            await self._too_large(send)
            return
        try:
            body = await self._read(receive)
        except _Gone:
            return  # the client went away: nobody to answer
        if body is None:
            await self._too_large(send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _valid(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        return await asyncio.to_thread(self.authenticated, token)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body; None past the bound (what was read is dropped); _Gone when the client disconnects."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > self.max_bytes:
                    return None
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        await asgi_json(send, 413, {"detail": f"request body larger than {self.max_bytes} bytes (api.max_body_bytes)"})


class _Gone(Exception):
    """The client disconnected while its body was read."""


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read ahead in one message, then waits on the client as before."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
