"""`opsmon-agent --config /etc/opsmon/agent.toml`: run the host agent until SIGTERM/SIGINT.

Exit codes: 0 stopped cleanly, 2 bad configuration.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from opsmon.agent import __version__


def _serve_metrics(agent: Any, port: int) -> None:
    """A local /metrics for an existing Prometheus; loopback only, so it never faces the network."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.registry import Collector

    from opsmon.agent.exposition import families

    class Local(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            return families(agent.last_metrics, {})

    registry = CollectorRegistry()
    registry.register(Local())
    start_http_server(port, addr="127.0.0.1", registry=registry)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsmon-agent", description="opsmon host agent")
    parser.add_argument("--version", action="version", version=f"opsmon-agent {__version__}")
    parser.add_argument("--config", default="/etc/opsmon/agent.toml",
                        help="agent.toml; the token is read from it (or its token_file), never the command line")
    parser.add_argument("--once", action="store_true", help="collect and send one report, then exit")
    args = parser.parse_args(argv)

    from opsmon.agent import config as config_mod
    from opsmon.agent.errors import ConfigError
    from opsmon.agent.runner import Agent

    try:
        cfg = config_mod.load(args.config)
    except ConfigError as exc:
        print(f"opsmon-agent: config error: {exc}", file=sys.stderr)
        return 2
    from opsmon.agent.logfmt import TextFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter())
    logging.basicConfig(level=cfg.log_level, handlers=[handler])
    agent = Agent(cfg)
    if args.once:
        agent.cycle()
        return 0
    if cfg.metrics_port:
        _serve_metrics(agent, cfg.metrics_port)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: agent.stop.set())
    logging.getLogger("opsmon.agent").info("agent started", extra={"collector": cfg.collector_url,
                                                                     "interval": cfg.interval})
    agent.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
