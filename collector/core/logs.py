"""Logging setup for the collector; the formatters live in opsmon.agent.logfmt so both share them."""
from __future__ import annotations

import logging
import sys

from opsmon.agent.logfmt import JsonFormatter, TextFormatter


def setup(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "alembic", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Missed and skipped runs are counted in /metrics; APScheduler's per-run warnings would flood the log.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
