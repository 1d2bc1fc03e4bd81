"""A first day without traps (issue 21, item 7): what a new operator meets in the CLI, each through a real
`opsmon` process.

- Read-only commands read no secret: they run with an empty environment although collector.yaml names
  SNMP, SSH and HJ 212 secrets by environment variable; `check-config`, which reads them, names the first
  variable that is missing.
- `sla set-value` refuses a value outside its target's range, naming the range and the unit, and an unknown
  target lists the ids that are valid there.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

from sqlalchemy import select

from opsmon.collector.store import open_store
from opsmon.collector.store.models import TargetValue
from tests.conftest import run_cli, write_config
from tests.peers.snmp import COMMUNITY, Snmpd

SECRETS = """\
snmp:
  credentials:
    v2: {{version: '2c', community_env: OPSMON_FIRST_DAY_COMMUNITY}}
    v3: {{version: '3', user: ops, auth_protocol: SHA, auth_key_env: OPSMON_FIRST_DAY_AUTH,
         priv_protocol: AES, priv_key_env: OPSMON_FIRST_DAY_PRIV}}
ssh:
  credentials:
    sw: {{user: ops, password_env: OPSMON_FIRST_DAY_SSH}}
hj212:
  enabled: true
  credentials: {{a: {{password_env: OPSMON_FIRST_DAY_HJ212}}}}
"""
READ_ONLY = (("status",), ("sla",), ("sla", "--format", "json"), ("incidents", "list"), ("assets", "list"),
             ("audit",), ("maintenance", "list"), ("hj212", "rates"), ("events",), ("agents", "list"))


def free_tcp_port() -> int:
    """A loopback port nothing listens on once this returns."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path) -> Path:
    return write_config(tmp_path, f"timezone: Asia/Shanghai\ndatabase:\n  path: {tmp_path / 'opsmon.db'}\n"
                        + SECRETS.format())


def test_read_only_commands_need_no_secrets_and_check_config_names_the_missing_one(tmp_path: Path) -> None:
    """An empty environment (no variable at all: not one of the five secrets, no HOME, no OPSMON_*): each
    read-only command exits 0. check-config, which reads every secret, exits 2 naming the file, the key and the
    variable; with the five set it passes."""
    path = _config(tmp_path)
    for command in READ_ONLY:
        res = run_cli("--config", str(path), *command, env={})
        assert res.returncode == 0, (command, res.stderr)
        assert "OPSMON_FIRST_DAY" not in res.stderr, (command, res.stderr)
    res = run_cli("--config", str(path), "check-config", env={})
    assert res.returncode == 2, res.stderr
    assert str(path) in res.stderr and "snmp.credentials.v2.community_env" in res.stderr
    assert "environment variable OPSMON_FIRST_DAY_COMMUNITY is not set" in res.stderr
    assert "hj212.credentials.a.password_env" in res.stderr  # every problem at once
    assert "ssh.credentials.sw.password_env: environment variable OPSMON_FIRST_DAY_SSH is not set" in res.stderr
    env = {"PATH": os.environ.get("PATH", ""), "OPSMON_FIRST_DAY_COMMUNITY": "community-1",
           "OPSMON_FIRST_DAY_AUTH": "auth-key-12", "OPSMON_FIRST_DAY_PRIV": "priv-key-12",
           "OPSMON_FIRST_DAY_SSH": "ssh-pass-1", "OPSMON_FIRST_DAY_HJ212": "hj212-pass"}
    res = run_cli("--config", str(path), "check-config", env=env)
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr


