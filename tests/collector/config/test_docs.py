"""Documentation generated from code stays in sync with it."""
from __future__ import annotations

from opsmon.collector.config.docs import render, render_inventory
from tests.conftest import ROOT


def test_config_reference_matches_the_schema() -> None:
    """docs/config.md is generated: regenerate with `python -m opsmon.collector.config.docs > docs/config.md`."""
    assert (ROOT / "docs" / "config.md").read_text(encoding="utf-8") == render()


def test_inventory_reference_matches_the_models() -> None:
    """docs/inventory.md is generated from AssetSpec and the check specs: regenerate with
    `python -m opsmon.collector.config.docs inventory > docs/inventory.md`. Every check type has its section."""
    text = (ROOT / "docs" / "inventory.md").read_text(encoding="utf-8")
    assert text == render_inventory()
    types = ("icmp", "tcp", "http", "snmp", "snmp_interface", "ssh", "ssh_config", "hj212", "presence")
    sections = [line.removeprefix("### type: ") for line in text.splitlines() if line.startswith("### type: ")]
    assert sections == list(types)


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick and "make test" in quick
