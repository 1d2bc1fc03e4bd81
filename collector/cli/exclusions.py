"""`opsmon exclusions list|add|approve|remove`: after-the-fact exclusions, from the command line.

Like `opsmon maintenance`, the CLI writes to the database itself, audited as cli:<user>; the rules are the
API's (store/exclusions.py). An exclusion counts only once approved by another person than the requester:
the approver runs `approve` as their own user (or through the API with their own token).
"""
from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from opsmon.collector.cli.common import (
    actor,
    command,
    load_config,
    open_store,
    print_json,
    print_table,
    reading,
    time_arg,
)


def cmd_exclusions_list(args: argparse.Namespace) -> int:
    from opsmon.collector.core.fields import parse_timestamp
    from opsmon.collector.store.exclusions import list_exclusions

    config, store = reading(args)
    rows = list_exclusions(store, include_removed=args.removed)
    if args.format == "json":
        print_json(rows, config.timezone)
        return 0
    if not rows:
        print("no exclusions")
        return 0
    zone = ZoneInfo(config.timezone)

    def local(v: object) -> str:
        return parse_timestamp(str(v)).astimezone(zone).isoformat(sep=" ", timespec="seconds") if v else "-"
    table = [("ID", "STATUS", "WHAT", f"SPAN ({config.timezone})", "REQUESTED BY", "APPROVED BY", "REASON")]
    for r in rows:
        what = f"incident {r['incident']}" if r["incident"] else f"asset {r['asset']}"
        span = f"{local(r['start'])} → {local(r['end'])}" if r["start"] else "-"
        table.append((str(r["id"]), str(r["status"]), what, span, str(r["requested_by"]),
                      str(r["approved_by"] or "-"), str(r["reason"])))
    print_table(table)
    return 0


def cmd_exclusions_add(args: argparse.Namespace) -> int:
    from opsmon.collector.store.exclusions import ExclusionRequest, request_exclusion

    config = load_config(args)
    req = ExclusionRequest(reason=args.reason, incident=args.incident, asset=args.asset,
                           start=time_arg(args.start, "start"), end=time_arg(args.end, "end"))
    doc = request_exclusion(open_store(args, config), req, actor(), datetime.now(UTC))
    print(f"exclusion {doc['id']} requested by {doc['requested_by']}; it counts once another person approves it "
          f"(opsmon exclusions approve {doc['id']})")
    return 0


def cmd_exclusions_approve(args: argparse.Namespace) -> int:
    from opsmon.collector.store.exclusions import approve_exclusion

    config = load_config(args)
    doc = approve_exclusion(open_store(args, config), args.id, actor(), datetime.now(UTC))
    print(f"exclusion {doc['id']} approved by {doc['approved_by']}")
    return 0


def cmd_exclusions_remove(args: argparse.Namespace) -> int:
    from opsmon.collector.store.exclusions import remove_exclusion

    config = load_config(args)
    remove_exclusion(open_store(args, config), args.id, actor(), datetime.now(UTC))
    print(f"removed exclusion {args.id}: counted again (the table and the audit log keep it)")
    return 0


def register(sub: Any) -> None:
    exc = sub.add_parser("exclusions", help="after-the-fact exclusions from the figures (approved by another "
                                            "person)").add_subparsers(dest="sub", required=True, metavar="ACTION")
    sp = command(exc, "list", cmd_exclusions_list, "exclusions, pending and approved")
    sp.add_argument("--removed", action="store_true", help="removed ones too")
    sp.add_argument("--format", choices=("table", "json"), default="table")
    sp = command(exc, "add", cmd_exclusions_add,
                 "ask to take an incident (--incident) or an asset's outage (--asset --start --end) out of the "
                 "figures; audited, counts once approved")
    what = sp.add_mutually_exclusive_group(required=True)
    what.add_argument("--incident")
    what.add_argument("--asset")
    sp.add_argument("--start", help="ISO 8601 with offset (an outage)")
    sp.add_argument("--end", help="ISO 8601 with offset, not in the future (an outage)")
    sp.add_argument("--reason", required=True)
    for name, fn, text in (("approve", cmd_exclusions_approve, "approve (not the requester); audited"),
                           ("remove", cmd_exclusions_remove, "withdraw an exclusion; audited")):
        sp = command(exc, name, fn, text)
        sp.add_argument("id", type=int)
