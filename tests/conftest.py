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

from opsmon.collector.core.messages import (
    IntervalClosed,
    IntervalOpened,
    IntervalRelabelled,
    IntervalsMerged,
    Message,
    Observation,
    Recombined,
    ResultRecorded,
    Transition,
)
from opsmon.collector.store import Store, open_store
from tests.peers import missing_peer

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.peers.collector", "tests.peers.postgres", "tests.peers.snmp", "tests.peers.receiver",
                  "tests.peers.browser", "tests.peers.topology"]
OPSMON = [sys.executable, "-m", "collector"]


# Markers (`make test-fast` runs neither): `peer`, the test starts or needs a real peer (snmpd, snmpsim, sshd,
# PostgreSQL, Prometheus, Alertmanager, promtool, Ansible over SSH, network namespaces); `slow`, it starts a
# real collector process or runs property tests (seconds each). Applied here from the fixtures and modules a
# test uses, so a new test in those gets its marker without remembering to add it.
PEER_FIXTURES = {"netns", "topology", "postgres_url", "snmpd", "sim", "device", "fresh_device", "estate", "backend",
                 "small_tmpfs", "browser"}
PEER_MODULES = {"test_rules", "test_prometheus_proof", "test_incidents_alertmanager", "test_snmp", "test_snmp_fast",
                "test_snmp_devices", "test_snmp_service", "test_snmp_traps", "test_ssh", "test_ssh_service",
                "test_ansible", "test_agent_binary", "test_agent_packages", "test_agent_aarch64",
                "test_collector_packages", "test_offline_bundle", "test_console_ldap", "test_units"}
SLOW_FIXTURES = {"collector_factory"}
SLOW_MODULES = {"test_sla_properties", "test_timeline_properties", "test_hj212_properties", "test_demo_snmp",
                "test_packaging", "test_report_delivery", "test_console_browser"}


