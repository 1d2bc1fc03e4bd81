"""The estate's Pythons for the agent's tests: pyenv's interpreters and one venv each with the agent's
dependencies (the floors on 3.7, the newest elsewhere).

Making the venvs needs the package index (psutil 5.5.1 is built from its source), so it is a setup step,
`make old-pythons` (run by .ci/run): `python -m tests.agent.old_pythons`. The test only installs the freshly
built agent wheel into them, from the file, with no index: no test sends a packet beyond loopback.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import ROOT

PYENV = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
SUPPORTED = ["3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
PACKAGING = ROOT / "agent" / "packaging" / "pyproject.toml"
SUITE = ROOT / "tests" / "agent" / "py37" / "agent_suite.py"
# One checkout's venvs (the agent is reinstalled into them every run, so two checkouts must not share them);
# .ci/run points this at /opt/opsmon-test/old-pythons, which outlives CI's fresh clones.
CACHE = Path(os.environ.get("OPSMON_OLD_PYTHONS") or ROOT / "build" / "old-pythons")
CACHE_FORMAT = "1"  # bump to rebuild every cached venv


def interpreter(minor: str) -> Path | None:
    """The newest pyenv CPython of that minor version (3.7 -> versions/3.7.16/bin/python), or None."""
    found = [p for p in PYENV.glob(f"{minor}.*/bin/python") if re.fullmatch(rf"{re.escape(minor)}\.\d+", p.parts[-3])]
    return max(found, key=lambda p: int(p.parts[-3].rsplit(".", 1)[1]), default=None)


def declared() -> list[str]:
    return list(tomllib.loads(PACKAGING.read_text())["project"]["dependencies"])


def floors() -> list[str]:
    """The declared dependencies with their floors pinned (`psutil>=5.5.1` -> `psutil==5.5.1`), as they apply
    to that Python (a marker such as `python_version < '3.11'` is kept, so pip drops what does not apply)."""
    return [re.sub(r">=", "==", req, count=1) for req in declared()]


def requirements(minor: str) -> list[str]:
    """What the venv of `minor` holds besides the agent: the floors on the oldest Python, the newest elsewhere."""
    return floors() if minor == SUPPORTED[0] else declared()


def run(argv: list[str | Path], timeout: float = 300, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)


def venv_path(python: Path, reqs: list[str]) -> Path:
    """Where the venv of `python` with `reqs` is kept (build/old-pythons/<version>-<hash>)."""
    version = python.parts[-3]
    key = hashlib.sha256("\n".join([CACHE_FORMAT, version, *reqs]).encode()).hexdigest()[:12]
    return CACHE / f"{version}-{key}"


def prepared(python: Path, reqs: list[str]) -> Path | None:
    """The venv `prepare` made for `python` with `reqs`, or None: tests never install from the network."""
    env = venv_path(python, reqs)
    return env if (env / ".complete").exists() else None


def venv_for(python: Path, reqs: list[str]) -> Path:
    """A venv of `python` with `reqs` installed from the package index, made once and kept: a setup step
    (`make old-pythons`, which .ci/run runs), never a test's."""
    version = python.parts[-3]
    env = venv_path(python, reqs)
    if (env / ".complete").exists():
        return env
    for stale in CACHE.glob(f"{version}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    made = run([python, "-m", "venv", env])
    assert made.returncode == 0, made.stderr
    if reqs:
        # psutil 5.5.1 has no wheel: pip builds it from source with the interpreter's headers and gcc
        done = run([env / "bin" / "python", "-m", "pip", "install", "--quiet", *reqs])
        assert done.returncode == 0, done.stdout + done.stderr
    (env / ".complete").write_text("\n".join(reqs) + "\n")
    return env


def main() -> int:
    """Make every venv the tests use (3.6 gets an empty one, for pip's refusal); report what is missing."""
    missing = []
    for minor in ["3.6", *SUPPORTED]:
        python = interpreter(minor)
        if python is None:
            missing.append(minor)
            continue
        env = venv_for(python, requirements(minor) if minor != "3.6" else [])
        print(f"old-pythons: {minor}: {env}")
    if missing:
        print(f"old-pythons: no CPython {', '.join(missing)} under {PYENV}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
