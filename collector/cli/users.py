"""`opsmon users add|list|remove|passwd`: the web console's local accounts (docs/console.md), audited."""
from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.cli.common import actor, command, open_store, print_table, reading, when, zone
from opsmon.collector.core.errors import InvalidInput


def _password(args: argparse.Namespace) -> str:
    """From standard input with --password-stdin (scripts), else asked twice on the terminal; never an
    argument, which `ps` and the shell's history would show."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InvalidInput("the two passwords differ")
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    from opsmon.collector.store import users

    users.add(open_store(args), args.name, args.role, _password(args), actor(), datetime.now(UTC))
    print(f"added {args.name} ({args.role})")
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from opsmon.collector.store import users

    users.set_password(open_store(args), args.name, _password(args), actor(), datetime.now(UTC))
    print(f"password of {args.name} changed; their sessions are ended")
    return 0


def cmd_users_remove(args: argparse.Namespace) -> int:
    from opsmon.collector.store import users

    users.remove(open_store(args), args.name, actor(), datetime.now(UTC))
    print(f"removed {args.name}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from opsmon.collector.store import users

    table = [("NAME", "ROLE", "LOGIN", "LANG", "CREATED")]
    config, store = reading(args)
    tz = zone(args, config)
    # LOGIN: local (a password here) or ldap (the directory's; role as of the person's last login)
    for u in users.list_users(store):
        table.append((u.name, u.role, u.login, u.lang, when(u.created_at, tz, "minutes")))
    print_table(table)
    return 0


def register(sub: Any) -> None:
    from opsmon.collector.store.tokens import ROLES

    cmds = sub.add_parser("users", help="web console accounts").add_subparsers(dest="sub", required=True,
                                                                              metavar="ACTION")
    sp = command(cmds, "add", cmd_users_add, "add a console account (the password is asked for, or read from stdin)")
    sp.add_argument("name")
    sp.add_argument("--role", choices=ROLES, default="viewer")
    sp.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    sp = command(cmds, "passwd", cmd_users_passwd, "set a console account's password and end its sessions")
    sp.add_argument("name")
    sp.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    sp = command(cmds, "remove", cmd_users_remove, "remove a console account and end its sessions")
    sp.add_argument("name")
    command(cmds, "list", cmd_users_list, "list console accounts (never their passwords)")
