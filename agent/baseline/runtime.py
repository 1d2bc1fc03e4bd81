"""Probes of the running system: service, process, listening, command, time_sync, audit_rules,
cmdline and mount.

Processes and sockets are not observable under a fixture root (not applicable); commands run
through the Host's allow-list.
"""
from __future__ import annotations

import ipaddress
import os
import re
from typing import Any

from opsmon.agent.baseline.host import Host
from opsmon.agent.baseline.registry import probe
from opsmon.agent.baseline.results import ERROR, FAIL, NA, PASS


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
