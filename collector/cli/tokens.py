"""`opsmon tokens create|revoke|list`: API tokens of people."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from opsmon.collector.cli.common import actor, command, open_store, print_table, reading, when, zone


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from opsmon.collector.store import tokens

    token = tokens.create(open_store(args), args.name, args.role, actor())
    print(token)
    print(f"# token for {args.name} ({args.role}); shown once, only its hash is stored", file=sys.stderr)
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    from opsmon.collector.store import tokens

    tokens.revoke(open_store(args), args.name, actor())
    print(f"revoked {args.name}")
    return 0


def cmd_tokens_list(args: argparse.Namespace) -> int:
    from opsmon.collector.store import tokens

    config, store = reading(args)
    tz = zone(args, config)
    table = [("NAME", "ROLE", "CREATED", "REVOKED")]
    for t in tokens.list_tokens(store):
        table.append((t.name, t.role, when(t.created_at, tz, "minutes"), when(t.revoked_at, tz, "minutes")))
    print_table(table)
    return 0


def register(sub: Any) -> None:
    toks = sub.add_parser("tokens", help="API tokens").add_subparsers(dest="sub", required=True, metavar="ACTION")
    sp = command(toks, "create", cmd_tokens_create, "create a token for a person and print it once")
    sp.add_argument("name")
    sp.add_argument("--role", choices=("viewer", "operator", "admin"), default="viewer")
    sp = command(toks, "revoke", cmd_tokens_revoke, "revoke a person's token")
    sp.add_argument("name")
    command(toks, "list", cmd_tokens_list, "list tokens (never their values)")