# The files that take longest, longest first: seconds on one worker in a full `make test` at 58c2ca2 (36 min, load
# average 7-10 from other work; the Ansible file took about 340 s at a lower load). `make test` hands whole files
# to its two workers in the order collected (--dist loadfile --no-loadscope-reorder): these go first, so no long
# file starts near the end while the other worker runs dry (xdist's own order, most tests first, started the
# Ansible file halfway and left the one-test files, such as the netns cut, to the end). The rest follow by their
# number of tests, most first. A file missing here costs balance, never a result: add one that grows past a minute.
LONGEST_FIRST = (
    "tests/ansible/test_ansible.py",  # 1072 s: the site playbook over real SSH, run four times
    "tests/agent/test_old_pythons.py",  # 204 s
    "tests/agent/test_agent.py",  # 195 s
    "tests/collector/sla/test_sla_properties.py",  # 160 s
    "tests/collector/inputs/test_poller_netns.py",  # 144 s: the 120 s cut
    "tests/collector/inputs/test_agent_door.py",  # 140 s
    "tests/collector/outputs/test_api_fuzz.py",  # 135 s
    "tests/collector/outputs/test_console_browser.py",  # 129 s
    "tests/collector/outputs/test_report.py",  # 124 s
    "tests/collector/inputs/test_agent_door_faults.py",  # 107 s
    "tests/collector/incidents/test_incidents_service.py",  # 103 s
    "tests/packaging/test_collector_packages.py",  # 80 s
    "tests/agent/test_one_stream.py",  # 76 s
    "tests/agent/test_baseline.py",  # 74 s
    "tests/collector/service/test_service.py",  # 73 s
    "tests/collector/test_first_day.py",  # 59 s
    "tests/collector/service/test_maintenance_scope.py",  # 57 s
    "tests/collector/inputs/test_snmp_traps.py",  # 56 s
    "tests/collector/incidents/test_oncall_service.py",  # 54 s
    "tests/collector/inputs/test_ssh.py",  # 50 s
    "tests/test_packaging.py",  # 48 s
    "tests/packaging/test_agent_aarch64.py",  # 43 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.stem
        fixtures = set(getattr(item, "fixturenames", ()))
        if module in PEER_MODULES or fixtures & PEER_FIXTURES:
            item.add_marker(pytest.mark.peer)
        if module in SLOW_MODULES or fixtures & SLOW_FIXTURES:
            item.add_marker(pytest.mark.slow)
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker collects the same order; a plain run keeps its own
        _longest_files_first(items)


def _longest_files_first(items: list[pytest.Item]) -> None:
    """The files of LONGEST_FIRST first, in its order, then the others by their number of tests, most first; each
    file's tests keep their order (module fixtures). Stable: equal files keep the order collected."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    order = sorted(files, key=lambda path: (rank.get(path, len(rank)), -len(files[path])))
    items[:] = [item for path in order for item in files[path]]


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

    def start(routes: dict[str, tuple[int, bytes, float]], ssl_context: Any = None, host: str = "127.0.0.1") -> str:
        """host: another loopback address (a prefecture's host, bound inside its namespace: topology.py)."""
        handler = type("H", (_Handler,), {"routes": routes})
        srv = _ThreadingServer((host, 0), handler)
        scheme = "http"
        if ssl_context is not None:
            srv.socket = ssl_context.wrap_socket(srv.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"{scheme}://{host}:{srv.server_address[1]}"

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


def split_into(results: list[Any], messages: list[Any]) -> Callable[[Message], None]:
    """A `publish` for a test: check results (what the timeline hears) to one list, all else to the other."""

    def publish(msg: Message) -> None:
        (results if isinstance(msg, Observation) else messages).append(msg)

    return publish


class MemorySink:
    """Applies timeline ops to in-memory interval lists, like the store writer does to tables."""

    def __init__(self) -> None:
        self.intervals: dict[str, list[list[Any]]] = {}  # asset -> [[state, start, end, reason]]
        self.transitions: list[tuple[str, Any]] = []
        self.observations = 0

    def __call__(self, msg: Message) -> None:
        rows = self.intervals.setdefault(getattr(msg, "asset_id", ""), [])
        match msg:
            case IntervalOpened(asset, state, start, reason):
                assert not rows or rows[-1][2] is not None, f"{asset}: open while an interval is open"
                rows.append([state, start, None, reason])
            case IntervalClosed(asset, end):
                assert rows and rows[-1][2] is None, f"{asset}: close without an open interval"
                assert end >= rows[-1][1], f"{asset}: close before start"
                rows[-1][2] = end
            case IntervalRelabelled(_asset, state, reason):
                assert rows and rows[-1][2] is None
                rows[-1][0], rows[-1][3] = state, reason
            case IntervalsMerged(_asset, prev_start, prev_end):
                assert rows and rows[-1][2] is None and len(rows) >= 2
                prev = rows[-2]
                assert (prev[1], prev[2]) == (prev_start, prev_end)
                rows.pop()
                prev[2] = None
            case Recombined(_asset, start, end, state, reason):  # closed rows cut, as store/gaps.py does
                cut: list[list[Any]] = []
                for r in rows:
                    if r[2] is None or max(r[1], start) >= min(r[2], end):
                        cut.append(r)
                        continue
                    a, b = max(r[1], start), min(r[2], end)
                    cut.extend(p for p in ([r[0], r[1], a, r[3]], [state, a, b, reason], [r[0], b, r[2], r[3]])
                               if p[1] < p[2])
                rows[:] = []
                for r in cut:  # touching rows of one state and reason are one
                    if rows and r[2] is not None and rows[-1][2] == r[1] and rows[-1][0::3] == r[0::3]:
                        rows[-1][2] = r[2]
                    else:
                        rows.append(r)
            case Transition(asset, at, detected, old, new, reason):
                self.transitions.append((asset, (at, detected, old, new, reason)))
            case ResultRecorded():
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
        missing_peer("needs iproute2 and the right to create network namespaces (root)")
    yield name
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs of its own (root), for a test that fills a disk: unmounted after the test."""
    where = tmp_path / "tmpfs"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(where)],
                      capture_output=True).returncode != 0:
        missing_peer("needs the right to mount a tmpfs (root)")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)
