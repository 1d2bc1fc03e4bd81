"""poller.toml's [traps] (inputs/poller/traps.py): off unless asked for, errors naming the file and key, secrets read
from the poller's own environment and never shown."""
from __future__ import annotations

from pathlib import Path

import pytest

from opsmon.agent.errors import ConfigError
from opsmon.collector.inputs.poller.traps import load_settings, trap_sources

HEAD = 'collector_url = "http://127.0.0.1:8470"\ntoken = "opsmon_agent_x"\n'
V2 = '[traps.credentials.v2]\nversion = "2c"\ncommunity_env = "POLLER_TRAP_TEST_COMMUNITY"\n'


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "poller.toml"
    path.write_text(HEAD + text)
    path.chmod(0o600)
    return str(path)


def test_traps_are_off_unless_enabled(tmp_path: Path) -> None:
    assert load_settings(_file(tmp_path, "")) is None
    assert load_settings(_file(tmp_path, "[traps]\nport = 1162\n" + V2)) is None


def test_errors_name_the_file_the_key_and_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLLER_TRAP_TEST_COMMUNITY", raising=False)
    cases = [("[traps]\nenabled = true\nprot = 1162\n" + V2, "traps.prot", "Extra inputs are not permitted"),
             ("[traps]\nenabled = true\n", "traps", "enabled needs credentials"),
             ("[traps]\nenabled = true\nport = 70000\n" + V2, "traps.port", "less than or equal to 65535"),
             ('[traps]\nenabled = true\nengine_ids = {sw-2 = "80zz"}\n' + V2, "traps", "engine_ids.sw-2: not hex"),
             ("[traps]\nenabled = true\n" + V2, "traps.credentials.v2.community_env",
              "environment variable POLLER_TRAP_TEST_COMMUNITY is not set")]
    for text, key, reason in cases:
        path = _file(tmp_path, text)
        with pytest.raises(ConfigError) as caught:
            load_settings(path)
        assert (caught.value.file, caught.value.key) == (path, key), text
        assert reason in caught.value.reason, (text, caught.value.reason)


def test_the_secret_comes_from_the_pollers_environment_and_is_never_shown(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLER_TRAP_TEST_COMMUNITY", "s3cret-community")
    found = load_settings(_file(tmp_path, '[traps]\nenabled = true\nhost = "127.0.0.1"\n' + V2))
    assert found is not None
    settings, creds = found
    assert (settings.host, settings.port, settings.rate, settings.burst) == ("127.0.0.1", 162, 50.0, 200)
    assert creds["v2"].secret("community") == "s3cret-community"
    assert "s3cret" not in repr(settings) + repr(creds)


def test_the_shares_sources_by_address() -> None:
    """The first asset at an address keeps it (the share lists SNMP-polled devices first, then by id); odd entries
    are skipped."""
    share = {"sources": [{"asset": "sw-1", "address": "10.7.0.3"}, {"asset": "sw-1b", "address": "10.7.0.3"},
                         {"asset": "sw-2", "address": "10.7.0.4"}, {"asset": 5, "address": "10.7.0.5"}, "x"]}
    assert trap_sources(share) == {"10.7.0.3": "sw-1", "10.7.0.4": "sw-2"}
    assert trap_sources({"checks": []}) == {}  # a share.json kept from before sources: nothing yet


def test_the_share_lists_the_sites_assets_polled_devices_first() -> None:
    """a-pc and z-sw share 10.7.0.3: z-sw, SNMP-polled, comes first though its id sorts last (the centre's rule);
    yutian's gw is not hotan's; an asset without an address sends no traps to claim."""
    from opsmon.collector.config.inventory import AssetSpec
    from opsmon.collector.inputs.poller.share import share_document

    specs = [AssetSpec.model_validate(doc) for doc in (
        {"id": "a-pc", "category": "server", "site": "hotan", "address": "10.7.0.3"},
        {"id": "z-sw", "category": "network", "site": "hotan", "address": "10.7.0.3",
         "checks": [{"type": "snmp", "credential": "v2"}]},
        {"id": "ups", "category": "peripheral", "site": "hotan"},
        {"id": "gw", "category": "network", "site": "yutian", "address": "10.8.0.1"})]
    share = share_document("p-hotan", "hotan", 60, [], assets=specs).model_dump()
    assert share["sources"] == [{"asset": "z-sw", "address": "10.7.0.3"}, {"asset": "a-pc", "address": "10.7.0.3"}]
    assert trap_sources(share) == {"10.7.0.3": "z-sw"}
