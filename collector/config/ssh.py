"""The `ssh:` section of collector.yaml (the lead adds `ssh: SshConfig = SshConfig()` to the schema)."""
from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from opsmon.collector.config.ssh_credentials import SshCredentialSpec
from opsmon.collector.core.fields import FROZEN, PositiveDuration


class SshConfig(BaseModel):
    model_config = FROZEN
    credentials: dict[str, SshCredentialSpec] = Field(
        default_factory=dict, description="Named credentials; ssh and ssh_config checks refer to them by name")
    known_hosts: str = Field(
        "ssh_known_hosts", description=(
            "The collector's own known_hosts file (OpenSSH format; relative to collector.yaml). "
            "Never ~/.ssh/known_hosts"))
    connect_timeout: PositiveDuration = Field(10.0, description="TCP connect, SSH banner and authentication, each")
    max_output: int = Field(4 << 20, ge=1024, le=64 << 20,
                            description="Bytes a command may print; more is an error (never silently cut)")
    workers: int = Field(16, ge=1, le=256, description="SSH sessions run at once (each in a thread)")
    ignore: tuple[str, ...] = Field(
        (), description="Extra regular expressions for volatile configuration lines, for every device")
    max_diff_lines: int = Field(200, ge=10, le=10000,
                                description="Diff lines in a config change event (the full diff stays in the store)")

    @field_validator("ignore")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return value
