"""SSH checks and configuration backup against a real OpenSSH server serving a fake device shell."""
from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect

from opsmon.collector.config.checks import SshConfigSpec, SshSpec
from opsmon.collector.config.ssh import SshConfig
from opsmon.collector.config.ssh_credentials import SshCredentialSpec, resolve
from opsmon.collector.core.errors import ConfigError, InvalidInput, NotFound
from opsmon.collector.core.maintenance import MaintenanceBook, WindowSpec
from opsmon.collector.core.messages import Message, SecurityFinding
from opsmon.collector.core.states import DEGRADED, DOWN, UNKNOWN, UP
from opsmon.collector.inputs.checks.base import CheckContext
from opsmon.collector.inputs.checks.ssh import SshCheck, SshConfigCheck
from opsmon.collector.inputs.ssh.backup import DEFAULT_IGNORE, REDACTED, compile_patterns, normalise, redact
from opsmon.collector.inputs.ssh.hub import SshHub
from opsmon.collector.store import Store
from opsmon.collector.store import config_versions as configs
from tests.peers import missing_peer
from tests.peers.ssh_device import SshDevice, available, fingerprint_of

ASSET = "fake-sw"


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshDevice]:
    why = available()
    if why:
        missing_peer(why)
    with SshDevice(tmp_path_factory.mktemp("sshdev")) as dev:
        yield dev


@pytest.fixture
def fresh_device(tmp_path: Path) -> Iterator[SshDevice]:
    """A device of its own, for tests that edit its configuration or restart it."""
    why = available()
    if why:
        missing_peer(why)
    with SshDevice(tmp_path / "dev") as dev:
        yield dev


class Env:
    """A hub wired to a recording emit, with opsmon's own known_hosts (a copy of the device's by default)."""

    def __init__(self, tmp: Path, dev: SshDevice, store: Store | None = None, book: MaintenanceBook | None = None,
                 known: bool = True, credentials: dict[str, Any] | None = None) -> None:
        self.known_hosts = tmp / "opsmon_known_hosts"
        if known:
            shutil.copy(dev.known_hosts, self.known_hosts)
        self.events: list[Any] = []
        self.security: list[tuple] = []
        creds = {"dev": {"user": "root", "private_key_file": str(dev.client_key)}, **(credentials or {})}
        settings = SshConfig(credentials=creds, known_hosts=str(self.known_hosts), connect_timeout=5)
        self.hub = SshHub(settings, tmp, "collector.yaml", self._publish, store, book)
        self.ctx = CheckContext()
        self.ctx.ssh = self.hub  # the lead adds `ssh: Any = None` to CheckContext
        self.dev = dev

    def run(self, spec: dict[str, Any], timeout: float = 10.0) -> Any:
        spec = {"credential": "dev", "port": self.dev.port, **spec}
        cls = SshConfigCheck if spec["type"] == "ssh_config" else SshCheck
        model = (SshConfigSpec if cls is SshConfigCheck else SshSpec).model_validate(spec)
        return asyncio.run(cls(ASSET, "127.0.0.1", model, timeout, self.ctx).run())

    def _publish(self, msg: Message) -> None:
        if isinstance(msg, SecurityFinding):
            self.security.append((msg.asset_id, msg.key, msg.failing, msg.at, msg.cause))
        else:
            self.events.append(msg)

    def named(self, name: str) -> list[tuple]:
        return [(e.ts, e.source, e.kind, e.name, e.severity, e.summary, e.details)
                for e in self.events if e.name == name]

    def close(self) -> None:
        self.hub.close()


@pytest.fixture
def env(tmp_path: Path, device: SshDevice) -> Iterator[Env]:
    e = Env(tmp_path, device)
    yield e
    e.close()


# -- command checks ------------------------------------------------------------

def test_command_check_expect_regex_and_number_pass(env: Env) -> None:
    obs = env.run({"type": "ssh", "command": "show version", "expect": "Cisco IOS Software",
                   "regex": r"Version 15\.\d+"})
    assert (obs.status, obs.reason) == (UP, "")
    assert obs.latency_ms is not None
    obs = env.run({"type": "ssh", "command": "show environment",
                   "number": {"regex": r"Temperature:\s*(\d+)", "max": 60, "warn_max": 50, "min": 5}})
    assert (obs.status, obs.reason) == (UP, "")
    assert env.dev.received()[-2:] == ["show version", "show environment"]  # exactly the command, nothing more


