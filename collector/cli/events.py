"""`opsmon events`: what devices reported (SNMP traps and the like)."""
from __future__ import annotations

import argparse
from typing import Any

from opsmon.collector.cli.common import (
    asset_names,
    command,
    named,
    print_json,
    reading,
    time_arg,
    when,
    zone,
)


def cmd_events(args: argparse.Namespace) -> int:
    from opsmon.collector.store.events import read_events

    since, until = time_arg(args.from_, "from"), time_arg(args.to, "to")  # refused before the store is opened
    config, store = reading(args)
    tz = zone(args, config)
    names = asset_names(store)
    rows = read_events(store, args.asset, since, until, None, args.name, args.limit)
    if args.format == "json":
        print_json(rows, tz)
        return 0
    for e in reversed(rows):
        print(f"{when(e['ts'], tz)} {named(e['asset'], names)} {e['source']} {e['kind']} {e['name']} {e['severity']} "
              f"{e['summary']}")
    return 0


def register(sub: Any) -> None:
    sp = command(sub, "events", cmd_events, "events devices reported (SNMP traps), oldest of the newest --limit first")
    sp.add_argument("--asset")
    sp.add_argument("--name", help="e.g. linkDown, coldStart, authenticationFailure")
    sp.add_argument("--from", dest="from_", help="ISO 8601 with offset")
    sp.add_argument("--to", help="ISO 8601 with offset")
    sp.add_argument("--limit", type=int, default=100)
    sp.add_argument("--format", choices=("text", "json"), default="text")
