"""SNMP configuration mistakes: each names the file, the key and what is wrong; no secret is printed."""
from __future__ import annotations

from pathlib import Path

import pytest

from opsmon.collector.config import load_config
from opsmon.collector.core.errors import ConfigError
from tests.conftest import run_cli, write_config

BASE = "database:\n  path: opsmon.db\n"


@pytest.mark.parametrize("snmp, key, reason", [
    ("  credentials:\n    c: {version: '2c'}\n", "snmp.credentials.c", "version 2c needs community"),
    ("  credentials:\n    c: {version: '3', user: u, priv_protocol: AES, priv_key: privpass12}\n",
     "snmp.credentials.c", "priv_protocol needs auth_protocol"),
    ("  credentials:\n    c: {version: '3', user: u, auth_protocol: SHA, auth_key: short}\n",
     "snmp.credentials.c", "at least 8 characters"),
    ("  credentials:\n    c: {version: '3', user: u, auth_protocol: SHA1, auth_key: longenough}\n",
     "snmp.credentials.c.auth_protocol", "SHA"),
    ("  credentials:\n    c: {version: '2c', community: a, community_env: B}\n",
     "snmp.credentials.c", "only one of community"),
    ("  traps: {enabled: true}\n", "snmp", "traps.enabled needs traps.credentials"),
    ("  credentials:\n    c: {version: '2c', community_env: OPSMON_TEST_UNSET_VAR}\n",
     "snmp.credentials.c.community_env", "environment variable OPSMON_TEST_UNSET_VAR is not set"),
    ("  credentials:\n    c: {version: '2c', community_file: nowhere.txt}\n",
     "snmp.credentials.c.community_file", "cannot read"),
    ("  profile_dirs: [no-such-folder]\n", "snmp.profile_dirs[0]", "no such folder"),
])
def test_bad_snmp_settings_name_key_and_reason(tmp_path: Path, snmp: str, key: str, reason: str) -> None:
    path = write_config(tmp_path, BASE + "snmp:\n" + snmp)
    with pytest.raises(ConfigError) as err:
        load_config(path, secrets=True)
    assert str(path) in str(err.value) and key in str(err.value) and reason in str(err.value), str(err.value)


def test_secrets_from_env_and_file_and_never_printed(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "priv.key").write_text("priv-from-file-123\n")
    monkeypatch.setenv("OPSMON_TEST_AUTH", "auth-from-env-456")
    path = write_config(tmp_path, BASE + "snmp:\n  credentials:\n    c: {version: '3', user: u, auth_protocol: SHA256, "
                        "auth_key_env: OPSMON_TEST_AUTH, priv_protocol: AES256, priv_key_file: priv.key}\n")
    config = load_config(path)
    from opsmon.collector.config.snmp_credentials import resolve

    cred = resolve("c", config.snmp.credentials["c"], tmp_path, str(path))
    assert cred.secret("auth_key") == "auth-from-env-456" and cred.secret("priv_key") == "priv-from-file-123"
    assert "auth-from-env" not in repr(cred) and "priv-from-file" not in repr(cred)
    inline = write_config(tmp_path, BASE + "snmp:\n  credentials:\n    c: {version: '2c', community: s3cret-comm}\n",
                          name="inline.yaml")
    assert "s3cret-comm" not in repr(load_config(inline))


@pytest.mark.parametrize("snmp, key, secret", [
    # An unquoted numeric community is not a string: pydantic's message would quote the value (got 73519846).
    ("  credentials:\n    c: {version: '2c', community: 73519846}\n", "snmp.credentials.c.community", "73519846"),
    # The community written where the entry's mapping goes.
    ("  credentials:\n    c: s3cret-comm\n", "snmp.credentials.c", "s3cret-comm"),
    ("  credentials:\n    c: {version: '3', user: u, auth_protocol: SHA, auth_key: 12345678}\n",
     "snmp.credentials.c.auth_key", "12345678"),
])
def test_a_bad_secret_is_named_by_its_key_never_quoted(tmp_path: Path, snmp: str, key: str, secret: str) -> None:
    path = write_config(tmp_path, BASE + "snmp:\n" + snmp)
    with pytest.raises(ConfigError) as err:
        load_config(path, secrets=True)
    assert str(path) in str(err.value) and key in str(err.value), str(err.value)
    assert secret not in str(err.value), str(err.value)
    assert "got" not in str(err.value), str(err.value)


