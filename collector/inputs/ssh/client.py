"""One read-only command over SSH, with the host key checked against opsmon's own known_hosts.

paramiko is blocking, so `run_command` is meant for a worker thread (the hub runs it in a
pool). Host keys:

- a host in the known_hosts file must offer that key; a different key is ALWAYS refused
  (HostKeyMismatch names the host and both SHA256 fingerprints), whatever the check says;
- an unknown host is refused (UnknownHostKey, with the fingerprint it offered) unless its
  check says `trust_on_first_use: true`; then the key is appended to the file and the
  result says so, so the caller can record it as an event.

Errors are typed: AuthFailed, PeerTimeout, HostKeyMismatch / UnknownHostKey (both
ProtocolError), ProtocolError, or an OSError from the socket. No message carries a secret.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import select
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from opsmon.collector.config.ssh_credentials import SshCredential
from opsmon.collector.config.ssh_platforms import Platform
from opsmon.collector.core.errors import AuthFailed, PeerTimeout, ProtocolError
from opsmon.collector.inputs.ssh.types import CommandResult, HostKeyMismatch, UnknownHostKey, host_key_name


def fingerprint(key: paramiko.PKey) -> str:
    """The OpenSSH SHA256 fingerprint: 'SHA256:' + unpadded base64 of the key blob's digest."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


