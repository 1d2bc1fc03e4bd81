"""What differs between the Pythons the agent runs on: 3.7 (Kylin V10, UOS V20) to the newest.

The agent's code is written for Python 3.7 (issue 20): `make lint` checks agent/ with ruff at
target py37 and with vermin, and tests/agent/test_old_pythons.py runs the agent under every
interpreter from 3.7 on. The few standard-library pieces that came later are reached through here,
so each difference is written once and the rest of the agent reads as plain Python:

- `tomllib` (3.11) is `tomli` before 3.11: the same API, installed by the `tomli; python_version <
  '3.11'` dependency of the agent's distribution; the opsmon-agent-python3 package carries its own
  copy for hosts whose OS has no python3-tomli (UOS V20), which its launcher puts last on the path,
  so it is imported here only when neither tomllib nor an installed tomli is there.
- `native_thread_id()`: `threading.get_native_id` is 3.8; before it, the Linux thread id comes
  from the gettid system call through ctypes (None elsewhere: the caller then skips what needs it).
- `os_release()`: `platform.freedesktop_os_release` is 3.10; before it, /etc/os-release (or
  /usr/lib/os-release) is read by the same rules.
- `unlink_missing_ok()`: `Path.unlink(missing_ok=True)` is 3.8.
- `sha256()`: not a version difference but a memory one: hashlib's import starts OpenSSL (libcrypto,
  about 3.7 MB of the agent's resident memory) even for one digest; CPython's own SHA-256 module
  (`_sha256` to 3.11, `_sha2` from 3.12) gives the same digests without it. hashlib is the fallback
  where a build leaves the built-in module out.
- `http_client_without_ssl()`: http.client imports ssl (OpenSSL, about 5 MB resident) only to
  define HTTPSConnection; an agent whose collectors are all http:// imports it without.
- `fromisoformat()`: before 3.11, `datetime.fromisoformat` takes only what `isoformat()` writes, so
  `Z`, an offset without its colon (`+0800`, journalctl's short-iso) and fractions of other than 3
  or 6 digits are rewritten into that form first.
"""
from __future__ import annotations

import os
import platform
import re
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib  # novermin: imported on 3.11 and later only
else:  # the same API under its PyPI name (a dependency before 3.11)
    import tomli as tomllib

__all__ = ["fromisoformat", "http_client_without_ssl", "native_thread_id", "os_release", "sha256", "tomllib",
           "unlink_missing_ok"]


def http_client_without_ssl() -> bool:
    """Import http.client with ssl hidden, for an agent process whose collector URLs are all http://.

    http.client defines HTTPSConnection only when `import ssl` succeeds, and nothing else in it needs
    ssl; a plain-HTTP agent then never loads OpenSSL. Call it before anything imports http.client
    (the agent's main() does, after reading agent.toml); a later `import ssl` still works, and so does
    urllib.request (a proxy's settings), but without its HTTPSHandler: so not when something will need
    that (prometheus-client, for the local /metrics). False when http.client or ssl was already
    imported (nothing to save).
    """
    if "http.client" in sys.modules or "ssl" in sys.modules:
        return False
    sys.modules["ssl"] = None  # type: ignore[assignment]  # `import ssl` raises ImportError meanwhile
    try:
        import http.client  # noqa: F401
    finally:
        del sys.modules["ssl"]
    return True


def sha256(data: bytes = b"") -> Any:
    """A SHA-256 hash object (update(), hexdigest()) from CPython's built-in module, OpenSSL not loaded."""
    try:
        from _sha256 import sha256 as new  # Python 3.7 to 3.11
    except ImportError:
        try:
            from _sha2 import sha256 as new  # Python 3.12 and later
        except ImportError:  # a build without the built-in hashes: OpenSSL's, through hashlib
            from hashlib import sha256 as new
    return new(data)

_SYS_GETTID = {"x86_64": 186, "aarch64": 224, "i686": 224, "i386": 224}  # the gettid syscall, per machine


def native_thread_id() -> int | None:
    """The kernel's id of the calling thread (what setpriority(PRIO_PROCESS) takes on Linux), or None."""
    get = getattr(threading, "get_native_id", None)
    if get is not None:
        return int(get())
    number = _SYS_GETTID.get(os.uname().machine) if sys.platform.startswith("linux") else None
    if number is None:
        return None
    import ctypes  # only on 3.7, which lacks get_native_id: ctypes costs the agent 0.4 MB resident

    try:
        return int(ctypes.CDLL(None, use_errno=True).syscall(number))
    except (OSError, AttributeError):
        return None


def _parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): KEY=value lines, values optionally quoted with shell escapes; # comments."""
    info = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            for esc in ("\\\\", '\\"', "\\'", "\\$", "\\`"):  # the escapes os-release(5) allows
                value = value.replace(esc, esc[1])
        info[key.strip()] = value
    return info


def os_release() -> dict[str, str]:
    """The host's os-release fields; raises OSError when neither file exists (as the 3.10 function does)."""
    fn = getattr(platform, "freedesktop_os_release", None)
    if fn is not None:
        return dict(fn())
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path, encoding="utf-8") as fh:
                return _parse_os_release(fh.read())
        except FileNotFoundError:
            continue
    raise OSError("no /etc/os-release or /usr/lib/os-release")


def unlink_missing_ok(path: Path) -> None:
    """Remove a file that may already be gone (another process or an earlier pass took it)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass


_ISO_PARTS = re.compile(r"^(?P<base>[^.+Z-]*-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?)(?:\.(?P<frac>\d+))?"
                        r"(?P<tz>Z|[+-]\d\d:?\d\d)?$")


def fromisoformat(text: str) -> datetime:
    """`datetime.fromisoformat` as 3.11 reads it, for the ISO 8601 timestamps of syslog and journalctl.

    >>> fromisoformat("2024-05-01T10:00:00.5+0800").isoformat()
    '2024-05-01T10:00:00.500000+08:00'
    """
    if sys.version_info >= (3, 11):
        return datetime.fromisoformat(text)
    m = _ISO_PARTS.match(text)
    if not m:
        return datetime.fromisoformat(text)  # raises ValueError as it would
    out = m.group("base")
    if m.group("frac"):
        out += "." + m.group("frac")[:6].ljust(6, "0")
    tz = m.group("tz")
    if tz == "Z":
        out += "+00:00"
    elif tz:
        out += tz if ":" in tz else tz[:3] + ":" + tz[3:]
    return datetime.fromisoformat(out)
