"""The agent's security options through the Ansible role (issue 23): roles/opsmon_agent's agent.toml template,
rendered by Ansible's own template module on this machine (no host, no SSH: seconds, not the site run), is read
by the agent's own config loader with every security key as set."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from opsmon.agent.config import load
from tests.ansible.test_ansible import ANSIBLE, BIN, _env, needs_ansible

TEMPLATE = ANSIBLE / "roles" / "opsmon_agent" / "templates" / "agent.toml.j2"


def render(tmp_path: Path, *cases: dict[str, object]) -> list[Path]:
    """The template once per case: the role's defaults overridden by the case (as inventory variables would be),
    all in one ansible-playbook run on localhost (each run costs seconds of start-up)."""
    defaults = yaml.safe_load((ANSIBLE / "roles" / "opsmon_agent" / "defaults" / "main.yml").read_text())
    common = {k: v for k, v in defaults.items() if "{{" not in str(v)}  # the templated ones are given here
    common |= {"opsmon_agent_collector_url": "https://collector.example:8470",
               "opsmon_agent_token_file": str(tmp_path / "agent.token"), "opsmon_agent_spool_dir": str(tmp_path),
               "opsmon_agent_config_dir": str(tmp_path), "opsmon_agent_ca_file": ""}
    outs = [tmp_path / f"agent-{i}.toml" for i in range(len(cases))]
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {**common, "ansible_python_interpreter": sys.executable},
             "tasks": [{"name": f"case {i}", "ansible.builtin.template": {"src": str(TEMPLATE), "dest": str(out),
                                                                        "mode": "0600"}, "vars": case}
                       for i, (case, out) in enumerate(zip(cases, outs, strict=True))]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(tmp_path / "play.yml")],
                          env=_env(), capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "agent.token").write_text("opsmon_agent_x\n")
    os.chmod(tmp_path / "agent.token", 0o600)
    return outs


@needs_ansible
def test_security_options_reach_the_agent(tmp_path: Path) -> None:
    """Every key set through the role, read back by the agent: durations in seconds (90s, 2h, 10m -> 90, 7200,
    600), the FIM list as given, the threshold, and the policy's parameters as [baseline_params]. Nothing set:
    the agent's own defaults (docs/baseline.md), FIM paths included; [] turns FIM off."""
    from opsmon.agent.baseline.fim import DEFAULT_PATHS

    custom, default, no_fim = (load(p) for p in render(tmp_path, {
        "opsmon_agent_baseline": True, "opsmon_agent_baseline_interval": "2h",
        "opsmon_agent_baseline_policy": "opsmon-debian",
        "opsmon_agent_baseline_params": {"minlen": 12, "allowed_ports": [22, 443]},
        "opsmon_agent_fim_paths": ["/etc/passwd", "/etc/sudoers.d"], "opsmon_agent_fim_interval": "10m",
        "opsmon_agent_auth_log": "/var/log/secure", "opsmon_agent_bruteforce_threshold": 6,
        "opsmon_agent_bruteforce_window": "90s"}, {}, {"opsmon_agent_fim_paths": []}))
    assert (custom.baseline, custom.baseline_interval, custom.baseline_policy) == (True, 7200.0, "opsmon-debian")
    assert custom.baseline_params == {"minlen": 12, "allowed_ports": [22, 443]}
    assert (custom.fim_paths, custom.fim_interval) == (("/etc/passwd", "/etc/sudoers.d"), 600.0)
    assert (custom.auth_log, custom.bruteforce_threshold, custom.bruteforce_window) == ("/var/log/secure", 6, 90.0)
    assert (default.baseline, default.baseline_interval, default.baseline_policy, default.baseline_params) == (
        True, 3600.0, "", {})
    assert (default.fim_paths, default.auth_log, default.bruteforce_threshold, default.bruteforce_window) == (
        DEFAULT_PATHS, "auto", 20, 300.0)
    assert no_fim.fim_paths == ()