def test_command_check_failures_say_what_was_expected_and_got(env: Env) -> None:
    obs = env.run({"type": "ssh", "command": "show version", "expect": "JUNOS"})
    assert obs.status == DOWN
    assert obs.reason.startswith("expected 'JUNOS' in the output, got 'Cisco IOS Software")
    assert len(obs.reason) < 200  # output trimmed
    obs = env.run({"type": "ssh", "command": "show version", "regex": r"Version 16\."})
    assert obs.status == DOWN and obs.reason.startswith(r"expected output matching /Version 16\./, got 'Cisco")
    number = {"regex": r"Temperature:\s*(\d+)"}
    obs = env.run({"type": "ssh", "command": "show environment", "number": {**number, "max": 40}})
    assert (obs.status, obs.reason) == (DOWN, "expected at most 40, got 42")
    obs = env.run({"type": "ssh", "command": "show environment", "number": {**number, "min": 50}})
    assert (obs.status, obs.reason) == (DOWN, "expected at least 50, got 42")
    obs = env.run({"type": "ssh", "command": "show environment", "number": {**number, "warn_max": 40, "max": 60}})
    assert (obs.status, obs.reason) == (DEGRADED, "expected at most 40 (warning), got 42")
    obs = env.run({"type": "ssh", "command": "show environment", "number": {"regex": r"Voltage: (\d+)", "max": 1}})
    assert obs.status == DOWN and obs.reason.startswith(r"expected a number matching /Voltage: (\d+)/, got 'Temp")


def test_refused_command_and_timeout(env: Env) -> None:
    obs = env.run({"type": "ssh", "command": "show nonsense"})
    assert obs.status == DOWN
    assert obs.reason == "'show nonsense' exited with status 1: \"% Invalid input detected at '^' marker.\""
    obs = env.run({"type": "ssh", "command": "show slow", "expect": "done"}, timeout=1.5)
    assert obs.status == DOWN and "no answer within 1.5s" in obs.reason


def test_mutating_commands_refused_at_load() -> None:
    for command in ("configure terminal", "write memory", "reload", "show run | redirect flash:x.cfg",
                    "show clock; copy run start", "cat /etc/passwd > /tmp/x", "show\nreload"):
        with pytest.raises(ValidationError, match="command"):
            SshSpec.model_validate({"type": "ssh", "credential": "c", "command": command})
    with pytest.raises(ValidationError, match="group"):
        SshSpec.model_validate({"type": "ssh", "credential": "c", "command": "show env",
                                "number": {"regex": r"Temp \d+", "max": 1}})
    spec = SshSpec.model_validate({"type": "ssh", "credential": "c", "command": "show interfaces | include CRC"})
    assert spec.check_id == "ssh:show interfaces | include CRC"
    assert SshConfigSpec.model_validate({"type": "ssh_config", "credential": "c"}).interval == 3600


def test_wrong_key_and_password_are_auth_failures(tmp_path: Path, device: SshDevice) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    e = Env(tmp_path, device, credentials={
        "stranger": {"user": "root", "private_key_file": str(other)},
        "pw": {"user": "root", "password": "Wr0ng-Pa55word!"}})
    try:
        obs = e.run({"type": "ssh", "command": "show version", "credential": "stranger"})
        assert obs.status == DOWN
        assert obs.reason == (f"authentication failed: root@127.0.0.1:{device.port} refused credential "
                              f"'stranger' (publickey)")
        obs = e.run({"type": "ssh", "command": "show version", "credential": "pw"})
        assert obs.status == DOWN
        assert obs.reason.startswith(f"authentication failed: root@127.0.0.1:{device.port} refused credential "
                                     f"'pw' (password)")
        assert "Wr0ng-Pa55word!" not in obs.reason
        obs = e.run({"type": "ssh", "command": "show version", "credential": "nope"})
        assert obs.status == UNKNOWN and "unknown SSH credential 'nope'" in obs.reason
    finally:
        e.close()


