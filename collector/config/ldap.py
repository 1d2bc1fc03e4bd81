"""The `ldap:` section of collector.yaml: console login against the estate's LDAP or Active Directory, off
unless a server is given (docs/console.md, "LDAP / AD login").

The collector binds as a service account (bind_dn, its password a secret read the usual way), finds the
person under user_base with user_filter (the typed name escaped, RFC 4515), binds as that entry with the
typed password, then asks each mapped group whether the entry is a member: the highest role of those
groups is the person's. No mapped group, no login.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from opsmon.collector.core import secrets
from opsmon.collector.core.fields import FROZEN, PositiveDuration


class LdapConfig(BaseModel):
    model_config = FROZEN
    url: str | None = Field(None, description=(
        "The directory server, ldap://host[:port] or ldaps://host[:port]; LDAP login is off while absent"))
    start_tls: bool = Field(False, description=(
        "Upgrade an ldap:// connection with StartTLS before any password is sent (refused if the server cannot)"))
    ca_file: str | None = Field(None, description=(
        "PEM CA bundle the server's certificate is verified with (ldaps:// or StartTLS; default: system CAs)"))
    bind_dn: str | None = Field(None, description=(
        "The service account that searches for people, e.g. CN=opsmon,OU=Service,DC=hbj,DC=gov,DC=cn; "
        "absent: an anonymous search"))
    bind_password: SecretStr | None = Field(None, description="The service account's password (never logged)")
    bind_password_env: str | None = Field(None, description="... or the environment variable that holds it")
    bind_password_file: str | None = Field(None, description=(
        "... or a file that holds it (e.g. a systemd credential; relative to this file's folder)"))
    user_base: str = Field("", description="Where people are searched for (subtree), e.g. OU=Staff,DC=hbj,DC=gov,DC=cn")
    user_filter: str = Field("(uid={name})", description=(
        "The search for the typed name, {name} replaced by it escaped (RFC 4515); for AD "
        "(sAMAccountName={name})"))
    groups: dict[str, Literal["viewer", "operator", "admin"]] = Field(default_factory=dict, description=(
        "Group DN -> console role (viewer, operator or admin); a person gets the highest role of the groups whose "
        "member (or uniqueMember) they are, and no login without one"))
    connect_timeout: PositiveDuration = Field(3.0, description="Give up reaching the server after this long")
    timeout: PositiveDuration = Field(5.0, description=(
        "Give up on any one answer of the server after this long (whole seconds, rounded up)"))

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("ldap://", "ldaps://")):
            raise ValueError("ldap.url must start with ldap:// or ldaps://")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LdapConfig:
        secrets.check(self, "bind_password", required=self.bind_dn is not None)
        if self.bind_dn is None and secrets.given(self, "bind_password"):
            raise ValueError("bind_password given without bind_dn")
        if self.url is None:
            return self
        if "{name}" not in self.user_filter:
            raise ValueError("ldap.user_filter must contain {name}")
        if not self.groups:
            raise ValueError("ldap.groups must map at least one group DN to a role")
        if self.start_tls and self.url.lower().startswith("ldaps://"):
            raise ValueError("ldap.start_tls is for ldap:// (ldaps:// is TLS from the start)")
        return self
