"""The packaging tests' artefacts, made once per session: the self-contained agent (dist/, reused when newer
than agent/) and, from it, the agent's .deb and .rpm; the agent's arch-independent .deb and .rpm for the host's
python3; the collector's .deb and .rpm; the offline bundle of them; the clean Debian root the .debs install into,
and the aarch64 root the agent runs in under qemu-aarch64. Each is made once per run, across pytest-xdist's workers
too."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.packaging.builds import load
from tests.peers import missing_peer


def once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], tuple[Path, ...]]) -> tuple[Path, ...]:
    """Made once for the whole run, across pytest-xdist's workers too (`make test` runs two, whole files each, so
    two packaging files may sit on two workers): the first makes it, under a lock, in the run's shared temporary
    folder; the others wait for it and take the same files. Two builds at once would also race in the build venv."""
    shared = factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else factory.getbasetemp()
    folder = shared / f"packaging-{name}"
    with open(shared / f"packaging-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = shared / f"packaging-{name}.json"
        if not record.exists():
            folder.mkdir(exist_ok=True)
            record.write_text(json.dumps([str(p) for p in make(folder)]))
        return tuple(Path(p) for p in json.loads(record.read_text()))


@pytest.fixture(scope="session")
def agent_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/opsmon-agent-<version>-linux-x86_64: `make agent-binary`'s file when it is newer than everything it
    is made from; else built here (about 25 s) with the build venv that `make agent-binary` made (.ci/run does,
    before `make test`): the venv needs the package index, which no test may use."""
    binary = load("agent_binary")

    def make(_: Path) -> tuple[Path, ...]:
        if binary.is_fresh():
            return (binary.artefact(),)
        if not binary.venv_ready():
            missing_peer(f"no build venv at {binary.VENV}: run `make agent-binary` (it needs the package index once)")
        return (binary.build(),)

    return once(tmp_path_factory, "agent-binary", make)[0]


def needs_root() -> None:
    """unshare, chroot and mount need root (tests run as root on the test machines and in CI)."""
    if os.geteuid() != 0:
        missing_peer("needs root: unshare --mount, chroot and bind mounts")
    for tool in ("unshare", "chroot", "mount"):
        if shutil.which(tool) is None:
            missing_peer(f"needs {tool} (util-linux, coreutils, mount)")


@pytest.fixture(scope="session")
def agent_packages(agent_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(.deb, .rpm) of the agent, built from the session's binary into a temporary folder (about 4 s)."""
    for tool, package in (("dpkg-deb", "dpkg"), ("rpmbuild", "rpm")):
        if shutil.which(tool) is None:
            missing_peer(f"needs {tool} (apt-get install {package})")
    deb, rpm = once(tmp_path_factory, "agent-packages",
                    lambda folder: load("agent_packages").build(agent_binary, folder))
    return deb, rpm


@pytest.fixture(scope="session")
def agent_python_packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(.deb, .rpm) of the agent on the host's python3 (all, noarch), built from the sources into a temporary
    folder (about 5 s: the agent wheel offline, then the packages) with the vendored wheels `make agent-vendor`
    keeps in build/agent-vendor (it needs the package index once)."""
    made = load("agent_packages")
    if not made.vendor_ready():
        missing_peer(f"no pinned wheels in {made.VENDOR_WHEELS}: run `make agent-vendor` (it needs the package index "
                     "once)")
    for tool, package in (("dpkg-deb", "dpkg"), ("rpmbuild", "rpm")):
        if shutil.which(tool) is None:
            missing_peer(f"needs {tool} (apt-get install {package})")
    deb, rpm = once(tmp_path_factory, "agent-python-packages", made.build_python)
    return deb, rpm


def _cached_root(arch: str | None, target: str, minutes: str) -> Path:
    """A root `make <target>` keeps under /opt/opsmon-test (never made here: debootstrap needs the package index)."""
    made = load("debian_root")
    dest = made.DEFAULT_FOREIGN[arch] if arch else made.DEFAULT
    if not made.ready(dest, arch):
        missing_peer(f"no Debian root at {dest}: run `make {target}` (debootstrap, {minutes}; .ci/run does)")
    return dest


@pytest.fixture(scope="session")
def debian_root() -> Path:
    """The clean minimal Debian root `make debian-root` keeps; tests lay an overlay over it and never change it."""
    return _cached_root(None, "debian-root", "~40 s")


@pytest.fixture(scope="session")
def debian_root_arm64() -> Path:
    """The aarch64 root of `make debian-root-arm64`: Debian's arm64 python3 and python3-psutil, unpacked, never
    configured (nothing in it can run but under qemu-aarch64); tests only read it."""
    return _cached_root("arm64", "debian-root-arm64", "50 to 95 s")


@pytest.fixture(scope="session")
def collector_packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(.deb, .rpm) of the collector, built into a temporary folder (about 15 s: the opsmon wheel, then the
    packages) from the wheelhouse `make collector-packages` keeps (it needs the package index once)."""
    made = load("collector_packages")
    if not made.wheels_ready():
        missing_peer(f"no wheelhouse at {made.WHEELS}: run `make collector-packages` (it needs the package index once)")
    for tool, package in (("dpkg-deb", "dpkg"), ("rpmbuild", "rpm")):
        if shutil.which(tool) is None:
            missing_peer(f"needs {tool} (apt-get install {package})")
    deb, rpm = once(tmp_path_factory, "collector-packages", made.build)
    return deb, rpm


@pytest.fixture(scope="session")
def offline_bundle(agent_packages: tuple[Path, Path], agent_python_packages: tuple[Path, Path],
                   collector_packages: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make offline-bundle`'s tar, made from the session's packages (the collector's folder holds the opsmon
    wheel they were built with): only the agent's wheel, the collection and the copies are new (~10 s)."""
    if shutil.which("ansible-galaxy") is None and not (Path(sys.executable).parent / "ansible-galaxy").exists():
        missing_peer("needs ansible-galaxy (ansible-core, in the test extra)")
    (own,) = collector_packages[0].parent.glob("opsmon-*.whl")
    parts = (*agent_packages, *agent_python_packages, *collector_packages, own)
    return once(tmp_path_factory, "offline-bundle",
                lambda folder: (load("offline_bundle").build(folder, made=parts),))[0]
