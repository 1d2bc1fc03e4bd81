"""`opsmon agents enroll|revoke|list`: host agents and their tokens."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from opsmon.collector.cli.common import actor, command, open_store, print_table, reading, when, zone


def cmd_agents_enroll(args: argparse.Namespace) -> int:
    from opsmon.collector.inputs.agents import auth as agents

    role = "poller" if args.poller else "agent"
    token = agents.enroll(open_store(args), args.name, args.category, args.site, actor(), role)
    print(token)
    print(f"# {role} token for {args.name}; shown once. Put it in {role}.toml (token = ...) with mode 0600.",
          file=sys.stderr)
    return 0


def cmd_agents_revoke(args: argparse.Namespace) -> int:
    from opsmon.collector.inputs.agents import auth as agents

    agents.revoke(open_store(args), args.name, actor())
    print(f"revoked {args.name}; its reports are refused from now on (within seconds on a running collector)")
    return 0


def cmd_agents_list(args: argparse.Namespace) -> int:
    from opsmon.collector.store.agents import list_agents

    table = [("NAME", "ROLE", "ASSET", "ENROLLED", "REVOKED")]
    config, store = reading(args)
    tz = zone(args, config)
    for a in list_agents(store):
        table.append((a.name, a.role, a.asset_id, when(a.created_at, tz, "minutes"), when(a.revoked_at, tz, "minutes")))
    print_table(table)
    return 0


def register(sub: Any) -> None:
    agents = sub.add_parser("agents", help="host agents").add_subparsers(dest="sub", required=True,
                                                                        metavar="ACTION")
    sp = command(agents, "enroll", cmd_agents_enroll,
                 "enroll a host: creates its asset and prints its agent token once")
    sp.add_argument("name")
    sp.add_argument("--category", choices=("server", "computer"), default="server")
    sp.add_argument("--site")
    sp.add_argument("--poller", action="store_true",
                    help="a site poller (opsmon poller; docs/poller.md): it runs the checks of --site's assets")
    sp = command(agents, "revoke", cmd_agents_revoke, "refuse an agent's reports from now on")
    sp.add_argument("name")
    command(agents, "list", cmd_agents_list, "list enrolled agents")
