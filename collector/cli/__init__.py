"""The `opsmon` command, one module per command (serve, check_config, status, assets, history, sla, report,
agents, tokens, events, incidents, configs, audit...); parser.py assembles the parser and imports a command's
module only when it is chosen. Entry point: `opsmon.collector.cli:main` (no submodule is named `main`, so
`opsmon.collector.cli.main` is always this function).

This module imports nothing beyond the standard library until main() runs, so that an install without the
collector's dependencies (`pip install opsmon[agent]` on a host) gets one clear sentence, not a traceback.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

# The extra that brings a module the CLI may need; anything else missing is the collector's.
EXTRAS = {"weasyprint": "report", "matplotlib": "report", "openpyxl": "report", "psycopg": "postgres"}


def missing_dependency(exc: ModuleNotFoundError) -> str | None:
    """The message for a dependency missing from this install, or None when the missing module is opsmon's own
    (a broken install or a bug: the traceback then says more)."""
    top = (exc.name or "").split(".")[0]
    if not top or top == "opsmon":
        return None
    extra = EXTRAS.get(top, "collector")
    what = "this looks like an agent-only install (the host agent is `opsmon-agent`); " if extra == "collector" \
        else ""
    return (f"opsmon: the Python package {top!r} is not installed: {what}install the collector with "
            f"pip install 'opsmon[{extra}]' / 缺少 Python 包 {top}：请安装 opsmon[{extra}]")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from opsmon.collector.cli.parser import run

        return run(argv)
    except ModuleNotFoundError as exc:
        message = missing_dependency(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 1


def build_parser(argv: Sequence[str] | None = None) -> Any:
    from opsmon.collector.cli.parser import build_parser as build

    return build(argv)


__all__ = ["build_parser", "main"]
