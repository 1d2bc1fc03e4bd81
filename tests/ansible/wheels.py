"""Wheels for the Ansible test's agent host, made from local files only (no test downloads anything).

- The agent's own wheel, `opsmon_agent-*.whl`, built as `make dist-agent` and tests/agent/test_old_pythons.py
  build it (`pip wheel --no-deps agent/packaging`; its isolated build takes setuptools>=77 from pip's
  configured index or cache, as every wheel build of the suite does), from a copy of agent/ so that
  setuptools' build/ and egg-info never land in the work tree. The host installs with --no-index.
- Its dependencies (psutil, prometheus-client; tomli where installed), repacked from the distributions
  installed in the venv running the tests: a wheel is a zip of the installed files with their .dist-info,
  whose WHEEL file keeps the tag the distribution was installed from (psutil's cp36-abi3-manylinux one), and
  RECORD is written again with each file's hash. The target of the test is this machine's /usr/bin/python3,
  the Python this venv was made from, so those wheels fit it.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT

AGENT_DEPENDENCIES = ("psutil", "prometheus-client", "tomli")
SKIPPED = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}


def agent_wheel(work: Path) -> Path:
    """dist/opsmon_agent-X.Y.Z-py3-none-any.whl under `work`, built from a copy of agent/ with no index."""
    shutil.copytree(ROOT / "agent", work / "agent", symlinks=False,  # the policies and LICENSE links, resolved
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "-w", str(work / "dist"),
                           str(work / "agent" / "packaging")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (work / "dist").glob("opsmon_agent-*-py3-none-any.whl")
    return wheel


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def repack(name: str, out: Path) -> Path:
    """A wheel of the installed distribution `name` (files under site-packages only: no scripts)."""
    dist = importlib.metadata.distribution(name)
    info = next(p for p in (dist.files or []) if p.parts[0].endswith(".dist-info"))
    wheel_meta = dist.read_text("WHEEL") or ""
    tag = re.search(r"^Tag: (\S+)$", wheel_meta, re.M)
    assert tag, f"{name}: no Tag in its WHEEL file"
    project = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    path = out / f"{project}-{dist.version}-{tag.group(1)}.whl"
    record = []
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in dist.files or []:
            if rel.parts[0] == ".." or "__pycache__" in rel.parts or (
                    rel.parts[0] == info.parts[0] and rel.name in SKIPPED):
                continue
            data = Path(dist.locate_file(rel)).read_bytes()
            zf.writestr(rel.as_posix(), data)
            record.append(f"{rel.as_posix()},{_digest(data)},{len(data)}")
        record.append(f"{info.parts[0]}/RECORD,,")
        zf.writestr(f"{info.parts[0]}/RECORD", "\n".join(record) + "\n")
    return path


def agent_wheelhouse(out: Path) -> list[Path]:
    """The agent's dependencies that this venv has, repacked into `out` (tomli only below Python 3.11)."""
    made = []
    for name in AGENT_DEPENDENCIES:
        try:
            made.append(repack(name, out))
        except importlib.metadata.PackageNotFoundError:
            assert name == "tomli", f"{name} is not installed in the venv running the tests"
    return made
