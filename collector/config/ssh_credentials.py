"""SSH credentials: named in collector.yaml (`ssh.credentials`), referenced by name from checks.

A credential is a user plus a password, a private key file, or both (some devices
ask for both). The password and the key's passphrase are given inline, by
environment variable (`*_env`) or by file (`*_file`, e.g. a systemd credential),
at most one way each. Everything is read once at start; a missing variable, an
unreadable file or a key that will not open is a ConfigError naming the key.
Secret values never appear in a repr, a log line or an error message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, model_validator

from opsmon.collector.core import secrets
from opsmon.collector.core.errors import ConfigError
from opsmon.collector.core.fields import FROZEN

SECRETS = ("password", "passphrase")


class SshCredentialSpec(BaseModel):
    """One credential as written in collector.yaml."""

    model_config = FROZEN
    user: str = Field(min_length=1, max_length=64, pattern=r"^[^\s:@]+$", description="Login name on the device")
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: str | None = None
    private_key_file: str | None = Field(
        None, description="OpenSSH or PEM private key (ed25519, ecdsa, rsa); relative to collector.yaml")
    passphrase: SecretStr | None = None
    passphrase_env: str | None = None
    passphrase_file: str | None = None

    def _given(self, name: str) -> int:
        return secrets.given(self, name)

    @model_validator(mode="after")
    def _consistent(self) -> SshCredentialSpec:
        for name in SECRETS:
            if self._given(name) > 1:
                raise ValueError(f"give only one of {name}, {name}_env, {name}_file")
        if not self._given("password") and self.private_key_file is None:
            raise ValueError("an SSH credential needs a password (or password_env / password_file), "
                             "a private_key_file, or both")
        if self._given("passphrase") and self.private_key_file is None:
            raise ValueError("passphrase is for an encrypted private_key_file")
        return self


@dataclass(frozen=True)
class SshCredential:
    """A credential with its secrets read and its key loaded; `repr` shows none of them."""

    name: str
    user: str
    key_file: str | None
    _password: str | None = field(default=None, repr=False, compare=False)
    _pkey: Any = field(default=None, repr=False, compare=False)  # a paramiko PKey

    @property
    def password(self) -> str | None:
        return self._password

    @property
    def pkey(self) -> Any:
        return self._pkey

    @property
    def methods(self) -> str:
        """What this credential offers, for messages: 'publickey', 'password' or both."""
        return "+".join(m for m, have in (("publickey", self._pkey), ("password", self._password)) if have)


def _path(path: str, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def resolve(name: str, spec: SshCredentialSpec, base_dir: Path, source: str) -> SshCredential:
    """Read the secrets of one credential and open its key; ConfigError names the key on failure."""
    import paramiko

    where = f"ssh.credentials.{name}"
    password = secrets.read(spec, "password", where, base_dir, source)
    passphrase = secrets.read(spec, "passphrase", where, base_dir, source)
    pkey = None
    key_file = None
    if spec.private_key_file is not None:
        p = _path(spec.private_key_file, base_dir)
        key_file = str(p)
        try:
            # Positional: paramiko 5.0 renamed the keyword (passphrase -> password); bytes, as cryptography wants.
            pkey = paramiko.PKey.from_path(p, passphrase.encode() if passphrase else None)
        except OSError as exc:
            raise ConfigError(source, where + ".private_key_file", f"cannot read {p}: {exc.strerror}") from None
        except (paramiko.PasswordRequiredException, TypeError):  # TypeError: cryptography's "no password given"
            raise ConfigError(source, where + ".private_key_file",
                              f"{p} is encrypted: give passphrase (or passphrase_env / passphrase_file)") from None
        except (paramiko.SSHException, ValueError) as exc:
            # A wrong passphrase and an unreadable format both land here; neither message holds a secret.
            why = "wrong passphrase or not a private key" if passphrase else "not a private key paramiko can read"
            raise ConfigError(source, where + ".private_key_file", f"cannot open {p}: {why} "
                              f"({type(exc).__name__})") from None
    return SshCredential(name, spec.user, key_file, password, pkey)
