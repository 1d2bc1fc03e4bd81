"""`opsmon check-config`: validate a collector.yaml, its inventory files, credentials and target table."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from opsmon.collector.cli.common import command
from opsmon.collector.core.errors import ConfigError


def cmd_check_config(args: argparse.Namespace) -> int:
    from opsmon.collector.config import load_config, resolve_config_path
    from opsmon.collector.config.inventory import parse_inventory

    path = args.file or resolve_config_path(args.config)
    config = load_config(path)
    count = 0
    assets = []
    for name in config.inventory.files:
        found = parse_inventory(str(config.resolve(name)))
        assets += [(name, a) for a in found]
        count += len(found)
    check_references(config, assets)
    for warning in check_windows(config, [a for _f, a in assets]):
        print(f"warning: {warning}", file=sys.stderr)
    if config.notify.channels:
        from pathlib import Path

        from opsmon.collector.notify import build_channels

        build_channels(config.notify, Path(config.base_dir), config.source_file)  # every secret readable now
    from opsmon.collector.sla.targets import load_targets

    table = load_targets(config.targets_path())
    print(f"{path}: OK ({len(config.inventory.files)} inventory file(s), {count} asset(s), "
          f"{len(config.maintenance)} maintenance window(s), {len(table.targets)} target(s))")
    return 0


def check_windows(config: Any, assets: list[Any]) -> list[str]:
    """The windows of collector.yaml against the inventory files and, when it exists, the database's assets
    (added through the API or CLI, or removed): the rule of `opsmon serve` (config/windows.py), so what passes
    here starts. A database that does not exist yet is not created."""
    from opsmon.collector.config.windows import check_window_names
    from opsmon.collector.core.maintenance import Names

    files = Names.of(assets)
    ever, live = files, files
    if config.maintenance and (not config.database.path or config.resolve(config.database.path).exists()):
        from opsmon.collector.core.errors import StoreError
        from opsmon.collector.store import open_store
        from opsmon.collector.store.windows import inventory_names

        try:
            store = open_store(config.database_url(), config.database.connect_timeout, migrate=False)
            try:
                with store.session() as session:
                    ever = ever | inventory_names(session, include_removed=True)
                    live = live | inventory_names(session)
            finally:
                store.close()
        except (StoreError, Exception) as exc:  # no assets table yet, or a database not reachable from here
            print(f"warning: windows checked against the inventory files only ({exc.__class__.__name__})",
                  file=sys.stderr)
    return check_window_names(config, ever, live)


def check_references(config: Any, assets: list[tuple[str, Any]]) -> None:
    """SNMP, SSH and HJ 212 checks name credentials and profiles of collector.yaml, and uplinks a polled device."""
    from opsmon.collector.config.snmp_profiles import load_profiles

    profiles = load_profiles(tuple(config.resolve(d) for d in config.snmp.profile_dirs))
    polled = {a.id for _f, a in assets if any(c.type == "snmp" for c in a.checks)}
    for file, asset in assets:
        for check in asset.checks:
            where = f"asset {asset.id}: check {check.check_id}"
            if check.type == "snmp":
                if check.credential not in config.snmp.credentials:
                    raise ConfigError(file, f"{where}: credential",
                                      f"{check.credential!r} is not defined under snmp.credentials")
                for name in check.profiles:
                    if name != "auto" and name not in profiles:
                        raise ConfigError(file, f"{where}: profiles",
                                          f"unknown profile {name!r} (known: {', '.join(sorted(profiles))})")
            elif check.type in ("ssh", "ssh_config") and check.credential not in config.ssh.credentials:
                raise ConfigError(file, f"{where}: credential",
                                  f"{check.credential!r} is not defined under ssh.credentials")
            elif check.type == "hj212" and check.credential not in config.hj212.credentials:
                raise ConfigError(file, f"{where}: credential",
                                  f"{check.credential!r} is not defined under hj212.credentials")
            elif check.type == "snmp_interface" and check.device not in polled:
                raise ConfigError(file, f"{where}: device",
                                  f"{check.device!r} is not an asset with an snmp check in these files")


def register(sub: Any) -> None:
    sp = command(sub, "check-config", cmd_check_config,
                 "validate a collector.yaml and its inventory files; change nothing")
    sp.add_argument("file", nargs="?")
