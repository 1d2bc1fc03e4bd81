"""Configuration backup from Huawei VRP, H3C Comware and Ruijie RGOS: a real OpenSSH server poses as each
(tests/peers/ssh_device.py: an interactive CLI on a pty, with the platform's banner, prompt, pager and
error text). The device pages its configuration until the platform's pager-off command was typed, so a
stored configuration without a More prompt in it proves the right command went first."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsmon.collector.core.states import DOWN, UP
from opsmon.collector.store import Store
from opsmon.collector.store import config_versions as configs
from tests.collector.inputs.test_ssh import ASSET, Env
from tests.peers import missing_peer
from tests.peers.ssh_device import SshDevice, available

# 14 lines each: more than the 10 the device shows before its More prompt.
VRP = """\
#
sysname fake-vrp
#
aaa
 local-user admin password irreversible-cipher $1c$Wq4mW4UEx$Fq8cE0lFgR$
 local-user admin service-type ssh
#
interface GigabitEthernet0/0/1
 description uplink
 port link-type trunk
#
snmp-agent community read cipher %^%#Xy7-secret%^%#
#
return
"""
COMWARE = """\
#
 version 7.1.070, Release 6328
#
 sysname fake-h3c
#
interface GigabitEthernet1/0/1
 description uplink
 port link-type trunk
#
local-user admin class manage
 password hash $h$6$Qm9vZ2xl$c2VjcmV0
 service-type ssh
#
return
"""
RUIJIE = """\
Building configuration...
Current configuration : 412 bytes
!
hostname fake-rg
!
enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0
username admin password 7 0822455D0A16
!
interface GigabitEthernet 0/1
 description uplink
 switchport mode trunk
!
snmp-server community Xy7-secret-community ro
!
end
"""
CASES = {
    # persona: (configuration, commands the device must receive in order, what is stored)
    "vrp": (VRP, ["screen-length 0 temporary", "display current-configuration", "quit"],
            # the volatile "!Last configuration was updated at" line is dropped, secrets redacted
            "!Software Version V200R021C00SPC100\n" + VRP.replace("$1c$Wq4mW4UEx$Fq8cE0lFgR$", "<redacted>")
            .replace("%^%#Xy7-secret%^%#", "<redacted>")),
    "comware": (COMWARE, ["screen-length disable", "display current-configuration", "quit"],
                COMWARE.replace("$h$6$Qm9vZ2xl$c2VjcmV0", "<redacted>")),
    "ruijie": (RUIJIE, ["terminal length 0", "show running-config", "exit"],
               # "Building configuration..." and "Current configuration : N bytes" are volatile lines
               "".join(RUIJIE.splitlines(True)[2:]).replace("$1$mERr$hx5rVt7rPNoS4wqbXKX7m0", "<redacted>")
               .replace("0822455D0A16", "<redacted>").replace("Xy7-secret-community", "<redacted>")),
}


@pytest.fixture
def device(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SshDevice]:
    why = available()
    if why:
        missing_peer(why)
    with SshDevice(tmp_path / "dev", persona=request.param, running=CASES[request.param][0]) as dev:
        yield dev


@pytest.mark.parametrize("device", list(CASES), indirect=True)
def test_backup_from_the_cli_with_the_pager_off(tmp_path: Path, device: SshDevice, store: Store) -> None:
    _config, typed, stored = CASES[device.persona]
    e = Env(tmp_path, device, store)
    try:
        assert e.run({"type": "ssh_config", "platform": device.persona}).status == UP
        assert device.received() == typed  # pager off first, then the configuration, then leave
        v1 = configs.show(store, ASSET)
        assert v1["command"] == typed[1]  # the platform's own command, none given in the check
        # no banner, echo, prompt, pager message or More prompt: exactly the configuration
        assert v1["content"] == stored
        # fetched again (VRP prints a new update time): the same configuration, no second version
        assert e.run({"type": "ssh_config", "platform": device.persona}).status == UP
        assert [v["version"] for v in configs.list_versions(store, ASSET)] == [1]
        assert [ev.name for ev in e.events] == ["config_baseline"]
    finally:
        e.close()


@pytest.mark.parametrize("device", ["comware"], indirect=True)
def test_a_pager_left_on_is_an_error_naming_the_command(tmp_path: Path, device: SshDevice, store: Store) -> None:
    """VRP's pager command typed at a Comware CLI is refused there, so the configuration stops at
    "---- More ----": the fetch fails and says which pager command did not take; nothing is stored."""
    e = Env(tmp_path, device, store)
    try:
        result = e.run({"type": "ssh_config", "platform": "vrp"})
        assert result.status == DOWN
        assert "pages its output although 'screen-length 0 temporary' was sent" in result.reason
        assert "---- More ----" in result.reason
        assert device.received()[:2] == ["screen-length 0 temporary", "display current-configuration"]
        assert configs.list_assets(store) == []
    finally:
        e.close()


def test_reversible_secrets_of_vrp_and_comware_are_redacted_wherever_they_stand() -> None:
    """VRP's "cipher" secrets are reversible: every one is redacted (two on the usm-user line), as are a plain or
    hashed password after its level; lines that only mention a word like "key" stay as they are."""
    from opsmon.collector.inputs.ssh.backup import redact

    lines = {
        " radius-server shared-key cipher %^%#abc%^%#": " radius-server shared-key cipher <redacted>",
        " hwtacacs-server shared-key cipher %^%#d%^%#": " hwtacacs-server shared-key cipher <redacted>",
        " snmp-agent usm-user v3 admin authentication-mode sha cipher A1 privacy-mode aes128 cipher B2":
            " snmp-agent usm-user v3 admin authentication-mode sha cipher <redacted> privacy-mode aes128 cipher "
            "<redacted>",
        " super password level 3 hash $h$6$xyz": " super password level 3 hash <redacted>",
        " ospf authentication-mode md5 1 cipher QQQ": " ospf authentication-mode md5 1 cipher <redacted>",
        " description key point of the ring": " description key point of the ring",
        " ip load-sharing mode per-flow": " ip load-sharing mode per-flow",
    }
    for line, shown in lines.items():
        assert redact(line) == shown, line
