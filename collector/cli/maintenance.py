"""`opsmon maintenance list|add|remove`: maintenance windows, from the command line.

Like `opsmon assets`, the CLI writes to the database itself (audited as cli:<user>); the running collector
takes a window up at its next reload (within 10 s). The rules are the API's (store/windows.py): an unknown
asset, site or tag, a start in the past, or a taken id is refused. Times are shown in the configured zone.
"""
from __future__ import annotations

import argparse
from datetime import UTC, datetime
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
    when,
)
from opsmon.collector.core.errors import InvalidInput


def _length(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _when(spec: Any, tz: str) -> str:
    if spec.cron:
        return f"cron '{spec.cron}' ({tz}), {_length(spec.duration)} each"
    return f"{when(spec.start, tz, 'minutes')} → {when(spec.end, tz, 'minutes')}"


def cmd_maintenance_list(args: argparse.Namespace) -> int:
    from opsmon.collector.config.basics_windows import WindowsBasics
    from opsmon.collector.core.maintenance import WindowSpec
    from opsmon.collector.store.windows import live_windows

    config, store = reading(args, WindowsBasics)
    windows = [(w, "config") for w in config.maintenance]
    stored = live_windows(store)
    windows += [(WindowSpec.model_validate(r.spec), f"{r.created_by}") for r in stored]
    if args.format == "json":  # start and end in the configured zone (a stored window's are UTC text)
        print_json([{**w.model_dump(mode="json", exclude_none=True), "source": source} for w, source in windows],
                   config.timezone)
        return 0
    if not windows:
        print("no maintenance windows")
        return 0
    table = [("ID", "SOURCE", "SCOPE", f"WHEN ({config.timezone})", "REASON")]
    for w, source in windows:
        scope = " ".join([*w.assets, *(f"site:{s}" for s in w.sites), *(f"tag:{t}" for t in w.tags)])
        table.append((w.id, source, scope, _when(w, config.timezone), w.reason))
    print_table(table)
    return 0


def cmd_maintenance_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from opsmon.collector.core.maintenance import WindowSpec
    from opsmon.collector.store.windows import add_window

    config = load_config(args)
    body: dict[str, Any] = {"id": args.id, "assets": args.asset, "sites": args.site, "tags": args.tag,
                            "reason": args.reason, "start": time_arg(args.start, "start"),
                            "end": time_arg(args.end, "end"), "cron": args.cron, "duration": args.duration}
    try:
        spec = WindowSpec.model_validate({k: v for k, v in body.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "window"
        raise InvalidInput(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None
    add_window(open_store(args, config), spec, {w.id for w in config.maintenance}, actor(), datetime.now(UTC))
    print(f"added {spec.id}: {_when(spec, config.timezone)} (the collector applies it within 10 s)")
    return 0


def cmd_maintenance_remove(args: argparse.Namespace) -> int:
    from opsmon.collector.store.windows import remove_window

    config = load_config(args)
    remove_window(open_store(args, config), args.id, {w.id for w in config.maintenance}, actor(), datetime.now(UTC))
    print(f"removed {args.id} (the audit log keeps it)")
    return 0


def register(sub: Any) -> None:
    mnt = sub.add_parser("maintenance", help="maintenance windows").add_subparsers(
        dest="sub", required=True, metavar="ACTION")
    sp = command(mnt, "list", cmd_maintenance_list, "windows in force: the config file's and those added later")
    sp.add_argument("--format", choices=("table", "json"), default="table")
    sp = command(mnt, "add", cmd_maintenance_add,
                 "add a window: one-off (--start, --end) or recurring (--cron, --duration); audited")
    sp.add_argument("id")
    sp.add_argument("--asset", action="append", default=[], help="an asset id it covers (repeatable)")
    sp.add_argument("--site", action="append", default=[], help="a site whose assets it covers (repeatable)")
    sp.add_argument("--tag", action="append", default=[], help="a tag whose assets it covers (repeatable)")
    sp.add_argument("--start", help="ISO 8601 with UTC offset")
    sp.add_argument("--end", help="ISO 8601 with UTC offset")
    sp.add_argument("--cron", help="5 fields in the configured time zone, day of week by name: '0 2 * * sun'")
    sp.add_argument("--duration", help="length of each occurrence: 2h, 90m")
    sp.add_argument("--reason", default="", help="shown in state reasons and reports")
    sp = command(mnt, "remove", cmd_maintenance_remove, "remove a window added by the API or CLI; audited")
    sp.add_argument("id")