def test_set_value_refuses_a_percentage_for_a_ratio_and_lists_valid_ids(tmp_path: Path) -> None:
    """self_monitoring_publication_rate is a manual ratio target (threshold 0.95): 92.5 is 9,250 %, refused
    (exit 2) naming 0..1, the unit and how to write 92.5 %; 1.0 and 0 are the edges, accepted; -0.1 refused. An
    unknown id and a measured target (servers_ok) list the ids set-value takes: the manual and hj212_rate
    targets of the bundled table (data_transmission_effective_rate, self_monitoring_publication_rate)."""
    path = _config(tmp_path)
    evidence = tmp_path / "survey.pdf"
    evidence.write_bytes(b"%PDF survey")
    base = ("--config", str(path), "sla", "set-value")
    pub = "self_monitoring_publication_rate"
    res = run_cli(*base, pub, "92.5", "--period", "2026Q3", "--evidence", str(evidence), env={})
    assert res.returncode == 2
    assert "92.5 is outside self_monitoring_publication_rate's range 0..1 (unit: ratio)" in res.stderr, res.stderr
    assert "write 0.925 for 92.5 %" in res.stderr and "超出" in res.stderr
    res = run_cli(*base, pub, "-0.1", "--period", "2026Q3", "--evidence", str(evidence), env={})
    assert res.returncode == 2 and "range 0..1" in res.stderr, res.stderr
    for edge in ("1.0", "0"):
        res = run_cli(*base, pub, edge, "--period", "2026Q3", "--evidence", str(evidence), env={})
        assert res.returncode == 0, res.stderr
    valid = "(valid: data_transmission_effective_rate, self_monitoring_publication_rate)"
    for wrong in ("self_monitoring_publication", "servers_ok"):
        res = run_cli(*base, wrong, "0.9", "--period", "2026Q3", "--evidence", str(evidence), env={})
        assert res.returncode == 2 and valid in res.stderr, res.stderr
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    try:
        with store.session() as s:
            values = sorted(r.value for r in s.scalars(select(TargetValue)))
    finally:
        store.close()
    assert values == [0.0, 1.0]  # only the two accepted edges
    # Other unknown ids list the valid ones too: the assets (none yet: nothing imported) and the windows.
    res = run_cli("--config", str(path), "assets", "remove", "core-sw", env={})
    assert res.returncode != 0 and "no asset 'core-sw' (there are none)" in res.stderr, res.stderr
    res = run_cli("--config", str(path), "maintenance", "remove", "nightly", env={})
    assert res.returncode != 0 and "no maintenance window 'nightly' (there are none)" in res.stderr, res.stderr


def test_check_config_probe_names_a_mistyped_interface(snmpd: Snmpd, tmp_path: Path) -> None:
    """`check-config --probe` against net-snmp's snmpd on loopback, its community given by environment variable
    (the probe reads secrets). Five checks, one line each: the switch's poll ok, the WAN link on `lo` ok, the
    link on `l0` (a typo) unknown naming the interfaces snmpd has (`lo` first), a TCP check on a port nothing
    listens on down (connection refused), and a poll forced to the UPS profile ok but naming the UPS-MIB OIDs
    snmpd lacks. 3 ok, 2 not ok: exit 1. Nothing is stored (no database)."""
    closed = free_tcp_port()
    (tmp_path / "assets.yaml").write_text(
        "assets:\n"
        f"  - {{id: core-sw, category: network, address: 127.0.0.1, checks: [{{type: snmp, credential: v2, "
        f"port: {snmpd.port}, profiles: [interfaces]}}]}}\n"
        "  - {id: wan-ok, category: link, checks: [{type: snmp_interface, device: core-sw, interface: lo}]}\n"
        "  - {id: wan-typo, category: link, checks: [{type: snmp_interface, device: core-sw, interface: l0}]}\n"
        f"  - {{id: web, category: system, address: 127.0.0.1, checks: [{{type: tcp, port: {closed}}}]}}\n"
        f"  - {{id: not-a-ups, category: peripheral, address: 127.0.0.1, checks: [{{type: snmp, credential: v2, "
        f"port: {snmpd.port}, profiles: [ups]}}]}}\n")
    path = write_config(tmp_path, f"database:\n  path: {tmp_path / 'opsmon.db'}\ninventory:\n  files: [assets.yaml]\n"
                        "snmp:\n  credentials:\n    v2: {version: '2c', community_env: OPSMON_FIRST_DAY_COMMUNITY}\n")
    env = {"PATH": os.environ.get("PATH", ""), "OPSMON_FIRST_DAY_COMMUNITY": COMMUNITY}
    res = run_cli("--config", str(path), "check-config", "--probe", env=env)
    assert res.returncode == 1, res.stderr
    lines = {tuple(line.split(None, 2)[:2]): line.split(None, 2)[2] for line in res.stdout.splitlines()[2:-1]}
    assert lines[("core-sw", "snmp")] == "ok"
    assert lines[("wan-ok", "if:core-sw:lo")] == "ok"
    typo = lines[("wan-typo", "if:core-sw:l0")]
    assert typo.startswith("unknown: interface 'l0' not found on core-sw (valid: lo"), typo
    assert lines[("web", f"tcp:{closed}")] == "down: connection refused"
    ups = lines[("not-a-ups", "snmp")]  # snmpd answers, without UPS-MIB: ok, and the OIDs it lacks
    assert ups.startswith("ok; lacks ") and "upsIdentModel (noSuchObject)" in ups, ups
    assert res.stdout.splitlines()[-1] == "3 ok, 2 not ok"
    assert not (tmp_path / "opsmon.db").exists()
    assert COMMUNITY not in res.stdout + res.stderr
