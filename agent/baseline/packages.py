"""Package state: pending security updates, a reboot owed to updates, and verification of installed files.

- updates (8.1.4.4 e): Debian `apt-get -s dist-upgrade` (a simulation: apt's own candidate and
  pinning rules, and it reads the lists however they are compressed: lz4 and gzip lists cannot be
  read with the standard library alone); an upgrade counts as a security update when one of its
  origins matches `origin` (Debian-Security, noble-security...). RHEL `dnf -C -q updateinfo list
  --security` (`-C`: the metadata cache only, no download). The age of a pending update counts
  from the package's own date where the package metadata has one (issue 23: counted from the
  agent's first sight, 93 updates pending for months passed on a newly installed agent): on RPM
  systems the build time of the pending package in the repository's metadata (`dnf -C repoquery
  --upgrades --security`, `%{buildtime}`). apt's lists carry no per-package date, so on Debian the
  age still counts from the first run that saw it. Both are kept in `<spool>/updates-state.json`;
  the commands run again only when the package lists or the installed packages changed (`inputs`
  mtimes), as apt needs seconds of CPU.
- reboot (8.1.4.4 e): a flag file (`/run/reboot-required`), `needs-restarting -r`, and the
  running kernel against the newest `/boot/vmlinuz-*`.
- package_verify (8.1.4.6): `dpkg --verify` of the packages owning files in `paths` (read from
  /var/lib/dpkg/info/*.list), or `rpm -V` of `packages` (`rpm -Va` when none are named). Fails on a
  changed digest of a file that is not a config file and is in `paths` or is an ELF object.
  At most once per `interval_h`: the result is kept in `<spool>/pkgverify-state.json`.
"""
from __future__ import annotations

import calendar
import functools
import re
import time
from typing import Any

from opsmon.agent.baseline import state
from opsmon.agent.baseline.host import CmdResult, Host
from opsmon.agent.baseline.registry import probe
from opsmon.agent.baseline.results import ERROR, FAIL, NA, PASS
from opsmon.agent.compat import sha256

APT_SIMULATE = ["apt-get", "-s", "dist-upgrade"]
DNF_SECURITY = ["dnf", "-C", "-q", "updateinfo", "list", "--security"]
DNF_DATES = ["dnf", "-C", "-q", "repoquery", "--upgrades", "--security", "--qf", "%{name}-%{evr}.%{arch} %{buildtime}"]
RPM_VERIFY = ["rpm", "-V", "--nodeps", "--noscripts", "--noconfig"]
RPM_VERIFY_ALL = ["rpm", "-Va", "--nodeps", "--noscripts", "--noconfig"]
UPDATES_STATE, VERIFY_STATE = "updates-state.json", "pkgverify-state.json"
_INST = re.compile(r"^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+) (.*?) \[[^\]]*\]\)")
_ADVISORY = re.compile(r"^\S*-\d{4}[:-]\S+$")  # RHSA-2024:1234, FEDORA-2024-1a2b, openEuler-SA-2024-1234
_NEVRA = re.compile(r"-\d[^-]*-[^-]+\.\w+$")
_VERIFY = re.compile(r"^(\S+)\s+(?:([cdglr])\s+)?(/.*)$")  # dpkg --verify and rpm -V: flags [attr] path


def _order(c: str) -> int:
    return -1 if c == "~" else 0 if c.isdigit() else ord(c) if c.isalpha() else ord(c) + 256


