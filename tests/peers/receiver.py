"""A recording HTTP receiver for webhook-style peers (notification channels, Alertmanager receivers).

It records every POST and answers from a script, on a loopback port.
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


class Recorder:
    """Records every POST; answers from `answers` in turn, then with `default`."""

    def __init__(self, default: tuple[int, Any], delay: float = 0.0) -> None:
        self.requests: list[Request] = []
        self.answers: list[tuple[int, Any]] = []
        self.default = default
        self.delay = delay
        self.url = ""


class _Post(http.server.BaseHTTPRequestHandler):
    recorder: Recorder

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = urlsplit(self.path)
        rec = self.recorder
        rec.requests.append(Request(parts.path, parse_qs(parts.query), dict(self.headers), body))
        if rec.delay:
            time.sleep(rec.delay)
        status, answer = rec.answers.pop(0) if rec.answers else rec.default
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
