"""The trap port's credentials from the poller's credentials file (issue 22's leftovers, item 1), in process:
poller.toml's [traps] `credentials` names the communities and v3 users of `snmp.credentials` in the poller's
credentials file (`opsmon poller --credentials`), where the site's SNMP checks find theirs: a site's secrets in one
place. The inline tables of before (`[traps.credentials.NAME]`) still work, with a warning naming the file, the key
and the new form. Secrets never in a log line, an error or a repr. Traps from net-snmp's snmptrap on loopback.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from opsmon.agent.errors import ConfigError
from opsmon.collector.inputs.poller.traps import load_settings
from tests.peers import missing_peer
from tests.peers.snmp import V3_USERS, free_udp_port

HEAD = 'collector_url = "http://127.0.0.1:8470"\ntoken = "opsmon_agent_x"\n'
COMMUNITY, AUTH = "pleft-trap-community", V3_USERS["opsha256"][1]
PRIV = V3_USERS["opsha256"][3]
ENGINE_ID = "8000000001020304"
# The poller's credentials file: the site's SNMP checks' credentials (printers' variable is not set: a credential
# the trap port does not name is not read for it) and an SSH one (never read for traps).
CREDS = """\
snmp:
  credentials:
    core-v3: {version: '3', user: opsha256, auth_protocol: SHA256, auth_key_env: PLEFT_TRAP_AUTH,
              priv_protocol: AES256, priv_key_file: priv.key}
    trap-v2: {version: '2c', community_env: PLEFT_TRAP_COMMUNITY}
    printers: {version: '2c', community_env: PLEFT_UNSET_COMMUNITY}
ssh:
  credentials:
    ops: {user: opsmon-ro, password_env: PLEFT_UNSET_SSH}
