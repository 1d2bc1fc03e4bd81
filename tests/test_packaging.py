"""The agent installs and runs without the collector's dependencies."""
from __future__ import annotations

import ast
import subprocess
import sys
import venv
from pathlib import Path

from tests.conftest import ROOT

AGENT_ALLOWED = {"psutil", "prometheus_client", "tomli"}  # tomli: tomllib before Python 3.11
# Standard modules of other Pythons than the one running this test: CPython 3.12 renamed its built-in SHA-2
# module _sha256 to _sha2 (agent/compat.py tries both, so OpenSSL's hashlib is not loaded).
STDLIB_ELSEWHERE = {"_sha2"}


def test_agent_imports_only_stdlib_psutil_and_prometheus_client() -> None:
    for path in (ROOT / "agent").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                own = name == "opsmon.agent" or name.startswith("opsmon.agent.")
                standard = top in sys.stdlib_module_names or top in STDLIB_ELSEWHERE
                assert own or top in AGENT_ALLOWED or standard, f"{path}: imports {name}"


def test_agent_extra_installs_alone_and_runs(tmp_path: Path) -> None:
    """A real install of opsmon[agent] into an empty venv: no FastAPI, SQLAlchemy, pydantic..."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "--quiet", f"{ROOT}[agent]"], check=True, timeout=300,
                   capture_output=True)
    installed = subprocess.run([py, "-m", "pip", "list", "--format=freeze"], check=True, capture_output=True,
                               text=True).stdout.lower()
    for heavy in ("fastapi", "sqlalchemy", "pydantic", "apscheduler", "uvicorn", "alembic"):
        assert heavy not in installed, f"{heavy} came with opsmon[agent]"
    out = subprocess.run([env_dir / "bin" / "opsmon-agent", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "opsmon-agent 0.1.0"
    # the baseline policies travel with the agent (rules/baseline is linked into the package)
    probe = ("from opsmon.agent.baseline.policy import load_policies, bundled_policy_dir; "
             "p = load_policies(); print(bundled_policy_dir().name, len(p), min(len(x.checks) for x in p))")
    out = subprocess.run([py, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    where, count, checks = out.stdout.split()
    assert where == "policies" and int(count) >= 2 and int(checks) >= 40
    # one name in site-packages: opsmon (holding agent and collector), nothing generic beside it
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    ours = sorted(p.name for p in site.iterdir() if p.name in ("agent", "collector", "opsmon"))
    assert ours == ["opsmon"], ours
    assert sorted(p.name for p in (site / "opsmon").iterdir() if p.is_dir() and p.name != "__pycache__") == [
        "agent", "collector"]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    """pyproject maps the folders into the opsmon namespace by an explicit list: a new folder must join it."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    data_only = {name for name in setuptools["package-data"]
                 if not (ROOT / name.removeprefix("opsmon.").replace(".", "/") / "__init__.py").exists()}
    listed = set(setuptools["packages"]) - data_only  # folders of data, listed so setuptools does not warn
    assert data_only <= set(setuptools["packages"])
    found = {"opsmon." + ".".join(p.parent.relative_to(ROOT).parts)
             for top in ("agent", "collector") for p in (ROOT / top).rglob("__init__.py")
             if "packaging" not in p.relative_to(ROOT).parts}  # agent/packaging: the agent's own distribution
    assert listed == found