def test_connection_refused_and_silent_port(env: Env) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    obs = env.run({"type": "ssh", "command": "show version", "port": port})
    assert (obs.status, obs.reason) == (DOWN, "connection refused")
    with socket.socket() as silent:  # accepts TCP (the backlog) but never says "SSH-2.0"
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        obs = env.run({"type": "ssh", "command": "show version", "port": silent.getsockname()[1]}, timeout=2)
    assert obs.status == DOWN and "no answer within 2s" in obs.reason


# -- host keys -------------------------------------------------------------------

def test_unknown_host_refused_without_trust_on_first_use(tmp_path: Path, device: SshDevice) -> None:
    e = Env(tmp_path, device, known=False)
    sent = len(device.received())
    try:
        obs = e.run({"type": "ssh", "command": "show version"})
        assert obs.status == DOWN
        assert f"host key of 127.0.0.1:{device.port} is not known (ssh-ed25519 {device.host_fingerprint})" in obs.reason
        assert not e.known_hosts.exists()
        assert len(device.received()) == sent  # refused before logging in
        assert e.events == []
    finally:
        e.close()


def test_trust_on_first_use_saves_the_key_once(tmp_path: Path, device: SshDevice) -> None:
    e = Env(tmp_path, device, known=False)
    try:
        e.known_hosts.write_text("# opsmon known hosts; comments stay\n")
        obs = e.run({"type": "ssh", "command": "show version", "trust_on_first_use": True})
        assert (obs.status, obs.reason) == (UP, "")
        lines = e.known_hosts.read_text().splitlines()
        assert lines[0] == "# opsmon known hosts; comments stay"
        assert lines[1].split()[:2] == [f"[127.0.0.1]:{device.port}", "ssh-ed25519"]
        pub = tmp_path / "saved.pub"
        pub.write_text(" ".join(lines[1].split()[1:]) + "\n")
        assert fingerprint_of(pub) == device.host_fingerprint
        (trusted,) = e.named("ssh_host_key_trusted")
        assert trusted[2:5] == ("security", "ssh_host_key_trusted", "info")
        assert trusted[6]["fingerprint"] == device.host_fingerprint
        assert e.run({"type": "ssh", "command": "show version", "trust_on_first_use": True}).status == UP
        assert len(e.named("ssh_host_key_trusted")) == 1 and len(e.known_hosts.read_text().splitlines()) == 2
    finally:
        e.close()


def test_changed_host_key_is_always_refused(tmp_path: Path) -> None:
    why = available()
    if why:
        missing_peer(why)
    with SshDevice(tmp_path / "a") as first:
        e = Env(tmp_path, first)
        old_fp, port = first.host_fingerprint, first.port
        assert e.run({"type": "ssh", "command": "show version"}).status == UP
    before = e.known_hosts.read_text()
    try:
        with SshDevice(tmp_path / "b", port=port) as impostor:  # same address, new host key
            new_fp = impostor.host_fingerprint
            assert new_fp != old_fp
            for _ in range(2):
                obs = e.run({"type": "ssh", "command": "show version", "trust_on_first_use": True})
                assert obs.status == UNKNOWN  # refused, not found down: a security incident, no outage (issue 23)
                assert f"host key of 127.0.0.1:{port} has CHANGED: it offered {new_fp}" in obs.reason
                assert f"trusts {old_fp}; refused" in obs.reason
            assert impostor.received() == []  # never logged in, never sent the command
        assert e.known_hosts.read_text() == before
        (changed,) = e.named("ssh_host_key_changed")  # once per offered key, not once per poll
        assert changed[2:5] == ("security", "ssh_host_key_changed", "critical")
        assert (changed[6]["offered"], changed[6]["expected"]) == (new_fp, old_fp)
        assert [(s[0], s[1], s[2]) for s in e.security] == [(ASSET, f"ssh_host_key:127.0.0.1:{port}", True)]
    finally:
        e.close()


# -- configuration backup ----------------------------------------------------------

