"""The `opsmon` command: the parser assembled from one module per command, and `main()`.

Exit codes: 0 done, 1 failed at run time (database, network), 2 bad input
(config, file, arguments). Errors are one line on stderr naming the cause.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from opsmon.collector import __version__
from opsmon.collector.cli import (
    agents,
    assets,
    audit,
    check_config,
    compliance,
    configs,
    events,
    exclusions,
    flows,
    history,
    hj212,
    incidents,
    maintenance,
    oncall,
    poller,
    report,
    serve,
    sla,
    status,
    survey,
    tokens,
    users,
)
from opsmon.collector.core.errors import ConfigError, Conflict, InvalidInput, NotFound, OpsmonError, StoreError

# In the order `opsmon --help` lists them.
COMMANDS = (serve, poller, check_config, status, assets, history, sla, report, agents, tokens, users, events, incidents,
            maintenance, exclusions, oncall, configs, compliance, audit, hj212, flows, survey)


def build_parser() -> argparse.ArgumentParser:
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
    for module in COMMANDS:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
    except OpsmonError as exc:
        print(f"opsmon: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"opsmon: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
