"""The sections of collector.yaml every read command needs (organisation, timezone, lang, database, and where the
SLA target table is) and a loader that validates only those (`opsmon oncall` adds the incidents section:
basics_oncall.py).

Why apart from schema.py: a read command (`opsmon status`, `incidents list`) needs the store, the zone and the
language, and building the whole schema's 44 models cost it ~0.11 s of its start (issue 25 item 2). So it
loads the file once and validates these sections alone (`load_basics`, the other keys left unread); `serve`,
`check-config` and every command that changes something validate the whole file (config/load.py), whose root
model is built on these very fields and methods. Errors still name file, line, key and reason.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from opsmon.collector.config.yamlfile import YamlDoc, read_yaml
from opsmon.collector.core.errors import ConfigError, problems_error
from opsmon.collector.core.fields import FROZEN, PositiveDuration, check_timezone

DEMO_CONFIG = str(resources.files("opsmon.collector") / "demo" / "collector.yaml")
SYSTEM_CONFIG = "/etc/opsmon/collector.yaml"  # where the packages and the Ansible role put it


def resolve_config_path(cli_value: str | None, demo: bool = False, system: str = SYSTEM_CONFIG) -> str:
    """--config wins, then $OPSMON_CONFIG, then /etc/opsmon/collector.yaml when it exists; the bundled demo
    config only when asked for (`demo`: `opsmon --demo`, or `opsmon serve` with nothing else found, which is how
    `make run` starts the demo). Otherwise ConfigError naming where a config was looked for: a command run
    without one used to write the demo's database (~/.local/state/opsmon/demo.db) silently (issue 20)."""
    found = cli_value or os.environ.get("OPSMON_CONFIG") or (system if os.path.isfile(system) else None)
    if found:
        return found
    if demo:
        return DEMO_CONFIG
    raise ConfigError(system, "", "not found, and neither --config FILE nor $OPSMON_CONFIG is given: give one or "
                      "create this file; for the bundled demo of `make run`, add --demo (opsmon --demo COMMAND)")


class DatabaseConfig(BaseModel):
    """Either `path` (embedded SQLite, WAL mode) or `url` (PostgreSQL), not both."""

    model_config = FROZEN
    path: str | None = Field(None, description="SQLite file (created with its folder); the embedded default")
    url: str | None = Field(None, description="postgresql://user:password@host/db instead of path")
    connect_timeout: PositiveDuration = Field(10.0, description="Give up connecting after this long")
    standby: bool = Field(False, description=(
        "When another collector holds this database, wait as its standby and take over once its lock is "
        "free (its process or host died), instead of refusing to start; the same config on both hosts "
        "(docs/operations.md, \"A standby collector\")"))
    standby_poll: PositiveDuration = Field(2.0, description="How often a standby tries the lock")

    @model_validator(mode="after")
    def _one_of(self) -> DatabaseConfig:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of database.path (SQLite) or database.url (PostgreSQL)")
        if self.url is not None and not self.url.startswith(("postgresql://", "postgresql+psycopg://", "sqlite:///")):
            raise ValueError("database.url must start with postgresql:// (or postgresql+psycopg://, sqlite:///)")
        return self


class SlaConfig(BaseModel):
    model_config = FROZEN
    targets_file: str | None = Field(None, description="The target table; default: rules/targets.yaml of opsmon")
    refresh: PositiveDuration = Field(60.0, description="How often quarter-to-date figures for /metrics are computed")


class TimelineConfig(BaseModel):
    model_config = FROZEN
    down_after: int = Field(3, ge=1, le=100, description="Consecutive bad results before a check counts as down")
    up_after: int = Field(1, ge=1, le=100, description="Consecutive good results before it counts as up again")
    stale_after_intervals: float = Field(3.0, ge=1.5, description="No result for this many intervals -> unknown")
    heartbeat_interval: PositiveDuration = Field(5.0, description=(
        "How often the collector records that it is alive; a restart counts the time since the last one as unknown"))
    tick: PositiveDuration = Field(
        1.0, description="How often time-driven changes (maintenance, staleness) are applied")


