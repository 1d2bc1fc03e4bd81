"""Which collector.yaml `opsmon` uses (issue 20 item 3): --config, then $OPSMON_CONFIG, then
/etc/opsmon/collector.yaml when it exists; the bundled demo only with --demo or for `opsmon serve` (how
`make run` starts it). Any other command without a configuration stops, naming where it looked, and writes no
demo database. And in an agent-only install `opsmon` says what is missing instead of a traceback."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from opsmon.collector.config import DEMO_CONFIG, resolve_config_path
from opsmon.collector.core.errors import ConfigError
from tests.agent.old_pythons import interpreter, prepared, requirements
from tests.conftest import ROOT, run_cli
from tests.peers import missing_peer


def test_order_of_the_config_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = tmp_path / "etc-collector.yaml"
    monkeypatch.delenv("OPSMON_CONFIG", raising=False)
    with pytest.raises(ConfigError) as err:  # nothing anywhere: refused, naming where it looked
        resolve_config_path(None, system=str(system))
    assert err.value.file == str(system) and "--demo" in err.value.reason and "$OPSMON_CONFIG" in err.value.reason
    assert resolve_config_path(None, demo=True, system=str(system)) == DEMO_CONFIG
    system.write_text("timezone: UTC\n")
    assert resolve_config_path(None, demo=True, system=str(system)) == str(system)  # it exists: it wins
    monkeypatch.setenv("OPSMON_CONFIG", "/srv/env.yaml")
    assert resolve_config_path(None, system=str(system)) == "/srv/env.yaml"
    assert resolve_config_path("/srv/cli.yaml", system=str(system)) == "/srv/cli.yaml"


def test_a_command_without_config_writes_no_demo_database(tmp_path: Path) -> None:
    """Before issue 20, `opsmon status` here created and migrated ~/.local/state/opsmon/demo.db."""
    if Path("/etc/opsmon/collector.yaml").exists():
        pytest.skip("this machine has /etc/opsmon/collector.yaml, which the CLI would use")
    env = {k: v for k, v in os.environ.items() if k != "OPSMON_CONFIG"} | {"HOME": str(tmp_path)}
    proc = run_cli("status", env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("opsmon: config error: /etc/opsmon/collector.yaml: not found")
    assert "--demo" in proc.stderr
    assert not (tmp_path / ".local").exists()
    demo = run_cli("--demo", "check-config", env=env)  # the demo, asked for, reads (check-config writes nothing)
    assert demo.returncode == 0 and DEMO_CONFIG in demo.stdout, demo.stderr
    assert run_cli("--demo", "--config", "x.yaml", "status", env=env).returncode == 2  # one or the other


def test_agent_only_install_gets_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    """A real agent-only install (the agent venv of Python 3.11 that `make old-pythons` made: psutil and
    prometheus-client, nothing of the collector's), with the collector's code beside it as `pip install
    opsmon[agent]` puts it: `opsmon status` names the missing package and the extra to install."""
    python = interpreter("3.11")
    venv = prepared(python, requirements("3.11")) if python else None
    if venv is None:
        missing_peer("no agent-only venv of Python 3.11 (make old-pythons)")
    (tmp_path / "opsmon").mkdir()
    (tmp_path / "opsmon" / "collector").symlink_to(ROOT / "collector")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "from opsmon.collector.cli import main; raise SystemExit(main(['status']))"],
                          capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "agent-only install" in proc.stderr and "pip install 'opsmon[collector]'" in proc.stderr
