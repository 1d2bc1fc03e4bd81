"""Probes of files, accounts and configuration: file, content, sshd, sysctl, login_defs, pwquality,
faillock, pam, shadow, passwd, tmout, backup and history.

Each takes the Host and the rule's arguments (parameters resolved) and returns (status, evidence).
"""
from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path
from typing import Any

from opsmon.agent.baseline.host import Host
from opsmon.agent.baseline.parsers import faillock, login_defs, pam_args, pam_lines, pwquality, sshd_config
from opsmon.agent.baseline.registry import probe
from opsmon.agent.baseline.results import FAIL, NA, PASS, compare, judge, number


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
    return judge(key, value, a["op"], a["value"], source if key in conf else f"{source}, default")


@probe("sysctl")
def _sysctl(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    path = host.path("/proc/sys/" + a["key"].replace(".", "/"))
    text = host.read(path)
    if text is None:
        return NA, f"{a['key']} not present on this kernel"
    return judge(a["key"], " ".join(text.split()), a["op"], a["value"], "/proc/sys")


@probe("login_defs")
def _login_defs(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    conf = login_defs(host)
    if conf is None:
        return NA, "/etc/login.defs absent"
    key = a["key"].upper()
    value = conf.get(key, a.get("default"))
    if value is None:
        return FAIL, f"{key} not set in /etc/login.defs"
    return judge(key, value, a["op"], a["value"], "/etc/login.defs" if key in conf else "default")


@probe("pwquality")
def _pwquality(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    conf, src = pwquality(host, a.get("pam_files", []))
    key = a["key"]
    value = conf.get(key, a.get("default"))
    if value is None:
        return FAIL, f"{key} not set (pwquality.conf, pwquality.conf.d, pam_pwquality)"
    return judge(key, value, a["op"], a["value"], src.get(key, "default"))


@probe("faillock")
def _faillock(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    conf, src, _present = faillock(host, a.get("pam_files", []))
    key = a["key"]
    value = conf.get(key, a.get("default"))
    if value is None:
        return FAIL, f"{key} not set (faillock.conf, pam_faillock)"
    return judge(key, value, a["op"], a["value"], src.get(key, "default"))


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
        val = pam_args(args).get(a["arg"])
        if val is not None:
            return judge(a["arg"], val, a.get("op", "=="), a.get("value", "yes"), f"{file} {os.path.basename(module)}")
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
        uid_min = int(number(defs.get("UID_MIN", "1000")) or 1000)
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
