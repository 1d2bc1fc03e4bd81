"""What SSH sessions return and raise, without importing paramiko (the check types import this)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opsmon.collector.core.errors import ProtocolError


def host_key_name(host: str, port: int) -> str:
    """How OpenSSH (and paramiko) name a host in known_hosts."""
    return host if port == 22 else f"[{host}]:{port}"


class UnknownHostKey(ProtocolError):
    """The host is not in opsmon's known_hosts and its check does not allow trust on first use."""

    def __init__(self, host: str, port: int, offered: str, key_type: str, known_hosts: Path) -> None:
        self.host, self.port, self.offered = host, port, offered
        super().__init__(
            f"host key of {host}:{port} is not known ({key_type} {offered}); refused. Verify the fingerprint on the "
            f"device's console, then add it to {known_hosts} (or set trust_on_first_use: true on the check)")


class HostKeyMismatch(ProtocolError):
    """The host offered a key other than the one opsmon trusts for it: refused, never re-trusted."""

    def __init__(self, host: str, port: int, offered: str, expected: str, known_hosts: Path) -> None:
        self.host, self.port, self.offered, self.expected = host, port, offered, expected
        super().__init__(
            f"host key of {host}:{port} has CHANGED: it offered {offered}, but {known_hosts} trusts {expected}; "
            f"refused (possible man-in-the-middle). If the device was re-keyed, check the new fingerprint on its "
            f"console, remove the old line (ssh-keygen -R '{host_key_name(host, port)}' -f {known_hosts}) and add "
            f"the new one")


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str
    exit_status: int | None  # None: the device closed the channel without reporting one
    trusted: str | None = None  # the fingerprint trusted on first use by this session, if any
