"""A real OpenSSH server on a loopback port, with its own config, host key and authorized key.

Root may log in by key only, and only through this server's temporary config; the client side gets
a known_hosts file holding the server's real host key, so host keys are verified, never skipped.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.peers import terminate

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def available() -> str | None:
    """None when an sshd can be started here, else the reason it cannot."""
    if not Path(SSHD).exists():
        return "no sshd: apt-get install openssh-server"
    if not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        return "no ssh client: apt-get install openssh-client"
    if os.geteuid() != 0:
        return "sshd must start as root to accept logins"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    """`with Sshd(folder) as sshd:` starts sshd on 127.0.0.1:sshd.port; stopped by pid on exit."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self.port = _free_port()
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.client_key = self.dir / "id_ed25519"
        self.known_hosts = self.dir / "known_hosts"
        self.config = self.dir / "sshd_config"
        self.log = self.dir / "sshd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sshd:
        for key in (self.host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "opsmon-test", "-f", str(key)],
                           check=True)
        (self.dir / "authorized_keys").write_text(self.client_key.with_suffix(".pub").read_text())
        host_pub = self.host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        self.config.write_text(f"""\
Port {self.port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
PidFile {self.dir / "sshd.pid"}
AuthorizedKeysFile {self.dir / "authorized_keys"}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# the keys live under /tmp (world-writable with the sticky bit), which StrictModes refuses
StrictModes no
AllowTcpForwarding no
X11Forwarding no
Subsystem sftp internal-sftp
LogLevel VERBOSE
""")
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # its privilege-separation folder
        subprocess.run([SSHD, "-t", "-f", str(self.config)], check=True)
        self._log = open(self.log, "wb")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)], stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not answer on port {self.port}: {self.log.read_text()}")
            time.sleep(0.05)
        return self

    def ssh_args(self) -> list[str]:
        """Client options: this key only, this known_hosts only, host key checked strictly."""
        return ["-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-i", str(self.client_key), "-p", str(self.port)]

    def __exit__(self, *exc: object) -> None:
        terminate(self.proc)
        self._log.close()
