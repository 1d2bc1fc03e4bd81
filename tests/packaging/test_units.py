"""The packages' systemd units as systemd itself reads them (issue 20: "a hardened systemd unit").

No systemd runs here (the tests run in a container), so the proof is systemd's own offline tools, Debian's
systemd 252: `systemd-analyze verify` loads each unit into a root of the test's own holding the system's unit
files, the unit and an executable where its ExecStart points, and must print nothing (it exits 0 even for an
unknown key, "Unknown key 'ProtectClok' ... ignoring", so its output is what is checked); `systemd-analyze
security --offline=yes` scores the unit's exposure, which must stay in systemd's "OK" band (below 4.0, lower is
tighter; the agent's unit scores 2.4 today).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.builds import load
from tests.peers import missing_peer

SYSTEM_UNITS = Path("/lib/systemd/system")


def _units() -> list[tuple[str, str]]:
    return [("opsmon-agent.service", load("agent_packages").unit()),
            ("opsmon-collector.service", load("collector_packages").unit())]


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None or not (SYSTEM_UNITS / "sysinit.target").exists():
        missing_peer("needs systemd-analyze and the system's unit files: apt-get install systemd")
    assert found is not None
    return found


def _root(tmp: Path, name: str, text: str) -> Path:
    """A root with the system's units, this unit, and an executable stub at each path it starts."""
    root = tmp / name
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    unit = root / "etc/systemd/system" / name
    unit.parent.mkdir(parents=True)
    unit.write_text(text, encoding="utf-8")
    for command in re.findall(r"^ExecStart(?:Pre|Post)?=[-+!@:]*(\S+)", text, re.M):
        stub = root / command.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    return unit


@pytest.mark.parametrize("index", [0, 1], ids=["agent", "collector"])
def test_the_unit_loads_in_systemd_without_a_warning(tmp_path: Path, index: int) -> None:
    analyze = _analyze()
    name, text = _units()[index]
    unit = _root(tmp_path, name, text)
    out = subprocess.run([analyze, "verify", f"--root={tmp_path / name}", str(unit)], capture_output=True,
                         text=True, timeout=60)
    assert (out.returncode, out.stdout + out.stderr) == (0, ""), out.stdout + out.stderr
    # The check can fail: a misspelt key is reported (systemd still exits 0).
    bad = _root(tmp_path / "bad", name, text.replace("ProtectSystem=", "ProtectSystm="))
    out = subprocess.run([analyze, "verify", f"--root={tmp_path / 'bad' / name}", str(bad)], capture_output=True,
                         text=True, timeout=60)
    assert "Unknown key 'ProtectSystm'" in out.stdout + out.stderr


@pytest.mark.parametrize("index", [0, 1], ids=["agent", "collector"])
def test_the_unit_is_hardened_by_systemds_own_measure(tmp_path: Path, index: int) -> None:
    analyze = _analyze()
    name, text = _units()[index]
    unit = tmp_path / name
    unit.write_text(text, encoding="utf-8")
    out = subprocess.run([analyze, "security", "--offline=yes", "--no-pager", str(unit)], capture_output=True,
                         text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", out.stdout + out.stderr)
    assert found, out.stdout + out.stderr
    score, band = float(found.group(1)), found.group(2)
    assert score < 4.0 and band == "OK", (score, band)
