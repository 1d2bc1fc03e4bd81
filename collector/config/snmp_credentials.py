"""SNMP credentials: named in collector.yaml, referenced by name from the inventory.

A secret (community, auth key, priv key) is given inline, or better by
environment variable (`*_env`) or file (`*_file`, e.g. a systemd credential),
exactly one of the three. Secrets are resolved once at start; a missing variable
or unreadable file is a ConfigError naming the key. Secret values never appear
in a repr, a log line or an error message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from opsmon.collector.core import secrets
from opsmon.collector.core.errors import ConfigError
from opsmon.collector.core.fields import FROZEN

AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["DES", "AES", "AES128", "AES192", "AES256", "AES192C", "AES256C"]
SECRETS = ("community", "auth_key", "priv_key")


class CredentialSpec(BaseModel):
    """One credential as written in collector.yaml."""

    model_config = FROZEN
    version: Literal["2c", "3"] = Field(description="SNMP version: 2c (community) or 3 (USM user)")
    community: SecretStr | None = None
    community_env: str | None = None
    community_file: str | None = None
    user: str | None = Field(None, max_length=32, description="SNMPv3 user name")
    auth_protocol: AuthProtocol | None = Field(None, description="SHA, SHA224, SHA256, SHA384, SHA512 (or MD5)")
    auth_key: SecretStr | None = None
    auth_key_env: str | None = None
    auth_key_file: str | None = None
    priv_protocol: PrivProtocol | None = Field(None, description=(
        "AES (=AES128), AES192, AES256 (key stretched as net-snmp does), AES192C, AES256C (as Cisco does), DES"))
    priv_key: SecretStr | None = None
    priv_key_env: str | None = None
    priv_key_file: str | None = None

    def _given(self, name: str) -> int:
        return secrets.given(self, name)

    @model_validator(mode="after")
    def _consistent(self) -> CredentialSpec:
        for name in SECRETS:
            if self._given(name) > 1:
                raise ValueError(f"give only one of {name}, {name}_env, {name}_file")
        if self.version == "2c":
            if self._given("community") != 1:
                raise ValueError("version 2c needs community (or community_env / community_file)")
            if self.user or self.auth_protocol or self.priv_protocol:
                raise ValueError("user, auth_protocol and priv_protocol are for version 3")
            return self
        if not self.user:
            raise ValueError("version 3 needs user")
        if self._given("community"):
            raise ValueError("community is for version 2c")
        if self.priv_protocol and not self.auth_protocol:
            raise ValueError("priv_protocol needs auth_protocol (authPriv)")
        for name, proto in (("auth_key", self.auth_protocol), ("priv_key", self.priv_protocol)):
            if proto and self._given(name) != 1:
                raise ValueError(f"{name.split('_')[0]}_protocol {proto} needs {name} (or {name}_env / {name}_file)")
            if not proto and self._given(name):
                raise ValueError(f"{name} given without {name.split('_')[0]}_protocol")
            inline = getattr(self, name)
            if inline is not None and len(inline.get_secret_value()) < 8:
                raise ValueError(f"{name} must be at least 8 characters (RFC 3414)")
        return self

    @property
    def level(self) -> str:
        if self.version == "2c":
            return "community"
        return "authPriv" if self.priv_protocol else ("authNoPriv" if self.auth_protocol else "noAuthNoPriv")


@dataclass(frozen=True)
class Credential:
    """A credential with its secrets read; `repr` shows none of them."""

    name: str
    version: str
    user: str | None
    auth_protocol: str | None
    priv_protocol: str | None
    _secrets: dict[str, str] = field(repr=False, compare=False)

    def secret(self, name: str) -> str:
        return self._secrets[name]


def resolve(name: str, spec: CredentialSpec, base_dir: Path, source: str) -> Credential:
    """Read the secrets of one credential; ConfigError names the key when one cannot be read."""
    values: dict[str, str] = {}
    for key in SECRETS:
        value = secrets.read(spec, key, f"snmp.credentials.{name}", base_dir, source)
        if value is None:
            continue
        if key != "community" and len(value) < 8:
            raise ConfigError(source, f"snmp.credentials.{name}.{key}", "must be at least 8 characters (RFC 3414)")
        values[key] = value
    return Credential(name, spec.version, spec.user, spec.auth_protocol, spec.priv_protocol, values)
