"""The agent on every Python of the estate: 3.7 (Kylin V10, UOS V20) to the newest, and a clear no on 3.6.

For each interpreter from 3.7 to 3.13 (pyenv's, as these machines carry them): the `opsmon-agent` wheel
(agent/packaging, built once per run) is installed into a venv of that interpreter, the agent's units run
there (tests/agent/py37/agent_suite.py: standard library only), and `python -m opsmon.agent --once` under it
collects and reports to a real collector, which must store the report with the host's facts.
The 3.7 venv gets exactly the floors agent/packaging/pyproject.toml declares (psutil 5.5.1, built from
source, as Debian 10 and UOS V20 ship it; prometheus-client 0.6; tomli 1.2): the floors are proven, not guessed.

The venvs are made beforehand by `make old-pythons` (tests/agent/old_pythons.py; it needs the package index,
which no test may use): ~2.5 min on 2 cores the first time. The test installs the fresh wheel into them from
the file and takes ~1 min. A missing interpreter or venv is skipped here and fails under CI=true.
"""
from __future__ import annotations

import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from opsmon.agent import __version__
from opsmon.collector.store import open_store
from opsmon.collector.store.models import Asset
from tests.agent.old_pythons import (
    PACKAGING,
    PYENV,
    SUITE,
    SUPPORTED,
    declared,
    interpreter,
    prepared,
    requirements,
    run,
)
from tests.agent.test_agent import agent_rows
from tests.conftest import ROOT
from tests.peers import missing_peer
from tests.peers.agent import agent_config
from tests.peers.collector import Collector

pytestmark = pytest.mark.peer  # the interpreters are peers: installed by pyenv, not by pip

@pytest.fixture(scope="module")
def agent_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The opsmon-agent wheel, built as a packager would (`pip wheel agent/packaging`) from a copy of agent/,
    so setuptools' build/ and egg-info never land in the work tree (a stale build/lib would ship old files)."""
    work = tmp_path_factory.mktemp("agent-dist")
    shutil.copytree(ROOT / "agent", work / "agent", symlinks=False,  # the policies and LICENSE links, resolved
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    out = run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
               "-w", work / "dist",
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
    env = prepared(python, requirements(minor))
    if env is None:
        missing_peer(f"no venv for CPython {minor} with the agent's dependencies: run `make old-pythons` (it needs "
                     "the package index; .ci/run does it)")
    py = env / "bin" / "python"
    put = run([py, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--force-reinstall", agent_wheel])
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
    env = prepared(python, [])
    if env is None:
        missing_peer("no venv for CPython 3.6: run `make old-pythons`")
    pip = run([env / "bin" / "python", "-m", "pip", "install", "--no-index", "--no-deps", agent_wheel])
    assert pip.returncode != 0 and "requires Python '>=3.7'" in pip.stdout + pip.stderr, pip.stdout + pip.stderr
    (tmp_path / "opsmon").mkdir()
    (tmp_path / "opsmon" / "agent").symlink_to(ROOT / "agent")
    for argv in (["-m", "opsmon.agent", "--version"], ["-c", "from opsmon.agent.__main__ import main; main()"]):
        out = run([python, *argv], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
        assert out.returncode == 1, out.stderr
        assert out.stderr == f"opsmon-agent needs Python 3.7 or later; this is {python.parts[-3]} ({python})\n"
