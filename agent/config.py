"""agent.toml: read with the standard library (tomllib), validated, frozen.

Errors name the file, the key and the reason. The token is read from the file
(or from `token_file`), never from the command line, where `ps` would show it.
"""
from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import ConfigError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


@dataclass(frozen=True)
class AgentConfig:
    collector_url: str
    token: str = field(repr=False)
    interval: float = 30.0
    spool_dir: str = "/var/lib/opsmon-agent/spool"
    spool_max_bytes: int = 50 * 1024 * 1024
    spool_max_age: float = 7 * 86400.0
    ca_file: str | None = None
    timeout: float = 10.0
    services: tuple[str, ...] = ()
    metrics_port: int | None = None  # local /metrics on 127.0.0.1 only; off when None
    smartctl: str | None = None
    log_level: str = "INFO"


KEYS = {"collector_url", "token", "token_file", "interval", "spool_dir", "spool_max_mb", "spool_max_age",
        "ca_file", "timeout", "services", "metrics_port", "smartctl", "log_level"}


def _duration(file: str, key: str, value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    if isinstance(value, str) and (m := _DURATION.match(value.strip())):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
        if seconds > 0:
            return seconds
    raise ConfigError(file, key, f"expected a positive duration such as 30, '30s' or '7d', got {value!r}")


def _secret_file(file: str, key: str, path: str) -> str:
    try:
        st = os.stat(path)
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(file, key, f"cannot read {path}: {exc.strerror}") from None
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(file, key, f"{path} is readable by others; chmod 600 it")
    return text


def load(path: str | os.PathLike[str]) -> AgentConfig:
    file = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"invalid TOML: {exc}") from None
    for key in data:
        if key not in KEYS:
            raise ConfigError(file, key, "unknown key")
    url = data.get("collector_url")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(file, "collector_url", "required: the collector's base URL, https://host:port")
    if "token" in data and "token_file" in data:
        raise ConfigError(file, "token", "give token or token_file, not both")
    if "token_file" in data:
        token = _secret_file(file, "token_file", str(data["token_file"]))
    else:
        token = data.get("token", "")
        if os.name == "posix" and token and os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(file, "token", f"{file} holds a token and is readable by others; chmod 600 it")
    if not isinstance(token, str) or not token.startswith("opsmon_agent_"):
        raise ConfigError(file, "token", "required: the token printed by `opsmon agents enroll`")
    services = data.get("services", [])
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise ConfigError(file, "services", "expected a list of process names")
    max_mb = data.get("spool_max_mb", 50)
    if not isinstance(max_mb, (int, float)) or isinstance(max_mb, bool) or max_mb <= 0:
        raise ConfigError(file, "spool_max_mb", "expected a positive number of megabytes")
    port = data.get("metrics_port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535):
        raise ConfigError(file, "metrics_port", "expected a port number (the endpoint binds 127.0.0.1 only)")
    level = data.get("log_level", "INFO")
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(file, "log_level", "one of DEBUG, INFO, WARNING, ERROR")
    return AgentConfig(
        collector_url=url.rstrip("/"), token=token,
        interval=_duration(file, "interval", data.get("interval", 30)),
        spool_dir=str(data.get("spool_dir", AgentConfig.spool_dir)),
        spool_max_bytes=int(max_mb * 1024 * 1024),
        spool_max_age=_duration(file, "spool_max_age", data.get("spool_max_age", "7d")),
        ca_file=data.get("ca_file"), timeout=_duration(file, "timeout", data.get("timeout", 10)),
        services=tuple(services), metrics_port=port, smartctl=data.get("smartctl"), log_level=level,
    )
