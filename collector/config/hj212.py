"""The `hj212:` section of collector.yaml: the HJ 212 receiver (issue 17), off unless enabled.

The units themselves are assets of category `dau` with an `hj212` check (config/checks.py `Hj212Spec`);
their passwords are named credentials here, referred to by name from the inventory, so the inventory
(stored, and listed by the API) never holds a secret.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from opsmon.collector.core import secrets
from opsmon.collector.core.fields import FROZEN, PositiveDuration, check_timezone


class Hj212CredentialSpec(BaseModel):
    """A DAU's password (the frames' PW), inline, by environment variable or by file."""

    model_config = FROZEN
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Hj212CredentialSpec:
        secrets.check(self, "password", required=True)
        return self


class Hj212Config(BaseModel):
    model_config = FROZEN
    enabled: bool = Field(False, description="Receive HJ 212 data from the DAUs of the inventory (category dau)")
    host: str = Field("127.0.0.1", description="Address the HJ 212 receiver listens on (TCP)")
    port: int = Field(9212, ge=1, le=65535, description="TCP port the DAUs connect to")
    max_connections: int = Field(
        6000, ge=1, le=1_000_000, description="Connections held at once; one more is closed at once and counted")
    stale_after: PositiveDuration = Field(3600.0, description=(
        "A DAU with no accepted frame for this long is down (数采仪未发送 / DAU not sending). The default fits "
        "minute data (MinInterval up to 30 min); give an hourly-only unit its own stale_after (e.g. 2h) on its "
        "hj212 check"))
    idle_timeout: PositiveDuration = Field(10800.0, description=(
        "A connection that sends nothing for this long is closed (a dead link the unit never closed)"))
    max_segment: int = Field(9999, ge=1024, le=9999, description=(
        "Largest data segment read (the framer's bound); the standard's 1024 is exceeded by real units, "
        "accepted and counted as oversize"))
    raw_retention: PositiveDuration = Field(30 * 86400.0, description=(
        "Accepted frames are kept as received (the audit copy, PW included) this long; pruned hourly"))
    answer_wait: PositiveDuration = Field(10.0, description=(
        "How long a 9014 waits for the data's commit; later, or while the store fails, no 9014 is sent "
        "and the unit sends again"))
    timezone: str | None = Field(None, description=(
        "The units' clock (DataTime, QN, the 1012 sent to a 1013): default the collector's timezone; "
        "HJ 212 units keep local (Beijing) time"))
    credentials: dict[str, Hj212CredentialSpec] = Field(
        default_factory=dict, description="Named DAU passwords; a DAU's hj212 check names one (credential:)")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)



def read_passwords(config: Hj212Config, base_dir: Path, source: str) -> dict[str, str]:
    """Every credential's password, read now; ConfigError names the key that cannot be read."""
    return secrets.read_named(config.credentials, "password", "hj212.credentials", base_dir, source)
