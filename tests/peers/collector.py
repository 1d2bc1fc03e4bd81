"""A real `opsmon serve` process for tests, on a free loopback port with its own database."""
from __future__ import annotations

import signal
import ssl
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import OPSMON, ROOT, free_port, run_cli, write_config
from tests.peers import in_netns


class Collector:
    def __init__(self, tmp_path: Path, assets: str, extra: str = "", tls: tuple[Path, Path, str] | None = None,
                 database: Path | None = None, database_url: str | None = None, standby: bool = False,
                 netns: str | None = None) -> None:
        """tls: (certificate, key, CA file) to serve HTTPS and verify it. database: the SQLite file, when not
        tmp_path/opsmon.db (a fault test puts it on a small file system of its own); database_url: a
        PostgreSQL database instead; standby: wait as a standby when another collector holds the database.
        netns: run inside this network namespace of the test's (tests/peers/topology.py), listening on all its
        addresses (all 127.x there: its 127.0.0.1 and its ends of the links) so each prefecture reaches it on
        its own link; the test's requests go from inside it too."""
        self.db = database or tmp_path / "opsmon.db"
        self.database_url = database_url
        self.netns = netns
        self.port = free_port()
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.verify: Any = ssl.create_default_context(cafile=tls[2]) if tls else True
        listen_host = "0.0.0.0" if netns else "127.0.0.1"  # in a namespace of the test's, every address is 127.x
        listen_tls = f"\n  tls_cert: {tls[0]}\n  tls_key: {tls[1]}" if tls else ""
        (tmp_path / "assets.yaml").write_text(assets)
        self.config = write_config(tmp_path, textwrap.dedent(f"""
            timezone: Asia/Shanghai
            database:
              {{database}}
            listen:
              host: {listen_host}
              port: {self.port}{{listen_tls}}
            scheduler:
              default_interval: 1s
              default_timeout: 0.8s
            timeline:
              down_after: 2
              heartbeat_interval: 1s
              tick: 0.2s
            inventory:
              files: [assets.yaml]
        """).replace("{listen_tls}", listen_tls).replace(
            "{database}", (f"url: {database_url}" if database_url else f"path: {database or 'opsmon.db'}")
            + ("\n  standby: true\n  standby_poll: 0.5s" if standby else "")) + extra)
        self.proc: subprocess.Popen[str] | None = None

    def start(self, wait: bool = True) -> None:
        """wait=False: return once the process runs (a standby does not answer until it takes over)."""
        # Output goes to files, not pipes: a pipe nobody reads fills up and freezes the collector.
        self._out = open(self.config.parent / "collector.out", "w+")  # noqa: SIM115 - closed in stop()
        self._err = open(self.config.parent / "collector.err", "w+")  # noqa: SIM115
        inside = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen([*inside, *OPSMON, "--config", str(self.config), "serve"], cwd=ROOT,
                                     stdout=self._out, stderr=self._err, text=True)
        if wait:
            wait_for(lambda: self._healthy(), 30, "collector API to answer")

    def output(self) -> str:
        return (self.config.parent / "collector.out").read_text()

    def log(self) -> str:
        return (self.config.parent / "collector.err").read_text()

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"collector exited: {self.log()}")
        try:
            return in_netns(self.netns, lambda: httpx.get(self.base + "/api/v1/health", timeout=1,
                                                          verify=self.verify)).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        code = self.proc.returncode
        self.proc = None
        self._out.close()
        self._err.close()
        return code, (self.config.parent / "collector.out").read_text(), self.log()

    def crash(self) -> None:
        """kill -9: no flush, no goodbye."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self._out.close()
        self._err.close()

    def get(self, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return in_netns(self.netns, lambda: httpx.get(self.base + path, headers=headers, timeout=5,
                                                      verify=self.verify, **kw))

    def states(self) -> dict[str, dict[str, Any]]:
        return {s["asset"]: s for s in self.get("/api/v1/states", self.token).json()}

    token: str | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("--config", str(self.config), *args)


def wait_for(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def collector_factory(tmp_path: Path) -> Iterator[Callable[..., Collector]]:
    made: list[Collector] = []

    def make(assets: str, extra: str = "", tls: tuple[Path, Path, str] | None = None,
             database: Path | None = None, folder: str = "", database_url: str | None = None,
             standby: bool = False, netns: str | None = None) -> Collector:
        """folder: a subfolder of tmp_path for this collector's files (two collectors in one test)."""
        where = tmp_path / folder
        where.mkdir(exist_ok=True)
        c = Collector(where, assets, extra, tls, database, database_url, standby, netns)
        made.append(c)
        return c

    yield make
    for c in made:
        if c.proc is not None:
            c.proc.kill()
            c.proc.wait()


STREAM = "ab" * 16  # an agent spool's stream id, as the real agent makes one


def post_report(c: Collector, token: str, seq: int, stream: str = STREAM, sent_at: bool = True,
                **doc: object) -> httpx.Response:
    """POST one agent report to `c` as an agent does (X-Opsmon-Sent-At, unless `sent_at` is False: then the
    collector stores `ts` as given, which lets a test find each report again by its time)."""
    body = {"schema": 1, "stream": stream, "seq": seq, "ts": time.time(), "interval": 1, "metrics": {}, **doc}
    headers = {"Authorization": f"Bearer {token}"}
    if sent_at:
        headers["X-Opsmon-Sent-At"] = str(time.time())
    return httpx.post(c.base + "/api/v1/agent/report", json=body, timeout=30, headers=headers)


def stored_reports(c: Collector, asset: str, stream: str = STREAM) -> tuple[int, int]:
    """(agent observations stored for `asset`, the stream's stored max seq), read from the database file."""
    from sqlalchemy import func, select

    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import AgentStream, Observation

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = s.scalar(select(func.count(Observation.id)).where(Observation.asset_id == asset,
                                                                Observation.check_id == "agent")) or 0
        seq = s.scalar(select(AgentStream.max_seq).where(AgentStream.agent == asset, AgentStream.stream == stream))
    store.close()
    return rows, seq or 0
