"""`opsmon report`: the SLA compliance report for a period, as files."""
from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from opsmon.collector.cli.common import command, lang, lang_option, load_config, open_store


def cmd_report(args: argparse.Namespace) -> int:
    """The SLA compliance report (or, --kind hj212, the semi-monthly HJ 212 statistical analysis report) as
    files; each printed with its SHA-256 so it can be verified later."""
    from opsmon.collector.outputs.report import build_report, parse_formats, write_report
    from opsmon.collector.outputs.report.hj212_model import build_hj212_report
    from opsmon.collector.sla.periods import containing, parse_period

    formats = parse_formats(args.format)
    config = load_config(args)
    if args.period:
        period = parse_period(args.period, config.timezone)
    else:  # the last complete quarter (half-month): the one a scheduled run at its end produces
        kind = "half" if args.kind == "hj212" else "quarter"
        this = containing(kind, datetime.now(UTC), config.timezone)
        period = containing(kind, this.start - timedelta(seconds=1), config.timezone)
    store = open_store(args, config)
    data = (build_hj212_report(store, config, period, lang(args, config)) if args.kind == "hj212"
            else build_report(store, config, period, lang(args, config)))
    for path, digest in write_report(data, formats, args.out):
        print(f"{digest}  {path}")
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "report", cmd_report,
                 "the SLA compliance report (PDF, HTML, XLSX, DOCX), or the semi-monthly HJ 212 analysis report")
    sp.add_argument("--kind", choices=("sla", "hj212"), default="sla",
                    help="sla (compliance, default) or hj212 (污染源自动监控数据统计分析报告, per half-month)")
    sp.add_argument("--period", help="2026Q3, 2026-08, 2026 or 2026-11-H1 (default: the last complete quarter; "
                                     "with --kind hj212 the last complete half-month)")
    lang_option(sp)
    sp.add_argument("--format", default="pdf,html,xlsx",
                    help="comma-separated: pdf, html, xlsx, docx (the SLA report, editable in WPS or Word), json")
    sp.add_argument("--out", default=".", help="folder to write the files to (created if needed)")
