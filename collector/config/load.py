"""Find, read and validate collector.yaml."""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from opsmon.collector.config.schema import CollectorConfig
from opsmon.collector.config.yamlfile import YamlDoc, read_yaml
from opsmon.collector.core.errors import ConfigError

DEMO_CONFIG = str(resources.files("opsmon.collector") / "demo" / "collector.yaml")


def resolve_config_path(cli_value: str | None) -> str:
    """--config wins, then $OPSMON_CONFIG, then the bundled demo config."""
    return cli_value or os.environ.get("OPSMON_CONFIG") or DEMO_CONFIG


def load_config(path: str | os.PathLike[str]) -> CollectorConfig:
    """Read and validate; raises ConfigError naming file, key and reason. Touches nothing else."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(str(path), "", "the file must hold a mapping of settings (it is empty or a list)")
    config = doc.validate(CollectorConfig)
    base = str(Path(path).resolve().parent)
    config = config.model_copy(update={"base_dir": base, "source_file": str(path)})
    if config.sla.targets_file and not config.targets_path().is_file():
        raise ConfigError(doc.where(("sla", "targets_file")), "sla.targets_file",
                          f"no such file: {config.targets_path()}")
    for i, name in enumerate(config.inventory.files):
        if not config.resolve(name).is_file():
            raise ConfigError(doc.where(("inventory", "files", i)), f"inventory.files[{i}]",
                              f"no such file: {config.resolve(name)}")
    check_snmp(config, doc)
    if config.hj212.enabled:
        from opsmon.collector.config.hj212 import read_passwords

        read_passwords(config.hj212, Path(config.base_dir), str(path))
    if config.incidents.oncall_file:
        from opsmon.collector.config.oncall import load_oncall

        oncall_path = config.resolve(config.incidents.oncall_file)
        if not oncall_path.is_file():
            raise ConfigError(doc.where(("incidents", "oncall_file")), "incidents.oncall_file",
                              f"no such file: {oncall_path}")
        oncall = load_oncall(str(oncall_path))
        missing = sorted(oncall.channels() - set(config.notify.channels))
        if missing:
            raise ConfigError(str(oncall_path), "policies", f"channel {missing[0]!r} is not defined under "
                              f"notify.channels in {path}")
    return config


def check_snmp(config: CollectorConfig, doc: YamlDoc) -> None:
    """Secrets readable and profiles valid now, not at the first poll."""
    from opsmon.collector.config.snmp_credentials import resolve
    from opsmon.collector.config.snmp_profiles import load_profiles

    for name, spec in config.snmp.credentials.items():
        resolve(name, spec, Path(config.base_dir), doc.where(("snmp", "credentials", name)))
    for i, folder in enumerate(config.snmp.profile_dirs):
        if not config.resolve(folder).is_dir():
            raise ConfigError(doc.where(("snmp", "profile_dirs", i)), f"snmp.profile_dirs[{i}]",
                              f"no such folder: {config.resolve(folder)}")
    load_profiles(tuple(config.resolve(f) for f in config.snmp.profile_dirs))
