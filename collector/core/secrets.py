"""Secrets in configuration (SNMP communities and keys, SSH passwords, robot keys, SMTP passwords, ...).

One rule everywhere: each secret is given inline, by environment variable
(`<name>_env`) or by file (`<name>_file`, e.g. a systemd credential), at most
one of the three; it is read once at start, and a missing variable or an
unreadable file is a ConfigError naming the key. Inline values live in
SecretStr so a repr of the config never shows them.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, SecretStr

from opsmon.collector.core.errors import ConfigError


def given(model: BaseModel, name: str) -> int:
    return sum(getattr(model, name + suffix) is not None for suffix in ("", "_env", "_file"))


def check(model: BaseModel, name: str, required: bool) -> None:
    """Validator helper: ValueError unless the secret is given in exactly one way (or not at all if optional)."""
    count = given(model, name)
    if count > 1:
        raise ValueError(f"give only one of {name}, {name}_env, {name}_file")
    if required and count == 0:
        raise ValueError(f"needs {name} (or {name}_env / {name}_file)")


def read(model: BaseModel, name: str, where: str, base_dir: Path, source: str) -> str | None:
    """The secret's value, or None if not configured; ConfigError names `where` when it cannot be read."""
    inline: SecretStr | None = getattr(model, name)
    env: str | None = getattr(model, name + "_env")
    path: str | None = getattr(model, name + "_file")
    if inline is not None:
        value = inline.get_secret_value()
    elif env is not None:
        if env not in os.environ:
            raise ConfigError(source, f"{where}.{name}_env", f"environment variable {env} is not set")
        value = os.environ[env]
    elif path is not None:
        p = Path(path).expanduser()
        p = p if p.is_absolute() else base_dir / p
        try:
            value = p.read_text().rstrip("\r\n")  # the file's final newline is not part of the secret
        except OSError as exc:
            raise ConfigError(source, f"{where}.{name}_file", f"cannot read {p}: {exc.strerror}") from None
    else:
        return None
    if not value:
        raise ConfigError(source, f"{where}.{name}", "is empty")
    return value


def read_named(models: Mapping[str, BaseModel], name: str, where: str, base_dir: Path, source: str) -> dict[str, str]:
    """The secret `name` of every model of a named set (e.g. hj212.credentials), read now; ConfigError names
    `where.<key>` of the first that cannot be read."""
    out: dict[str, str] = {}
    for key, model in models.items():
        value = read(model, name, f"{where}.{key}", base_dir, source)
        if value is not None:
            out[key] = value
    return out
