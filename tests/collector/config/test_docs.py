"""Documentation generated from code stays in sync with it."""
from __future__ import annotations

from opsmon.collector.config.docs import render
from tests.conftest import ROOT


def test_config_reference_matches_the_schema() -> None:
    """docs/config.md is generated: regenerate with `python -m opsmon.collector.config.docs > docs/config.md`."""
    assert (ROOT / "docs" / "config.md").read_text(encoding="utf-8") == render()


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick and "make test" in quick
