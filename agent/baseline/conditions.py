"""Probes: read the effective configuration of a host, read-only, and judge one rule.

Everything goes through a `Host`: files are read under `host.root` (so a fixture tree
laid out in a temp dir is checked like a real host), commands through `host.commands`
(on a real host `SystemCommands`: an allow-list of read-only commands, argv lists,
never a shell, each with a timeout; under a fixture root `StubCommands` with the
outputs a test gives, and nothing is ever run), processes and listening sockets
from psutil on a real host or as given by the test.

A probe returns (status, evidence): status is pass, fail, not_applicable or error;
evidence is a short text for the auditor. It never holds secrets: shadow probes
name users, never hashes; `redact` content rules name the file and line number only.
"""
from __future__ import annotations

import glob
import ipaddress
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.baseline.policy import PARAM, Check, Policy, Rule

PASS, FAIL, NA, ERROR = "pass", "fail", "not_applicable", "error"
EVIDENCE_MAX = 300

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


# -- helpers ------------------------------------------------------------------------

def resolve(value: Any, params: dict[str, Any]) -> Any:
    """`${name}` alone is the parameter's value (any type); inside a string it is interpolated."""
    if isinstance(value, str):
        m = PARAM.fullmatch(value)
        if m:
            return params[m.group(1)]
        return PARAM.sub(lambda mm: str(params[mm.group(1)]), value)
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            r = resolve(v, params)
            out.extend(r) if isinstance(v, str) and PARAM.fullmatch(v) and isinstance(r, list) else out.append(r)
        return out
    return value


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return None


def compare(actual: Any, op: str, expected: Any) -> bool:
    if op in ("in", "not_in"):
        items = expected if isinstance(expected, list) else [expected]
        hit = any(str(actual).lower() == str(e).lower() for e in items)
        return hit if op == "in" else not hit
    if op in ("match", "not_match"):
        hit = re.search(str(expected), str(actual)) is not None
        return hit if op == "match" else not hit
    if op == "excludes":  # no element of a comma/space separated list matches the regex
        return not any(re.search(str(expected), e) for e in re.split(r"[,\s]+", str(actual)) if e)
    a, e = _num(actual), _num(expected)
    if a is not None and e is not None:
        return {"==": a == e, "!=": a != e, "<": a < e, "<=": a <= e, ">": a > e, ">=": a >= e}[op]
    if op in ("==", "!="):
        same = str(actual).strip().lower() == str(expected).strip().lower()
        return same if op == "==" else not same
    return False  # an ordering between non-numbers: does not hold


def _judge(name: str, actual: Any, op: str, expected: Any, source: str) -> tuple[str, str]:
    ok = compare(actual, op, expected)
    exp = ",".join(map(str, expected)) if isinstance(expected, list) else expected
    return (PASS if ok else FAIL), f"{name}={actual} ({source}); want {op} {exp}"


def _kv_lines(text: str, sep: str | None = None) -> Iterable[tuple[str, str]]:
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if sep == "=":
            if "=" not in line:
                yield line.strip(), ""  # a bare flag (even_deny_root, enforce_for_root)
                continue
            k, v = line.split("=", 1)
            yield k.strip(), v.strip().strip("\"'")
        else:
            parts = line.split(None, 1)
            yield parts[0], parts[1].strip() if len(parts) > 1 else ""


def _mode_str(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def _names(host: Host, file: str, id_field: int = 2) -> dict[int, str]:
    out: dict[int, str] = {}
    text = host.read(file) or ""
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) > id_field and parts[id_field].isdigit():
            out.setdefault(int(parts[id_field]), parts[0])
    return out


# -- effective configurations ------------------------------------------------------------

def _sshd_seconds(value: str) -> str:
    m = re.fullmatch(r"(?:(\d+)([smhdwSMHDW]?))+", value.strip())
    if not m:
        return value
    total = 0
    for n, unit in re.findall(r"(\d+)([smhdwSMHDW]?)", value):
        total += int(n) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit.lower()]
    return str(total)


SSHD_TIME_KEYS = {"logingracetime", "clientaliveinterval"}


