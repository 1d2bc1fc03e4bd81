"""Prometheus rules and the example Alertmanager config, checked by the real tools.

`promtool check rules` parses every expression; `promtool test rules` runs the unit tests
in rules/tests/ (every alert fires when it should and stays quiet when it should);
`amtool check-config` validates rules/alertmanager.yml.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

RULES = ROOT / "rules"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian packages prometheus and prometheus-alertmanager)")
    return path


def rule_files() -> list[Path]:
    return sorted((RULES / "prometheus").glob("*.yml"))


def test_promtool_check_rules() -> None:
    out = subprocess.run([tool("promtool"), "check", "rules", *map(str, rule_files())], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_unit_tests_pass() -> None:
    tests = sorted((RULES / "tests").glob("*_test.yml"))
    assert tests
    out = subprocess.run([tool("promtool"), "test", "rules", *map(str, tests)], capture_output=True, text=True,
                         timeout=120, cwd=RULES / "tests")
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alert_has_a_unit_test_that_fires_it_and_bilingual_summaries() -> None:
    alerts: set[str] = set()
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts.add(rule["alert"])
                    assert {"summary", "summary_zh"} <= set(rule.get("annotations", {})), rule["alert"]
                    assert re.search(r"[\u4e00-\u9fff]", rule["annotations"]["summary_zh"]), rule["alert"]
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in (RULES / "tests").glob("*_test.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts - fired == set(), "alerts never shown firing"
    assert len(quiet) >= len(alerts) // 2, "too few alerts shown staying quiet"


def test_example_alertmanager_config_is_valid() -> None:
    out = subprocess.run([tool("amtool"), "check-config", str(RULES / "alertmanager.yml")], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
