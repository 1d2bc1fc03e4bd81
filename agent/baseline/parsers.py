"""Effective configurations read from a host: sshd, login.defs, the PAM stacks, pwquality, faillock.

Each reader follows the program's own rules (sshd's first value wins and its Include drop-ins,
PAM's includes and substacks, pwquality.conf.d after pwquality.conf) and returns plain dicts;
the probes in probes.py judge them.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from opsmon.agent.baseline.host import Host
from opsmon.agent.baseline.results import number


def kv_lines(text: str, sep: str | None = None) -> Iterable[tuple[str, str]]:
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
                for k, v in kv_lines(text):
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
    return {k.upper(): v for k, v in kv_lines(text)}


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


def pam_args(args: list[str]) -> dict[str, str]:
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
        for k, v in kv_lines(text or "", "="):
            conf[k], src[k] = v or "yes", host.rel(p)
    enabled = False
    for file, kind, module, args, _line in pam_lines(host, pam_files):
        if kind == "password" and os.path.basename(module) in ("pam_pwquality.so", "pam_cracklib.so"):
            enabled = True
            for k, v in pam_args(args).items():
                conf[k], src[k] = v, f"{file} {module}"
    conf["enabled"], src["enabled"] = ("yes" if enabled else "no"), "PAM password stack"
    credits = [k for k in ("dcredit", "ucredit", "lcredit", "ocredit") if number(conf.get(k, "0")) and
               (number(conf.get(k, "0")) or 0) < 0]
    conf["minclass_effective"] = str(max(int(number(conf.get("minclass", "0")) or 0), len(credits)))
    src["minclass_effective"] = "minclass or negative credits"
    return conf, src


def faillock(host: Host, pam_files: list[str]) -> tuple[dict[str, str], dict[str, str], bool]:
    """(settings, sources, module present): faillock.conf, then pam_faillock (or legacy pam_tally2) args."""
    conf: dict[str, str] = {}
    src: dict[str, str] = {}
    text = host.read("/etc/security/faillock.conf")
    for k, v in kv_lines(text or "", "="):
        conf[k], src[k] = v or "yes", "/etc/security/faillock.conf"
    present = False
    for file, kind, module, args, _line in pam_lines(host, pam_files):
        base = os.path.basename(module)
        if kind == "auth" and base in ("pam_faillock.so", "pam_tally2.so", "pam_tally.so"):
            present = True
            for k, v in pam_args(args).items():
                if k not in ("preauth", "authfail", "authsucc"):
                    conf[k], src[k] = v, f"{file} {base}"
    if conf.get("unlock_time") in ("0", "never"):  # never unlocked by time: stricter than any threshold
        conf["unlock_time"] = "inf"
    conf["enabled"], src["enabled"] = ("yes" if present else "no"), "PAM auth stack"
    return conf, src, present
