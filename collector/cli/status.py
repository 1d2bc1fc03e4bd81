"""`opsmon status`: the current state of every asset."""
from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.cli.common import command, lang, print_table, reading, when, zone


def cmd_status(args: argparse.Namespace) -> int:
    from opsmon.collector.core.durations import say_duration
    from opsmon.collector.store.assets import asset_lines
    from opsmon.collector.store.history import current_states, last_heartbeat

    config, store = reading(args)
    tz, said = zone(args, config), lang(args, config)
    states = current_states(store)
    now = datetime.now(UTC)
    beat = last_heartbeat(store)
    if beat is not None and (now - beat).total_seconds() > 60:
        print(f"collector not running since {when(beat, tz)} (its last heartbeat): "
              "states below are as it left them\n")
        now = beat
    table = [("ASSET", "NAME", "CATEGORY", "SITE", "STATE", "FOR", "REASON")]
    for row in asset_lines(store):
        span = states.get(row.id)
        if span is None:
            table.append((row.id, row.name or "-", row.category, row.site or "-", "-", "-", "not tracked yet"))
            continue
        table.append((row.id, row.name or "-", row.category, row.site or "-", span.state,
                      say_duration(max(0.0, (now - span.start).total_seconds()), said), span.reason[:70]))
    print_table(table)
    return 0


def register(sub: Any) -> None:
    command(sub, "status", cmd_status, "current state of every asset")
