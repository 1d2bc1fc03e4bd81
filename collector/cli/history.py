"""`opsmon history show|import`: state intervals read back, and past ones loaded."""
from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from opsmon.collector.cli.common import (
    actor,
    command,
    lang,
    open_store,
    print_table,
    reading,
    time_arg,
    when,
    zone,
)
from opsmon.collector.core.errors import InvalidInput, NotFound


def cmd_history(args: argparse.Namespace) -> int:
    from opsmon.collector.core.durations import say_duration
    from opsmon.collector.core.lang import local_iso
    from opsmon.collector.store.history import asset_exists, asset_history, last_heartbeat

    now = datetime.now(UTC)
    end = time_arg(args.to, "to") or now  # the period is refused, if it must be, before the store is opened
    start = time_arg(args.from_, "from") or end - timedelta(days=1)
    if end <= start:
        raise InvalidInput("--to must be after --from")
    config, store = reading(args)
    tz = zone(args, config)
    if not asset_exists(store, args.asset):
        raise NotFound(f"no asset {args.asset!r}")
    beat = last_heartbeat(store)
    # A heartbeat older than three beats means no collector is running now.
    stale = beat is not None and (now - beat).total_seconds() > 3 * config.timeline.heartbeat_interval + 5
    live_until = beat if stale else None
    spans, totals = asset_history(store, args.asset, start, end, now, live_until)
    if args.format == "json":
        print(json.dumps({"asset": args.asset, "from": local_iso(start, tz), "to": local_iso(end, tz),
                          "seconds": totals,
                          "intervals": [{"state": s.state, "start": local_iso(s.start, tz),
                                         "end": local_iso(s.end, tz) if s.end else None, "reason": s.reason}
                                        for s in spans]}, indent=2, ensure_ascii=False))
        return 0
    said = lang(args, config)
    table = [("START", "END", "STATE", "LENGTH", "REASON")]
    for s in spans:
        e = s.end or now
        table.append((when(s.start, tz), when(s.end, tz) if s.end else "(open)",
                      s.state, say_duration((min(e, end) - s.start).total_seconds(), said), s.reason[:60]))
    print_table(table)
    print("totals: " + ", ".join(f"{k} {say_duration(v, said)}" for k, v in totals.items() if v))
    return 0


def cmd_history_import(args: argparse.Namespace) -> int:
    from opsmon.collector.inputs.history_import import import_history

    result = import_history(open_store(args), args.file, actor())
    lives = result["lives"]
    outside = result["states"]["outside_life"]
    note = f" ({outside} reach outside their asset's life: stored, not counted)" if outside else ""
    print(f"states: {result['states']['imported']} imported{note}, {result['states']['unchanged']} unchanged; "
          f"incidents: {result['incidents']['imported']} imported, {result['incidents']['unchanged']} unchanged"
          + (f"; joined/left: {lives['imported']} imported, {lives['unchanged']} unchanged" if any(lives.values())
             else ""))
    return 0


def register(sub: Any) -> None:
    hist = sub.add_parser("history", help="state history").add_subparsers(dest="sub", required=True, metavar="ACTION")
    sp = command(hist, "show", cmd_history, "an asset's state intervals over a time range")
    sp.add_argument("asset")
    sp.add_argument("--from", dest="from_", help="ISO 8601 with offset; default 24 h before --to")
    sp.add_argument("--to", help="ISO 8601 with offset; default now")
    sp.add_argument("--format", choices=("table", "json"), default="table")

    sp = command(hist, "import", cmd_history_import, "load past state intervals and incidents from JSON lines")
    sp.add_argument("file")
