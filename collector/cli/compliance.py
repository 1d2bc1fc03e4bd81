"""`opsmon compliance`: graded-protection baseline compliance per host and control point (issue 23)."""
from __future__ import annotations

import argparse
from typing import Any

from opsmon.collector.cli.common import command, lang, lang_option, print_json, print_table, reading
from opsmon.collector.core.errors import NotFound

HEAD = {"zh": ("主机", "条款", "控制点", "通过", "不通过", "符合率"),
        "en": ("host", "clause", "control point", "passed", "failed", "compliance")}
FAILING = {"zh": "  不通过", "en": "  failing"}


def cmd_compliance(args: argparse.Namespace) -> int:
    from opsmon.collector.outputs.compliance import compliance

    config, store = reading(args)
    rows = compliance(store, args.host)
    if args.host is not None and not rows:
        raise NotFound(f"no baseline results for host {args.host!r} (has its agent run the baseline yet?)")
    if args.format == "json":
        print_json(rows, config.timezone)
        return 0
    said = lang(args, config)
    table: list[tuple[str, ...]] = [HEAD[said]]
    for r in rows:
        score = "-" if r["score"] is None else f"{r['score'] * 100:.1f}%"
        table.append((r["asset"], r["clause"], r[said], str(r["passed"]), str(r["failed"]), score))
    print_table(table)
    for r in rows:
        for f in r["failing"] if args.host is not None else ():
            print(f"{FAILING[said]} {r['clause']} {f['check']}: {f[said]} — {f['evidence']}")
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "compliance", cmd_compliance,
                 "baseline compliance per host and graded-protection control point (8.1.4.1 .. 8.1.4.10); with "
                 "--host, its failing checks and their evidence")
    sp.add_argument("--host", help="one host (asset id)")
    lang_option(sp)
    sp.add_argument("--format", choices=("text", "json"), default="text")
