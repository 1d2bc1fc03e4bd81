"""Agent units against real processes and a real loopback HTTP server: service presence, connection reuse."""
from __future__ import annotations

import http.server
import json
import logging
import os
import shutil
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from opsmon.agent.collectors.services import Services, procfs_usable
from opsmon.agent.config import AgentConfig
from opsmon.agent.errors import Rejected, TransportError
from opsmon.agent.runner import Agent
from opsmon.agent.transport import Transport
from tests.conftest import closed_port

LINUX = procfs_usable()
PATHS = [pytest.param(True, id="procfs", marks=pytest.mark.skipif(not LINUX, reason="Linux /proc only")),
         pytest.param(False, id="psutil")]
TOKEN = "opsmon_agent_unit-test-secret"


# -- services ---------------------------------------------------------------------

def _program(tmp_path: Path, name: str, source: str = "/bin/sleep") -> Path:
    exe = tmp_path / name
    shutil.copy(source, exe)
    return exe


def _wait(cond: Any, timeout: float = 15.0) -> None:  # a ceiling only: returns as soon as cond holds
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as fh:
        return fh.read().strip()


@pytest.mark.parametrize("procfs", PATHS)
def test_service_absent_then_started_then_stopped_is_seen_at_the_next_collection(tmp_path: Path,
                                                                                   procfs: bool) -> None:
    name = f"osu{os.getpid() % 100000}{int(procfs)}"
    exe = _program(tmp_path, name)
    svc = Services([name, "python-no-such-xyz"], use_procfs=procfs)
    assert svc.collect() == {name: False, "python-no-such-xyz": False}
    assert svc.collect() == {name: False, "python-no-such-xyz": False}  # stays absent, still looked for
    proc = subprocess.Popen([str(exe), "30"])
    try:
        _wait(lambda: psutil.Process(proc.pid).name() == name)  # exec done
        assert svc.collect() == {name: True, "python-no-such-xyz": False}
        assert svc.collect()[name] is True  # the remembered pid confirms it
    finally:
        proc.kill()
        proc.wait()
    assert svc.collect() == {name: False, "python-no-such-xyz": False}
    again = subprocess.Popen([str(exe), "30"])  # a second start, under a new pid
    try:
        _wait(lambda: psutil.Process(again.pid).name() == name)
        assert svc.collect()[name] is True
    finally:
        again.kill()
        again.wait()
    assert svc.collect()[name] is False


@pytest.mark.parametrize("procfs", PATHS)
def test_a_second_process_of_the_name_answers_when_the_remembered_one_stops(tmp_path: Path, procfs: bool) -> None:
    name = f"osd{os.getpid() % 100000}{int(procfs)}"
    exe = _program(tmp_path, name)
    first = subprocess.Popen([str(exe), "30"])
    second = subprocess.Popen([str(exe), "30"])
    try:
        _wait(lambda: all(psutil.Process(p.pid).name() == name for p in (first, second)))
        svc = Services([name], use_procfs=procfs)
        assert svc.collect() == {name: True}
        first.kill()
        first.wait()
        second_alive = svc.collect()
        second.kill()
        second.wait()
        assert second_alive == {name: True}
        assert svc.collect() == {name: False}
    finally:
        for p in (first, second):
            p.kill()
            p.wait()


