"""A clean Debian root under a writable layer of a test's own, and what the package tests read from it and from
an .rpm (with rpm's own tools)."""
from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import textwrap
from pathlib import Path

from tests.peers import missing_peer


class Overlay:
    """The cached Debian root under a writable layer of the test's own. Each command runs in a new mount
    namespace that mounts the overlay, binds /proc, /sys and /dev from the host and chroots into it; the
    layer (`upper`) keeps what the commands changed from one command to the next."""

    def __init__(self, lower: Path, tmp: Path) -> None:
        self.lower = lower
        self.upper, self.work, self.merged = tmp / "upper", tmp / "work", tmp / "merged"
        for d in (self.upper, self.work, self.merged):
            d.mkdir()

    def run(self, *argv: str, check: bool = True, offline: bool = False,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`argv` in the root; `offline`: in a network namespace of its own too, whose loopback is all there is
        (no route anywhere else: what runs there can only succeed without the network)."""
        m = self.merged
        script = textwrap.dedent(f"""\
            set -e
            mount -t overlay overlay -o lowerdir={self.lower},upperdir={self.upper},workdir={self.work} {m}
            for api in proc sys dev; do mount --rbind /$api {m}/$api; done
            {"ip link set lo up" if offline else ""}
            exec chroot {m} "$@"
        """)
        unshare = ["unshare", "--mount", "--propagation", "private", *(["--net"] if offline else [])]
        out = subprocess.run([*unshare, "sh", "-c", script, "sh", *argv], capture_output=True, text=True,
                             timeout=timeout)
        if check:
            assert out.returncode == 0, f"{argv}: {out.returncode}\n{out.stdout}\n{out.stderr}"
        return out

    def put(self, path: str, body: bytes) -> None:
        """A file into the root (the upper layer), as root:root 0644; its folders keep the root's modes (/tmp 1777:
        a folder made with the default 0755 would hide the sticky, world-writable one below it)."""
        target = self.upper / path.lstrip("/")
        for folder in reversed(Path(path).parents[:-1]):
            made = self.upper / str(folder).lstrip("/")
            if not made.exists():
                made.mkdir()
                shutil.copystat(self.lower / str(folder).lstrip("/"), made)
        target.write_bytes(body)


def fixed_lines(template: Path) -> list[str]:
    """A role unit's settings that no variable or condition touches (outside every {% if %})."""
    fixed, depth = [], 0
    for line in template.read_text().splitlines():
        depth += line.startswith("{% if") - line.startswith("{% endif")
        if depth == 0 and "=" in line and "{" not in line and not line.startswith("#"):
            fixed.append(line)
    return fixed


def stat(root: Overlay, *paths: str) -> dict[str, str]:
    out = root.run("stat", "-c", "%n %U:%G %a", *paths).stdout
    return {line.split()[0]: " ".join(line.split()[1:]) for line in out.splitlines()}


def rpm_query(rpm: Path, *args: str) -> str:
    """`rpm -qp ARGS` of a package file: what rpm itself reads from it."""
    out = subprocess.run(["rpm", "-qp", *args, str(rpm)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def rpm_payload(rpm: Path) -> dict[str, bytes]:
    """The files of a package file (path on the host -> content), as rpm2archive unpacks its payload."""
    if shutil.which("rpm2archive") is None:
        missing_peer("needs rpm2archive (apt-get install rpm)")
    archive = subprocess.run(["rpm2archive", "-n"], stdin=rpm.open("rb"), capture_output=True, timeout=60)
    assert archive.returncode == 0, archive.stderr
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        return {m.name.lstrip("."): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