def sshd_config(host: Host) -> tuple[dict[str, str], str] | None:
    """Effective sshd settings: `sshd -T` on a real host, else sshd_config with its Include drop-ins.

    In files the first value of a keyword wins (sshd's rule), Include is expanded in place, and
    parsing stops at the first Match block (its settings apply only to some connections).
    """
    if "sshd" in host._cache:
        return host._cache["sshd"]
    result: tuple[dict[str, str], str] | None = None
    out = host.run(["sshd", "-T"])
    if out.rc == 0 and out.stdout.strip():
        conf: dict[str, str] = {}
        for line in out.stdout.splitlines():
            k, _, v = line.strip().partition(" ")
            if k:
                conf.setdefault(k.lower(), v.strip()) if k.lower() != "listenaddress" else None
        result = (conf, "sshd -T")
    else:
        main = host.path("/etc/ssh/sshd_config")
        if main.is_file():
            conf = {}
            seen: set[str] = set()

            def parse(path: Path) -> bool:  # False: a Match block started, stop everywhere
                if str(path) in seen:
                    return True
                seen.add(str(path))
                text = host.read(path) or ""
                for k, v in _kv_lines(text):
                    k = k.lower()
                    if k == "match":
                        return False
                    if k == "include":
                        for pattern in v.split():
                            pattern = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
                            for inc in host.glob(pattern):
                                if inc.is_file() and not parse(inc):
                                    return False
                        continue
                    v = v.strip().strip('"')
                    conf.setdefault(k, _sshd_seconds(v) if k in SSHD_TIME_KEYS else v)
                return True

            parse(main)
            result = (conf, "sshd_config")
    host._cache["sshd"] = result
    return result


def login_defs(host: Host) -> dict[str, str] | None:
    text = host.read("/etc/login.defs")
    if text is None:
        return None
    return {k.upper(): v for k, v in _kv_lines(text)}


def pam_lines(host: Host, files: list[str]) -> list[tuple[str, str, str, list[str], str]]:
    """(file, type, module, args, line) of every active line of the PAM stack files, symlinks followed,
    `@include` and `include`/`substack` followed one level deep."""
    out: list[tuple[str, str, str, list[str], str]] = []
    seen: set[str] = set()

    def walk(name: str, depth: int) -> None:
        path = host.path(name if name.startswith("/") else f"/etc/pam.d/{name}")
        real = host.inside(path)  # authselect: /etc/pam.d/system-auth -> /etc/authselect/system-auth
        if str(real) in seen or depth > 3:
            return
        seen.add(str(real))
        text = host.read(real)
        if text is None:
            return
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("@include"):
                walk(line.split()[1], depth + 1)
                continue
            parts = line.split()
            kind = parts[0].lstrip("-")
            if len(parts) < 3:
                continue
            i = 2
            if parts[1].startswith("["):  # [success=1 default=ignore]
                while i < len(parts) and not parts[i - 1].endswith("]"):
                    i += 1
            if parts[1] in ("include", "substack"):
                walk(parts[2], depth + 1)
                continue
            if i >= len(parts):
                continue
            out.append((host.rel(path), kind, parts[i], parts[i + 1:], line))

    for f in files:
        walk(f, 0)
    return out


def _pam_args(args: list[str]) -> dict[str, str]:
    out = {}
    for a in args:
        k, _, v = a.partition("=")
        out[k] = v if _ else "yes"
    return out


