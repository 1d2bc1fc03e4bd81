"""`opsmon survey send|list|results`: the satisfaction survey of the departments served (docs/sla.md)."""
from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
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
    print_table,
    read_config,
)
from opsmon.collector.core.errors import InvalidInput


def _period(args: argparse.Namespace, config: Any, default: str) -> Any:
    """--period, else the latest quarter that has ended (send) or this year (list, results)."""
    from opsmon.collector.sla.periods import containing, last_complete, parse_period

    if args.period:
        return parse_period(args.period, config.timezone)
    now = datetime.now(UTC)
    return last_complete("quarter", now, config.timezone) if default == "last" else containing("year", now,
                                                                                                 config.timezone)


def cmd_send(args: argparse.Namespace) -> int:
    from opsmon.collector.core.signing import load_key
    from opsmon.collector.notify import build_channels
    from opsmon.collector.notify.survey import send_survey
    from opsmon.collector.store.surveys import SurveyLinks

    config = load_config(args)
    survey = config.survey
    if not survey.enabled or survey.channel is None:
        raise InvalidInput(f"no survey: list departments and a channel under survey: in {config.source_file}")
    period = _period(args, config, "last")
    if period.kind != "quarter":
        raise InvalidInput("--period: the survey is sent per quarter (e.g. 2026Q3)")
    store = open_store(args, config)
    links = SurveyLinks(store, load_key(config.resolve(config.incidents.link_key_file)), survey.link_ttl)
    channel = build_channels(config.notify, Path(config.base_dir or "."), config.source_file or "collector.yaml")[
        survey.channel]
    done = send_survey(channel, links, survey, period, config.incidents.public_url,  # type: ignore[arg-type]
                       config.timezone, datetime.now(UTC), actor())
    print(f"{period.label}: sent {done.sent}, failed {done.failed}, already sent {done.skipped}")
    return 1 if done.failed else 0


def cmd_list(args: argparse.Namespace) -> int:
    from opsmon.collector.store.surveys import listing

    config = read_config(args)  # the zone alone: no whole schema for a listing (issue 25 item 2)
    period = _period(args, config, "year")
    rows = listing(open_reading(config), period.start, period.end, config.timezone)
    if args.format == "json":
        print_json(rows, config.timezone)
        return 0
    table = [("PERIOD", "DEPARTMENT", "CONTACT", "EMAIL", "MAILED", "ANSWER", "COMMENT")]
    for r in rows:
        table.append((r["period"], r["department"], r["contact"], r["email"],
                      "yes" if r["delivered"] else f"no: {r['error'] or 'pending'}", r["score"] or "-",
                      (r["comment"] or "")[:40]))
    print_table(table)
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from opsmon.collector.sla.render import TEXT, measured
    from opsmon.collector.sla.survey import measure_surveys, read_surveys
    from opsmon.collector.sla.targets import load_targets

    config = read_config(args)  # the zone, the language and the target table's path (config/basics.py)
    period = _period(args, config, "year")
    table = load_targets(config.targets_path())  # the period's and the table's mistakes before the store is opened
    result = measure_surveys(read_surveys(open_reading(config), period), table, period)
    targets = list(result.targets)
    if args.format == "json":
        print_json({"period": result.period.as_document(), "targets": [t.as_document() for t in targets]},
                   config.timezone)
        return 0
    said = lang(args, config)
    words = TEXT[said]
    for t in targets:
        print(f"{period.label}  {t.name(said)}  {measured(t, said)}  {words[t.status]}  "
              f"({t.comparator} {t.threshold * 100:g}%)")
    return 0


def register(sub: Any) -> None:
    sp = sub.add_parser("survey", help="the satisfaction survey: send it, list who answered, its figure",
                        description="the satisfaction survey: send it, list who answered, its figure")
    survey = sp.add_subparsers(dest="sub", metavar="ACTION", required=True)
    c = command(survey, "send", cmd_send, "mail the quarter's survey to every contact not yet mailed for it")
    c.add_argument("--period", help="the quarter, e.g. 2026Q3 (default: the latest that has ended)")
    c = command(survey, "list", cmd_list, "the contacts asked, whether the mail went, and their answers")
    c.add_argument("--period", help="2026, 2026Q3 or 2026-08 (default: this year)")
    c.add_argument("--format", choices=("table", "json"), default="table")
    c = command(survey, "results", cmd_results, "the satisfaction figure with its sample size")
    c.add_argument("--period", help="2026, 2026Q3 or 2026-08 (default: this year)")
    c.add_argument("--format", choices=("table", "json"), default="table")
    lang_option(c)
