"""`opsmon sla [set-value|record]`: the target table measured over a period, and figures entered by hand."""
from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.cli.common import (
    actor,
    command,
    lang,
    lang_option,
    load_config,
    open_reading,
    open_store,
    print_json,
    read_config,
    time_arg,
    when,
    zone,
)
from opsmon.collector.core.errors import InvalidInput, valid_ids


def period_arg(args: argparse.Namespace, config: Any) -> Any:
    """--period, or --from and --to; default the quarter to date."""
    from opsmon.collector.sla.periods import containing, parse_period, range_period

    if args.from_ or args.to:
        if not (args.from_ and args.to):
            raise InvalidInput("give both --from and --to, or --period")
        return range_period(args.from_, args.to, config.timezone)
    if args.period:
        return parse_period(args.period, config.timezone)
    return containing("quarter", datetime.now(UTC), config.timezone)


def cmd_sla(args: argparse.Namespace) -> int:
    from opsmon.collector.sla.engine import measure
    from opsmon.collector.sla.render import render_table
    from opsmon.collector.sla.targets import load_targets

    config = read_config(args)  # the sections it uses: database, timezone, lang, sla (config/basics.py)
    table = load_targets(config.targets_path())
    period = period_arg(args, config)  # a wrong --period is said before the store is opened (or created)
    result = measure(open_reading(config), table, period)
    if args.format == "json":
        print_json(result.as_document(), config.timezone)
    else:
        print(render_table(result, lang(args, config)))
    return 0


def cmd_sla_set_value(args: argparse.Namespace) -> int:
    from opsmon.collector.sla.entries import evidence_of, set_value, value_in_range
    from opsmon.collector.sla.periods import parse_period
    from opsmon.collector.sla.targets import load_targets

    config = load_config(args)
    # An hj212_rate target is measured; the national assessment's own figure may be entered beside it.
    target = _target(load_targets(config.targets_path()), args.target, "manual", "hj212_rate")
    value_in_range(target.id, target.unit, args.value)
    period = parse_period(args.period, config.timezone)
    evidence = evidence_of(args.evidence)
    set_value(open_store(args, config), target.id, period, args.value, args.note, actor(), evidence)
    digest = f" (sha256 {evidence.sha256})" if evidence.sha256 else ""
    print(f"{target.id} = {args.value:g} for {period.label}, evidence {evidence.ref}{digest}")
    return 0


def cmd_sla_record(args: argparse.Namespace) -> int:
    from opsmon.collector.sla.entries import record_event
    from opsmon.collector.sla.targets import load_targets

    config = load_config(args)
    target = _target(load_targets(config.targets_path()), args.target, "count")
    at = time_arg(args.at, "at") or datetime.now(UTC)
    record_event(open_store(args, config), target.id, at, args.count, args.note, actor())
    print(f"recorded {args.count:g} for {target.id} at {when(at, zone(args, config))}")
    return 0


def _target(table: Any, target_id: str, *measures: str) -> Any:
    valid = valid_ids(target_id, (t.id for t in table.targets if t.measure in measures))
    try:
        target = table.get(target_id)
    except KeyError:
        raise InvalidInput(f"no target {target_id!r} in the target table{valid}") from None
    if target.measure not in measures:
        raise InvalidInput(f"{target_id} is measured as {target.measure}, not {' or '.join(measures)}{valid}")
    return target


def register(sub: Any) -> None:
    sla = sub.add_parser("sla", help="service-level figures against the target table",
                         description="service-level figures against the target table")
    sla.set_defaults(func=cmd_sla)
    sla.add_argument("--period", help="2026Q3, 2026-08 or 2026 (default: this quarter, to date)")
    sla.add_argument("--from", dest="from_", help="ISO 8601 start of a custom range")
    sla.add_argument("--to", help="ISO 8601 end of a custom range")
    sla.add_argument("--format", choices=("table", "json"), default="table")
    lang_option(sla)
    sla_sub = sla.add_subparsers(dest="sub", metavar="ACTION")
    sp = command(sla_sub, "set-value", cmd_sla_set_value,
                 "enter a figure measured elsewhere (e.g. a survey) for a period")
    sp.add_argument("target")
    sp.add_argument("value", type=float)
    sp.add_argument("--period", required=True, help="the period the value is for: 2026, 2026Q3 or 2026-08")
    sp.add_argument("--note", default="")
    sp.add_argument("--evidence", required=True, metavar="FILE|URL",
                    help="what the value was read from: a file (its SHA-256 is stored) or an http(s) URL")
    sp = command(sla_sub, "record", cmd_sla_record, "record a delivery counted by a count target (e.g. a report)")
    sp.add_argument("target")
    sp.add_argument("--at", help="when it was delivered (ISO 8601); default now")
    sp.add_argument("--count", type=float, default=1.0)
    sp.add_argument("--note", default="")