@pytest.fixture
def backup_store(store: Store) -> Store:
    """The store as migrated (0008 creates config_versions): no table made from the models."""
    assert "config_versions" in inspect(store.engine).get_table_names()
    return store


def _window(asset: str, start: datetime, end: datetime) -> WindowSpec:
    return WindowSpec(id="change-42", assets=(asset,), start=start, end=end, reason="CHG-42 trunk change")


def test_backup_baseline_unchanged_and_unexpected_change(tmp_path: Path, fresh_device: SshDevice,
                                                         backup_store: Store) -> None:
    book = MaintenanceBook([], "UTC")
    e = Env(tmp_path, fresh_device, backup_store, book)
    spec = {"type": "ssh_config"}
    try:
        assert e.run(spec).status == UP
        (baseline,) = e.named("config_baseline")
        assert baseline[2:5] == ("config", "config_baseline", "info")
        v1 = configs.show(backup_store, ASSET)
        assert v1["version"] == 1 and v1["command"] == "show running-config"
        assert "hostname fake-sw" in v1["content"]
        assert "ntp clock-period" not in v1["content"] and "Last configuration change" not in v1["content"]
        # the device prints a new clock-period and change time each time: still the same configuration
        assert e.run(spec).status == UP
        assert [v["version"] for v in configs.list_versions(backup_store, ASSET)] == [1]
        assert len(e.events) == 1
        fresh_device.running_config.write_text(fresh_device.running_config.read_text().replace(
            " switchport mode trunk\n", " switchport mode access\n switchport access vlan 666\n"))
        assert e.run(spec).status == UP
        (change,) = e.named("config_change")
        ts, source, kind, name, severity, summary, details = change
        assert (source, kind, name, severity) == ("ssh", "security", "config_change", "warning")
        assert "outside any maintenance window: +2 -1 lines (v1 -> v2)" in summary
        assert "- switchport mode trunk" in details["diff"] and "+ switchport access vlan 666" in details["diff"]
        assert details["window"] is None and not details["diff_truncated"]
        assert [(s[1], s[2]) for s in e.security] == [("config:running", True)]  # a security incident (issue 23)
        assert [v["version"] for v in configs.list_versions(backup_store, ASSET)] == [2, 1]
        assert configs.diff(backup_store, ASSET) == configs.diff(backup_store, ASSET, 1, "latest")
        assert "+ switchport access vlan 666" in configs.diff(backup_store, ASSET, 1, 2)
        assert configs.diff(backup_store, ASSET, 2, 2) == ""
        assert configs.list_assets(backup_store)[0]["versions"] == 2
        with pytest.raises(NotFound):
            configs.show(backup_store, ASSET, 9)
        with pytest.raises(InvalidInput):
            configs.show(backup_store, ASSET, "newest")
        with pytest.raises(NotFound):
            configs.list_versions(backup_store, "other")
    finally:
        e.close()


def test_change_inside_a_maintenance_window_is_expected(tmp_path: Path, fresh_device: SshDevice,
                                                        backup_store: Store) -> None:
    now = datetime.now(UTC)
    book = MaintenanceBook([], "UTC")
    e = Env(tmp_path, fresh_device, backup_store, book)
    try:
        assert e.run({"type": "ssh_config"}).status == UP
        book.put(_window(ASSET, now - timedelta(minutes=5), now + timedelta(hours=1)))
        fresh_device.running_config.write_text(fresh_device.running_config.read_text() + "ip domain-name lab\n")
        assert e.run({"type": "ssh_config"}).status == UP
        (change,) = e.named("config_change")
        assert change[2:5] == ("config", "config_change", "info")
        assert "in maintenance window change-42: +1 -0 lines" in change[5]
        assert change[6]["window"] == "change-42"
        assert e.named("config_change")[0][6]["diff"].count("+ip domain-name lab") == 1
    finally:
        e.close()