@pytest.mark.skipif(not LINUX, reason="exec keeps the pid: a Linux /proc question")
def test_a_process_that_execs_into_the_service_is_seen(tmp_path: Path) -> None:
    """A wrapper that `exec`s the service keeps its pid: the name changes, the pid set need not."""
    name = f"osx{os.getpid() % 100000}"
    exe = _program(tmp_path, name)
    wrapper = _program(tmp_path, f"wrap{os.getpid() % 100000}", "/bin/sh")
    proc = subprocess.Popen([str(wrapper), "-c", f"read line; exec {exe} 30"], stdin=subprocess.PIPE)
    try:
        _wait(lambda: _comm(proc.pid) == wrapper.name)
        svc = Services([name])
        assert svc.collect() == {name: False}
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        _wait(lambda: _comm(proc.pid) == name)
        assert svc.collect() == {name: True}
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not LINUX, reason="comm truncation is Linux's")
def test_long_names_follow_psutil_past_the_15_byte_comm(tmp_path: Path) -> None:
    """psutil extends a 15-character comm to argv[0]'s base name; /proc matching must agree with it."""
    name = f"opsmon-long-service-{os.getpid() % 100000}"
    exe = _program(tmp_path, name)
    proc = subprocess.Popen([str(exe), "30"])
    try:
        _wait(lambda: _comm(proc.pid) == name[:15])
        truncated = name[:15]
        svc = Services([name, truncated])
        want = {n: any(p.info["name"] == n for p in psutil.process_iter(["name"])) for n in (name, truncated)}
        assert want == {name: True, truncated: False}  # the oracle: psutil's own names
        assert svc.collect() == want
        assert Services([name], use_procfs=False).collect() == {name: True}
    finally:
        proc.kill()
        proc.wait()
    assert svc.collect() == {name: False, truncated: False}


@pytest.mark.skipif(not LINUX, reason="Linux /proc only")
def test_procfs_names_match_psutil_for_every_process() -> None:
    """Oracle: every name psutil sees in two scans around ours is seen by the /proc path too."""
    before = {p.info["name"] for p in psutil.process_iter(["name"]) if p.info["name"]}
    ours = Services(sorted(before)).collect()
    after = {p.info["name"] for p in psutil.process_iter(["name"]) if p.info["name"]}
    steady = before & after
    assert steady and all(ours[n] for n in steady), sorted(n for n in steady if not ours[n])


def test_sensors_answer_what_psutil_finds_on_this_host() -> None:
    """The no-sensors shortcut answers exactly what psutil would, here where it applies or not.

    On this machine (a VM: no /sys/class/hwmon, no thermal zone) linux_without_sensors() is True and psutil
    finds nothing, so the collector says {"temperatures": [], "fans": []}; on a host with sensors the
    shortcut is False and the collector lists psutil's readings, one entry per reading."""
    from opsmon.agent.collectors.hardware import Sensors, linux_without_sensors

    temps, fans = psutil.sensors_temperatures(), psutil.sensors_fans()
    got = Sensors().collect()
    if linux_without_sensors():
        assert temps == {} and fans == {} and got == {"temperatures": [], "fans": []}
    else:
        assert len(got["temperatures"]) == sum(map(len, temps.values())) and \
            len(got["fans"]) == sum(map(len, fans.values()))


# -- transport --------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        srv: _Server = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.on_conn = getattr(self, "on_conn", 0) + 1
        if srv.mode == "drop_all" or (srv.mode == "drop_second" and self.on_conn == 2):
            self.close_connection = True  # read the request, then hang up without an answer
            return
        if srv.mode == "hang":
            time.sleep(3)
        with srv.lock:
            srv.requests.append((dict(self.headers), body))
            srv.paths.append(self.path)
        answer = json.dumps({"status": "accepted", "interval": 1.0}).encode()
        if srv.status != 200:
            answer = b"token refused"
        self.send_response(srv.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        if srv.mode == "close_after":
            self.close_connection = True  # an idle timeout: closed with no Connection: close header

    def log_message(self, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, ssl_context: Any = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True)
        self.lock = threading.Lock()
        self.connections = 0
        self.closed = 0  # connections this server has closed
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.paths: list[str] = []  # the request target: the whole URL when the agent goes through a proxy
        self.mode = "ok"
        self.status = 200

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) makes the answer's write fail: expected

    def get_request(self) -> Any:
        request = super().get_request()
        with self.lock:
            self.connections += 1
        return request

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self.lock:
            self.closed += 1


def _serve(ssl_context: Any = None) -> Iterator[_Server]:
    srv = _Server(ssl_context)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    yield from _serve()


def _url(srv: _Server, scheme: str = "http", host: str = "127.0.0.1") -> str:
    return f"{scheme}://{host}:{srv.server_address[1]}"


