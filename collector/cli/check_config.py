"""`opsmon check-config`: validate a collector.yaml, its inventory files, credentials and target table."""
from __future__ import annotations

import argparse
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
    if config.notify.channels:
        from pathlib import Path

        from opsmon.collector.notify import build_channels

        build_channels(config.notify, Path(config.base_dir), config.source_file)  # every secret readable now
    from opsmon.collector.sla.targets import load_targets

    table = load_targets(config.targets_path())
    print(f"{path}: OK ({len(config.inventory.files)} inventory file(s), {count} asset(s), "
          f"{len(config.maintenance)} maintenance window(s), {len(table.targets)} target(s))")
    return 0


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
