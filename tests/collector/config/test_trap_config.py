"""The trap receiver's settings (snmp.traps): defaults, and bad values named by file, line and key."""
from __future__ import annotations

from pathlib import Path

import pytest

from opsmon.collector.config.load import load_config
from opsmon.collector.config.schema import TrapConfig
from opsmon.collector.core.errors import ConfigError
from tests.conftest import write_config

BASE = "database:\n  path: x.db\nsnmp:\n  credentials:\n    v2: {version: '2c', community: c}\n  traps:\n"


def test_defaults_bound_a_storm() -> None:
    """Without settings a source gets 50 traps/s (burst 200), a repeated trap is grouped for 60 s, details are
    capped at 4 KB and 50 varbinds, and traps from unknown addresses are counted, not stored."""
    t = TrapConfig()
    assert (t.rate, t.burst, t.storm_window, t.max_detail_bytes, t.max_varbinds, t.store_unknown,
            t.refused_sources) == (50.0, 200, 60.0, 4096, 50, False, 100)


@pytest.mark.parametrize(("traps", "key", "line", "reason"), [
    ("    rate: 0\n", "snmp.traps.rate", 7, "greater than 0"),
    ("    burst: 0\n", "snmp.traps.burst", 7, "greater than or equal to 1"),
    ("    storm_window: soon\n", "snmp.traps.storm_window", 7, ""),
    ("    max_detail_bytes: 100\n", "snmp.traps.max_detail_bytes", 7, "greater than or equal to 512"),
    ("    max_varbinds: 0\n", "snmp.traps.max_varbinds", 7, "greater than or equal to 1"),
    ("    store_unknown: perhaps\n", "snmp.traps.store_unknown", 7, "bool"),
    ("    refused_sources: -1\n", "snmp.traps.refused_sources", 7, "greater than or equal to 0"),
    ("    rate_per_source: 5\n", "snmp.traps.rate_per_source", 7, "unknown key"),
])
def test_bad_trap_settings_name_file_line_and_key(tmp_path: Path, traps: str, key: str, line: int,
                                                   reason: str) -> None:
    path = write_config(tmp_path, BASE + traps)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert f"{path}:{line}" in message and key in message and reason.lower() in message.lower(), message