def test_a_bad_non_secret_is_still_quoted(tmp_path: Path) -> None:
    path = write_config(tmp_path, BASE + "snmp:\n  credentials:\n    c: {version: '2c', community: ok-comm, "
                        "timeout: soon}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, secrets=True)
    assert "(got 'soon')" in str(err.value) or "unknown key" in str(err.value), str(err.value)
    assert "ok-comm" not in str(err.value)


def test_check_config_cross_checks_snmp_references(tmp_path: Path) -> None:
    (tmp_path / "assets.yaml").write_text(
        "assets:\n"
        "  - {id: sw, category: network, address: 127.0.0.1, checks: [{type: snmp, credential: nope}]}\n")
    path = write_config(tmp_path, BASE + "inventory:\n  files: [assets.yaml]\n"
                        "snmp:\n  credentials:\n    v2: {version: '2c', community: s3cret-comm}\n")
    out = run_cli("check-config", str(path))
    assert out.returncode == 2
    assert (f"{tmp_path}/assets.yaml:2: assets[0].checks[0].credential: 'nope' is not defined under snmp.credentials "
            "(asset sw, check snmp)") in out.stderr
    (tmp_path / "assets.yaml").write_text(
        "assets:\n"
        "  - {id: sw, category: network, address: 127.0.0.1, checks: [{type: snmp, credential: v2, profiles: [x]}]}\n"
        "  - {id: wan, category: link, checks: [{type: snmp_interface, device: other, interface: ge-0/0/1}]}\n")
    out = run_cli("check-config", str(path))
    assert out.returncode == 2 and "unknown profile 'x'" in out.stderr
    (tmp_path / "assets.yaml").write_text(
        "assets:\n"
        "  - {id: sw, category: network, address: 127.0.0.1, checks: [{type: snmp, credential: v2}]}\n"
        "  - {id: wan, category: link, checks: [{type: snmp_interface, device: other, interface: ge-0/0/1}]}\n"
        "  - {id: pc, category: computer, checks: [{type: presence, mac: 001a.2b3c.4d5e, switches: [sw, ghost]}]}\n")
    out = run_cli("check-config", str(path))
    assert out.returncode == 2 and "'other' is not an asset with an snmp check" in out.stderr
    assert (f"{tmp_path}/assets.yaml:4: assets[2].checks[0].switches[1]: 'ghost' is not an asset with an snmp check "
            "in these files (asset pc, check presence)") in out.stderr  # a PC's switches are polled assets too
    (tmp_path / "assets.yaml").write_text(
        "assets:\n"
        "  - {id: sw, category: network, address: 127.0.0.1, checks: [{type: snmp, credential: v2}]}\n"
        "  - {id: wan, category: link, checks: [{type: snmp_interface, device: sw, interface: ge-0/0/1}]}\n"
        "  - {id: ups, category: peripheral, checks: [{type: snmp, credential: v2}]}\n")
    out = run_cli("check-config", str(path))
    assert out.returncode == 2 and "polls the asset's address: give the asset an address" in out.stderr
    assert "s3cret-comm" not in out.stdout + out.stderr


def test_a_credential_held_by_the_site_pollers_is_named_only(tmp_path: Path) -> None:
    """`pollers.snmp_credentials` / `ssh_credentials` name credentials only the site pollers hold (docs/poller.md):
    a sited asset's snmp or ssh check may name one without collector.yaml defining its secret; an asset without a
    site cannot (the centre would run it, with no secret): one problem naming file, line, key and why. The profiles
    of a check whose credential the pollers hold are checked as any SNMP check's: sw's `profiles: [auto, nope]`
    is a second problem (its line 3, the key profiles[1]); before, such a check skipped the profiles and the typo
    passed."""
    (tmp_path / "assets.yaml").write_text(
        "assets:\n"
        "  - {id: sw, category: network, site: hotan, address: 127.0.0.1,\n"
        "     checks: [{type: snmp, credential: far, profiles: [auto, nope]},\n"
        "      {type: ssh, credential: far-ssh, command: show version}]}\n"
        "  - {id: core, category: network, address: 127.0.0.2, checks: [{type: snmp, credential: far}]}\n")
    path = write_config(tmp_path, BASE + "inventory:\n  files: [assets.yaml]\n"
                        "pollers:\n  snmp_credentials: [far]\n  ssh_credentials: [far-ssh]\n")
    out = run_cli("check-config", str(path))
    assert out.returncode == 2
    assert (f"{tmp_path}/assets.yaml:5: assets[1].checks[0].credential: 'far' is held by the site pollers only "
            "(pollers.snmp_credentials), and this asset has no site (asset core, check snmp)") in out.stderr
    assert (f"{tmp_path}/assets.yaml:3: assets[0].checks[0].profiles[1]: unknown profile 'nope' (known: "
            in out.stderr), out.stderr
    assert out.stderr.startswith("opsmon: config error: 2 problems in 1 file:")  # of sw's checks, the profile only
    assert len(out.stderr.strip().splitlines()) == 3, out.stderr
