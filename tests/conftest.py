"""Shared fixtures: a fresh store per test, free loopback ports, real little servers."""
from __future__ import annotations

import http.server
import itertools
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collector.store import Store, open_store
from collector.timeline import Op

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.peers.collector", "tests.peers.postgres", "tests.peers.snmp", "tests.peers.receiver"]
OPSMON = [sys.executable, "-m", "collector"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A port with nothing listening (bound and released just now)."""
    return free_port()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    yield s
    s.close()


def write_config(tmp_path: Path, body: str, name: str = "collector.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OPSMON, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes, float]] = {}

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        status, body, delay = self.routes.get(self.path, (404, b"not found", 0.0))
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture
def http_server() -> Iterator[Callable[..., str]]:
    """A real HTTP server on 127.0.0.1; call it with routes {path: (status, body, delay)}."""
    servers: list[_ThreadingServer] = []

    def start(routes: dict[str, tuple[int, bytes, float]], ssl_context: Any = None) -> str:
        handler = type("H", (_Handler,), {"routes": routes})
        srv = _ThreadingServer(("127.0.0.1", 0), handler)
        scheme = "http"
        if ssl_context is not None:
            srv.socket = ssl_context.wrap_socket(srv.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"{scheme}://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    """A real TCP listener on 127.0.0.1 that accepts and closes connections."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    stop = threading.Event()

    def loop() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                conn.close()
            except OSError:
                continue

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield sock.getsockname()[1]
    stop.set()
    t.join()
    sock.close()


class MemorySink:
    """Applies timeline ops to in-memory interval lists, like the store writer does to tables."""

    def __init__(self) -> None:
        self.intervals: dict[str, list[list[Any]]] = {}  # asset -> [[state, start, end, reason]]
        self.transitions: list[tuple[str, Any]] = []
        self.observations = 0

    def __call__(self, op: Op) -> None:
        kind, asset, args = op
        rows = self.intervals.setdefault(asset, [])
        if kind == "open":
            assert not rows or rows[-1][2] is not None, f"{asset}: open while an interval is open"
            rows.append([args[0], args[1], None, args[2]])
        elif kind == "close":
            assert rows and rows[-1][2] is None, f"{asset}: close without an open interval"
            assert args[0] >= rows[-1][1], f"{asset}: close before start"
            rows[-1][2] = args[0]
        elif kind == "relabel":
            assert rows and rows[-1][2] is None
            rows[-1][0], rows[-1][3] = args
        elif kind == "merge":
            assert rows and rows[-1][2] is None and len(rows) >= 2
            prev = rows[-2]
            assert (prev[1], prev[2]) == args
            rows.pop()
            prev[2] = None
        elif kind == "transition":
            self.transitions.append((asset, args))
        elif kind == "observation":
            self.observations += 1

    def states(self, asset: str) -> list[tuple[str, Any, Any]]:
        return [(r[0], r[1], r[2]) for r in self.intervals.get(asset, [])]


_NETNS_SEQ = itertools.count()


def _netns() -> str | None:
    if shutil.which("ip") is None:
        return None
    name = f"opsmon-test-{os.getpid()}-{next(_NETNS_SEQ)}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode != 0:
        return None
    return name


@pytest.fixture
def netns():
    name = _netns()
    if name is None:
        pytest.skip("needs iproute2 and the right to create network namespaces (root)")
    yield name
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)
