"""Trusted boot, measurement and encryption at rest, read from sysfs and procfs (8.1.4.6, 8.1.4.8, 8.1.4.10).

- Secure Boot: the EFI variable `SecureBoot-8be4df61-...` (4 attribute bytes, then 1 = on);
  `mokutil --sb-state` only when the variable cannot be read. Not UEFI: not applicable.
- TPM: `/sys/class/tpm/tpm0` (and its `tpm_version_major`).
- IMA: `runtime_measurements_count` (or the first lines of `ascii_runtime_measurements`) under
  `/sys/kernel/security/ima`. One entry is the boot_aggregate alone: no measurement policy loaded.
- Encrypted volumes: a mount's device, through its device-mapper stack
  (`/sys/class/block/<dev>/slaves`), reaches a device whose `dm/uuid` starts with `CRYPT-` (LUKS or
  plain dm-crypt; LVM on LUKS counts).
- Swap: every line of `/proc/swaps` is zram, or a dm-crypt device, or a file on an encrypted
  filesystem; `/etc/crypttab` swap entries are named in the evidence.

The guide lists these as "report" items: their checks carry `enforce = "${require_...}"`, so by
default they are not applicable with the evidence, and pass or fail where the centre requires them.
"""
from __future__ import annotations

import os
from typing import Any

from opsmon.agent.baseline.host import Host
from opsmon.agent.baseline.registry import probe
from opsmon.agent.baseline.results import FAIL, NA, PASS

SECURE_BOOT_VAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d0-aaf2-0e0c00000000"
IMA_DIR = "/sys/kernel/security/ima"


