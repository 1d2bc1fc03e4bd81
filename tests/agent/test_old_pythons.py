"""The agent on every Python of the estate: 3.7 (Kylin V10, UOS V20) to the newest, and a clear no on 3.6.

For each interpreter from 3.7 to 3.13 (pyenv's, as these machines carry them): the `opsmon-agent` wheel
(agent/packaging, built once per run) is installed into a venv of that interpreter, the agent's units run
there (tests/agent/py37/agent_suite.py: standard library only), and `python -m opsmon.agent --once` under it
collects and reports to a real collector, which must store the report with the host's facts.
The 3.7 venv gets exactly the floors agent/packaging/pyproject.toml declares (psutil 5.5.1, built from
source, as Debian 10 and UOS V20 ship it; prometheus-client 0.6; tomli 1.2): the floors are proven, not guessed.

Venvs are kept under build/old-pythons/ (or $OPSMON_OLD_PYTHONS), keyed by the interpreter's version and a
hash of what is installed into them besides the agent, which is reinstalled from the fresh wheel every run.
Making them all takes ~2.5 min on 2 cores; the test then takes ~1 min. A missing interpreter is skipped here
and fails under CI=true.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from opsmon.agent import __version__
from opsmon.collector.store import open_store
from opsmon.collector.store.models import Asset
from tests.agent.test_agent import agent_rows
from tests.conftest import ROOT
from tests.peers import missing_peer
from tests.peers.agent import agent_config
from tests.peers.collector import Collector

pytestmark = pytest.mark.peer  # the interpreters are peers: installed by pyenv, not by pip

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


def venv_for(python: Path, reqs: list[str]) -> Path:
    """A venv of `python` with `reqs` installed, made once and kept (build/old-pythons/<version>-<hash>)."""
    version = python.parts[-3]
    key = hashlib.sha256("\n".join([CACHE_FORMAT, version, *reqs]).encode()).hexdigest()[:12]
    env = CACHE / f"{version}-{key}"
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


@pytest.fixture(scope="module")
def agent_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The opsmon-agent wheel, built as a packager would (`pip wheel agent/packaging`) from a copy of agent/,
    so setuptools' build/ and egg-info never land in the work tree (a stale build/lib would ship old files)."""
    work = tmp_path_factory.mktemp("agent-dist")
    shutil.copytree(ROOT / "agent", work / "agent", symlinks=False,  # the policies and LICENSE links, resolved
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    out = run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work / "dist",
               work / "agent" / "packaging"])
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = (work / "dist").glob("opsmon_agent-*-py3-none-any.whl")
    return wheel


@pytest.fixture
def collector(collector_factory) -> Iterator[Collector]:
    c = collector_factory("assets: []\n", extra="api:\n  public_read: true\nagents:\n  interval: 1s\n")
    c.start()
    yield c


def test_the_agent_distribution_matches_the_agent() -> None:
    """agent/packaging packages exactly the agent's folders, at the agent's version, and the agent extra of
    the top-level distribution asks for the same floors (one agent, two ways to install it)."""
    agent = tomllib.loads(PACKAGING.read_text())
    top = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert agent["project"]["version"] == __version__ == top["project"]["version"]
    assert agent["project"]["requires-python"] == ">=3.7"
    assert agent["tool"]["setuptools"]["packages"] == [
        p for p in top["tool"]["setuptools"]["packages"] if p.startswith("opsmon.agent")]
    assert [r for r in declared() if "python_version" not in r] == top["project"]["optional-dependencies"]["agent"]
    assert agent["project"]["scripts"]["opsmon-agent"] == top["project"]["scripts"]["opsmon-agent"]


@pytest.mark.parametrize("minor", SUPPORTED)
def test_the_agent_runs_and_reports_under(minor: str, agent_wheel: Path, collector: Collector,
                                          tmp_path: Path) -> None:
    python = interpreter(minor)
    if python is None:
        missing_peer(f"needs CPython {minor} under {PYENV} (pyenv install {minor})")
    env = venv_for(python, requirements(minor))
    py = env / "bin" / "python"
    put = run([py, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", agent_wheel])
    assert put.returncode == 0, put.stdout + put.stderr
    versions = run([py, "-c", "import sys, psutil; print(sys.version.split()[0], psutil.__version__)"])
    assert versions.stdout.startswith(python.parts[-3]), versions.stderr
    if minor == SUPPORTED[0]:  # the floors themselves
        assert versions.stdout.split()[1] == "5.5.1", versions.stdout

    # the units, under this interpreter, where only the installed wheel is importable (not the work tree)
    units = run([py, SUITE, "-v"], timeout=120, cwd=tmp_path)
    assert units.returncode == 0 and "\nOK" in units.stderr, units.stderr[-3000:]

    # a real collection-and-report: enrolled with the collector's CLI, one report with --once
    asset = "py" + minor.replace(".", "")
    enrolled = collector.cli("agents", "enroll", asset, "--category", "server")
    assert enrolled.returncode == 0, enrolled.stderr
    config = agent_config(tmp_path, collector.base, enrolled.stdout.strip())
    once = run([env / "bin" / "opsmon-agent", "--config", config, "--once"], timeout=60, cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    assert agent_rows(collector, asset) == 1, once.stderr + collector.log()[-2000:]
    store = open_store(f"sqlite:///{collector.db}", migrate=False)
    with store.session() as s:
        facts = s.scalar(select(Asset.facts).where(Asset.id == asset))
    store.close()
    assert facts["hostname"] and facts["os_release"] and facts["memory_bytes"] > 0
    assert not list((tmp_path / "spool").glob("*.report"))  # accepted, so nothing was kept to resend


def test_python_36_is_refused_with_one_clear_line(agent_wheel: Path, tmp_path: Path) -> None:
    """RHEL 8's platform Python is 3.6: pip refuses the wheel by its Requires-Python, and the agent's code run
    from a copy (a hand-made install, an OS package) exits 1 with one line, not a SyntaxError traceback."""
    python = interpreter("3.6")
    if python is None:
        missing_peer(f"needs CPython 3.6 under {PYENV} (pyenv install 3.6)")
    env = venv_for(python, [])
    pip = run([env / "bin" / "python", "-m", "pip", "install", "--no-deps", agent_wheel])
    assert pip.returncode != 0 and "requires Python '>=3.7'" in pip.stdout + pip.stderr, pip.stdout + pip.stderr
    (tmp_path / "opsmon").mkdir()
    (tmp_path / "opsmon" / "agent").symlink_to(ROOT / "agent")
    for argv in (["-m", "opsmon.agent", "--version"], ["-c", "from opsmon.agent.__main__ import main; main()"]):
        out = run([python, *argv], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert out.returncode == 1, out.stderr
        assert out.stderr == f"opsmon-agent needs Python 3.7 or later; this is {python.parts[-3]} ({python})\n"
