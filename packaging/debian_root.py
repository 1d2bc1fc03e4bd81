"""`make debian-root`: a clean, minimal Debian root for the package tests, made once and kept.

debootstrap --variant=minbase of this machine's own release (its /etc/os-release), from the mirror its apt is
configured with, into /opt/opsmon-test/debian-root (OPSMON_DEBIAN_ROOT) beside the other test peers: about
40 s to 3 min, with the package index. Besides minbase it holds python3-venv (INCLUDE): what the collector's
.deb depends on, which a test could not fetch (no test reaches the index); the agent's .deb needs none of it.
The tests never change it: each lays an overlay over it in a mount namespace of its own and installs into
that, so the root stays clean for the next test and the next run.

With --arch arm64 (`make debian-root-arm64`) it makes the aarch64 root the agent's emulated run needs
(tests/packaging/test_agent_aarch64.py), without emulation: debootstrap --foreign only downloads and unpacks, and
what its first stage leaves packed (python3, python3-psutil and what they need: INCLUDE_FOREIGN) is unpacked here
with dpkg-deb -x, into /opt/opsmon-test/debian-root-arm64 (OPSMON_DEBIAN_ROOT_ARM64), 50 to 95 s. No maintainer
script ever runs there (they would need the emulator registered with binfmt_misc, which CI may not allow): the
test runs the aarch64 python3 by path under qemu-aarch64-static, which needs only the files.

Usage: python packaging/debian_root.py [--arch arm64] [DEST]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT = Path(os.environ.get("OPSMON_DEBIAN_ROOT") or "/opt/opsmon-test/debian-root")
DEFAULT_FOREIGN = {"arm64": Path(os.environ.get("OPSMON_DEBIAN_ROOT_ARM64") or "/opt/opsmon-test/debian-root-arm64")}
STAMP = ".opsmon-complete"
INCLUDE = "python3-venv"
INCLUDE_FOREIGN = "python3-psutil"  # the agent's run: python3 and the OS's psutil, as an aarch64 host has them


def _options(arch: str | None) -> list[str]:
    """debootstrap's options for this machine's own architecture (None) or a foreign one."""
    if arch is None:
        return ["--variant=minbase", f"--include={INCLUDE}"]
    return ["--foreign", f"--arch={arch}", "--variant=minbase", f"--include={INCLUDE_FOREIGN}"]


def _recipe(suite: str, arch: str | None = None) -> str:
    return f"debootstrap {' '.join(_options(arch))} {suite}\n"


def ready(dest: Path = DEFAULT, arch: str | None = None) -> bool:
    """Made, and by this recipe (a root of an older recipe is made again)."""
    stamp = dest / STAMP
    return stamp.exists() and stamp.read_text() == _recipe(release(), arch)


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


def make(dest: Path = DEFAULT, arch: str | None = None) -> Path:
    if ready(dest, arch):
        return dest
    if shutil.which("debootstrap") is None:
        raise SystemExit("debian-root: needs debootstrap (apt-get install debootstrap)")
    suite = release()
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["debootstrap", *_options(arch), suite, str(partial), mirror(suite)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"debian-root: debootstrap failed ({out.returncode}):\n"
                         f"{out.stdout[-3000:]}{out.stderr[-3000:]}")
    if arch is not None:
        _unpack_the_rest(partial)
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    (dest / STAMP).write_text(_recipe(suite, arch))
    return dest


def _unpack_the_rest(root: Path) -> None:
    """What a foreign first stage only downloaded, unpacked into `root` (the packages it did unpack again too:
    the same files), then the downloads removed (38 MB of the arm64 root's 290)."""
    archives = root / "var" / "cache" / "apt" / "archives"
    for deb in sorted(archives.glob("*.deb")):
        out = subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"debian-root: dpkg-deb -x {deb.name} failed ({out.returncode}):\n{out.stderr[-3000:]}")
        deb.unlink()


if __name__ == "__main__":
    args = sys.argv[1:]
    foreign = args[1] if args[:1] == ["--arch"] and len(args) > 1 else None
    args = args[2:] if foreign else args
    if foreign is not None and foreign not in DEFAULT_FOREIGN:
        raise SystemExit(f"debian-root: --arch {foreign}: only {', '.join(DEFAULT_FOREIGN)}")
    default = DEFAULT_FOREIGN[foreign] if foreign else DEFAULT
    print(make(Path(args[0]) if args else default, foreign))