class KnownHosts:
    """The collector's known_hosts file, re-read when it changes on disk; thread-safe.

    Trusted keys are appended (never a rewrite), so the operator's comments and lines
    paramiko cannot use (@cert-authority, @revoked: unsupported) stay as they are.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._keys = paramiko.HostKeys()
        self._mark: tuple[int, int, int] | None = None

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._keys, self._mark = paramiko.HostKeys(), None
            return
        mark = (st.st_mtime_ns, st.st_size, st.st_ino)
        if mark != self._mark:
            keys = paramiko.HostKeys()
            keys.load(str(self.path))
            self._keys, self._mark = keys, mark

    def lookup(self, name: str) -> dict[str, paramiko.PKey]:
        with self._lock:
            self._refresh()
            entry = self._keys.lookup(name)
            return dict(entry) if entry else {}

    def trust_first(self, host: str, port: int, key: paramiko.PKey) -> bool:
        """Add the key of a host not known yet; True when added, False when it was there already.

        Checked again under the lock: when another session trusted a different key for the
        host meanwhile, this one is a mismatch, not a second trusted key.
        """
        name = host_key_name(host, port)
        with self._lock:
            self._refresh()
            entry = self._keys.lookup(name)
            if entry:
                known = entry.get(key.get_name()) or next(iter(entry.values()))
                if known == key:
                    return False
                raise HostKeyMismatch(host, port, fingerprint(key), fingerprint(known), self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = paramiko.hostkeys.HostKeyEntry([name], key).to_line()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size and not _ends_with_newline(self.path):
                    line = "\n" + line
                os.write(fd, line.encode())
            finally:
                os.close(fd)
            self._keys.add(name, key.get_name(), key)
            self._refresh()
            return True


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int
    credential: SshCredential
    trust_on_first_use: bool = False


class _Refuse(paramiko.MissingHostKeyPolicy):
    def __init__(self, target: SshTarget, known: KnownHosts) -> None:
        self.target, self.known = target, known

    def missing_host_key(self, client: Any, hostname: str, key: paramiko.PKey) -> None:
        raise UnknownHostKey(self.target.host, self.target.port, fingerprint(key), key.get_name(), self.known.path)


class _TrustFirst(paramiko.MissingHostKeyPolicy):
    """Only for a host not in known_hosts whose check allows it (paramiko asks only then)."""

    def __init__(self, target: SshTarget, known: KnownHosts) -> None:
        self.target, self.known = target, known
        self.trusted: str | None = None

    def missing_host_key(self, client: Any, hostname: str, key: paramiko.PKey) -> None:
        if self.known.trust_first(self.target.host, self.target.port, key):
            self.trusted = fingerprint(key)


def _timed_out(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def run_command(target: SshTarget, command: str, known: KnownHosts, timeout: float,
                connect_timeout: float = 10.0, max_output: int = 4 << 20,
                platform: Platform | None = None) -> CommandResult:
    """Connect, verify the host key, authenticate, run `command` on an exec channel, read its output.

    `timeout` bounds the whole session; `max_output` bounds stdout plus stderr (more is a
    ProtocolError: a cut output would be judged, or stored as a configuration, wrongly).
    With a `platform` (VRP, Comware, RGOS) the command is typed at the device's CLI prompt instead,
    after the platform's pager-off command (see _shell).
    """
    deadline = time.monotonic() + timeout

    def left() -> float:
        return deadline - time.monotonic()

    cred = target.credential
    where = f"{target.host}:{target.port}"
    client = paramiko.SSHClient()
    name = host_key_name(target.host, target.port)
    store = client.get_host_keys()
    for key_type, key in known.lookup(name).items():
        store.add(name, key_type, key)
    policy = _TrustFirst(target, known) if target.trust_on_first_use else _Refuse(target, known)
    client.set_missing_host_key_policy(policy)
    ct = max(0.1, min(connect_timeout, left()))
    started = time.monotonic()
    try:
        try:
            # The banner wait ends a little before start_client's: paramiko's start_client returns quietly
            # on its own timeout, and the next call then fails with a misleading "No existing session".
            client.connect(target.host, port=target.port, username=cred.user, password=cred.password,
                           pkey=cred.pkey, timeout=ct, banner_timeout=ct * 0.9, auth_timeout=ct, channel_timeout=ct,
                           look_for_keys=False, allow_agent=False)
        except paramiko.BadHostKeyException as exc:
            raise HostKeyMismatch(target.host, target.port, fingerprint(exc.key), fingerprint(exc.expected_key),
                                  known.path) from None
        except paramiko.AuthenticationException as exc:
            allowed = getattr(exc, "allowed_types", None)
            hint = f" (the device allows: {', '.join(allowed)})" if allowed else ""
            raise AuthFailed(f"{cred.user}@{where} refused credential {cred.name!r} "
                             f"({cred.methods}){hint}") from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:
            first = next(iter(exc.errors.values()), None)
            if isinstance(first, OSError):
                raise first from None
            raise
        except TimeoutError:
            raise PeerTimeout(f"{where}: no SSH connection within {ct:g}s") from None
        except paramiko.SSHException as exc:
            if _timed_out(exc) or time.monotonic() - started >= ct * 0.9:
                raise PeerTimeout(f"{where}: no SSH banner or key exchange within {ct:g}s") from None
            raise ProtocolError(f"{where}: SSH negotiation failed: {_short(exc)}") from None
        except EOFError:
            raise ProtocolError(f"{where}: the device closed the connection during the SSH handshake") from None
        trusted = getattr(policy, "trusted", None)
        if platform is not None:
            return _shell(client, platform, command, where, left, max_output, trusted)
        return _exec(client, command, where, left, max_output, trusted)
    finally:
        client.close()


def _session(client: paramiko.SSHClient, where: str, left: Any) -> paramiko.Channel:
    transport = client.get_transport()
    if transport is None or not transport.is_active():
        raise ProtocolError(f"{where}: the SSH session ended right after login")
    try:
        return transport.open_session(timeout=max(0.1, left()))
    except paramiko.ChannelException as exc:
        raise ProtocolError(f"{where}: the device refused a session channel ({exc.text})") from None
    except paramiko.SSHException as exc:
        if _timed_out(exc) or left() <= 0:
            raise PeerTimeout(f"{where}: no session channel in time") from None
        raise ProtocolError(f"{where}: cannot open a session channel: {_short(exc)}") from None


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]")


def _shell(client: paramiko.SSHClient, platform: Platform, command: str, where: str, left: Any, max_output: int,
           trusted: str | None) -> CommandResult:
    """Drive the device's CLI: wait for its prompt, turn its pager off for this session, type `command`,
    read until the same prompt comes back, leave. stdout is what `command` printed, without its echo and
    the prompt. A pager prompt ("---- More ----") is an error naming the pager command that should have
    prevented it: answering it with keystrokes would store the marker's remains inside the configuration."""
    chan = _session(client, where, left)
    received = 0

    def until(end: re.Pattern[str], what: str) -> str:
        nonlocal received
        buf = bytearray()
        more = re.compile(r"(?:" + platform.more + r")\s*$")
        while True:
            busy = False
            while chan.recv_ready():
                data = chan.recv(65536)
                received += len(data)
                buf += data
                busy = True
            if received > max_output:
                raise ProtocolError(f"{where}: output longer than {max_output} bytes (ssh.max_output)")
            tail = ANSI.sub("", bytes(buf[-512:]).decode("utf-8", "replace"))
            if end.search(tail):
                return ANSI.sub("", buf.decode("utf-8", "replace"))
            if more.search(tail):
                raise ProtocolError(f"{where}: the device pages its output although {platform.pager_off!r} was "
                                    f"sent (it stopped at {tail.strip().splitlines()[-1]!r})")
            if chan.closed or chan.eof_received:
                raise ProtocolError(f"{where}: the device closed the CLI session while opsmon waited for {what}"
                                    f" (last said: {_last_said(tail)!r})")
            if left() <= 0:
                raise PeerTimeout(f"{where}: no {what} in time (last said: {_last_said(tail)!r})")
            if not busy:
                select.select([chan], [], [], min(0.05, max(0.0, left())))

    try:
        try:
            chan.settimeout(max(0.1, left()))
            chan.get_pty(term="vt100", width=511, height=0)  # wide: long lines are not wrapped
            chan.invoke_shell()
        except paramiko.SSHException as exc:
            raise ProtocolError(f"{where}: the device refused an interactive CLI session ({_short(exc)})") from None
        first = until(re.compile(r"(?:^|\n)[ \t]*(" + platform.prompt + r")[ \t]*$"), "its CLI prompt")
        prompt = first.replace("\r", "").rstrip().splitlines()[-1].strip()
        again = re.compile(r"\n[ \t]*" + re.escape(prompt) + r"[ \t]*$")
        output = ""
        for typed in (platform.pager_off, command):
            chan.sendall((typed + "\n").encode())
            output = until(again, f"the prompt {prompt!r} after {typed!r}")
        chan.sendall((platform.leave + "\n").encode())
        # Leave politely: the device ends the session itself, so its VTY line is free at once.
        bye = time.monotonic() + min(2.0, max(0.0, left()))
        while not (chan.closed or chan.eof_received) and time.monotonic() < bye:
            if chan.recv_ready():
                chan.recv(65536)
            else:
                select.select([chan], [], [], 0.05)
    except TimeoutError:
        raise PeerTimeout(f"{where}: the CLI session did not finish in time") from None
    finally:
        chan.close()
    lines = output.replace("\r", "").split("\n")[:-1]  # the prompt that came back
    if lines and lines[0].strip().endswith(command):
        lines = lines[1:]  # the device's echo of what was typed
    return CommandResult("\n".join(lines) + "\n", "", None, trusted)


