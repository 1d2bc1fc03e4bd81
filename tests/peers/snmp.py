"""Real SNMP peers for the tests: net-snmp's snmpd and the snmpsim simulator, on loopback UDP ports.

snmpd gets its `agentAddress` only on the command line (given twice it refuses
to start), no MIB files (Debian ships none; everything is numeric), and its own
persistent directory so the v3 users it creates never touch /var/lib/snmp.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

V3_USERS = {
    # name: (auth protocol in net-snmp, auth key, priv protocol, priv key, opsmon's names)
    "opsha": ("SHA", "auth-pass-sha1", "AES", "priv-pass-aes128", ("SHA", "AES")),
    "opsha256": ("SHA-256", "auth-pass-sha256", "AES-256", "priv-pass-aes256", ("SHA256", "AES256")),
    "opsha512": ("SHA-512", "auth-pass-sha512", "AES-192", "priv-pass-aes192", ("SHA512", "AES192")),
}
COMMUNITY = "opsmon-test-community"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Snmpd:
    host: str
    port: int
    community: str
    proc: subprocess.Popen[bytes]
    root: Path

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def get(self, oid: str) -> str:
        """The value net-snmp's own snmpget reads (the oracle for opsmon's figures)."""
        out = subprocess.run(["snmpget", "-v2c", "-c", self.community, "-Oqv", "-On", self.address, oid],
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip()


def start_snmpd(extra: str = "", host: str = "127.0.0.1", port: int | None = None,
                netns: str | None = None) -> Snmpd:
    if shutil.which("snmpd") is None:
        pytest.skip("net-snmp's snmpd is not installed (Debian package snmpd)")
    root = Path(tempfile.mkdtemp(prefix="opsmon-snmpd-"))
    port = port or free_udp_port()
    lines = [f"rocommunity {COMMUNITY} 127.0.0.0/8", f"persistentDir {root}/persist", "dontLogTCPWrappersConnects yes"]
    for user, (auth, akey, priv, pkey, _names) in V3_USERS.items():
        lines += [f"createUser {user} {auth} {akey} {priv} {pkey}", f"rouser {user} priv"]
    (root / "snmpd.conf").write_text("\n".join(lines) + "\n" + extra)
    (root / "persist").mkdir()
    cmd = ["snmpd", "-f", "-Lf", str(root / "snmpd.log"), "-C", "-c", str(root / "snmpd.conf"),
           "-p", str(root / "snmpd.pid"), "-M", "/dev/null", f"udp:{host}:{port}"]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(root / "persist"), MIBS="")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    peer = Snmpd(host, port, COMMUNITY, proc, root)
    prefix = ["ip", "netns", "exec", netns] if netns else []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        probe = subprocess.run([*prefix, "snmpget", "-v2c", "-c", COMMUNITY, "-t", "0.3", "-r", "0",
                                peer.address, "1.3.6.1.2.1.1.3.0"], capture_output=True, text=True)
        if probe.returncode == 0:
            return peer
        if proc.poll() is not None:
            log = (root / "snmpd.log").read_text() if (root / "snmpd.log").exists() else ""
            raise RuntimeError(f"snmpd exited with {proc.returncode}: {log[-2000:]}")
        time.sleep(0.1)
    stop_snmpd(peer)
    raise RuntimeError("snmpd did not answer within 15 s")


def stop_snmpd(peer: Snmpd) -> None:
    peer.proc.terminate()
    try:
        peer.proc.wait(10)
    except subprocess.TimeoutExpired:
        peer.proc.kill()
        peer.proc.wait()
    shutil.rmtree(peer.root, ignore_errors=True)


@pytest.fixture(scope="session")
def snmpd() -> Iterator[Snmpd]:
    peer = start_snmpd()
    yield peer
    stop_snmpd(peer)


def credentials_yaml(indent: str = "    ") -> str:
    """snmp.credentials for collector.yaml matching the snmpd above (v2c and every v3 user)."""
    out = [f"{indent}v2: {{version: '2c', community: {COMMUNITY}}}"]
    for user, (_a, akey, _p, pkey, (aname, pname)) in V3_USERS.items():
        out.append(f"{indent}{user}: {{version: '3', user: {user}, auth_protocol: {aname}, auth_key: {akey}, "
                   f"priv_protocol: {pname}, priv_key: {pkey}}}")
    return "\n".join(out)


class UdpRelay:
    """A UDP proxy the test controls, between opsmon and an SNMP agent (all on loopback).

    `answer_limit`: forward only this many responses, then go silent (a device that
    stops answering mid-walk). `garbage`: answer every request with bytes that are
    not SNMP. `rewrite`: a function applied to each response datagram.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        import threading

        self.upstream = upstream
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.answer_limit: int | None = None
        self.garbage: bytes | None = None
        self.answered = 0
        self.requests = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, client = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.requests += 1
            if self.garbage is not None:
                self.sock.sendto(self.garbage, client)
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(2)
                up.sendto(data, self.upstream)
                try:
                    reply, _ = up.recvfrom(65535)
                except TimeoutError:
                    continue
            if self.answer_limit is not None and self.answered >= self.answer_limit:
                continue
            self.answered += 1
            self.sock.sendto(reply, client)

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()
