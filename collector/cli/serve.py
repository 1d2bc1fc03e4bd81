"""`opsmon serve`: run the collector."""
from __future__ import annotations

import argparse
from typing import Any

from opsmon.collector.cli.common import command


def cmd_serve(args: argparse.Namespace) -> int:
    """A bad configuration is refused with the list `opsmon check-config` prints, every problem at once. The
    windows' names are checked by the service itself, after it imported the inventory into the database it
    owns (config/windows.py); they too are listed all at once."""
    from opsmon.collector.cli.check_config import check_all
    from opsmon.collector.config import resolve_config_path
    from opsmon.collector.core import logs
    from opsmon.collector.service.serve import serve

    config = check_all(resolve_config_path(args.config), windows=False).config
    logs.setup(config.logging.level, config.logging.format)
    return serve(config)


def register(sub: Any) -> None:
    command(sub, "serve", cmd_serve, "run the collector: checks, timeline, API and /metrics")
