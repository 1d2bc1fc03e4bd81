"""The hj212: section and the DAUs of the inventory: bad settings are errors naming the file, key and reason."""
from __future__ import annotations

from pathlib import Path

import pytest

from opsmon.collector.config import load_config
from opsmon.collector.config.inventory import parse_inventory
from opsmon.collector.core.errors import ConfigError
from tests.conftest import write_config

DAU = "{id: %s, category: %s, checks: [{type: hj212, mn: %s, credential: a, enterprise: E}]}"


def test_missing_password_env_names_the_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "database: {path: x.db}\nhj212:\n  enabled: true\n"
                                  "  credentials: {a: {password_env: OPSMON_TEST_NO_SUCH_VAR}}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, secrets=True)
    assert err.value.keypath == "hj212.credentials.a.password_env" and "not set" in err.value.reason


@pytest.mark.parametrize("body, reason", [
    ("hj212: {port: 0}", "greater than or equal to 1"),
    ("hj212: {stale_after: 0s}", "longer than 0s"),
    ("hj212: {timezone: Mars/Olympus}", "IANA"),
    ("hj212: {credentials: {a: {}}}", "needs password"),
])
def test_bad_settings(tmp_path: Path, body: str, reason: str) -> None:
    path = write_config(tmp_path, "database: {path: x.db}\n" + body + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert reason in err.value.reason and err.value.keypath.startswith("hj212")


@pytest.mark.parametrize("assets, reason", [
    ([DAU % ("d1", "server", "MN1")], "give the asset category dau"),
    ([DAU % ("d1", "dau", "MN1"), DAU % ("d2", "dau", "MN1")], "already used by asset 'd1'"),
    (["{id: d1, category: dau, checks: [{type: hj212, mn: 'A;B', credential: a, enterprise: E}]}"], "pattern"),
])
def test_bad_daus(tmp_path: Path, assets: list[str], reason: str) -> None:
    path = tmp_path / "assets.yaml"
    path.write_text("assets:\n" + "".join(f"  - {a}\n" for a in assets))
    with pytest.raises(ConfigError) as err:
        parse_inventory(str(path))
    assert reason in err.value.reason, err.value