def pwquality(host: Host, pam_files: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(settings, source of each): pwquality.conf, then pwquality.conf.d/*.conf, then pam_pwquality args."""
    conf: dict[str, str] = {}
    src: dict[str, str] = {}
    for p in [host.path("/etc/security/pwquality.conf"), *host.glob("/etc/security/pwquality.conf.d/*.conf")]:
        text = host.read(p)
        for k, v in _kv_lines(text or "", "="):
            conf[k], src[k] = v or "yes", host.rel(p)
    enabled = False
    for file, kind, module, args, _line in pam_lines(host, pam_files):
        if kind == "password" and os.path.basename(module) in ("pam_pwquality.so", "pam_cracklib.so"):
            enabled = True
            for k, v in _pam_args(args).items():
                conf[k], src[k] = v, f"{file} {module}"
    conf["enabled"], src["enabled"] = ("yes" if enabled else "no"), "PAM password stack"
    credits = [k for k in ("dcredit", "ucredit", "lcredit", "ocredit") if _num(conf.get(k, "0")) and
               (_num(conf.get(k, "0")) or 0) < 0]
    conf["minclass_effective"] = str(max(int(_num(conf.get("minclass", "0")) or 0), len(credits)))
    src["minclass_effective"] = "minclass or negative credits"
    return conf, src


def faillock(host: Host, pam_files: list[str]) -> tuple[dict[str, str], dict[str, str], bool]:
    """(settings, sources, module present): faillock.conf, then pam_faillock (or legacy pam_tally2) args."""
    conf: dict[str, str] = {}
    src: dict[str, str] = {}
    text = host.read("/etc/security/faillock.conf")
    for k, v in _kv_lines(text or "", "="):
        conf[k], src[k] = v or "yes", "/etc/security/faillock.conf"
    present = False
    for file, kind, module, args, _line in pam_lines(host, pam_files):
        base = os.path.basename(module)
        if kind == "auth" and base in ("pam_faillock.so", "pam_tally2.so", "pam_tally.so"):
            present = True
            for k, v in _pam_args(args).items():
                if k not in ("preauth", "authfail", "authsucc"):
                    conf[k], src[k] = v, f"{file} {base}"
    if conf.get("unlock_time") in ("0", "never"):  # never unlocked by time: stricter than any threshold
        conf["unlock_time"] = "inf"
    conf["enabled"], src["enabled"] = ("yes" if present else "no"), "PAM auth stack"
    return conf, src, present


# -- probes ------------------------------------------------------------------------

Probe = Callable[[Host, dict[str, Any]], tuple[str, str]]
PROBE_FUNCS: dict[str, Probe] = {}


def probe(name: str) -> Callable[[Probe], Probe]:
    def deco(fn: Probe) -> Probe:
        if name in PROBE_FUNCS:
            raise ValueError(f"probe {name!r} registered twice")
        PROBE_FUNCS[name] = fn
        return fn
    return deco


def _ids(host: Host, names: Any, file: str) -> set[int] | None:
    if names is None:
        return None
    wanted = names if isinstance(names, list) else [names]
    table = {v: k for k, v in _names(host, file).items()}
    return {table[n] for n in wanted if n in table} | {int(n) for n in wanted if str(n).isdigit()}


@probe("file")
def _file(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    paths = [p for p in host.glob(a["path"]) if os.path.lexists(p)]
    want_exists = a.get("exists", True)
    if not paths:
        if not want_exists:
            return PASS, f"{a['path']} absent"
        if set(a) - {"path", "exists", "missing"}:  # a property check on a missing file
            return {"fail": FAIL, "pass": PASS}.get(a.get("missing", "na"), NA), f"{a['path']} absent"
        return FAIL, f"{a['path']} absent"
    if not want_exists:
        return FAIL, f"{host.rel(paths[0])} present"
    owners = _ids(host, a.get("owner"), "/etc/passwd")
    groups = _ids(host, a.get("group"), "/etc/group")
    users, grps = _names(host, "/etc/passwd"), _names(host, "/etc/group")
    bad: list[str] = []
    good: list[str] = []
    for p in paths:
        st = p.lstat() if p.is_symlink() else p.stat()
        kind = a.get("type")
        who = f"{users.get(st.st_uid, st.st_uid)}:{grps.get(st.st_gid, st.st_gid)}"
        desc = f"{host.rel(p)} {_mode_str(st.st_mode)} {who}"
        problems = []
        if kind == "file" and not stat.S_ISREG(st.st_mode):
            problems.append("not a regular file")
        if kind == "dir" and not stat.S_ISDIR(st.st_mode):
            problems.append("not a directory")
        if "mode_max" in a and stat.S_IMODE(st.st_mode) & ~int(str(a["mode_max"]), 8):
            problems.append(f"mode wider than {a['mode_max']}")
        if owners is not None and st.st_uid not in owners:
            problems.append(f"owner not {a['owner']}")
        if groups is not None and st.st_gid not in groups:
            problems.append(f"group not {a['group']}")
        if "max_age_h" in a and host.now - st.st_mtime > float(a["max_age_h"]) * 3600:
            problems.append(f"older than {a['max_age_h']}h ({(host.now - st.st_mtime) / 3600:.0f}h)")
        (bad if problems else good).append(f"{desc}: {', '.join(problems)}" if problems else desc)
    if bad:
        return FAIL, "; ".join(bad[:3]) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")
    return PASS, "; ".join(good[:3]) + (f" (+{len(good) - 3} more)" if len(good) > 3 else "")


@probe("content")
def _content(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    """Lines matching `pattern` in any of `paths` (globs). With op/value the first capture group of
    the last matching line (config files: last wins) is compared; else expect present|absent."""
    rx = re.compile(a["pattern"])
    files = [p for pat in a["paths"] for p in host.glob(pat) if p.is_file()]
    if not files:
        missing = a.get("missing", "na")
        return {"fail": FAIL, "pass": PASS}.get(missing, NA), f"none of {', '.join(a['paths'])} present"
    hits: list[tuple[Path, int, str, re.Match[str]]] = []
    for f in files:
        text = host.read(f) or ""
        for n, line in enumerate(text.splitlines(), 1):
            if a.get("ignore_comments", True) and line.lstrip().startswith("#"):
                continue
            m = rx.search(line)
            if m:
                hits.append((f, n, line.strip(), m))

    def where(h: tuple[Path, int, str, re.Match[str]]) -> str:
        return f"{host.rel(h[0])}:{h[1]}" + ("" if a.get("redact") else f": {h[2][:120]}")

    if "op" in a:
        if not hits:
            return FAIL, f"{a['pattern']} not set in {', '.join(a['paths'])}"
        last = hits[-1]
        value = last[3].group(1) if last[3].groups() else last[3].group(0)
        ok = compare(value, a["op"], a["value"])
        return (PASS if ok else FAIL), f"{where(last)}; want {a['op']} {a['value']}"
    if a.get("expect", "present") == "present":
        if hits:
            return PASS, where(hits[0])
        return FAIL, f"no line matches in {', '.join(host.rel(f) for f in files[:4])}"
    return (FAIL, "; ".join(where(h) for h in hits[:3]) + (f" (+{len(hits) - 3} more)" if len(hits) > 3 else "")) \
        if hits else (PASS, f"no line matches in {len(files)} file(s)")


@probe("sshd")
def _sshd(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    got = sshd_config(host)
    if got is None:
        return NA, "sshd not installed (no sshd_config)"
    conf, source = got
    key = a["key"].lower()
    value = conf.get(key, a.get("default"))
    if value is None:
        return FAIL, f"{key} not set ({source})"
    return _judge(key, value, a["op"], a["value"], source if key in conf else f"{source}, default")


@probe("sysctl")
def _sysctl(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    path = host.path("/proc/sys/" + a["key"].replace(".", "/"))
    text = host.read(path)
    if text is None:
        return NA, f"{a['key']} not present on this kernel"
    return _judge(a["key"], " ".join(text.split()), a["op"], a["value"], "/proc/sys")


@probe("login_defs")
def _login_defs(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    conf = login_defs(host)
    if conf is None:
        return NA, "/etc/login.defs absent"
    key = a["key"].upper()
    value = conf.get(key, a.get("default"))
    if value is None:
        return FAIL, f"{key} not set in /etc/login.defs"
    return _judge(key, value, a["op"], a["value"], "/etc/login.defs" if key in conf else "default")


@probe("pwquality")
def _pwquality(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    conf, src = pwquality(host, a.get("pam_files", []))
    key = a["key"]
    value = conf.get(key, a.get("default"))
    if value is None:
        return FAIL, f"{key} not set (pwquality.conf, pwquality.conf.d, pam_pwquality)"
    return _judge(key, value, a["op"], a["value"], src.get(key, "default"))


@probe("faillock")
def _faillock(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    conf, src, _present = faillock(host, a.get("pam_files", []))
    key = a["key"]
    value = conf.get(key, a.get("default"))
    if value is None:
        return FAIL, f"{key} not set (faillock.conf, pam_faillock)"
    return _judge(key, value, a["op"], a["value"], src.get(key, "default"))


@probe("pam")
def _pam(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    rx = re.compile(a["module"])
    lines = pam_lines(host, a["files"])
    if not lines:
        return NA, f"no PAM stack among {', '.join(a['files'])}"
    hits = [ln for ln in lines if rx.search(os.path.basename(ln[2])) and ("type" not in a or ln[1] == a["type"])]
    expect = a.get("expect", "present")
    if not hits:
        return (PASS if expect == "absent" else FAIL), f"{a['module']} not in {', '.join(a['files'])}"
    if expect == "absent":
        return FAIL, f"{hits[0][0]}: {hits[0][4][:120]}"
    if "arg" not in a:
        return PASS, f"{hits[0][0]}: {hits[0][4][:120]}"
    for file, _kind, module, args, _line in hits:
        val = _pam_args(args).get(a["arg"])
        if val is not None:
            return _judge(a["arg"], val, a.get("op", "=="), a.get("value", "yes"), f"{file} {os.path.basename(module)}")
    return FAIL, f"{a['arg']} not set on {a['module']}"


def _shadow_entries(host: Host) -> list[list[str]] | None:
    text = host.read("/etc/shadow")  # PermissionError: not root; the check reports an error
    if text is None:
        return None
    return [line.split(":") for line in text.splitlines() if line.count(":") >= 8]


def _usable(pw: str) -> bool:
    return bool(pw) and not pw.startswith(("!", "*"))


@probe("shadow")
def _shadow(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    rows = _shadow_entries(host)
    if rows is None:
        return FAIL, "/etc/shadow absent"
    check, bad = a["check"], []
    for r in rows:
        user, pw = r[0], r[1]
        if check == "no_empty_password" and pw == "":
            bad.append(user)
        elif check == "max_days" and _usable(pw) and (not r[4].isdigit() or int(r[4]) > int(a["value"])):
            bad.append(f"{user}({r[4] or 'unset'})")
        elif check == "min_days" and _usable(pw) and (not r[3].isdigit() or int(r[3]) < int(a["value"])):
            bad.append(f"{user}({r[3] or 'unset'})")
        elif check == "strong_hash" and _usable(pw) and not pw.startswith(("$6$", "$y$", "$gy$", "$7$", "$2b$",
                                                                           "$2y$")):
            scheme = pw.split("$")[1] if pw.startswith("$") else "des"
            bad.append(f"{user}(${scheme}$)" if scheme != "des" else f"{user}(DES)")
    what = {"no_empty_password": "empty password", "max_days": f"password max age over {a.get('value')} days",
            "min_days": f"password min age under {a.get('value')} days", "strong_hash": "weak password hash"}[check]
    if bad:
        return FAIL, f"{what}: {', '.join(bad[:10])}" + (f" (+{len(bad) - 10} more)" if len(bad) > 10 else "")
    return PASS, f"no account with {what} ({len(rows)} accounts)"


@probe("passwd")
def _passwd(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    text = host.read("/etc/passwd")
    if text is None:
        return FAIL, "/etc/passwd absent"
    rows = [line.split(":") for line in text.splitlines() if line.count(":") >= 6 and not line.startswith("+")]
    check, bad = a["check"], []
    if check == "uid0_only_root":
        bad = [r[0] for r in rows if r[2] == "0" and r[0] != "root"]
        what = "UID 0 besides root"
    elif check == "unique_uids":
        seen: dict[str, str] = {}
        for r in rows:
            if r[2] in seen:
                bad.append(f"{r[2]}({seen[r[2]]},{r[0]})")
            seen.setdefault(r[2], r[0])
        what = "duplicate UID"
    elif check == "unique_names":
        names = [r[0] for r in rows]
        bad = sorted({n for n in names if names.count(n) > 1})
        what = "duplicate user name"
    elif check == "shadowed":
        bad = [r[0] for r in rows if r[1] != "x"]
        what = "password not in /etc/shadow"
    else:  # system_nologin
        defs = login_defs(host) or {}
        uid_min = int(_num(defs.get("UID_MIN", "1000")) or 1000)
        ok_shells = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false")
        exempt = {"root", "sync", "shutdown", "halt"}
        bad = [f"{r[0]}({r[6]})" for r in rows if r[2].isdigit() and int(r[2]) < uid_min and r[0] not in exempt
               and r[6] not in ok_shells]
        what = "system account with a login shell"
    if bad:
        return FAIL, f"{what}: {', '.join(bad[:10])}" + (f" (+{len(bad) - 10} more)" if len(bad) > 10 else "")
    return PASS, f"no {what} ({len(rows)} accounts)"


TMOUT_FILES = ["/etc/profile", "/etc/profile.d/*.sh", "/etc/bash.bashrc", "/etc/bashrc"]


@probe("tmout")
def _tmout(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    limit = float(a["value"])
    found: list[tuple[str, int, bool]] = []
    readonly = False
    for pat in a.get("paths", TMOUT_FILES):
        for f in host.glob(pat):
            text = host.read(f) if f.is_file() else None
            for line in (text or "").splitlines():
                line = line.split("#", 1)[0]
                for m in re.finditer(r"(?:^|[\s;])(?:(readonly|export|declare\s+-[rx]+)\s+)?TMOUT=(\d+)", line):
                    found.append((host.rel(f), int(m.group(2)), bool(m.group(1) and "readonly" in m.group(1))))
                if re.search(r"(?:^|[\s;])(readonly|declare\s+-r\w*)\s+TMOUT\b", line):
                    readonly = True
    if not found:
        return FAIL, "TMOUT not set in /etc/profile, /etc/profile.d, bashrc"
    src, value, _ro = found[-1]
    ok = 0 < value <= limit and (readonly or not a.get("require_readonly", False))
    return (PASS if ok else FAIL), f"TMOUT={value} ({src}){' readonly' if readonly else ''}; want 1..{limit:g}"


def _unit_enabled(host: Host, unit: str) -> str | None:
    for base in ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"):
        for wants in host.glob(f"{base}/*.wants/{unit}") + host.glob(f"{base}/*.requires/{unit}"):
            if os.path.lexists(wants):
                return host.rel(wants)
    name = unit.rsplit(".", 1)[0]
    for rc in host.glob(f"/etc/rc[2345].d/S??{name}"):
        return host.rel(rc)
    return None


def _unit_masked(host: Host, unit: str) -> bool:
    p = host.path(f"/etc/systemd/system/{unit}")
    return p.is_symlink() and os.readlink(p) == "/dev/null"


@probe("service")
def _service(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    unit, state = a["unit"], a["state"]
    if "." not in unit:
        unit += ".service"
    if state in ("enabled", "not_enabled"):
        link = None if _unit_masked(host, unit) else _unit_enabled(host, unit)
        if state == "enabled":
            return (PASS, f"{unit} enabled ({link})") if link else (FAIL, f"{unit} not enabled")
        return (FAIL, f"{unit} enabled ({link})") if link else (PASS, f"{unit} not enabled")
    names = host.process_names()
    procs = a.get("process") or unit.rsplit(".", 1)[0]
    procs = procs if isinstance(procs, list) else [procs]
    if names is None:
        return NA, "processes not observable under a fixture root"
    running = [p for p in procs if p in names]
    if state == "running":
        return (PASS, f"{running[0]} running") if running else (FAIL, f"{'/'.join(procs)} not running")
    return (FAIL, f"{running[0]} running") if running else (PASS, f"{'/'.join(procs)} not running")


@probe("process")
def _process(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    names = host.process_names()
    if names is None:
        return NA, "processes not observable under a fixture root"
    wanted = a["names"] if isinstance(a["names"], list) else [a["names"]]
    running = [n for n in wanted if n in names]
    if not wanted:
        return FAIL, "no process names configured"
    if a["expect"] == "running":
        return (PASS, f"running: {', '.join(running)}") if running else (FAIL, f"none running of {', '.join(wanted)}")
    return (FAIL, f"running: {', '.join(running)}") if running else (PASS, f"none running of {', '.join(wanted)}")


def _loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%")[0]).is_loopback
    except ValueError:
        return False


@probe("listening")
def _listening(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    socks = host.listening()
    if socks is None:
        return NA, "listening sockets not observable under a fixture root"
    ports = {int(p) for p in a["ports"]}
    exposed = sorted({(port, proto) for ip, port, proto in socks if not _loopback(ip)})
    if a["mode"] == "allow":
        bad = [f"{port}/{proto}" for port, proto in exposed if port not in ports]
        ok = f"listening beyond loopback: {', '.join(f'{p}/{t}' for p, t in exposed) or 'nothing'}"
        return (FAIL, f"not in the allow-list: {', '.join(bad[:20])}") if bad else (PASS, ok)
    bad = [f"{port}/{proto}" for port, proto in exposed if port in ports]
    return (FAIL, f"high-risk ports listening: {', '.join(bad)}") if bad else \
        (PASS, f"none of {len(ports)} high-risk ports listening beyond loopback")


@probe("command")
def _command(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    out = host.run(list(a["argv"]))
    cmd = " ".join(a["argv"])
    if out.error == "not run under a fixture root":
        return NA, f"{cmd}: {out.error}"
    if out.error == "not found":
        return {"fail": FAIL, "pass": PASS}.get(a.get("missing", "na"), NA), f"{cmd}: not installed"
    if out.error:
        return ERROR, f"{cmd}: {out.error}"
    m = re.search(a["pattern"], out.stdout, re.MULTILINE)
    present = a.get("expect", "present") == "present"
    line = m.group(0).strip()[:120] if m else ""
    if m:
        return (PASS if present else FAIL), f"{cmd}: {line}"
    return (FAIL if present else PASS), f"{cmd}: no match for {a['pattern']} (rc {out.rc})"


@probe("time_sync")
def _time_sync(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    """systemd-timesyncd's synchronized flag file, then timedatectl, then chronyc, then ntpq."""
    if host.path("/run/systemd/timesync/synchronized").exists():
        return PASS, "systemd-timesyncd synchronised (/run/systemd/timesync/synchronized)"
    errors = []
    out = host.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if out.rc == 0 and out.stdout.strip() in ("yes", "no"):
        return (PASS if out.stdout.strip() == "yes" else FAIL), f"timedatectl NTPSynchronized={out.stdout.strip()}"
    errors.append(out.error) if out.error == "timeout" else None
    out = host.run(["chronyc", "-n", "tracking"])
    if out.rc == 0 and "Leap status" in out.stdout:
        m = re.search(r"^Leap status\s*:\s*(.+)$", out.stdout, re.MULTILINE)
        status = m.group(1).strip() if m else "?"
        ref = re.search(r"^Reference ID\s*:\s*(.+)$", out.stdout, re.MULTILINE)
        ev = f"chronyc: Leap status {status}" + (f", reference {ref.group(1).strip()[:40]}" if ref else "")
        return (PASS if status == "Normal" else FAIL), ev
    errors.append(out.error) if out.error == "timeout" else None
    out = host.run(["ntpq", "-pn"])
    if out.rc == 0 and re.search(r"^\*", out.stdout, re.MULTILINE):
        return PASS, "ntpq: a peer selected (*)"
    if errors:
        return ERROR, "time sync status: command timed out"
    return FAIL, "no synchronised time service (timesyncd, chrony, ntpd)"


@probe("audit_rules")
def _audit_rules(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    """Loaded rules (`auditctl -l`, needs root) or else the rule files auditd loads at start."""
    out = host.run(["auditctl", "-l"])
    rx = re.compile(a["pattern"], re.MULTILINE)
    if out.rc == 0 and out.stdout.strip() and "No rules" not in out.stdout:
        m = rx.search(out.stdout)
        if m:
            return PASS, f"auditctl -l: {m.group(0)[:120]}"
        return FAIL, f"auditctl -l: no rule matches {a['pattern']}"
    files = host.glob("/etc/audit/rules.d/*.rules") + [host.path("/etc/audit/audit.rules")]
    files = [f for f in files if f.is_file()]
    if not files:
        return FAIL, "no audit rules (auditctl -l empty or unavailable, no /etc/audit rule files)"
    for f in files:
        text = "\n".join(ln for ln in (host.read(f) or "").splitlines() if not ln.lstrip().startswith("#"))
        m = rx.search(text)
        if m:
            return PASS, f"{host.rel(f)}: {m.group(0)[:120]}"
    return FAIL, f"no rule matches {a['pattern']} in {len(files)} rule file(s)"


@probe("backup")
def _backup(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    """The newest modification time under each configured path is within max_age_h hours."""
    paths = a["paths"] if isinstance(a["paths"], list) else [a["paths"]]
    if not paths:
        return NA, "no backup paths configured (baseline_params.backup_paths)"
    limit = float(a["max_age_h"]) * 3600
    stale, fresh = [], []
    deadline = time.monotonic() + 10
    for top in paths:
        start = host.path(top)
        if not start.exists():
            stale.append(f"{top}: absent")
            continue
        newest, n, stack = start.stat().st_mtime if start.is_file() else 0.0, 0, [str(start)] if start.is_dir() else []
        while stack and time.monotonic() < deadline and n < 200_000:
            try:
                with os.scandir(stack.pop()) as it:
                    for e in it:
                        n += 1
                        try:
                            st = e.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        elif st.st_size > 0:  # an empty file is not a backup
                            newest = max(newest, st.st_mtime)
            except OSError:
                continue
        if not newest:
            stale.append(f"{top}: no non-empty file")
            continue
        age_h = (host.now - newest) / 3600
        (stale if host.now - newest > limit else fresh).append(f"{top}: newest {age_h:.1f}h old")
    if stale:
        return FAIL, "; ".join(stale) + f"; want < {a['max_age_h']}h"
    return PASS, "; ".join(fresh)


@probe("cmdline")
def _cmdline(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    text = host.read("/proc/cmdline")
    if text is None:
        return NA, "/proc/cmdline absent"
    m = re.search(a["pattern"], text)
    if a.get("expect", "present") == "present":
        return (PASS, f"kernel cmdline has {m.group(0)}") if m else (FAIL, f"kernel cmdline lacks {a['pattern']}")
    return (FAIL, f"kernel cmdline has {m.group(0)}") if m else (PASS, f"kernel cmdline lacks {a['pattern']}")


@probe("mount")
def _mount(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    text = host.read("/proc/mounts")
    if text is None:
        return NA, "/proc/mounts absent"
    entry = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == a["mountpoint"]:
            entry = parts  # the last mount on a point is the visible one
    if entry is None:
        status = {"pass": PASS, "na": NA}.get(a.get("missing", "fail"), FAIL)
        return status, f"{a['mountpoint']} is not a separate mount"
    opts = set(entry[3].split(","))
    lacking = [o for o in a["options"] if o not in opts]
    ev = f"{a['mountpoint']} ({entry[2]}) {entry[3][:80]}"
    return (FAIL, f"{ev}; lacks {','.join(lacking)}") if lacking else (PASS, ev)


HISTORY_FILES = ["/root/.bash_history", "/home/*/.bash_history", "/root/.zsh_history", "/home/*/.zsh_history",
                 "/root/.mysql_history", "/home/*/.mysql_history"]


@probe("history")
def _history(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    """Credentials typed on command lines: counts and file names only, never the lines."""
    rx = re.compile(a["pattern"])
    hits: list[str] = []
    files = 0
    for pat in a.get("paths", HISTORY_FILES):
        for f in host.glob(pat):
            if not f.is_file():
                continue
            files += 1
            n = sum(1 for line in (host.read(f) or "").splitlines() if rx.search(line))
            if n:
                hits.append(f"{host.rel(f)}: {n} line(s)")
    if hits:
        return FAIL, "credential-like command lines: " + "; ".join(hits[:5])
    return PASS, f"no credential-like command lines in {files} history file(s)"


# -- evaluation -------------------------------------------------------------------------

def run_rule(host: Host, rule: Rule, params: dict[str, Any]) -> tuple[str, str]:
    args = {k: resolve(v, params) for k, v in rule.args.items()}
    try:
        status, evidence = PROBE_FUNCS[rule.probe](host, args)
    except PermissionError as exc:
        return ERROR, f"permission denied: {exc.filename or exc}"[:EVIDENCE_MAX]
    except (OSError, ValueError, re.error, subprocess.SubprocessError) as exc:
        return ERROR, f"{rule.probe}: {type(exc).__name__}: {exc}"[:EVIDENCE_MAX]
    if rule.negate and status in (PASS, FAIL):
        status = FAIL if status == PASS else PASS
        evidence = f"not: {evidence}"
    if status in (PASS, FAIL) and resolve(rule.enforce, params) is False:  # a "report" item: evidence only
        return NA, f"not required by the policy: {evidence}"[:EVIDENCE_MAX]
    return status, evidence


def aggregate(condition: str, statuses: list[str]) -> str:
    """Wazuh SCA's truth table, with `error` where a rule could not be judged and decided nothing."""
    has = set(statuses)
    if condition == "all":
        if FAIL in has:
            return FAIL
        return ERROR if ERROR in has else NA if NA in has else PASS
    if condition == "any":
        if PASS in has:
            return PASS
        return ERROR if ERROR in has else NA if NA in has else FAIL
    # none
    if PASS in has:
        return FAIL
    return ERROR if ERROR in has else NA if NA in has else PASS


def run_check(host: Host, check: Check, params: dict[str, Any]) -> dict[str, str]:
    results = [run_rule(host, r, params) for r in check.rules]
    status = aggregate(check.condition, [s for s, _ in results])
    # evidence: the rules that decided the outcome first
    deciding = {PASS: {PASS} if check.condition != "none" else {FAIL},
                FAIL: {FAIL} if check.condition != "none" else {PASS}}.get(status, {status})
    ordered = [e for s, e in results if s in deciding] + [e for s, e in results if s not in deciding]
    evidence = " | ".join(ordered)
    if len(evidence) > EVIDENCE_MAX:
        evidence = evidence[:EVIDENCE_MAX - 1] + "…"
    return {"id": check.id, "status": status, "evidence": evidence}


def run_policy(policy: Policy, host: Host | None = None, params: dict[str, Any] | None = None,
               only: Iterable[str] | None = None) -> list[dict[str, str]]:
    host = host or Host()
    merged = {**policy.params, **(params or {})}
    wanted = set(only) if only is not None else None
    return [run_check(host, c, merged) for c in policy.checks if wanted is None or c.id in wanted]


# Probes kept in their own modules register themselves in PROBE_FUNCS when imported; they import
# this module, so they are imported last, once everything they use exists.
from agent.baseline import filescan, packages, trust  # noqa: E402,F401
