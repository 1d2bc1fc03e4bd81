"""`make offline-bundle`: installing from the tar with the network namespace cut off.

Everything here runs in `unshare --net`: a namespace with a loopback that is down and no other interface, so
a step that reached for an index or a mirror would fail. From the unpacked bundle: the agent's wheel and its
dependencies install into a fresh venv and run; pip resolves the whole collector (`opsmon[collector,postgres,
report]`) from the bundle's wheels to exactly the pinned versions (--dry-run: installing those same wheels for
real is what the collector's .deb test does, ~1.5 min, with the same file the bundle carries); the roles install
as the collection opsmon.estate with `ansible-galaxy collection install --offline`.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.conftest import ROOT
from tests.packaging.conftest import needs_root


def offline(*argv: str | Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["unshare", "--net", *map(str, argv)], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{argv}: {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def test_the_bundle_installs_with_the_network_cut_off(offline_bundle: Path, tmp_path: Path) -> None:
    needs_root()
    with tarfile.open(offline_bundle) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path, filter="data")
    top = tmp_path / "opsmon-offline-0.1.0"
    assert offline_bundle.name == "opsmon-offline-0.1.0.tar" and all(n.startswith(top.name) for n in names)
    readme = (top / "README.md").read_text()
    assert "离线安装包" in readme and "offline bundle" in readme  # Chinese first, with English
    shipped = sorted(p.name for p in (top / "dist").iterdir())
    assert shipped == ["opsmon-0.1.0-py3-none-any.whl", "opsmon-agent-0.1.0-1.x86_64.rpm",
                       "opsmon-agent-0.1.0-linux-x86_64", "opsmon-agent-python3-0.1.0-1.noarch.rpm",
                       "opsmon-agent-python3_0.1.0-1_all.deb", "opsmon-agent_0.1.0-1_amd64.deb",
                       "opsmon-collector-0.1.0-1.x86_64.rpm", "opsmon-collector_0.1.0-1_amd64.deb",
                       "opsmon_agent-0.1.0-py3-none-any.whl"]
    assert (top / "constraints.txt").read_text() == (ROOT / "packaging" / "constraints-collector.txt").read_text()
    for folder in ("ansible/site.yml", "ansible/roles/opsmon_agent", "rules/prometheus/alerts.yml",
                   "grafana/dashboards/overview.json"):
        assert (top / folder).exists(), folder

    # The agent from its wheel and the bundle's wheels of its dependencies, into a fresh venv of this machine's
    # python3, and run.
    venv = tmp_path / "agent-venv"
    offline("/usr/bin/python3", "-m", "venv", venv)
    offline(venv / "bin/pip", "install", "--quiet", "--no-index", "--find-links", top / "wheels",
            "-c", top / "constraints.txt", top / "dist/opsmon_agent-0.1.0-py3-none-any.whl")
    assert offline(venv / "bin/opsmon-agent", "--version").stdout.strip() == "opsmon-agent 0.1.0"

    # The collector: every requirement met from the bundle, at the pinned version (pip's JSON report).
    report = tmp_path / "collector.json"
    offline(venv / "bin/pip", "install", "--quiet", "--dry-run", "--ignore-installed", "--no-index",
            "--find-links", top / "wheels", "--find-links", top / "dist", "-c", top / "constraints.txt",
            "--report", report, "opsmon[collector,postgres,report]")
    resolved = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"]
                for i in json.loads(report.read_text())["install"]}
    lines = (top / "constraints.txt").read_text().splitlines()
    pins = dict(line.lower().replace("_", "-").split("==") for line in lines if line and not line.startswith("#"))
    assert resolved.pop("opsmon") == "0.1.0"
    assert resolved == pins  # 65 pins, each at its version, nothing else

    # The roles as a collection, from the file.
    collections = tmp_path / "collections"
    galaxy = Path(sys.executable).with_name("ansible-galaxy")
    offline(galaxy, "collection", "install", "--offline", "-p", collections,
            top / "ansible/collections/opsmon-estate-0.1.0.tar.gz")
    roles = sorted(p.name for p in (collections / "ansible_collections/opsmon/estate/roles").iterdir())
    assert roles == sorted(p.name for p in (ROOT / "ansible/roles").iterdir())
