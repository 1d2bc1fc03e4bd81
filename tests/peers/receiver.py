"""A recording HTTP receiver for webhook-style peers (notification channels, Alertmanager receivers).

It records every POST and answers from a script, on a loopback port. `checks` make it a stricter peer:
each may refuse a request with the answer the real service gives (`rate_limit`: a group robot's 20
messages a minute; `keyword`: a DingTalk robot's custom keyword). Refused requests are recorded too.
"""
from __future__ import annotations

import http.server
import json
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Check = Callable[[Request], "tuple[int, Any] | None"]


class Recorder:
    """Records every POST; answers from the first of `checks` that refuses, else `answers` in turn, then
    `default`."""

    def __init__(self, default: tuple[int, Any], delay: float = 0.0) -> None:
        self.requests: list[Request] = []
        self.answers: list[tuple[int, Any]] = []
        self.default = default
        self.delay = delay
        self.url = ""
        self.checks: list[Check] = []
        self.refused: list[Request] = []
        self.lock = threading.Lock()


def rate_limit(limit: int, window: float, refusal: tuple[int, Any]) -> Check:
    """Refuse a request when `limit` were accepted in the `window` seconds before it (a sliding window on
    arrival, as the robots count: WeCom 45009, DingTalk 130101)."""
    accepted: list[float] = []

    def check(_req: Request) -> tuple[int, Any] | None:
        now = time.monotonic()
        recent = [t for t in accepted if now - t < window]
        if len(recent) >= limit:
            return refusal
        accepted[:] = [*recent, now]
        return None

    return check


def keyword(word: str, text: Callable[[Any], str], refusal: tuple[int, Any]) -> Check:
    """Refuse a message whose `text(body)` lacks `word` (DingTalk: errcode 310000, keywords not in content)."""
    def check(req: Request) -> tuple[int, Any] | None:
        return None if word in text(req.json()) else refusal

    return check


class _Post(http.server.BaseHTTPRequestHandler):
    recorder: Recorder

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = urlsplit(self.path)
        rec = self.recorder
        req = Request(parts.path, parse_qs(parts.query), dict(self.headers), body)
        with rec.lock:
            rec.requests.append(req)
            refusal = next((r for r in (check(req) for check in rec.checks) if r is not None), None)
            if refusal is not None:
                rec.refused.append(req)
        if rec.delay:
            time.sleep(rec.delay)
        status, answer = refusal or (rec.answers.pop(0) if rec.answers else rec.default)
        if callable(answer):
            data = answer(self.path).encode()
        else:
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture
def recorder() -> Iterator[Callable[..., Recorder]]:
    servers: list[_Server] = []

    def start(default: tuple[int, Any] = (200, {"errcode": 0, "errmsg": "ok"}), delay: float = 0.0) -> Recorder:
        rec = Recorder(default, delay)
        srv = _Server(("127.0.0.1", 0), type("H", (_Post,), {"recorder": rec}))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        rec.url = f"http://127.0.0.1:{srv.server_address[1]}"
        return rec

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()
