"""The `opsmon` command, one module per command (serve, check_config, status, assets, history, sla, report,
agents, tokens, events, incidents, configs, audit); main.py assembles the parser. Entry point:
`opsmon.collector.cli:main`.
"""
from opsmon.collector.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
