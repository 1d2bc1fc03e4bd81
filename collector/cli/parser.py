"""The `opsmon` command: the parser assembled from one module per command, and `run()` (what
`opsmon.collector.cli.main` calls).

A command's module is imported only when that command is chosen (`opsmon status` imports cli/status.py and
what its handler needs, not the web stack, SNMP or the report renderers), so that a read command loads only
what it uses (docs/operations.md, "The command line: start-up"); `opsmon --help` and an unknown command
import them all to list them.

Exit codes: 0 done, 1 failed at run time (database, network), 2 bad input
(config, file, arguments). Errors are one line on stderr naming the cause.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from opsmon.collector import __version__
from opsmon.collector.core.errors import ConfigError, Conflict, InvalidInput, NotFound, OpsmonError, StoreError

# The modules of opsmon.collector.cli, one per command (its name with "-" for "_"), in the order `opsmon --help`
# lists them. Each has register(subparsers).
COMMANDS = ("serve", "poller", "check_config", "status", "assets", "history", "sla", "report", "agents", "tokens",
            "users", "events", "incidents", "maintenance", "exclusions", "oncall", "configs", "compliance", "audit",
            "hj212", "flows", "survey")
# The options before the command that take a value (skipped when looking for the command's name).
VALUED_OPTIONS = ("--config", "--lang")


def chosen(argv: Sequence[str]) -> str | None:
    """The module of the command argv names (its first word that is not an option or an option's value), or None
    (no command, --help, or a name that is no command: then every command is registered, to list them)."""
    words = iter(argv)
    for word in words:
        if word in VALUED_OPTIONS:
            next(words, None)
        elif word in ("-h", "--help"):
            return None
        elif not word.startswith("-"):
            module = word.replace("-", "_")
            return module if module in COMMANDS and word == module.replace("_", "-") else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with argv, only the command it names is registered (and so imported)."""
    p = argparse.ArgumentParser(prog="opsmon", description="opsmon collector and admin CLI")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--config", help="collector.yaml (default: $OPSMON_CONFIG, else /etc/opsmon/collector.yaml "
                       "when it exists; `serve` without any of them runs the demo, as `make run` does)")
    which.add_argument("--demo", action="store_true",
                       help="use the bundled demo config and its database (~/.local/state/opsmon/demo.db)")
    p.add_argument("--lang", choices=("zh", "en"), default=None,
                   help="language of texts and durations (default: collector.yaml's lang:, zh)")
    p.add_argument("--version", action="version", version=f"opsmon {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    only = chosen(argv) if argv is not None else None
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"opsmon.collector.cli.{name}").register(sub)
    return p


def _driver_refusals() -> tuple[type[Exception], ...]:
    """Imported when an error is being matched only: a command that never reads the store does not pay for it."""
    from opsmon.collector.store.dbapi import driver_refusals

    return driver_refusals()


def run(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"opsmon: config error: {exc}", file=sys.stderr)
        return 2
    except (InvalidInput, NotFound, Conflict) as exc:
        print(f"opsmon: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"opsmon: database error: {exc}", file=sys.stderr)
        return 1
    except _driver_refusals() as exc:  # a plain read's store refused (locked, connection lost): as StoreError
        print(f"opsmon: database error: {exc}", file=sys.stderr)
        return 1
    except OpsmonError as exc:
        print(f"opsmon: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"opsmon: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