def vercmp(a: str, b: str) -> int:
    """dpkg's version comparison (verrevcmp), for kernel releases: <0, 0, >0 as a sorts before b."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac, bc = (_order(a[i]) if i < len(a) else 0), (_order(b[j]) if j < len(b) else 0)
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first = 0
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            first = first or ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first:
            return first
    return 0


def _ran(host: Host, argv: list[str], out: CmdResult) -> tuple[str, str] | None:
    """None when the command ran and answered; else the result to give for it."""
    if out.error == "not run under a fixture root":
        return NA, f"{argv[0]}: {out.error}"
    if out.error == "not found":
        return NA, f"{argv[0]} not installed"
    if out.error:
        return ERROR, f"{' '.join(argv)}: {out.error}"
    return None


# -- pending security updates -------------------------------------------------------------

def _apt_security(text: str, origin: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        m = _INST.match(line)
        if m and re.search(origin, m.group(4)):
            # Keyed by package alone: a newer fix for the same package must not restart the age
            # of an update left pending since the first one.
            out[m.group(1)] = f"{m.group(1)} {m.group(2) or 'new'} -> {m.group(3)}"
    return out


def _dnf_security(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        t = line.split()
        if len(t) >= 3 and _ADVISORY.match(t[0]):
            pkg = next((x for x in t[1:] if _NEVRA.search(x)), t[-1])
            out[f"{t[0]} {pkg}"] = f"{pkg} ({t[0]})"
    return out


def _dnf_dates(text: str) -> dict[str, float]:
    """`NEVRA BUILDTIME` lines -> {NEVRA: Unix seconds}. dnf 4 prints the build time as `YYYY-MM-DD HH:MM` (UTC),
    dnf 5 as Unix seconds; a line without a readable time is left out (that update keeps its first-sight age)."""
    out = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) != 2:
            continue
        stamp = parts[1].strip()
        try:
            out[parts[0]] = float(stamp) if stamp.isdigit() else float(
                calendar.timegm(time.strptime(stamp[:16], "%Y-%m-%d %H:%M")))
        except ValueError:
            continue
    return out


def _released(host: Host, apt: bool, a: dict[str, Any]) -> dict[str, float]:
    """Release dates of the pending security updates by package (NEVRA) where the metadata has them."""
    if apt:
        return {}
    out = host.run(DNF_DATES, float(a.get("timeout_s", 300)))
    return _dnf_dates(out.stdout) if out.rc == 0 and not out.error else {}


@probe("updates")
def _updates(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    """Security updates pending longer than max_age_d days (age: from the package's build date where the metadata
    has it, else since the agent first saw it pending)."""
    apt = a["manager"] == "apt"
    argv = APT_SIMULATE if apt else DNF_SECURITY
    key = [[host.rel(p), p.stat().st_mtime_ns] for g in a.get("inputs", []) for p in host.glob(g) if p.exists()]
    file = host.state_file(UPDATES_STATE)
    doc = state.load(file) if file else {}
    old = doc.get("pending") if isinstance(doc.get("pending"), dict) else {}
    if key and doc.get("key") == key and doc.get("argv") == argv:
        pending, how = old, "unchanged since the last run"
    else:
        out = host.run(argv, float(a.get("timeout_s", 300)))
        verdict = _ran(host, argv, out)
        if verdict is not None:
            return verdict
        if out.rc != 0:
            return ERROR, f"{' '.join(argv)}: rc {out.rc}" + (" (no metadata cache?)" if not apt else "")
        found = _apt_security(out.stdout, a.get("origin", "(?i)security")) if apt else _dnf_security(out.stdout)
        released = _released(host, apt, a) if found else {}
        pending = {}
        for k, desc in found.items():
            date = released.get(k.split(" ", 1)[-1])
            pending[k] = [date, desc, "released"] if date is not None else [
                old[k][0] if k in old else host.now, desc, "seen"]
        how = " ".join(argv)
        if file:
            state.save(file, {"version": 1, "argv": argv, "key": key, "pending": pending})
    if not pending:
        return PASS, f"no pending security update ({how})"
    limit = float(a["max_age_d"])
    aged = sorted(((host.now - float(v[0])) / 86400, v[1]) for v in pending.values())
    dated = sum(1 for v in pending.values() if len(v) > 2 and v[2] == "released")
    overdue = [f"{desc} {age:.0f} d" for age, desc in reversed(aged) if age > limit]
    tracked = "" if file else "; ages not tracked without a state directory"
    if not apt:  # say what the ages count from (apt's lists have no date: always first sight)
        tracked += f"; {dated} of {len(pending)} aged from the package's build date, the rest since first seen"
    if overdue:
        return FAIL, f"{len(overdue)} of {len(pending)} pending security updates older than {limit:g} d: " \
                     f"{', '.join(overdue[:5])}{tracked}"
    return PASS, f"{len(pending)} pending security updates, the oldest seen {aged[-1][0]:.0f} d ago " \
                 f"(limit {limit:g} d): {', '.join(d for _, d in aged[:3])}{tracked}"


# -- reboot owed to updates ---------------------------------------------------------------

@probe("reboot")
def _reboot(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    owed: list[str] = []
    clear: list[str] = []
    for f in a.get("files", []):
        if host.path(f).exists():
            pkgs = " ".join((host.read(f + ".pkgs") or "").split()[:4])
            owed.append(f"{f} present" + (f" ({pkgs})" if pkgs else ""))
        else:
            clear.append(f"no {f}")
    if a.get("needs_restarting"):
        argv = ["needs-restarting", "-r"]
        out = host.run(argv, 60)
        if not out.error and out.rc in (0, 1):  # 1: a reboot is needed
            (owed if out.rc == 1 else clear).append(f"needs-restarting -r: rc {out.rc}")
        elif out.error == "timeout":
            return ERROR, "needs-restarting -r: timeout"
    running = (host.read("/proc/sys/kernel/osrelease") or "").strip()
    kernels = [p.name[len("vmlinuz-"):] for p in host.glob("/boot/vmlinuz-*") if "rescue" not in p.name]
    if running and kernels:
        newest = max(kernels, key=functools.cmp_to_key(vercmp))
        if vercmp(newest, running) > 0:
            owed.append(f"kernel {newest} installed, {running} running")
        else:
            clear.append(f"running kernel {running} is the newest")
    if owed:
        return FAIL, "reboot pending: " + "; ".join(owed)
    if clear:
        return PASS, "; ".join(clear)
    return NA, "no reboot signal observable (no flag file, needs-restarting or kernel image in /boot)"


# -- package verification -----------------------------------------------------------------

def _under(path: str, tops: list[str]) -> bool:
    return any(path.startswith(t.rstrip("/") + "/") for t in tops)


def dpkg_owners(host: Host, paths: list[str]) -> list[str]:
    """Packages with a file directly in one of `paths`, from dpkg's file lists (no command run)."""
    tops = {p.rstrip("/") for p in paths}
    owners = []
    for lst in host.glob("/var/lib/dpkg/info/*.list"):
        # Line by line: one list can be megabytes (google-cloud-cli's is 4 MB), and the agent's
        # resident memory is a budget (30 MB); reading it whole cost 10 MB of peak.
        try:
            with host.inside(lst).open(encoding="utf-8", errors="replace") as fh:
                if any(line.rstrip("\n").rsplit("/", 1)[0] in tops for line in fh):
                    owners.append(lst.name[:-len(".list")])
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
    return owners


