"""A real Alertmanager (Debian's prometheus-alertmanager) on loopback, clustering off, storage in a temp dir.

It routes every alert to one webhook receiver the test runs, grouping by
incident with short waits, so an alert opsmon posts arrives within seconds.
"""
from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import httpx

from tests.conftest import free_port
from tests.peers import missing_peer
from tests.peers.collector import wait_for

BINARY = "prometheus-alertmanager"


class Alertmanager:
    def __init__(self, folder: Path, receiver_url: str, bearer_file: Path | None = None) -> None:
        """bearer_file: the receiver is called with `Authorization: Bearer <its content>` (as opsmon's
        webhook wants it), configured the way rules/alertmanager.yml does."""
        exe = shutil.which(BINARY) or shutil.which("alertmanager")
        if exe is None:
            missing_peer("needs Alertmanager: apt-get install prometheus-alertmanager")
        self.exe = exe
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (folder / "data").mkdir(parents=True, exist_ok=True)
        self.config = folder / "alertmanager.yml"
        self.config.write_text(textwrap.dedent(f"""
            route:
              receiver: test
              group_by: [incident]
              group_wait: 0s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: test
                webhook_configs:
                  - url: {receiver_url}
                    send_resolved: true
        """))
        if bearer_file is not None:
            self.config.write_text(self.config.read_text() + textwrap.indent(textwrap.dedent(f"""\
                    http_config:
                      authorization:
                        type: Bearer
                        credentials_file: {bearer_file}
            """), "        "))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Alertmanager:
        self._log = open(self.folder / "alertmanager.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [self.exe, f"--config.file={self.config}", f"--storage.path={self.folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
             "--log.level=debug"],
            stdout=self._log, stderr=subprocess.STDOUT)
        wait_for(self._ready, 30, "Alertmanager to be ready")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"alertmanager exited: {self.log()}")
        try:
            return httpx.get(self.url + "/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return (self.folder / "alertmanager.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self._log.close()
