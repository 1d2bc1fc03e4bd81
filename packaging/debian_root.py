"""`make debian-root`: a clean, minimal Debian root for the package tests, made once and kept.

debootstrap --variant=minbase of this machine's own release (its /etc/os-release), from the mirror its apt is
configured with, into /opt/opsmon-test/debian-root (OPSMON_DEBIAN_ROOT) beside the other test peers: about
40 s to 3 min, with the package index. Besides minbase it holds python3-venv (INCLUDE): what the collector's
.deb depends on, which a test could not fetch (no test reaches the index); the agent's .deb needs none of it.
The tests never change it: each lays an overlay over it in a mount namespace of its own and installs into
that, so the root stays clean for the next test and the next run.

Usage: python packaging/debian_root.py [DEST]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT = Path(os.environ.get("OPSMON_DEBIAN_ROOT") or "/opt/opsmon-test/debian-root")
STAMP = ".opsmon-complete"
INCLUDE = "python3-venv"


def _recipe(suite: str) -> str:
    return f"debootstrap --variant=minbase --include={INCLUDE} {suite}\n"


def ready(dest: Path = DEFAULT) -> bool:
    """Made, and by this recipe (a root of an older recipe is made again)."""
    stamp = dest / STAMP
    return stamp.exists() and stamp.read_text() == _recipe(release())


def release() -> str:
    """VERSION_CODENAME of this machine (bookworm on Debian 12)."""
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("debian-root: /etc/os-release names no VERSION_CODENAME (not a Debian machine?)")


def mirror(suite: str) -> str:
    """The first URI apt is configured with for `suite` itself (deb822 .sources first, then sources.list)."""
    for sources in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in sources.read_text().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    key, value = line.split(":", 1)
                    fields[key.strip()] = value.split()
            if "deb" in fields.get("Types", []) and suite in fields.get("Suites", []) and fields.get("URIs"):
                return fields["URIs"][0]
    listing = Path("/etc/apt/sources.list")
    for line in listing.read_text().splitlines() if listing.exists() else []:
        words = [w for w in line.split() if not w.startswith("[")]
        if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
            return words[1]
    raise SystemExit(f"debian-root: apt has no source for {suite} (/etc/apt/sources.list*)")


def make(dest: Path = DEFAULT) -> Path:
    if ready(dest):
        return dest
    if shutil.which("debootstrap") is None:
        raise SystemExit("debian-root: needs debootstrap (apt-get install debootstrap)")
    suite = release()
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["debootstrap", "--variant=minbase", f"--include={INCLUDE}", suite, str(partial),
                          mirror(suite)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"debian-root: debootstrap failed ({out.returncode}):\n"
                         f"{out.stdout[-3000:]}{out.stderr[-3000:]}")
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    (dest / STAMP).write_text(_recipe(suite))
    return dest


if __name__ == "__main__":
    print(make(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
