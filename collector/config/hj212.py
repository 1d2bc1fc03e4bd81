"""The `hj212:` section of collector.yaml: the HJ 212 receiver (issue 17), off unless enabled.

The units themselves are assets of category `dau` with an `hj212` check (config/checks.py `Hj212Spec`);
their passwords are named credentials here, referred to by name from the inventory, so the inventory
(stored, and listed by the API) never holds a secret.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from opsmon.collector.core import secrets
from opsmon.collector.core.fields import FROZEN, Duration, PositiveDuration, check_timezone


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


class UpstreamSpec(BaseModel):
    """A platform the relay forwards accepted frames to (docs/hj212.md, "Relay")."""

    model_config = FROZEN
    host: str = Field(min_length=1, description="The upstream platform's address")
    port: int = Field(ge=1, le=65535, description="Its HJ 212 TCP port")
    max_queue: int = Field(100_000, ge=1, le=10_000_000, description=(
        "Frames held on disk for it at most; past this a frame is not queued for it (counted as dropped, logged): "
        "the queue never grows without bound while the platform is away"))
    answer_wait: PositiveDuration = Field(10.0, description=(
        "How long a frame that asks for an answer waits for the platform's 9014; then the connection is "
        "made again and the frame resent (HJ 212's own 10 s, Table 1)"))


class HistorySpec(BaseModel):
    """The history pull: the collector asks a unit for its missing hourly values (2061 with BeginTime/EndTime)."""

    model_config = FROZEN
    enabled: bool = Field(True, description="Ask connected units for missing hours of their assessed points")
    check_every: PositiveDuration = Field(600.0, description="How often the missing hours are looked for")
    lookback: PositiveDuration = Field(3 * 86400.0, description=(
        "How far back hours are asked for (never an hour whose correction deadline has passed: it can no "
        "longer count)"))
    grace: Duration = Field(3600.0, description=(
        "An hour is missing only this long after it ended (the unit sends it late on its own); 0 for none"))
    retry_every: PositiveDuration = Field(3600.0, description="A gap is asked for at most once per this interval")
    max_requests: int = Field(20, ge=1, le=10_000, description="Requests sent per check at most (all units)")
    max_hours: int = Field(24, ge=1, le=744, description="Hours one request asks for at most (a longer gap is cut)")


class Hj212Config(BaseModel):
    model_config = FROZEN
    enabled: bool = Field(False, description="Receive HJ 212 data from the DAUs of the inventory (category dau)")
    host: str = Field("127.0.0.1", description="Address the HJ 212 receiver listens on (TCP)")
    port: int = Field(9212, ge=1, le=65535, description="TCP port the DAUs connect to")
    max_connections: int = Field(
        6000, ge=1, le=1_000_000, description="Connections held at once; one more is closed at once and counted")
    max_per_address: int = Field(64, ge=1, le=1_000_000, description=(
        "Connections held at once from one source address (a unit has one; more cover reconnects and the units "
        "behind one carrier NAT address on 4G); one more is closed at once, counted, and logged a line a minute "
        "per address"))
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
        "Accepted frames are kept as received, the password masked (the audit copy), this long; pruned hourly"))
    answer_wait: PositiveDuration = Field(10.0, description=(
        "How long a 9014 waits for the data's commit; later, or while the store fails, no 9014 is sent "
        "and the unit sends again"))
    timezone: str | None = Field(None, description=(
        "The units' clock (DataTime, QN, the 1012 sent to a 1013): default the collector's timezone; "
        "HJ 212 units keep local (Beijing) time"))
    upstreams: dict[str, UpstreamSpec] = Field(default_factory=dict, description=(
        "Platforms the relay forwards accepted frames to, by name; a DAU's hj212 check lists the ones it "
        "relays to (relay: [name, ...])"))
    relay_dir: str = Field("hj212-relay", description=(
        "Folder of the relay's crash-safe queues, one sub-folder per upstream (relative: from the config's folder)"))
    history: HistorySpec = Field(default_factory=HistorySpec, description=(
        "Ask units for missing hourly values while they can still count (2061 with BeginTime/EndTime)"))
    credentials: dict[str, Hj212CredentialSpec] = Field(
        default_factory=dict, description="Named DAU passwords; a DAU's hj212 check names one (credential:)")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)



def read_passwords(config: Hj212Config, base_dir: Path, source: str) -> dict[str, str]:
    """Every credential's password, read now; ConfigError names the key that cannot be read."""
    return secrets.read_named(config.credentials, "password", "hj212.credentials", base_dir, source)