"""
TRAPS = '[traps]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\ncredentials = {names}\n'


def _files(tmp_path: Path, toml: str, creds: str | None = CREDS) -> tuple[str, str]:
    """poller.toml and poller-credentials.yaml (mode 0600 both), with priv.key beside them; their paths."""
    path, yaml = tmp_path / "poller.toml", tmp_path / "poller-credentials.yaml"
    path.write_text(HEAD + toml)
    path.chmod(0o600)
    yaml.unlink(missing_ok=True)
    if creds is not None:
        yaml.write_text(creds)
        yaml.chmod(0o600)
    (tmp_path / "priv.key").write_text(PRIV + "\n")
    return str(path), str(yaml)


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLEFT_TRAP_COMMUNITY", COMMUNITY)
    monkeypatch.setenv("PLEFT_TRAP_AUTH", AUTH)
    for name in ("PLEFT_UNSET_COMMUNITY", "PLEFT_UNSET_SSH"):
        monkeypatch.delenv(name, raising=False)


def _snmptrap(port: int, auth: list[str]) -> None:
    """net-snmp's snmptrap: a coldStart to the poller's port on loopback."""
    if shutil.which("snmptrap") is None:
        missing_peer("net-snmp's snmptrap is not installed (Debian package snmp)")
    subprocess.run(["snmptrap", *auth, f"127.0.0.1:{port}", "", "1.3.6.1.6.3.1.1.5.1"], check=True,
                   capture_output=True, timeout=10, env={"MIBS": "", "PATH": "/usr/bin:/bin"})


def test_the_trap_port_takes_the_named_credentials_from_the_credentials_file(
        tmp_path: Path, secrets: None, caplog: pytest.LogCaptureFixture) -> None:
    """[traps] credentials = ["trap-v2", "core-v3"]: both read from the credentials file (the community from its
    variable, the v3 keys from a variable and a file beside it), printers not read (its variable is unset, and
    nothing fails), no warning. The port then takes a v2c trap with that community and a v3 authPriv one of
    opsha256 from the engine 8000000001020304 (sw's): 2 traps queued, both sw's (127.0.0.1 is sw's address).
    Before, the poller had no way to use the file's credentials for traps (load_settings read poller.toml only)."""
    from opsmon.collector.inputs.poller.trap_port import SiteTraps

    port = free_udp_port()
    toml, yaml = _files(tmp_path, TRAPS.format(port=port, names='["trap-v2", "core-v3"]')
                        + f'engine_ids = {{sw = "{ENGINE_ID}"}}\n')
    with caplog.at_level(logging.DEBUG):
        found = load_settings(toml, yaml)
    assert found is not None
    settings, creds = found
    assert settings.credentials == ("trap-v2", "core-v3")
    assert sorted(creds) == ["core-v3", "trap-v2"]
    assert creds["trap-v2"].secret("community") == COMMUNITY
    assert (creds["core-v3"].secret("auth_key"), creds["core-v3"].secret("priv_key")) == (AUTH, PRIV)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    shown = repr(settings) + repr(creds) + caplog.text
    assert COMMUNITY not in shown and AUTH not in shown and PRIV not in shown

    traps = SiteTraps(settings, creds)
    traps.bind()

    async def scenario() -> list[str]:
        traps.start()
        traps.use({"127.0.0.1": "sw"})
        await asyncio.to_thread(_snmptrap, port, ["-v", "2c", "-c", COMMUNITY])
        await asyncio.to_thread(_snmptrap, port, ["-v", "3", "-e", "0x" + ENGINE_ID, "-u", "opsha256", "-l",
                                                  "authPriv", "-a", "SHA-256", "-A", AUTH, "-x", "AES-256", "-X", PRIV])
        for _ in range(200):  # up to 10 s
            if len(traps.queue) >= 2:
                break
            await asyncio.sleep(0.05)
        return [t["asset"] for t in traps.queue]

    try:
        assert asyncio.run(scenario()) == ["sw", "sw"]
        assert dict(traps.refusals.counts) == {}
    finally:
        traps.close()


def test_a_credential_the_file_cannot_give_stops_the_start_naming_file_and_key(tmp_path: Path, secrets: None,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Each refusal names the file and key it comes from (poller.toml's traps.credentials for a name, the
    credentials file with its line for a problem in it) and shows no secret."""
    cases: list[tuple[str, str | None, str, str]] = [
        # (names, the credentials file, the error's file, its key)
        ('["trap-v2", "nope"]', CREDS, "{toml}", "traps.credentials"),
        ('["trap-v2"]', None, "{yaml}", ""),
        ('["trap-v2"]', CREDS.replace("version: '2c', community_env", "version: '4', community_env", 1),
         "{yaml}:5", "snmp.credentials.trap-v2.version"),
        ('["printers"]', CREDS, "{yaml}", "snmp.credentials.printers.community_env"),
        ("[1]", CREDS, "{toml}", "traps.credentials.0"),
        ("[]", CREDS, "{toml}", "traps"),
    ]
    reasons = ["names 'nope', which snmp.credentials of {yaml} does not define (defined: core-v3, printers, trap-v2)",
               "file not found (the SNMP credentials file, read for traps.credentials of {toml})",
               "Input should be '2c' or '3'",
               "environment variable PLEFT_UNSET_COMMUNITY is not set",
               "Input should be a valid string",
               "enabled needs credentials"]
    for (names, creds, file, key), reason in zip(cases, reasons, strict=True):
        toml, yaml = _files(tmp_path, TRAPS.format(port=1162, names=names), creds)
        with pytest.raises(ConfigError) as caught:
            load_settings(toml, yaml)
        assert (caught.value.file, caught.value.key) == (file.format(toml=toml, yaml=yaml), key), names
        assert reason.format(toml=toml, yaml=yaml) in caught.value.reason, (names, caught.value.reason)
        assert COMMUNITY not in str(caught.value) and AUTH not in str(caught.value)


def test_the_inline_tables_of_before_still_work_with_a_warning(tmp_path: Path, secrets: None,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """[traps.credentials.v2] in poller.toml (the form of before): its community is read from its variable as
    before, and one warning, Chinese first, names poller.toml, the key, where to move it and what to write instead;
    the secret is in none of it. Before, no warning: nothing told the operator the secrets were in two files."""
    toml, yaml = _files(tmp_path, '[traps]\nenabled = true\nport = 1162\n[traps.credentials.v2]\nversion = "2c"\n'
                                  'community_env = "PLEFT_TRAP_COMMUNITY"\n')
    with caplog.at_level(logging.INFO, logger="opsmon.poller"):
        found = load_settings(toml, yaml)
    assert found is not None
    assert found[1]["v2"].secret("community") == COMMUNITY
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    record = warned[0]
    assert record.getMessage().startswith("poller.toml 的 [traps.credentials] 已弃用")
    assert "is deprecated: move these communities and v3 users to snmp.credentials" in record.getMessage()
    assert (record.file, record.key, record.move_to, record.write) == (  # type: ignore[attr-defined]
        toml, "traps.credentials", f"{yaml} snmp.credentials", 'credentials = ["v2"]')
    assert COMMUNITY not in caplog.text
