"""`opsmon oncall now|next|list|override|unoverride`: who is on call, and overrides without a restart.

Read from oncall.yaml and the overrides stored in the database, as the running collector reads them. Like
`opsmon maintenance`, overrides are written to the database by the CLI itself (audited as cli:<user>); the
running collector takes them up at its next reload (within 10 s). Times are shown in the configured zone.
"""
from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.cli.common import (
    actor,
    command,
    load_config,
    open_reading,
    open_store,
    print_json,
    print_table,
    read_config,
    time_arg,
    when,
)
from opsmon.collector.core.errors import InvalidInput


def _roster(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(config, store, oncall in force: file plus stored overrides). Read as the other listings are (issue 25 item
    2): of collector.yaml only the basics and the incidents section (config/basics_oncall.OncallBasics), the on-call
    file validated whole by its own model, the overrides on the plain driver."""
    from opsmon.collector.config.basics_oncall import OncallBasics
    from opsmon.collector.config.oncall import load_oncall
    from opsmon.collector.store.oncall import live_overrides

    config = read_config(args, OncallBasics)
    if not config.incidents.oncall_file:
        raise InvalidInput("no on-call configured: set incidents.oncall_file in collector.yaml")
    from_file = load_oncall(str(config.resolve(config.incidents.oncall_file)))  # its mistakes before the store
    store = open_reading(config)
    return config, store, from_file.with_overrides(live_overrides(store))


def cmd_oncall_show(args: argparse.Namespace) -> int:
    """now: who is on call per schedule and until when; next: who follows and from when."""
    at = time_arg(args.at, "at") or datetime.now(UTC)  # refused before the store is opened
    config, _store, oncall = _roster(args)
    rows: list[dict[str, Any]] = []
    for name, schedule in oncall.schedules.items():
        who = schedule.on_call(at)
        change = schedule.next_change(at)
        if args.which == "next" and change is not None:
            rows.append({"schedule": name, "person": change[1], "name": oncall.people[change[1]].name,
                         "from": change[0]})
        elif args.which == "now":
            rows.append({"schedule": name, "person": who, "name": oncall.people[who].name,
                         "until": change[0] if change else None})
    if args.format == "json":  # ISO 8601 with the configured zone's offset
        print_json([{k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()} for r in rows],
                   config.timezone)
        return 0
    column = "until" if args.which == "now" else "from"
    print_table([("SCHEDULE", "PERSON", "NAME", f"{column.upper()} ({config.timezone})"),
                 *[(r["schedule"], r["person"], r["name"], when(r[column], config.timezone, "minutes"))
                   for r in rows]])
    return 0


def cmd_oncall_list(args: argparse.Namespace) -> int:
    config, _store, oncall = _roster(args)
    now = datetime.now(UTC)
    table = [("ID", "SCHEDULE", "PERSON", "FROM", "UNTIL", "REASON")]
    for name, schedule in oncall.schedules.items():
        for o in schedule.overrides:
            if o.end > now:
                table.append((str(o.id) if o.id is not None else "file", name, o.person,
                              when(o.start, config.timezone, "minutes"), when(o.end, config.timezone, "minutes"),
                              o.reason))
    if len(table) == 1:
        print("no overrides in force or to come")
        return 0
    print_table(table)
    return 0


def cmd_oncall_override(args: argparse.Namespace) -> int:
    from opsmon.collector.config.oncall import load_oncall
    from opsmon.collector.store.oncall import add_override

    config = load_config(args)
    if not config.incidents.oncall_file:
        raise InvalidInput("no on-call configured: set incidents.oncall_file in collector.yaml")
    start, end = time_arg(args.start, "start"), time_arg(args.end, "end")
    if start is None or end is None:
        raise InvalidInput("--start and --end are required (ISO 8601 with UTC offset)")
    oncall = load_oncall(str(config.resolve(config.incidents.oncall_file)))
    new = add_override(open_store(args, config), oncall.schedules, oncall.people, args.schedule, args.person,
                       start, end, args.reason, actor(), datetime.now(UTC))
    print(f"override {new}: {args.person} on call for {args.schedule} (the collector applies it within 10 s)")
    return 0


def cmd_oncall_unoverride(args: argparse.Namespace) -> int:
    from opsmon.collector.store.oncall import remove_override

    remove_override(open_store(args), args.id, actor(), datetime.now(UTC))
    print(f"removed override {args.id} (the audit log keeps it)")
    return 0


def register(sub: Any) -> None:
    onc = sub.add_parser("oncall", help="who is on call; overrides").add_subparsers(
        dest="sub", required=True, metavar="ACTION")
    for which, text in (("now", "who is on call now per schedule, and until when"),
                        ("next", "who comes on call next per schedule, and from when")):
        sp = command(onc, which, cmd_oncall_show, text)
        sp.add_argument("--at", help="as at this moment instead of now (ISO 8601 with offset)")
        sp.add_argument("--format", choices=("table", "json"), default="table")
        sp.set_defaults(which=which)
    command(onc, "list", cmd_oncall_list, "overrides in force or to come (oncall.yaml's and those added later)")
    sp = command(onc, "override", cmd_oncall_override,
                 "someone covers a schedule from --start to --end, without a restart; audited")
    sp.add_argument("schedule")
    sp.add_argument("person", help="a person of oncall.yaml")
    sp.add_argument("--start", required=True, help="ISO 8601 with UTC offset")
    sp.add_argument("--end", required=True, help="ISO 8601 with UTC offset")
    sp.add_argument("--reason", default="")
    sp = command(onc, "unoverride", cmd_oncall_unoverride, "remove an override added by the API or CLI; audited")
    sp.add_argument("id", type=int)