def _exec(client: paramiko.SSHClient, command: str, where: str, left: Any, max_output: int,
          trusted: str | None) -> CommandResult:
    chan = _session(client, where, left)
    out, err = bytearray(), bytearray()
    try:
        try:
            chan.settimeout(max(0.1, left()))
            chan.exec_command(command)
        except paramiko.SSHException as exc:
            raise ProtocolError(f"{where}: the device refused to run a command on an exec channel "
                                f"({_short(exc)}); see docs/ssh.md for what devices need") from None
        chan.shutdown_write()  # no input: a device waiting on stdin sees EOF at once
        while True:
            busy = False
            while chan.recv_ready():
                out += chan.recv(65536)
                busy = True
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
                busy = True
            if len(out) + len(err) > max_output:
                raise ProtocolError(f"{where}: output longer than {max_output} bytes (ssh.max_output)")
            if (chan.eof_received or chan.closed) and not chan.recv_ready() and not chan.recv_stderr_ready():
                break
            if left() <= 0:
                raise PeerTimeout(f"{where}: the command did not finish in time")
            if not busy:
                select.select([chan], [], [], min(0.05, max(0.0, left())))
        chan.status_event.wait(min(1.0, max(0.0, left())))
        status = chan.exit_status if chan.exit_status_ready() else None
        if status == -1:  # paramiko's "none reported"
            status = None
    except TimeoutError:
        raise PeerTimeout(f"{where}: the command did not finish in time") from None
    finally:
        chan.close()
    return CommandResult(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), status, trusted)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _last_said(tail: str) -> str:
    """The end of what the device printed, for an error that goes to the log and the check's reason: redacted as
    a stored configuration is, since it may be the middle of one (a password line, a community)."""
    from opsmon.collector.inputs.ssh.backup import redact  # backup imports this module

    return " ".join(redact(tail).split())[-120:]
