"""`opsmon check-config`: validate a collector.yaml, its inventory files, credentials and target table."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from opsmon.collector.cli.common import command, config_path
from opsmon.collector.core.errors import ConfigError


def cmd_check_config(args: argparse.Namespace) -> int:
    path = args.file or config_path(args)
    checked = check_all(path)
    for warning in checked.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    config = checked.config
    print(f"{path}: OK ({len(config.inventory.files)} inventory file(s), {checked.assets} asset(s), "
          f"{len(config.maintenance)} maintenance window(s), {checked.targets} target(s))")
    return print_probe(config, checked.specs) if args.probe else 0


def print_probe(config: Any, specs: list[Any]) -> int:
    """`--probe`: each check once against its real target, one line per asset and check (ok, or the status and
    reason the collector would record); exit 1 when any is not ok, so a script can gate on it."""
    from opsmon.collector.cli.common import print_table
    from opsmon.collector.inputs.probe import SKIPPED, probe

    results = probe(config, specs)
    if not results:
        print("no checks to probe")
        return 0
    def said(r: Any) -> str:
        return (f"ok; {r.reason}" if r.reason else "ok") if r.ok else f"{r.status}: {r.reason}"

    print_table([("ASSET", "CHECK", "RESULT")] + [(r.asset_id, r.check_id, said(r)) for r in results])
    skipped = sum(r.status == SKIPPED for r in results)
    bad = sum(not r.ok for r in results) - skipped
    print(f"{len(results) - bad - skipped} ok, {bad} not ok" + (f", {skipped} skipped" if skipped else ""))
    return 1 if bad else 0


@dataclass(frozen=True)
class Checked:
    config: Any
    assets: int
    targets: int
    warnings: list[str]
    specs: list[Any]  # the inventory files' assets (AssetSpec), in file order


def check_all(path: str, windows: bool = True) -> Checked:
    """Every file of the configuration, every problem of each, in one pass: collector.yaml, the files it names,
    the inventory files, the references between them, the maintenance windows' names (`windows`), the channels'
    secrets and the target table. Raises ConfigError (ConfigProblems with one line per problem when there are
    several); `opsmon check-config` and `opsmon serve` both refuse with this list."""
    from opsmon.collector.config.inventory import check_inventory_doc
    from opsmon.collector.config.load import check_config_file
    from opsmon.collector.config.yamlfile import read_yaml
    from opsmon.collector.core.errors import Problems

    found = Problems()
    config = check_config_file(path, found)
    if config is None:
        found.raise_any()
    assert config is not None
    assets: list[tuple[Any, int, Any]] = []  # (its file's document, its index there, the asset)
    for name in config.inventory.files:
        file = config.resolve(name)
        if file.is_file():  # a missing one is reported above
            with found.gather():
                doc = read_yaml(file)
                assets += [(doc, i, a) for i, a in check_inventory_doc(doc, found)]
    check_references(config, assets, found)
    warnings: list[str] = []
    if windows and not found.found:  # names are checked against assets that all parsed, or they mislead
        with found.gather():
            warnings = check_windows(config, [a for _d, _i, a in assets])
    if config.notify.channels:
        from pathlib import Path

        from opsmon.collector.notify import build_channels

        with found.gather():
            build_channels(config.notify, Path(config.base_dir), config.source_file)  # every secret readable now
    if config.ldap.url:  # the console's directory login: its service account's password readable now
        from pathlib import Path

        from opsmon.collector.core import secrets

        with found.gather():
            secrets.read(config.ldap, "bind_password", "ldap", Path(config.base_dir), config.source_file)
    targets = 0
    if config.targets_path().is_file():  # a missing one is reported above
        from opsmon.collector.sla.targets import load_targets

        with found.gather():
            targets = len(load_targets(config.targets_path()).targets)
    found.raise_any()
    return Checked(config, len(assets), targets, warnings, [a for _d, _i, a in assets])


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


def check_references(config: Any, assets: list[tuple[Any, int, Any]], found: Any) -> None:
    """SNMP, SSH and HJ 212 checks name credentials and profiles of collector.yaml, and uplinks a polled device:
    every reference that does not resolve goes into `found`, naming the inventory file's line and key."""
    from opsmon.collector.config.snmp_profiles import load_profiles

    try:
        profiles = load_profiles(tuple(config.resolve(d) for d in config.snmp.profile_dirs))
    except ConfigError:  # reported with collector.yaml's problems (config/load.py); names not checked
        profiles = {}
    polled = {a.id for _d, _i, a in assets if any(c.type == "snmp" for c in a.checks)}

    def problem(doc: Any, path: tuple[Any, ...], reason: str) -> None:
        from opsmon.collector.config.yamlfile import keypath_text

        found.add(ConfigError(doc.where(path), keypath_text(path), reason))

    for doc, i, asset in assets:
        for j, check in enumerate(asset.checks):
            at = ("assets", i, "checks", j)
            who = f"(asset {asset.id}, check {check.check_id})"
            at_poller = {"snmp": config.pollers.snmp_credentials, "ssh": config.pollers.ssh_credentials}.get(
                check.type, ())
            if check.type in ("snmp", "ssh") and getattr(check, "credential", None) in at_poller:
                if not asset.site:  # held at the site pollers only: a check without a site is the centre's
                    problem(doc, (*at, "credential"), f"{check.credential!r} is held by the site pollers only "
                            f"(pollers.{check.type}_credentials), and this asset has no site {who}")
            elif check.type == "snmp":
                if check.credential not in config.snmp.credentials:
                    problem(doc, (*at, "credential"),
                            f"{check.credential!r} is not defined under snmp.credentials {who}")
                for k, name in enumerate(check.profiles):
                    if name != "auto" and profiles and name not in profiles:
                        problem(doc, (*at, "profiles", k),
                                f"unknown profile {name!r} (known: {', '.join(sorted(profiles))}) {who}")
            elif check.type in ("ssh", "ssh_config") and check.credential not in config.ssh.credentials:
                problem(doc, (*at, "credential"), f"{check.credential!r} is not defined under ssh.credentials {who}")
            elif check.type == "hj212" and check.credential not in config.hj212.credentials:
                problem(doc, (*at, "credential"),
                        f"{check.credential!r} is not defined under hj212.credentials {who}")
            elif check.type == "snmp_interface" and check.device not in polled:
                problem(doc, (*at, "device"),
                        f"{check.device!r} is not an asset with an snmp check in these files {who}")
            elif check.type == "presence":
                for k, switch in enumerate(check.switches):
                    if switch not in polled:
                        problem(doc, (*at, "switches", k),
                                f"{switch!r} is not an asset with an snmp check in these files {who}")


def register(sub: Any) -> None:
    sp = command(sub, "check-config", cmd_check_config,
                 "validate a collector.yaml and its inventory files; change nothing")
    sp.add_argument("file", nargs="?")
    sp.add_argument("--probe", action="store_true",
                    help="also try each check of the inventory files once against its real target and print, per "
                         "asset and check, ok or the reason (reads every secret; stores nothing)")