def test_window_that_closed_since_the_previous_fetch_still_counts(tmp_path: Path, device: SshDevice) -> None:
    now = datetime.now(UTC)
    book = MaintenanceBook([_window(ASSET, now - timedelta(hours=3), now - timedelta(hours=2))], "UTC")
    e = Env(tmp_path, device, book=book)
    try:
        assert e.hub.window_for(ASSET, now - timedelta(hours=4), now) == "change-42"
        assert e.hub.window_for(ASSET, now - timedelta(hours=1), now) is None
        assert e.hub.window_for("other", now - timedelta(hours=4), now) is None
        book.put(WindowSpec(id="nightly", assets=(ASSET,), cron="0 2 * * *", duration=3600))
        at = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
        assert e.hub.window_for(ASSET, datetime(2026, 3, 3, 1, 0, tzinfo=UTC), at) == "nightly"
        assert e.hub.window_for(ASSET, datetime(2026, 3, 3, 4, 0, tzinfo=UTC), at) is None
    finally:
        e.close()


def test_secrets_redacted_in_store_and_events_but_their_change_is_seen(tmp_path: Path, fresh_device: SshDevice,
                                                                       backup_store: Store) -> None:
    e = Env(tmp_path, fresh_device, backup_store, MaintenanceBook([], "UTC"))
    try:
        assert e.run({"type": "ssh_config"}).status == UP
        stored = configs.show(backup_store, ASSET)["content"]
        assert "Xy7-secret-community" not in stored and "hx5rVt7rPNoS4wqbXKX7m0" not in stored
        assert f"snmp-server community {REDACTED} RO" in stored
        assert f"enable secret 5 {REDACTED}" in stored
        fresh_device.running_config.write_text(fresh_device.running_config.read_text().replace(
            "Xy7-secret-community", "N3w-secret-community"))
        assert e.run({"type": "ssh_config"}).status == UP
        (change,) = e.named("config_change")
        assert change[6]["secrets_changed"] and change[6]["diff"] == ""
        assert "only redacted secrets changed" in change[5]
        assert "N3w-secret-community" not in repr(e.events)
        assert [v["version"] for v in configs.list_versions(backup_store, ASSET)] == [2, 1]
    finally:
        e.close()


def test_secrets_never_in_logs_reprs_or_reasons(tmp_path: Path, device: SshDevice, caplog: Any,
                                                monkeypatch: Any) -> None:
    locked = tmp_path / "locked_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "Kp-passphrase-77", "-f", str(locked)], check=True)
    device.authorize(locked.with_suffix(".pub").read_text())
    monkeypatch.setenv("OPSMON_TEST_SSH_PASSPHRASE", "Kp-passphrase-77")
    (tmp_path / "pw").write_text("Pw-in-a-file-99\n")
    caplog.set_level(logging.DEBUG)
    e = Env(tmp_path, device, credentials={
        "locked": {"user": "root", "private_key_file": str(locked), "passphrase_env": "OPSMON_TEST_SSH_PASSPHRASE"},
        "pw": {"user": "root", "password_file": "pw"}})
    try:
        logging.getLogger("paramiko").setLevel(logging.DEBUG)  # the hub quietens it; listen to everything here
        obs = [e.run({"type": "ssh", "command": "show version", "credential": "locked"}),
               e.run({"type": "ssh", "command": "show version", "credential": "pw"})]
        assert [o.status for o in obs] == [UP, DOWN]
        text = caplog.text + repr(e.hub.credentials) + repr(obs) + repr(e.events)
        assert caplog.records  # paramiko did talk
        for secret in ("Kp-passphrase-77", "Pw-in-a-file-99"):
            assert secret not in text
        assert e.hub.credentials["pw"].password == "Pw-in-a-file-99"  # read, just never shown
    finally:
        e.close()


# -- credentials and normalisation, no server needed ------------------------------

