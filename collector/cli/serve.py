"""`opsmon serve`: run the collector."""
from __future__ import annotations

import argparse
from typing import Any

from opsmon.collector.cli.common import command, load_config


def cmd_serve(args: argparse.Namespace) -> int:
    from opsmon.collector.core import logs
    from opsmon.collector.service.serve import serve

    config = load_config(args)
    logs.setup(config.logging.level, config.logging.format)
    return serve(config)


def register(sub: Any) -> None:
    command(sub, "serve", cmd_serve, "run the collector: checks, timeline, API and /metrics")
