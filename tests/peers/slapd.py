"""A real OpenLDAP server (Debian's slapd) on a loopback port, with its own config, database and entries.

Its config is a slapd.conf of its own (`-f`) in a temporary folder, its data loaded offline with slapadd before
it starts, and it listens on ldap://127.0.0.1:<free port>/ only; Debian's own instance is never touched.
Passwords are stored as {SSHA} hashes made by slappasswd, as a real directory keeps them.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import free_port
from tests.peers import terminate

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SLAPPASSWD = shutil.which("slappasswd") or "/usr/sbin/slappasswd"
SCHEMA = Path("/etc/ldap/schema")
SUFFIX = "dc=opsmon,dc=test"


def available() -> str | None:
    """None when a slapd can be started here, else the reason it cannot."""
    for tool in (SLAPD, SLAPADD, SLAPPASSWD):
        if not Path(tool).exists():
            return f"no {Path(tool).name}: apt-get install slapd"
    return None


class Slapd:
    """`with Slapd(folder, ldif) as ldap:` serves `ldif` (entries under SUFFIX, passwords given as
    `userPassword: {plain}secret`, hashed here) at ldap.url; stopped by pid on exit or by `stop()`. With `tls`
    (certificate, key) it offers StartTLS there and serves ldaps:// at ldap.ldaps_url as well."""

    def __init__(self, folder: Path, ldif: str, tls: tuple[Path, Path] | None = None) -> None:
        self.dir = folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.tls = tls
        self.ldaps_url = f"ldaps://127.0.0.1:{free_port()}" if tls else ""
        self.ldif = ldif
        self.config = self.dir / "slapd.conf"
        self.log = self.dir / "slapd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _hashed(self, ldif: str) -> str:
        lines = []
        for line in ldif.splitlines():
            if line.startswith("userPassword: {plain}"):
                plain = line.split("{plain}", 1)[1]
                line = "userPassword: " + subprocess.run([SLAPPASSWD, "-s", plain], check=True, text=True,
                                                         capture_output=True).stdout.strip()
            lines.append(line)
        return "\n".join(lines) + "\n"

    def __enter__(self) -> Slapd:
        data = self.dir / "data"
        data.mkdir(exist_ok=True)
        self.config.write_text(f"""\
include {SCHEMA}/core.schema
include {SCHEMA}/cosine.schema
include {SCHEMA}/inetorgperson.schema
pidfile {self.dir / "slapd.pid"}
{f"TLSCertificateFile {self.tls[0]}{chr(10)}TLSCertificateKeyFile {self.tls[1]}" if self.tls else ""}
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{SUFFIX}"
directory {data}
# passwords are for binding only; people and groups are read by whoever has bound (the service account)
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
""")
        (self.dir / "entries.ldif").write_text(self._hashed(self.ldif))
        subprocess.run([SLAPADD, "-q", "-f", str(self.config), "-l", str(self.dir / "entries.ldif")], check=True,
                       capture_output=True)
        self.start()
        return self

    def start(self) -> None:
        self._log = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        # -d 0: stay in the foreground (a child of the test, stopped by its pid), logging nothing but errors
        urls = f"{self.url}/" + (f" {self.ldaps_url}/" if self.ldaps_url else "")
        self.proc = subprocess.Popen([SLAPD, "-d", "0", "-h", urls, "-f", str(self.config)],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"slapd exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"slapd did not listen on {self.url}: {self.log.read_text()}")

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None
        self._log.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()
