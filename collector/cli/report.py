"""`opsmon report`: the SLA compliance report for a period, as files."""
from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from opsmon.collector.cli.common import command, load_config, open_store


def cmd_report(args: argparse.Namespace) -> int:
    """The SLA compliance report as files; each printed with its SHA-256 so it can be verified later."""
    from opsmon.collector.outputs.report import build_report, parse_formats, write_report
    from opsmon.collector.sla.periods import containing, parse_period

    formats = parse_formats(args.format)
    config = load_config(args)
    if args.period:
        period = parse_period(args.period, config.timezone)
    else:  # the last complete quarter: the one a scheduled run at the quarter's end produces
        this = containing("quarter", datetime.now(UTC), config.timezone)
        period = containing("quarter", this.start - timedelta(seconds=1), config.timezone)
    data = build_report(open_store(args, config), config, period, args.lang)
    for path, digest in write_report(data, formats, args.out):
        print(f"{digest}  {path}")
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "report", cmd_report,
                 "the SLA compliance report (PDF, HTML, XLSX) for a period, in Chinese or English")
    sp.add_argument("--period", help="2026Q3, 2026-08 or 2026 (default: the last complete quarter)")
    sp.add_argument("--lang", choices=("zh", "en"), default="zh")
    sp.add_argument("--format", default="pdf,html,xlsx", help="comma-separated: pdf, html, xlsx, json")
    sp.add_argument("--out", default=".", help="folder to write the files to (created if needed)")