def test_reports_share_one_kept_alive_connection(server: _Server) -> None:
    t = Transport(_url(server), TOKEN, None, timeout=2)
    for i in range(5):
        assert t.send(b'{"seq":%d}' % i) == {"status": "accepted", "interval": 1.0}
    assert server.connections == 1 and t.connections == 1
    assert [body for _, body in server.requests] == [b'{"seq":%d}' % i for i in range(5)]
    headers = server.requests[0][0]
    assert headers["Authorization"] == f"Bearer {TOKEN}" and headers["Content-Type"] == "application/json"
    assert abs(float(headers["X-Opsmon-Sent-At"]) - time.time()) < 5
    assert server.requests[0][0]["Host"] == f"127.0.0.1:{server.server_address[1]}"
    t.close()


_ONCE_AND_MODULES = """
import sys
from opsmon.agent.__main__ import main
code = main(["--once", "--config", sys.argv[1]])
print(code, *[m for m in ("ssl", "_ssl", "hashlib", "_hashlib", "urllib.request") if m in sys.modules])
"""


def test_a_plain_http_agent_loads_no_openssl_and_a_proxy_still_works(server: _Server, tmp_path: Path) -> None:
    """Memory (issue 25 item 4): an agent whose collector is http:// never imports ssl, hashlib (both load
    OpenSSL, about 5 MB resident) or urllib.request (1.8 MB, only needed to read proxy settings).

    Two real agent processes (`main(["--once"])`, security work off) send one report each to the loopback
    server: the first with no *_proxy variable, so the report goes straight there, request target
    /api/v1/agent/report, and none of the five modules is loaded; the second with http_proxy set to the
    same server (it answers a proxied request as well), so the request target is the whole URL, and
    urllib.request was imported to read the proxy; 2 requests in all, both exit codes 0.
    """
    url = _url(server)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'collector_url = "{url}"\ntoken = "{TOKEN}"\nspool_dir = "{tmp_path / "spool"}"\n'
                   'baseline = false\nfim_paths = []\nauth_log = "off"\n')
    cfg.chmod(0o600)
    direct = subprocess.run([sys.executable, "-c", _ONCE_AND_MODULES, str(cfg)], env=env, capture_output=True,
                            text=True, timeout=60)
    assert direct.stdout.split() == ["0"], direct.stdout + direct.stderr
    assert server.paths == ["/api/v1/agent/report"]
    proxied = subprocess.run([sys.executable, "-c", _ONCE_AND_MODULES, str(cfg)], env={**env, "http_proxy": url},
                             capture_output=True, text=True, timeout=60)
    assert proxied.stdout.split()[0] == "0" and "urllib.request" in proxied.stdout.split(), proxied.stdout + \
        proxied.stderr
    assert server.paths == ["/api/v1/agent/report", f"{url}/api/v1/agent/report"]


def test_a_connection_the_collector_closed_is_replaced_without_a_failed_send(server: _Server) -> None:
    server.mode = "close_after"
    t = Transport(_url(server), TOKEN, None, timeout=2)
    for i in range(3):
        assert t.send(b"{}")["status"] == "accepted"
        _wait(lambda i=i: server.closed == i + 1)  # the collector has closed it: its FIN is on the way
    assert server.connections == 3 and len(server.requests) == 3


def test_a_connection_closed_while_the_request_is_on_the_way_is_retried_once(server: _Server) -> None:
    server.mode = "drop_second"  # every connection's second request is read and never answered
    t = Transport(_url(server), TOKEN, None, timeout=2)
    assert t.send(b'{"seq":1}')["status"] == "accepted"
    assert t.send(b'{"seq":2}')["status"] == "accepted"  # dropped on the old connection, sent again
    assert server.connections == 2
    assert [body for _, body in server.requests] == [b'{"seq":1}', b'{"seq":2}']
    server.mode = "drop_all"
    with pytest.raises(TransportError):  # once more, not forever
        t.send(b'{"seq":3}')
    assert server.connections == 3  # the kept-alive connection dropped it, then one retry on a fresh one
    with pytest.raises(TransportError):  # a fresh connection that fails is not retried
        t.send(b'{"seq":4}')
    assert server.connections == 4


