"""Find, read and validate collector.yaml and the files it names, reporting every problem at once."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from opsmon.collector.config.basics import (
    DEMO_CONFIG,
    SYSTEM_CONFIG,
    missing_targets,
    read_mapping,
    resolve_config_path,
)
from opsmon.collector.config.schema import CollectorConfig
from opsmon.collector.config.yamlfile import YamlDoc, read_yaml
from opsmon.collector.core.errors import ConfigError, Problems

__all__ = ["DEMO_CONFIG", "SYSTEM_CONFIG", "check_config_file", "load_config", "resolve_config_path"]


def load_config(path: str | os.PathLike[str], secrets: bool = False,
                parsed_files: bool = True) -> CollectorConfig:
    """Read and validate; raises ConfigError naming file, line, key and reason (ConfigProblems listing every
    problem when there are several). Touches nothing else.

    Secrets (SNMP communities and keys, HJ 212 passwords) are read only with `secrets=True`: a read-only command
    (`opsmon status`, `sla`, `report`...) runs on a workstation without them (issue 21, item 7); the commands
    that use them (`serve`, `check-config`) read them and name the variable or file that is missing.

    With `parsed_files=False` the files collector.yaml names that only the running collector parses (the SNMP
    profiles and trap maps, the on-call file) are not parsed here: a command that lists a table needs none of
    them, and parsing them (some 26 YAML files and their models) cost `opsmon status` ~0.04 s of its start
    (issue 25 item 2). A command that uses one parses it itself (`oncall now` reads the on-call file), and
    `serve` and `check-config` check them all."""
    found = Problems()
    config = check_config_file(path, found, secrets, parsed_files)
    found.raise_any()
    assert config is not None
    return config


def check_config_file(path: str | os.PathLike[str], found: Problems, secrets: bool = True,
                      parsed_files: bool = True) -> CollectorConfig | None:
    """collector.yaml and the files it names (targets, inventory files present, SNMP profiles, the on-call file,
    and with `secrets` the SNMP and SSH secrets and HJ 212 passwords), every problem gathered into `found` rather
    than raised.

    Returns the config as far as it could be read, None if not at all. When collector.yaml itself has problems,
    the config returned is built from its other sections only: good for finding and checking the other files
    (their problems are reported in the same pass), never for running.
    """
    try:
        doc = read_mapping(path)
    except ConfigError as exc:
        found.add(exc)
        return None
    config = _validated(doc, found)
    if config is None:
        return None
    base = str(Path(path).resolve().parent)
    config = config.model_copy(update={"base_dir": base, "source_file": str(path)})
    missing = missing_targets(config, config.sla, doc)
    if missing is not None:
        found.add(missing)
    for i, name in enumerate(config.inventory.files):
        if not config.resolve(name).is_file():
            found.add(ConfigError(doc.where(("inventory", "files", i)), f"inventory.files[{i}]",
                                  f"no such file: {config.resolve(name)}"))
    if parsed_files or secrets:  # secrets: the SNMP ones are resolved in check_snmp too
        check_snmp(config, doc, found, secrets)
    if secrets and config.ssh.credentials:
        from opsmon.collector.config.ssh_credentials import resolve as resolve_ssh

        for name, ssh_spec in config.ssh.credentials.items():  # passwords and keys readable now, not at the first run
            with found.gather():
                resolve_ssh(name, ssh_spec, Path(config.base_dir), doc.where(("ssh", "credentials", name)))
    if secrets and config.hj212.enabled:
        from opsmon.collector.config.hj212 import read_passwords

        with found.gather():
            read_passwords(config.hj212, Path(config.base_dir), str(path))
    if config.incidents.oncall_file and parsed_files:
        _check_oncall(config, doc, found)
    return config


def _validated(doc: YamlDoc, found: Problems) -> CollectorConfig | None:
    """The file's model; on problems, they go into `found` and the model of its sections without problems is
    returned (a required one missing: a placeholder), so the files it names are checked in the same pass."""
    try:
        return doc.validate(CollectorConfig)  # type: ignore[no-any-return]
    except ConfigError as exc:
        found.add(exc)
        bad = {p.keypath.split(".")[0].split("[")[0] for p in exc.each()}
    rest: dict[str, Any] = {k: v for k, v in doc.data.items() if k not in bad}
    if "database" in bad:
        rest["database"] = {"path": "opsmon.db"}  # never opened: this model only finds the other files
    try:
        return CollectorConfig.model_validate(rest)
    except ValidationError:
        return None


def _check_oncall(config: CollectorConfig, doc: YamlDoc, found: Problems) -> None:
    """The on-call file valid, and every channel it names defined under notify.channels (each one named)."""
    from opsmon.collector.config.oncall import Oncall

    assert config.incidents.oncall_file
    oncall_path = config.resolve(config.incidents.oncall_file)
    if not oncall_path.is_file():
        found.add(ConfigError(doc.where(("incidents", "oncall_file")), "incidents.oncall_file",
                              f"no such file: {oncall_path}"))
        return
    with found.gather():
        oncall_doc = read_yaml(oncall_path)
        oncall: Oncall = oncall_doc.validate(Oncall)
        for name, policy in oncall.policies.items():
            for i, level in enumerate(policy.levels):
                for j, channel in enumerate(level.channels):
                    if channel not in config.notify.channels:
                        found.add(ConfigError(oncall_doc.where(("policies", name, "levels", i, "channels", j)),
                                              f"policies.{name}.levels[{i}].channels[{j}]",
                                              f"channel {channel!r} is not defined under notify.channels in "
                                              f"{config.source_file}"))
            if policy.fallback and policy.fallback not in config.notify.channels:
                found.add(ConfigError(oncall_doc.where(("policies", name, "fallback")), f"policies.{name}.fallback",
                                      f"channel {policy.fallback!r} is not defined under notify.channels in "
                                      f"{config.source_file}"))


def check_snmp(config: CollectorConfig, doc: YamlDoc, found: Problems, secrets: bool = True) -> None:
    """Profiles valid and (with `secrets`) secrets readable now, not at the first poll (every problem into
    `found`)."""
    from opsmon.collector.config.snmp_credentials import resolve
    from opsmon.collector.config.snmp_profiles import load_profiles

    for name, spec in config.snmp.credentials.items() if secrets else ():
        with found.gather():
            resolve(name, spec, Path(config.base_dir), doc.where(("snmp", "credentials", name)))
    folders_ok = True
    for i, folder in enumerate(config.snmp.profile_dirs):
        if not config.resolve(folder).is_dir():
            folders_ok = False
            found.add(ConfigError(doc.where(("snmp", "profile_dirs", i)), f"snmp.profile_dirs[{i}]",
                                  f"no such folder: {config.resolve(folder)}"))
    if folders_ok:
        with found.gather():
            load_profiles(tuple(config.resolve(f) for f in config.snmp.profile_dirs))
    with found.gather():
        config.trap_maps()  # parsed here once; the trap receiver takes these (inputs/snmp/traps.make)
