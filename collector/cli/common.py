"""What every `opsmon` command shares: the config and store of --config, who is acting, arguments, tables."""
from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from datetime import datetime
from typing import Any

from opsmon.collector.core.errors import InvalidInput

Handler = Callable[[argparse.Namespace], int]


def command(parent: Any, name: str, fn: Handler, help: str) -> argparse.ArgumentParser:
    """A subcommand of `parent` (a subparsers action) run by `fn`; its help is also its description."""
    sp = parent.add_parser(name, help=help, description=help)
    sp.set_defaults(func=fn)
    return sp


def actor() -> str:
    """Who the audit log names for a change made from the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "cli:unknown"


def config_path(args: argparse.Namespace, demo: bool = False) -> str:
    """The collector.yaml a command uses (config/load.py's rule): the demo's only with --demo, or with `demo`
    (`opsmon serve`, the way `make run` starts the demo)."""
    from opsmon.collector.config import resolve_config_path

    return str(resolve_config_path(args.config, demo=demo or getattr(args, "demo", False)))


def load_config(args: argparse.Namespace) -> Any:
    """collector.yaml of --config, validated, without the files only the running collector parses (SNMP profiles,
    trap maps, the on-call file: config/load.py's parsed_files); `serve` and `check-config` check those."""
    from opsmon.collector.config import load_config

    return load_config(config_path(args), parsed_files=False)


def read_config(args: argparse.Namespace, model: Any = None) -> Any:
    """For a read command (`status`, `incidents list`, `audit`...): only the sections it uses (organisation,
    timezone, lang, database, sla, timeline; those `model` adds, e.g. config/basics_oncall.OncallBasics, or
    config/basics_windows.WindowsBasics for the maintenance windows) of --config's collector.yaml, validated
    (config/basics.py); the rest of the file is not read, so that the command answers at once (issue 25 item 2).
    ConfigError as load_config's."""
    from opsmon.collector.config.basics import ReadBasics, load_basics

    return load_basics(config_path(args), model or ReadBasics)


def zone(args: argparse.Namespace, config: Any = None) -> str:
    """The configured time zone: every time a command prints is in it, with its offset (issue 21 item 6)."""
    return str((config or load_config(args)).timezone)


def lang(args: argparse.Namespace, config: Any = None) -> str:
    """The language a command speaks: its --lang (or `opsmon --lang`), else collector.yaml's `lang:`."""
    chosen = getattr(args, "lang", None)
    return str(chosen or (config or load_config(args)).lang)


def lang_option(parser: argparse.ArgumentParser) -> None:
    """--lang on a command: left unset when not given (SUPPRESS), so `opsmon --lang` and collector.yaml's
    `lang:` still apply."""
    parser.add_argument("--lang", choices=("zh", "en"), default=argparse.SUPPRESS,
                        help="zh or en (default: opsmon --lang, else collector.yaml's lang:, zh)")


def when(value: datetime | str | None, tz: str, timespec: str = "seconds") -> str:
    """A time in a table or a line: wall clock of `tz` with its offset (core.lang.local_stamp)."""
    from opsmon.collector.core.lang import local_stamp

    return local_stamp(value, tz, timespec)


def named(asset_id: str | None, names: dict[str, str]) -> str:
    """An asset as a person reads it in a table: its id with the inventory's name beside it, sw-1 (核心交换机)."""
    if not asset_id:
        return "-"
    name = names.get(asset_id)
    return f"{asset_id} ({name})" if name and name != asset_id else asset_id


def asset_names(store: Any) -> dict[str, str]:
    """Every asset's name by id, removed ones too (an old incident names an asset that has left)."""
    from opsmon.collector.store.assets import asset_lines

    return {a.id: a.name for a in asset_lines(store, include_removed=True)}


def open_store(args: argparse.Namespace, config: Any = None) -> Any:
    from opsmon.collector.store import open_store

    config = config or load_config(args)
    return open_store(config.database_url(), config.database.connect_timeout)


def open_reading(config: Any) -> Any:
    """The store for a read command: the plain DB-API driver without SQLAlchemy when it can serve, else the full
    store (which creates, migrates or says why not: store/dbapi.open_reading_store)."""
    from opsmon.collector.store.dbapi import open_reading_store

    return open_reading_store(config.database_url(), config.database.connect_timeout)


def reading(args: argparse.Namespace, model: Any = None) -> tuple[Any, Any]:
    """A read command's config and store (read_config's, then open_reading's) for a command with nothing of its own
    to read or check in between. A command's own mistakes are said before the database is opened, which would wait
    on an unreachable server or create a SQLite file not there yet: its arguments are checked before it calls this
    (--from, a version), and one that reads something needing the config first (the SLA target table, a --period in
    the configured zone, the on-call file) calls the two itself (tests/collector/cli/test_cli_refusals_first.py)."""
    config = read_config(args, model)
    return config, open_reading(config)


def time_arg(value: str | None, name: str) -> datetime | None:
    """--from, --to, --at: an ISO 8601 timestamp with offset (InvalidInput naming the option otherwise)."""
    if value is None:
        return None
    from opsmon.collector.core.fields import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError:
        raise InvalidInput(f"--{name}: {value!r} is not an ISO 8601 timestamp with a UTC offset") from None


def print_json(doc: Any, tz: str) -> None:
    """--format json: the document with every time in `tz`'s offset, as the API answers (core.lang.localise)."""
    import json

    from opsmon.collector.core.lang import localise

    print(json.dumps(localise(doc, tz), ensure_ascii=False, indent=2))


def print_table(rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell, the first row the heading."""
    from opsmon.collector.core.lang import display_width

    widths = [max(display_width(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c) + " " * (w - display_width(str(c))) for c, w in zip(r, widths, strict=True)).rstrip())
