"""`opsmon configs list|show|diff`: network device configurations the SSH backup stored."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from opsmon.collector.cli.common import command, print_table, reading, when, zone


def cmd_configs_list(args: argparse.Namespace) -> int:
    from opsmon.collector.store import config_versions as configs

    config, store = reading(args)
    tz = zone(args, config)
    if args.asset:
        rows = configs.list_versions(store, args.asset, args.name)
        table = [("VERSION", "FETCHED", "LAST SEEN", "SIZE", "SHA256")]
        table += [(str(r["version"]), when(r["fetched_at"], tz), when(r["last_seen"], tz), str(r["size"]),
                   r["sha256"][:12]) for r in rows]
    else:
        rows = configs.list_assets(store)
        table = [("ASSET", "NAME", "VERSIONS", "LAST SEEN")]
        table += [(r["asset_id"], r["name"], str(r["versions"]), when(r["last_seen"], tz)) for r in rows]
    if len(table) == 1:
        print("no stored configurations")
        return 0
    print_table(table)
    return 0


def _version_arg(value: str | None, default: str) -> Any:
    """A version argument checked as the store's reading checks it (parse_version, the same words), so that a wrong
    one is said before the store is opened."""
    from opsmon.collector.store.config_versions import parse_version, version_of

    return parse_version(version_of(value or default))


def cmd_configs_show(args: argparse.Namespace) -> int:
    from opsmon.collector.store import config_versions as configs

    version = _version_arg(args.version, "latest")  # refused before the store is opened
    _, store = reading(args)  # the database alone (config/basics.py), the plain driver
    doc = configs.show(store, args.asset, version, args.name)
    sys.stdout.write(doc["content"])
    return 0


def cmd_configs_diff(args: argparse.Namespace) -> int:
    from opsmon.collector.store import config_versions as configs

    a, b = _version_arg(args.a, "previous"), _version_arg(args.b, "latest")  # refused before the store is opened
    _, store = reading(args)  # the database alone, as `configs show`
    sys.stdout.write(configs.diff(store, args.asset, a, b, args.name))
    return 0


def register(sub: Any) -> None:
    cfgs = sub.add_parser("configs", help="stored network device configurations").add_subparsers(
        dest="sub", required=True, metavar="ACTION")
    sp = command(cfgs, "list", cmd_configs_list, "devices with stored configurations, or one device's versions")
    sp.add_argument("asset", nargs="?")
    sp.add_argument("--name", default="running")
    sp = command(cfgs, "show", cmd_configs_show, "one stored version (default: the latest)")
    sp.add_argument("asset")
    sp.add_argument("version", nargs="?", help="a number, latest or previous")
    sp.add_argument("--name", default="running")
    sp = command(cfgs, "diff", cmd_configs_diff, "what changed between two versions (default: previous to latest)")
    sp.add_argument("asset")
    sp.add_argument("a", nargs="?")
    sp.add_argument("b", nargs="?")
    sp.add_argument("--name", default="running")