def test_credential_specs_and_resolution(tmp_path: Path, monkeypatch: Any) -> None:
    with pytest.raises(ValidationError, match="needs a password"):
        SshCredentialSpec.model_validate({"user": "opsmon"})
    with pytest.raises(ValidationError, match="only one of password"):
        SshCredentialSpec.model_validate({"user": "opsmon", "password": "a", "password_env": "X"})
    with pytest.raises(ValidationError, match="passphrase is for"):
        SshCredentialSpec.model_validate({"user": "opsmon", "password": "a", "passphrase": "b"})
    monkeypatch.delenv("OPSMON_NOPE", raising=False)
    spec = SshCredentialSpec.model_validate({"user": "opsmon", "password_env": "OPSMON_NOPE"})
    with pytest.raises(ConfigError, match=r"ssh.credentials.sw.password_env: environment variable OPSMON_NOPE"):
        resolve("sw", spec, tmp_path, "collector.yaml")
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "Right-phrase", "-f", str(key)], check=True)
    spec = SshCredentialSpec.model_validate({"user": "opsmon", "private_key_file": "k"})
    with pytest.raises(ConfigError, match="is encrypted: give passphrase"):
        resolve("sw", spec, tmp_path, "collector.yaml")
    spec = SshCredentialSpec.model_validate({"user": "opsmon", "private_key_file": "k", "passphrase": "Wrong-phrase"})
    with pytest.raises(ConfigError, match="wrong passphrase") as err:
        resolve("sw", spec, tmp_path, "collector.yaml")
    assert "Wrong-phrase" not in str(err.value)
    assert "Wrong-phrase" not in repr(spec)
    spec = SshCredentialSpec.model_validate({"user": "opsmon", "private_key_file": "k", "passphrase": "Right-phrase"})
    cred = resolve("sw", spec, tmp_path, "collector.yaml")
    assert cred.methods == "publickey" and "Right-phrase" not in repr(cred)


def test_normalise_and_redact() -> None:
    raw = ("Building configuration...\r\n\r\nCurrent configuration : 99 bytes\r\n"
           "! Last configuration change at 10:00:00 UTC Mon Jan 1 2024\r\nntp clock-period 17179869\r\n"
           "hostname a   \r\nsnmp-server community public RO\r\n username bob privilege 15 password 7 0822455D\r\n"
           "tacacs-server host 10.0.0.1 key 7 1234ABCD\r\nset psksecret ENC AbCdEf==\r\n\r\n")
    text = normalise(raw, compile_patterns(DEFAULT_IGNORE))
    assert text == ("hostname a\nsnmp-server community public RO\n username bob privilege 15 password 7 0822455D\n"
                    "tacacs-server host 10.0.0.1 key 7 1234ABCD\nset psksecret ENC AbCdEf==\n")
    clean = redact(text)
    for secret in ("public", "0822455D", "1234ABCD", "AbCdEf=="):
        assert secret not in clean
    assert clean.splitlines()[0] == "hostname a"


def test_configs_cli_reads_what_backup_stored(tmp_path: Path) -> None:
    """`opsmon configs list|show|diff` on a database holding two versions of a device's configuration."""
    from datetime import UTC, datetime

    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import ConfigVersion
    from tests.conftest import run_cli, write_config

    config = write_config(tmp_path, "database:\n  path: opsmon.db\n")
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    t = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    with store.session() as session:
        for v, text in ((1, "hostname sw1\ninterface Gi0/1\n description uplink\n"),
                        (2, "hostname sw1\ninterface Gi0/1\n description uplink to Hotan\n")):
            session.add(ConfigVersion(asset_id="sw1", name="running", version=v, fetched_at=t, last_seen=t,
                                      sha256=f"{v:064d}", raw_sha256=f"{v:064d}", size=len(text),
                                      command="show running-config", content=text))
        session.commit()
    store.close()
    listed = run_cli("--config", str(config), "configs", "list")
    assert listed.returncode == 0 and "sw1" in listed.stdout and "running" in listed.stdout
    versions = run_cli("--config", str(config), "configs", "list", "sw1")
    assert versions.returncode == 0 and versions.stdout.count("\n") == 3
    shown = run_cli("--config", str(config), "configs", "show", "sw1", "1")
    assert shown.stdout == "hostname sw1\ninterface Gi0/1\n description uplink\n"
    diff = run_cli("--config", str(config), "configs", "diff", "sw1")
    assert "\n- description uplink\n+ description uplink to Hotan\n" in diff.stdout, diff.stdout
    missing = run_cli("--config", str(config), "configs", "show", "nope")
    assert missing.returncode != 0 and "asset 'nope' has no running configuration" in missing.stderr
