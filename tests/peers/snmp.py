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

from tests.peers import in_netns, missing_peer

V3_USERS = {
    # name: (auth protocol in net-snmp, auth key, priv protocol, priv key, opsmon's names)
    "opsha": ("SHA", "auth-pass-sha1", "AES", "priv-pass-aes128", ("SHA", "AES")),
    "opsha256": ("SHA-256", "auth-pass-sha256", "AES-256", "priv-pass-aes256", ("SHA256", "AES256")),
    "opsha512": ("SHA-512", "auth-pass-sha512", "AES-192", "priv-pass-aes192", ("SHA512", "AES192")),
}
# Users below authPriv: (auth protocol in net-snmp and opsmon, auth key), None for noAuthNoPriv. Each may only
# read at its own level (`rouser NAME noauth|auth`), so an answer proves the level the client used.
V3_LOWER_USERS: dict[str, tuple[str, str] | None] = {
    "opsnone": None,
    "opsauth": ("SHA", "auth-pass-nopriv"),
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
        missing_peer("net-snmp's snmpd is not installed (Debian package snmpd)")
    root = Path(tempfile.mkdtemp(prefix="opsmon-snmpd-"))
    port = port or free_udp_port()
    lines = [f"rocommunity {COMMUNITY} 127.0.0.0/8", f"persistentDir {root}/persist", "dontLogTCPWrappersConnects yes"]
    for user, (auth, akey, priv, pkey, _names) in V3_USERS.items():
        lines += [f"createUser {user} {auth} {akey} {priv} {pkey}", f"rouser {user} priv"]
    for user, auth_only in V3_LOWER_USERS.items():
        if auth_only is None:
            lines += [f"createUser {user}", f"rouser {user} noauth"]
        else:
            lines += [f"createUser {user} {auth_only[0]} {auth_only[1]}", f"rouser {user} auth"]
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
    for user, auth_only in V3_LOWER_USERS.items():
        auth = f", auth_protocol: {auth_only[0]}, auth_key: {auth_only[1]}" if auth_only else ""
        out.append(f"{indent}{user}: {{version: '3', user: {user}{auth}}}")
    return "\n".join(out)


class UdpRelay:
    """A UDP proxy the test controls, between opsmon and an SNMP agent (all on loopback).

    `answer_limit`: forward only this many responses, then go silent (a device that
    stops answering mid-walk). `garbage`: answer every request with bytes that are
    not SNMP. `rewrite`: a function applied to each response datagram.
    """

    def __init__(self, upstream: tuple[str, int], upstream_netns: str | None = None) -> None:
        """upstream_netns: reach an agent on the loopback of a namespace the test made (its 127.0.0.1)."""
        import threading

        self.upstream = upstream
        self.upstream_netns = upstream_netns
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
            with in_netns(self.upstream_netns, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as up:
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


SNMPSIM = os.environ.get("OPSMON_SNMPSIM", "/opt/opsmon-test/snmpsim/bin/snmpsim-command-responder")


class Recording:
    """A .snmprec file built in code: `OID|TAG|VALUE` lines, sorted numerically by OID (snmpsim requires it).

    Tags: 2 INTEGER, 4 OCTET STRING (4x hex), 6 OID, 65 Counter32, 66 Gauge32, 67 TimeTicks,
    70 Counter64; `65:numeric` with `rate=R,initial=I,max=M,wrap=1` makes a counter that grows
    R per second from the simulator's start (the truth the rate tests check against).
    """

    def __init__(self) -> None:
        self.records: dict[tuple[int, ...], str] = {}

    def put(self, oid: str, tag: str | int, value: object) -> Recording:
        self.records[tuple(int(p) for p in oid.split("."))] = f"{oid}|{tag}|{value}"
        return self

    def system(self, name: str, sys_object_id: str = "1.3.6.1.4.1.8072.3.2.10") -> Recording:
        self.put("1.3.6.1.2.1.1.1.0", 4, f"simulated {name}").put("1.3.6.1.2.1.1.2.0", 6, sys_object_id)
        self.put("1.3.6.1.2.1.1.3.0", "67:numeric", "rate=100,initial=1000").put("1.3.6.1.2.1.1.5.0", 4, name)
        return self

    def text(self) -> str:
        return "\n".join(self.records[k] for k in sorted(self.records)) + "\n"


WRAP_RATE = 500_000_000  # B/s of the wrapping port: 2^32 / WRAP_RATE = 8.59 s between wraps


def switch_recording(name: str, ports: int = 48, hc: bool = True, wrap_port: int | None = None) -> Recording:
    """A switch: port i moves i*1000 bytes/s in and i*500 out; every 8th port is down.

    hc=False: an old device without ifXTable counters (32-bit octets only). wrap_port: that
    port's 32-bit ifInOctets moves WRAP_RATE = 500,000,000 B/s, so it wraps every 8.59 s.
    """
    r = Recording().system(name)
    t, x = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
    for i in range(1, ports + 1):
        r.put(f"{t}.1.{i}", 2, i).put(f"{t}.2.{i}", 4, f"GigabitEthernet0/{i}").put(f"{t}.3.{i}", 2, 6)
        r.put(f"{t}.5.{i}", 66, 1_000_000_000).put(f"{t}.6.{i}", "4x", f"0200000000{i:02x}")
        r.put(f"{t}.7.{i}", 2, 1).put(f"{t}.8.{i}", 2, 2 if i % 8 == 0 else 1)
        if wrap_port == i:
            r.put(f"{t}.10.{i}", "65:numeric", f"rate={WRAP_RATE},initial=0,max=4294967295,wrap=1")
        else:
            r.put(f"{t}.10.{i}", "65:numeric", f"rate={i * 1000},initial={i * 7},max=4294967295,wrap=1")
        r.put(f"{t}.16.{i}", "65:numeric", f"rate={i * 500},initial=0,max=4294967295,wrap=1")
        for col in (13, 14, 19, 20):
            r.put(f"{t}.{col}.{i}", 65, 0)
        if hc:
            r.put(f"{x}.1.{i}", 4, f"Gi0/{i}").put(f"{x}.15.{i}", 66, 1000).put(f"{x}.18.{i}", 4, f"port {i}")
            r.put(f"{x}.6.{i}", "70:numeric", f"rate={i * 1000},initial={i * 7}")
            r.put(f"{x}.10.{i}", "70:numeric", f"rate={i * 500},initial=0")
            for col in (7, 9, 11, 13):
                r.put(f"{x}.{col}.{i}", 70, 0)
    return r


@dataclass
class Snmpsim:
    port: int
    proc: subprocess.Popen[bytes]
    root: Path

    def community(self, name: str) -> str:
        return name


def start_snmpsim(recordings: dict[str, Recording]) -> Snmpsim:
    """snmpsim serving each recording under the community of its name, on a loopback port.

    As root it must drop to nobody (it refuses root), so its data and cache are made readable
    and writable for nobody, and it logs to stdout (a log file nobody cannot write kills it).
    """
    if not os.path.exists(SNMPSIM):
        missing_peer(f"snmpsim is not installed at {SNMPSIM} (.ci/run installs it; or set OPSMON_SNMPSIM)")
    root = Path(tempfile.mkdtemp(prefix="opsmon-snmpsim-"))
    data, cache = root / "data", root / "cache"
    data.mkdir()
    cache.mkdir()
    for name, rec in recordings.items():
        (data / f"{name}.snmprec").write_text(rec.text())
    port = free_udp_port()
    cmd = [SNMPSIM, f"--data-dir={data}", f"--cache-dir={cache}", f"--agent-udpv4-endpoint=127.0.0.1:{port}",
           "--logging-method=null"]
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        for path in (data, cache, *data.iterdir()):
            os.chmod(path, 0o777 if path == cache else 0o755 if path.is_dir() else 0o644)
        cmd += ["--process-user=nobody", "--process-group=nogroup"]
    log = open(root / "snmpsim.out", "wb")  # noqa: SIM115 - the process owns it until stop
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    sim = Snmpsim(port, proc, root)
    first = next(iter(recordings))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = subprocess.run(["snmpget", "-v2c", "-c", first, "-t", "0.5", "-r", "0", f"127.0.0.1:{port}",
                                "1.3.6.1.2.1.1.5.0"], capture_output=True, text=True)
        if probe.returncode == 0:
            return sim
        if proc.poll() is not None:
            raise RuntimeError(f"snmpsim exited: {(root / 'snmpsim.out').read_text()[-2000:]}")
        time.sleep(0.2)
    stop_snmpsim(sim)
    raise RuntimeError("snmpsim did not answer within 30 s")


def stop_snmpsim(sim: Snmpsim) -> None:
    sim.proc.terminate()
    try:
        sim.proc.wait(10)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        sim.proc.wait()
    shutil.rmtree(sim.root, ignore_errors=True)
