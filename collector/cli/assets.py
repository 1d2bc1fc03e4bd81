"""`opsmon assets import|list|remove`: the inventory."""
from __future__ import annotations

import argparse
from typing import Any

from opsmon.collector.cli.common import (
    actor,
    command,
    load_config,
    open_store,
    print_json,
    print_table,
    reading,
    time_arg,
    zone,
)


def cmd_assets_import(args: argparse.Namespace) -> int:
    from opsmon.collector.config.inventory import import_file, parse_inventory

    parse_inventory(args.file)  # validate before touching the database
    result = import_file(open_store(args), args.file, actor())
    print(", ".join(f"{len(v)} {k}" for k, v in result.items()))
    return 0


def cmd_assets_list(args: argparse.Namespace) -> int:
    from opsmon.collector.store.assets import list_assets
    from opsmon.collector.store.history import current_states

    config, store = reading(args)
    rows = list_assets(store, args.all)
    states = current_states(store)
    if args.format == "json":
        from opsmon.collector.config.inventory import asset_document  # the spec's models: JSON only

        docs = []
        for row in rows:
            doc = asset_document(row)
            span = states.get(row.id)
            doc["state"] = span.state if span else None
            docs.append(doc)
        print_json(docs, zone(args, config))
        return 0
    table = [("ID", "NAME", "CATEGORY", "SITE", "ADDRESS", "PARENT", "CHECKS", "STATE")]
    for row in rows:
        span = states.get(row.id)
        table.append((row.id + (" (removed)" if row.removed_at else ""), row.name or "-", row.category, row.site or "-",
                      row.address or "-", row.parent_id or "-", str(len(row.checks or [])),
                      span.state if span else "-"))
    print_table(table)
    return 0


def cmd_assets_remove(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from opsmon.collector.config.inventory import remove_asset

    config = load_config(args)
    at = time_arg(args.at, "at")
    remove_asset(open_store(args, config), args.id, actor(), at=at)
    when = ""
    if at is not None:
        try:
            when = f" as of {at.astimezone(ZoneInfo(config.timezone)).isoformat()}"
        except OverflowError:  # year 1 west of UTC: shown in UTC
            when = f" as of {at.isoformat()}"
    print(f"removed {args.id}{when} (its history is kept)")
    return 0


def register(sub: Any) -> None:
    assets = sub.add_parser("assets", help="inventory").add_subparsers(dest="sub", required=True, metavar="ACTION")
    sp = command(assets, "import", cmd_assets_import, "create or update the assets in a YAML file (idempotent)")
    sp.add_argument("file")
    sp = command(assets, "list", cmd_assets_list, "list assets")
    sp.add_argument("--all", action="store_true", help="include removed assets")
    sp.add_argument("--format", choices=("table", "json"), default="table")
    sp = command(assets, "remove", cmd_assets_remove, "stop monitoring an asset; its history is kept")
    sp.add_argument("id")
    sp.add_argument("--at", help="when it left, ISO 8601 with offset (default now); its figures end there")