class Basics(BaseModel):
    """The first keys of collector.yaml: the root model (schema.CollectorConfig) extends this one."""

    model_config = FROZEN
    organisation: str = Field("opsmon", description="Name shown on reports")
    timezone: str = Field("UTC", description=(
        "IANA zone in which days, months, quarters and cron windows are cut, and in which every time a person "
        "reads is written (CLI, API answers with its offset, pages, notices, reports)"))
    lang: Literal["zh", "en"] = Field("zh", description=(
        "Language of the CLI's texts and durations (3天19小时58分 or 3d19h58m) when a command is given no --lang"))
    database: DatabaseConfig
    # Set by the loader, not by the file: where relative paths are resolved from.
    base_dir: str = Field("", exclude=True)
    source_file: str = Field("", exclude=True)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)

    def resolve(self, path: str) -> Path:
        """A path from the file: '~' expanded, relative paths taken from the config's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir or ".") / p

    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.resolve(self.database.path or '').resolve()}"


class ReadBasics(Basics):
    """Basics of a whole collector.yaml, its `sla` section (where the target table is, for `opsmon sla`) and its
    `timeline` (how often the collector beats: `opsmon history show` tells a stopped one by it), its other
    sections left unread (they are validated by the commands that use them)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    sla: SlaConfig = SlaConfig()
    timeline: TimelineConfig = TimelineConfig()

    def targets_path(self) -> Path:
        return targets_path(self, self.sla)


WINDOWS = "Maintenance windows; more can be added through the API"  # schema.py's and basics_windows.py's


def targets_path(config: Basics, sla: SlaConfig) -> Path:
    """The target table: sla.targets_file from the config's folder, else the bundled one."""
    return config.resolve(sla.targets_file) if sla.targets_file else bundled_targets_path()


def missing_targets(config: Basics, sla: SlaConfig, doc: YamlDoc) -> ConfigError | None:
    """sla.targets_file named but absent: the error of load_config (config/load.py) and of load_basics, the same
    words (file, line, key and reason) whichever validated the file."""
    if sla.targets_file and not targets_path(config, sla).is_file():
        return ConfigError(doc.where(("sla", "targets_file")), "sla.targets_file",
                           f"no such file: {targets_path(config, sla)}")
    return None


Read = TypeVar("Read", bound=ReadBasics)

# Every top-level key of collector.yaml (config/schema.CollectorConfig's fields; a test keeps the two equal). A read
# command validates only its own sections and leaves the others unread, but a key that is no section at all (a
# misspelt `timezon:`) is refused as the whole schema refuses it: ignored, its default would silently stand in.
SECTIONS = frozenset((
    "agents", "api", "base_dir", "console", "database", "flows", "hj212", "incidents", "inventory", "lang", "ldap",
    "listen", "logging", "maintenance", "notify", "organisation", "pollers", "reports", "retention", "scheduler",
    "sla", "snmp", "source_file", "ssh", "survey", "timeline", "timezone"))


def read_mapping(path: str | os.PathLike[str]) -> YamlDoc:
    """collector.yaml read (YAML errors name file and line), which must hold a mapping."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(str(path), "", "the file must hold a mapping of settings (it is empty or a list)")
    return doc


def load_basics(path: str | os.PathLike[str], model: type[Read] = ReadBasics) -> Read:  # type: ignore[assignment]
    """organisation, timezone, lang and database of collector.yaml (and the other sections of `model`, a
    ReadBasics), validated (ConfigError naming file, line, key and reason), and the target table it names present,
    as load_config checks it; the rest of the file is not."""
    doc = read_mapping(path)
    problems = [ConfigError(doc.where((key,)), str(key), "unknown key") for key in doc.data if key not in SECTIONS]
    try:
        basics: Read = doc.validate(model)
    except ConfigError as exc:
        problems += exc.each()
    if problems:  # all of them at once, as the whole schema says them
        raise problems_error(problems, doc.file)
    basics = basics.model_copy(update={"base_dir": str(Path(path).resolve().parent), "source_file": str(path)})
    missing = missing_targets(basics, basics.sla, doc)
    if missing is not None:
        raise missing
    return basics


def bundled_targets_path() -> Path:
    """rules/targets.yaml in a checkout; the packaged copy (collector/sla/targets.yaml) when installed."""
    here = Path(__file__).resolve().parents[2] / "rules" / "targets.yaml"
    if here.is_file():
        return here
    return Path(str(resources.files("opsmon.collector") / "sla" / "targets.yaml"))
