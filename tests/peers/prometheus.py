"""A real Prometheus (Debian's package) on a loopback port, scraping what the test says, with rules."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import free_port
from tests.peers import missing_peer


class Prometheus:
    def __init__(self, targets: list[str], rule_files: list[Path], interval: str = "1s") -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            missing_peer("prometheus is not installed (Debian package prometheus)")
        self.root = Path(tempfile.mkdtemp(prefix="opsmon-prometheus-"))
        rules = []
        for i, path in enumerate(rule_files):
            # The test cannot wait the production evaluation intervals: every group runs each `interval`.
            doc = yaml.safe_load(path.read_text())
            for group in doc["groups"]:
                group["interval"] = interval
            out = self.root / f"rules-{i}-{path.name}"
            out.write_text(yaml.safe_dump(doc, allow_unicode=True))
            rules.append(str(out))
        config = {"global": {"scrape_interval": interval, "evaluation_interval": interval},
                  "rule_files": rules,
                  "scrape_configs": [{"job_name": "opsmon", "static_configs": [{"targets": targets}]}]}
        (self.root / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # One client for every query (thread-safe, keeps its connection): httpx.get builds a client, with its TLS
        # context, per call, which cost the dashboard proof tens of ms for each of its ~170 queries.
        self.http = httpx.Client(timeout=10)
        self.log = open(self.root / "prometheus.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [binary, f"--config.file={self.root / 'prometheus.yml'}", f"--storage.tsdb.path={self.root / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(self.root / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("prometheus did not get ready within 30 s")

    def query(self, expr: str) -> dict[str, Any]:
        return self.http.get(f"{self.url}/api/v1/query", params={"query": expr}).json()

    def rules(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/api/v1/rules", timeout=10).json()["data"]["groups"]

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)