@probe("secure_boot")
def _secure_boot(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    if not host.path("/sys/firmware/efi").is_dir():
        return NA, "not booted through UEFI (no /sys/firmware/efi): Secure Boot does not apply"
    var = host.path(SECURE_BOOT_VAR)
    try:
        data = var.read_bytes()
    except FileNotFoundError:
        if not any(host.path("/sys/firmware/efi/efivars").glob("*")):
            return NA, "efivarfs not mounted: Secure Boot state not observable"
        return FAIL, "Secure Boot unsupported: the firmware has no SecureBoot variable"
    except PermissionError:
        out = host.run(["mokutil", "--sb-state"])
        text = out.stdout.strip().splitlines()[0] if out.stdout.strip() else out.error or f"rc {out.rc}"
        if "enabled" in text.lower():
            return PASS, f"mokutil: {text[:80]}"
        return (FAIL if "disabled" in text.lower() else NA), f"mokutil: {text[:80]}"
    if not data:
        return FAIL, "SecureBoot variable empty"
    return (PASS, "Secure Boot on (EFI variable SecureBoot = 1)") if data[-1] == 1 else \
        (FAIL, f"Secure Boot off (EFI variable SecureBoot = {data[-1]})")


@probe("tpm")
def _tpm(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    dev = host.path("/sys/class/tpm/tpm0")
    if not dev.exists():
        return FAIL, "no TPM (/sys/class/tpm/tpm0 absent)"
    major = (host.read(dev / "tpm_version_major") or "").strip()
    return PASS, f"TPM {major + '.0 ' if major else ''}present (/sys/class/tpm/tpm0)"


@probe("ima")
def _ima(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    ima = host.path(IMA_DIR)
    if not ima.is_dir():
        if not any(host.path("/sys/kernel/security").glob("*")):
            return NA, "securityfs not mounted: IMA not observable"
        return FAIL, f"IMA not active ({IMA_DIR} absent)"
    count_text = host.read(ima / "runtime_measurements_count")
    if count_text is not None and count_text.strip().isdigit():
        count, source = int(count_text.strip()), "runtime_measurements_count"
    else:
        with open(host.inside(ima / "ascii_runtime_measurements"), "rb") as fh:  # may be megabytes: 2 lines do
            count, source = fh.read(4096).count(b"\n"), "the first 4 KiB of ascii_runtime_measurements"
    if count > 1:
        return PASS, f"IMA active: {count} measurements ({source})"
    if count == 1:
        return FAIL, "IMA: only the boot_aggregate, no measurement policy loaded"
    return FAIL, f"IMA: no measurements ({source})"


# -- encryption at rest ---------------------------------------------------------------------

def _block_name(host: Host, device: str) -> str | None:
    """The sysfs block name (dm-3, sda2) of a /dev path, /dev/mapper names resolved through dm/name."""
    if not device.startswith("/dev/"):
        return None
    real = os.path.realpath(device) if host.real else device
    name = os.path.basename(real)
    if host.path(f"/sys/class/block/{name}").exists():
        return name
    if real.startswith("/dev/mapper/"):
        for dm in host.glob("/sys/class/block/dm-*/dm/name"):
            if (host.read(dm) or "").strip() == name:
                return dm.parent.parent.name
    return None


def crypt_device(host: Host, name: str, depth: int = 0) -> str | None:
    """The dm-crypt device under block device `name` (itself or below it in the dm stack), if any."""
    uuid = (host.read(f"/sys/class/block/{name}/dm/uuid") or "").strip()
    if uuid.startswith("CRYPT-"):
        return name
    if depth < 8:
        for slave in host.glob(f"/sys/class/block/{name}/slaves/*"):
            found = crypt_device(host, slave.name, depth + 1)
            if found:
                return found
    return None


def _mounts(host: Host) -> dict[str, str]:
    """mount point -> device, the last mount on a point winning (it is the visible one)."""
    out: dict[str, str] = {}
    for line in (host.read("/proc/mounts") or "").splitlines():
        parts = line.split()
        if len(parts) >= 3:
            out[parts[1].replace("\\040", " ")] = parts[0]
    return out


def _encrypted(host: Host, device: str) -> str | None:
    name = _block_name(host, device)
    return crypt_device(host, name) if name else None


@probe("encrypted_mounts")
def _encrypted_mounts(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    mounts = _mounts(host)
    wanted = list(a["mountpoints"])
    if not wanted:  # nothing required: say which block-device mounts are encrypted
        disks = {m: d for m, d in mounts.items() if d.startswith("/dev/") and _block_name(host, d)}
        crypt = {m: _encrypted(host, d) for m, d in sorted(disks.items())}
        enc = [f"{m} ({c})" for m, c in crypt.items() if c]
        plain = [m for m, c in crypt.items() if not c]
        return NA, (f"no volumes required (encrypted_mounts); encrypted: {', '.join(enc[:6]) or 'none'}; "
                    f"not encrypted: {', '.join(plain[:6]) or 'none'}")
    good, bad = [], []
    for m in wanted:
        dev = mounts.get(m)
        crypt = _encrypted(host, dev) if dev else None
        if crypt:
            good.append(f"{m} on {dev} (dm-crypt {crypt})")
        else:
            bad.append(f"{m} not mounted" if dev is None else f"{m} on {dev}")
    if bad:
        return FAIL, f"not encrypted: {'; '.join(bad)}" + (f"; encrypted: {'; '.join(good)}" if good else "")
    return PASS, f"encrypted: {'; '.join(good)}"


def _mount_of(mounts: dict[str, str], path: str) -> str | None:
    best = max((m for m in mounts if path == m or path.startswith(m.rstrip("/") + "/")), key=len, default=None)
    return mounts[best] if best else None


@probe("swap")
def _swap(host: Host, a: dict[str, Any]) -> tuple[str, str]:
    text = host.read("/proc/swaps")
    if text is None:
        return NA, "/proc/swaps absent"
    crypttab = [line.split()[0] for line in (host.read("/etc/crypttab") or "").splitlines()
                if line.strip() and not line.lstrip().startswith("#") and len(line.split()) >= 4
                and "swap" in line.split()[3].split(",")]
    tab = f"; /etc/crypttab swap: {', '.join(crypttab)}" if crypttab else ""
    rows = [line.split() for line in text.splitlines()[1:] if line.strip()]
    if not rows:
        return PASS, "no swap in use" + tab
    good, bad = [], []
    mounts = _mounts(host) if any(r[1] == "file" for r in rows if len(r) > 1) else {}
    for r in rows:
        path, kind = r[0].replace("\\040", " "), (r[1] if len(r) > 1 else "")
        if os.path.basename(path).startswith("zram"):
            good.append(f"{path} (zram, in memory)")
            continue
        device = _mount_of(mounts, path) if kind == "file" else path
        crypt = _encrypted(host, device) if device else None
        (good if crypt else bad).append(f"{path} ({kind}{', dm-crypt ' + crypt if crypt else ''})")
    if bad:
        return FAIL, f"swap not encrypted: {', '.join(bad)}" + tab
    return PASS, f"swap encrypted: {', '.join(good)}" + tab
