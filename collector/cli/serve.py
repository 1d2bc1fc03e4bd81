"""`opsmon serve`: run the collector."""
from __future__ import annotations

import argparse
from typing import Any

from opsmon.collector.cli.common import command, config_path


def cmd_serve(args: argparse.Namespace) -> int:
    """A bad configuration is refused with the list `opsmon check-config` prints, every problem at once. The
    windows' names are checked by the service itself, after it imported the inventory into the database it
    owns (config/windows.py); they too are listed all at once."""
    import sys

    from opsmon.collector.cli.check_config import check_all
    from opsmon.collector.config import DEMO_CONFIG
    from opsmon.collector.core import logs
    from opsmon.collector.service.serve import serve

    path = config_path(args, demo=True)  # with no config found, serve is the demo: how `make run` starts it
    if path == DEMO_CONFIG:
        print("opsmon: no --config, $OPSMON_CONFIG or /etc/opsmon/collector.yaml: running the bundled demo "
              "(its database is ~/.local/state/opsmon/demo.db) / 未指定配置：运行内置演示", file=sys.stderr)
    config = check_all(path, windows=False).config
    logs.setup(config.logging.level, config.logging.format)
    return serve(config)


def register(sub: Any) -> None:
    command(sub, "serve", cmd_serve, "run the collector: checks, timeline, API and /metrics")
