"""`metrics_port` and `metrics_address` in poller.toml (issue 22's leftovers, item 3), in process: `opsmon poller`'s
start refuses a wrong port or a taken address naming the poller's file and keys, and says where its page listens
(metrics_address), not the agent's "127.0.0.1 only"; agent.toml's own error stays true for the agent.
"""
from __future__ import annotations

import argparse
import socket
from pathlib import Path

import pytest

from opsmon.agent.errors import ConfigError

HEAD = 'collector_url = "http://127.0.0.1:8470"\ntoken = "opsmon_agent_x"\n'


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(HEAD + text)
    path.chmod(0o600)
    return str(path)


def _poller(toml: str, yaml: str) -> int:
    from opsmon.collector.cli.poller import cmd_poller

    return cmd_poller(argparse.Namespace(file=toml, credentials=yaml, max_concurrency=1))


def test_metrics_port_errors_name_the_pollers_file_keys_and_address(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`opsmon poller` stops at start (exit 2), saying on stderr:
    - metrics_port = 70000: the key, and that the page listens on metrics_address (the agent's text said "binds
      127.0.0.1 only", untrue for a poller with metrics_address = "10.65.1.20"); agent.toml's own text is kept true;
    - a port another socket listens on: the file, both keys, the address and port (before: `metrics_port 9469:
      [Errno 98] ...`, naming neither the file nor metrics_address)."""
    from opsmon.agent.config import load

    spool, yaml = f'spool_dir = "{tmp_path / "spool"}"\n', str(tmp_path / "poller-credentials.yaml")
    toml = _file(tmp_path, "poller.toml", spool + 'metrics_port = 70000\nmetrics_address = "10.65.1.20"\n')
    assert _poller(toml, yaml) == 2
    assert capsys.readouterr().err == (
        f"opsmon poller: config error: {toml}: metrics_port: expected a port number, 1 to 65535 (the SNMP devices' "
        f"/metrics of opsmon poller, on metrics_address, default 127.0.0.1)\n")
    agent = _file(tmp_path, "agent.toml", "metrics_port = 0\n")
    with pytest.raises(ConfigError, match=r"metrics_port: expected a port number, 1 to 65535 \(the agent's "
                                          r"/metrics, on 127.0.0.1 only\)$"):
        load(agent)

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        toml = _file(tmp_path, "poller.toml", spool + f"metrics_port = {port}\n")
        assert _poller(toml, yaml) == 2
    assert capsys.readouterr().err == (f"opsmon poller: config error: {toml}: metrics_address, metrics_port: cannot "
                                       f"listen on 127.0.0.1:{port}: Address already in use\n")
