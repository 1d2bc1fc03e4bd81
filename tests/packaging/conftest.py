"""The packaging tests' artefacts, made once per session: the self-contained agent (dist/, reused when newer
than agent/) and, from it, the agent's .deb and .rpm."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.packaging.builds import load
from tests.peers import missing_peer


@pytest.fixture(scope="session")
def agent_binary() -> Path:
    """dist/opsmon-agent-<version>-linux-x86_64: `make agent-binary`'s file when it is newer than everything it
    is made from; else built here (about 25 s) with the build venv that `make agent-binary` made (.ci/run does,
    before `make test`): the venv needs the package index, which no test may use."""
    binary = load("agent_binary")
    if binary.is_fresh():
        return binary.artefact()
    if not binary.venv_ready():
        missing_peer(f"no build venv at {binary.VENV}: run `make agent-binary` (it needs the package index once)")
    return binary.build()


def needs_root() -> None:
    """unshare, chroot and mount need root (tests run as root on the test machines and in CI)."""
    if os.geteuid() != 0:
        missing_peer("needs root: unshare --mount, chroot and bind mounts")
    for tool in ("unshare", "chroot", "mount"):
        if shutil.which(tool) is None:
            missing_peer(f"needs {tool} (util-linux, coreutils, mount)")
