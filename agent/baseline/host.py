"""What probes look at: a `Host`, and the read-only commands it may run.

Everything goes through a `Host`: files are read under `host.root` (so a fixture tree
laid out in a temp dir is checked like a real host), commands through `host.commands`
(on a real host `SystemCommands`: an allow-list of read-only commands, argv lists,
never a shell, each with a timeout; under a fixture root `StubCommands` with the
outputs a test gives, and nothing is ever run), processes and listening sockets
from psutil on a real host or as given by the test.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Read-only commands the agent may run: argv prefixes. Nothing here changes the host.
ALLOWED_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("sshd", "-T"),                       # print the effective configuration and exit
    ("systemctl", "is-active"), ("systemctl", "is-enabled"),
    ("timedatectl", "show"),
    ("chronyc", "-n", "tracking"),
    ("ntpq", "-pn"),
    ("auditctl", "-l"), ("auditctl", "-s"),
    ("getenforce",),
    ("journalctl",),                      # read the journal (authlog); no --vacuum/--rotate/--flush allowed
    # package state (packages.py). apt-get -s only simulates; dnf -C never refreshes metadata; rpm -V
    # with --noscripts runs no package's %verifyscript; needs-restarting -r only reports
    ("apt-get", "-s", "dist-upgrade"),
    ("dnf", "-C", "-q", "updateinfo", "list", "--security"),
    ("dnf", "-C", "-q", "repoquery", "--upgrades", "--security", "--qf", "%{name}-%{evr}.%{arch} %{buildtime}"),
    ("dpkg", "--verify"),
    ("rpm", "-V", "--nodeps", "--noscripts", "--noconfig"), ("rpm", "-Va", "--nodeps", "--noscripts", "--noconfig"),
    ("needs-restarting", "-r"),
    ("mokutil", "--sb-state"),            # trust.py, when the EFI variable cannot be read
)
JOURNAL_FORBIDDEN = ("--vacuum", "--rotate", "--flush", "--sync", "--relinquish", "--smart-relinquish",
                     "--setup-keys", "--update-catalog", "--new-id128")
# Commands whose options are exactly those of their allowed prefix: what follows may only be names
# (packages, files), never an option (rpm --pipe or --define, apt-get -o, dpkg --admindir...).
CLOSED_OPTIONS = frozenset({"apt-get", "dnf", "dpkg", "rpm", "needs-restarting", "mokutil"})
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def command_allowed(argv: list[str]) -> bool:
    if not argv:
        return False
    name = os.path.basename(argv[0])
    if name == "journalctl" and any(a.startswith(JOURNAL_FORBIDDEN) for a in argv[1:]):
        return False
    for p in ALLOWED_COMMANDS:
        if tuple([name, *argv[1:len(p)]]) == p:
            return name not in CLOSED_OPTIONS or not any(a.startswith("-") for a in argv[len(p):])
    return False


@dataclass(frozen=True)
class CmdResult:
    rc: int
    stdout: str
    error: str = ""  # "timeout", "not found", "not run": the probe reports it as an error or N/A


class SystemCommands:
    """Runs allow-listed read-only commands: argv list, no shell, C locale, a timeout, stdin closed."""

    def __init__(self, timeout: float = 10.0, cache: bool = True) -> None:
        self.timeout = timeout
        self.use_cache = cache  # one baseline run asks `sshd -T` once for all its checks
        self.cache: dict[tuple[str, ...], CmdResult] = {}

    def run(self, argv: list[str], timeout: float | None = None) -> CmdResult:
        if not command_allowed(argv):
            raise PermissionError(f"command not allowed: {argv[0]}")
        key = tuple(argv)
        if key in self.cache:
            return self.cache[key]
        exe = shutil.which(argv[0], path=SBIN_PATH)
        if exe is None:
            result = CmdResult(127, "", "not found")
        else:
            env = {"PATH": SBIN_PATH, "LC_ALL": "C", "LANG": "C", "SYSTEMD_PAGER": "", "PAGER": "cat"}
            try:
                proc = subprocess.run([exe, *argv[1:]], shell=False, stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=timeout or self.timeout, env=env, check=False)
                result = CmdResult(proc.returncode, proc.stdout.decode("utf-8", "replace"))
            except subprocess.TimeoutExpired:
                result = CmdResult(-1, "", "timeout")
            except OSError as exc:
                result = CmdResult(126, "", f"cannot run: {exc.strerror}")
        if self.use_cache:
            self.cache[key] = result
        return result


class StubCommands:
    """For fixture roots: the outputs a test gives by argv; anything else is 'not run'."""

    def __init__(self, outputs: dict[tuple[str, ...], str | CmdResult] | None = None) -> None:
        self.outputs = outputs or {}
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: list[str], timeout: float | None = None) -> CmdResult:
        if not command_allowed(argv):
            raise PermissionError(f"command not allowed: {argv[0]}")
        self.calls.append(tuple(argv))
        out = self.outputs.get(tuple(argv))
        if out is None:
            return CmdResult(127, "", "not run under a fixture root")
        return out if isinstance(out, CmdResult) else CmdResult(0, out)


@dataclass
class Host:
    """What probes look at. root="/" is this machine; any other root is a fixture tree."""

    root: str = "/"
    commands: Any = None
    processes: set[str] | None = None  # process names; None: psutil on a real host, unknown under a fixture
    listeners: list[tuple[str, int, str]] | None = None  # (ip, port, tcp|udp)
    now: float = field(default_factory=time.time)
    state_dir: str | None = None  # the agent's spool dir: first-seen inventories, cached weekly results
    _cache: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.real = os.path.realpath(self.root) == "/"
        if self.commands is None:
            self.commands = SystemCommands() if self.real else StubCommands()

    def path(self, p: str) -> Path:
        return Path(self.root) / p.lstrip("/")

    def glob(self, pattern: str) -> list[Path]:
        if any(c in pattern for c in "*?["):
            base = str(self.path(pattern))
            return [Path(p) for p in sorted(glob.glob(base))]
        return [self.path(pattern)]

    def rel(self, p: Path) -> str:
        """The host path of a file under root, for evidence."""
        try:
            return "/" + str(p.relative_to(self.root)).lstrip("/") if not self.real else str(p)
        except ValueError:
            return str(p)

    def inside(self, path: Path) -> Path:
        """Under a fixture root, an absolute symlink points into the fixture, not at this machine."""
        if self.real:
            return path
        for _ in range(8):
            if not path.is_symlink():
                break
            target = os.readlink(path)
            path = self.path(target) if target.startswith("/") else path.parent / target
        return path

    def read(self, p: str | Path) -> str | None:
        """A file's text; None when missing; PermissionError propagates (the probe reports an error)."""
        path = self.inside(p if isinstance(p, Path) else self.path(p))
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def run(self, argv: list[str], timeout: float | None = None) -> CmdResult:
        return self.commands.run(argv, timeout)

    def state_file(self, name: str) -> Path | None:
        """Where a stateful probe keeps what it must remember between runs; None: nowhere (each run is a first)."""
        return Path(self.state_dir) / name if self.state_dir else None

    def process_names(self) -> set[str] | None:
        if self.processes is not None:
            return self.processes
        if not self.real:
            return None
        if "procs" not in self._cache:
            import psutil

            names: set[str] = set()
            for p in psutil.process_iter(["name"]):
                if p.info.get("name"):
                    names.add(p.info["name"])
            self._cache["procs"] = names
        return self._cache["procs"]

    def listening(self) -> list[tuple[str, int, str]] | None:
        if self.listeners is not None:
            return self.listeners
        if not self.real:
            return None
        if "listen" not in self._cache:
            import socket

            import psutil

            out = set()
            for c in psutil.net_connections(kind="inet"):
                if not c.laddr:
                    continue
                if c.type == socket.SOCK_STREAM and c.status == psutil.CONN_LISTEN:
                    out.add((c.laddr.ip, c.laddr.port, "tcp"))
                elif c.type == socket.SOCK_DGRAM and not c.raddr:
                    out.add((c.laddr.ip, c.laddr.port, "udp"))
            self._cache["listen"] = sorted(out)
        return self._cache["listen"]