def _elf(host: Host, path: str) -> bool:
    try:
        with open(host.inside(host.path(path)), "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _judge_verify(host: Host, text: str, paths: list[str], what: str) -> tuple[str, str]:
    changed, other, missing = [], 0, 0
    for line in text.splitlines():
        m = _VERIFY.match(line)
        if not m or m.group(2) == "c":  # config files are the administrator's to change
            continue
        flags, path = m.group(1), m.group(3)
        if flags == "missing":
            missing += 1
        elif len(flags) >= 3 and flags[2] == "5":
            if _under(path, paths) or _elf(host, path):
                changed.append(path)
            else:
                other += 1
    extra = (f"; {other} other files changed" if other else "") + (f"; {missing} missing" if missing else "")
    if changed:
        return FAIL, f"{len(changed)} system binaries modified (digest): {', '.join(changed[:5])}{extra}"
    return PASS, f"{what}: no system binary modified{extra}"


@probe("package_verify")
def _package_verify(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    paths, packages = list(a["paths"]), list(a.get("packages") or [])
    if a["manager"] == "dpkg":
        packages = packages or dpkg_owners(host, paths)
        if not packages:
            return NA, f"no installed package owns a file in {', '.join(paths)}"
        argv = ["dpkg", "--verify", *packages]
    else:
        argv = [*RPM_VERIFY, *packages] if packages else RPM_VERIFY_ALL
    key = sha256("\0".join(argv).encode()).hexdigest()[:16]
    file = host.state_file(VERIFY_STATE)
    doc = state.load(file) if file else {}
    interval = float(a.get("interval_h", 168))
    age_h = (host.now - float(doc.get("ran_at", 0))) / 3600
    if doc.get("key") == key and 0 <= age_h < interval and doc.get("status") in (PASS, FAIL):
        return doc["status"], f"{doc.get('evidence', '')} (verified {age_h:.0f} h ago, again after {interval:g} h)"
    out = host.run(argv, float(a.get("timeout_s", 1800)))
    verdict = _ran(host, argv, out)
    # dpkg: 1 = differences found, 2 and more = it could not verify; rpm: non-zero for either, so
    # only with nothing printed is it a failure to verify. Never "no binary modified" then.
    if verdict is None and (out.rc >= 2 if argv[0] == "dpkg" else out.rc != 0 and not out.stdout.strip()):
        verdict = ERROR, f"{argv[0]} could not verify (exit {out.rc})"
    if verdict is None:
        what = f"{argv[0]} verified {len(packages) or 'all'} packages"
        verdict = _judge_verify(host, out.stdout, paths, what)
    if file and verdict[0] in (PASS, FAIL):  # an error is tried again next run, not kept for a week
        state.save(file, {"version": 1, "key": key, "ran_at": host.now, "status": verdict[0], "evidence": verdict[1]})
    return verdict