def test_refusals_and_server_errors_keep_their_meaning(server: _Server) -> None:
    t = Transport(_url(server), TOKEN, None, timeout=2)
    server.status = 401
    with pytest.raises(Rejected, match="HTTP 401: token refused"):
        t.send(b"{}")
    server.status = 503
    with pytest.raises(TransportError, match="^HTTP 503$"):
        t.send(b"{}")
    server.status = 200
    assert t.send(b"{}")["status"] == "accepted"
    assert server.connections == 1  # answers with a body do not cost the connection


def test_unreachable_and_silent_collectors_fail_within_the_timeout(server: _Server) -> None:
    with pytest.raises(TransportError, match="refused"):
        Transport(f"http://127.0.0.1:{closed_port()}", TOKEN, None, timeout=1).send(b"{}")
    server.mode = "hang"
    t = Transport(_url(server), TOKEN, None, timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(TransportError, match="timed out"):
        t.send(b"{}")
    # One timeout, no retry after it: counted, not timed (a retry would open a second connection).
    # The wall-clock bound only says the 0.5 s timeout fired rather than the 3 s hang being waited
    # out, with room for a loaded CI box.
    assert t.connections == 1
    assert time.monotonic() - t0 < 3
    server.mode = "ok"
    assert t.send(b"{}")["status"] == "accepted"  # a new connection after the failure
    assert t.connections == 2


def test_tls_is_verified_and_the_verified_connection_is_reused(tmp_path: Path) -> None:
    from tests.collector.inputs.test_checks import _tls_files

    ca, server_ctx = _tls_files(tmp_path, days=30)
    for srv in _serve(server_ctx):
        t = Transport(_url(srv, "https"), TOKEN, ca, timeout=2)
        for _ in range(3):
            assert t.send(b"{}")["status"] == "accepted"
        assert srv.connections == 1
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            Transport(_url(srv, "https"), TOKEN, None, timeout=2).send(b"{}")  # no CA: untrusted
        with pytest.raises(TransportError, match="mismatch"):  # the certificate is for 127.0.0.1 only
            Transport(_url(srv, "https", "localhost"), TOKEN, ca, timeout=2).send(b"{}")
        assert len(srv.requests) == 3


def test_failed_sends_are_spooled_then_replayed_on_one_connection(server: _Server, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    spool = tmp_path / "spool"

    def agent(url: str) -> Agent:
        return Agent(AgentConfig(collector_url=url, token=TOKEN, interval=1.0, spool_dir=str(spool), timeout=1.0))

    caplog.set_level(logging.DEBUG)
    down = agent(f"http://127.0.0.1:{closed_port()}")
    down.cycle()
    down.cycle()
    assert len(down.spool) == 2 and down.sent == 0
    up = agent(_url(server))
    up.cycle()
    assert len(up.spool) == 0 and up.sent == 3
    seqs = [json.loads(body)["seq"] for _, body in server.requests]
    assert seqs == sorted(seqs) and len(seqs) == 3  # oldest first, then the new one
    # each replayed report says how many follow it (the rest of the spool and the live one); the live one nothing
    assert [h.get("X-Opsmon-Backlog") for h, _ in server.requests] == ["2", "1", None]
    assert server.connections == 1
    assert "collector unreachable" in caplog.text and TOKEN not in caplog.text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


def test_a_report_the_active_collector_cannot_take_goes_to_the_standby_and_stays_there(server: _Server) -> None:
    """collector_url lists an active collector and its standby: the dead first one costs one refused connection,
    the report goes to the second, and later reports go straight there; a refusal is an answer, not retried."""
    t = Transport([f"http://127.0.0.1:{closed_port()}", _url(server)], TOKEN, None, timeout=2)
    assert t.send(b"{}")["status"] == "accepted"
    assert (t.switches, t.current, server.connections) == (1, 1, 1)
    assert t.send(b"{}")["status"] == "accepted"
    assert (t.switches, server.connections) == (1, 1)  # the same kept-alive connection, no new try of the first
    server.status = 401
    with pytest.raises(Rejected):
        t.send(b"{}")
    assert (t.switches, t.current) == (1, 1)
