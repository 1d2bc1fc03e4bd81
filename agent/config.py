"""agent.toml: read with the standard library (tomllib; tomli before Python 3.11), validated, frozen.

Errors name the file, the key and the reason. The token is read from the file
(or from `token_file`), never from the command line, where `ps` would show it.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsmon.agent.baseline.fim import DEFAULT_PATHS as DEFAULT_FIM_PATHS
from opsmon.agent.compat import tomllib
from opsmon.agent.durations import parse_duration
from opsmon.agent.errors import ConfigError


@dataclass(frozen=True)
class AgentConfig:
    collector_url: str  # the first of collector_urls
    token: str = field(repr=False)
    collector_urls: tuple[str, ...] = ()  # every collector to try, in order (a standby after its active one)
    interval: float = 30.0
    spool_dir: str = "/var/lib/opsmon-agent/spool"
    spool_max_bytes: int = 50 * 1024 * 1024
    spool_max_age: float = 7 * 86400.0
    ca_file: str | None = None
    timeout: float = 10.0
    services: tuple[str, ...] = ()
    metrics_port: int | None = None  # the agent's /metrics on 127.0.0.1 (a poller's: metrics_address); off: None
    smartctl: str | None = None
    log_level: str = "INFO"
    # host security baseline (agent/baseline, docs/baseline.md)
    baseline: bool = True
    baseline_interval: float = 3600.0
    baseline_policy: str = ""  # a policy id or a .toml path; empty: chosen from /etc/os-release
    baseline_policy_dir: str | None = None  # default: rules/baseline of opsmon
    baseline_params: dict[str, Any] = field(default_factory=dict, hash=False)
    fim_paths: tuple[str, ...] = DEFAULT_FIM_PATHS
    fim_interval: float = 600.0
    fim_max_file_mb: float = 64.0
    auth_log: str = "auto"  # auto (auth.log, secure, else the journal), journal, off, or a file path
    bruteforce_threshold: int = 20
    bruteforce_window: float = 300.0


KEYS = {"collector_url", "token", "token_file", "interval", "spool_dir", "spool_max_mb", "spool_max_age",
        "ca_file", "timeout", "services", "metrics_port", "smartctl", "log_level",
        "baseline", "baseline_interval", "baseline_policy", "baseline_policy_dir", "baseline_params",
        "fim_paths", "fim_interval", "fim_max_file_mb", "auth_log", "bruteforce_threshold", "bruteforce_window"}


def _duration(file: str, key: str, value: Any) -> float:
    """A positive duration in collector.yaml's syntax (opsmon.agent.durations): 30, '30s', '1h30m', '7d'."""
    try:
        seconds = parse_duration(value)
    except ValueError:
        seconds = 0.0
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


def _ca_file(file: str, value: Any) -> str | None:
    """The CA bundle, read now: a path that is not there or holds no PEM certificate is a config error naming the
    file and key, not an SSL error naming neither at the first https request."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(file, "ca_file", "expected the path of a PEM file of CA certificates")
    try:
        text = Path(value).read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ConfigError(file, "ca_file", f"cannot read {value}: {exc.strerror}") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ConfigError(file, "ca_file", f"{value} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return value


def _metrics_where(tables: tuple[str, ...]) -> str:
    """Where metrics_port's page listens, for its error: the agent's on loopback only; a site poller's (the reader of
    poller.toml takes `metrics_address`, which the agent's file does not have) on metrics_address."""
    if "metrics_address" in tables:
        return "the SNMP devices' /metrics of opsmon poller, on metrics_address, default 127.0.0.1"
    return "the agent's /metrics, on 127.0.0.1 only"


def load(path: str | os.PathLike[str], tables: tuple[str, ...] = ()) -> AgentConfig:
    """tables: keys another reader of the same file takes (`opsmon poller` reads poller.toml's [traps])."""
    file = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"invalid TOML: {exc}") from None
    for key in data:
        if key not in KEYS and key not in tables:
            raise ConfigError(file, key, "unknown key")
    urls = _collector_urls(file, data.get("collector_url"))
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
        raise ConfigError(file, "metrics_port", f"expected a port number, 1 to 65535 ({_metrics_where(tables)})")
    level = data.get("log_level", "INFO")
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(file, "log_level", "one of DEBUG, INFO, WARNING, ERROR")
    security = _security(file, data)
    return AgentConfig(
        collector_url=urls[0], collector_urls=urls, token=token,
        interval=_duration(file, "interval", data.get("interval", 30)),
        spool_dir=str(data.get("spool_dir", AgentConfig.spool_dir)),
        spool_max_bytes=int(max_mb * 1024 * 1024),
        spool_max_age=_duration(file, "spool_max_age", data.get("spool_max_age", "7d")),
        ca_file=_ca_file(file, data.get("ca_file")), timeout=_duration(file, "timeout", data.get("timeout", 10)),
        services=tuple(services), metrics_port=port, smartctl=data.get("smartctl"), log_level=level,
        **security,
    )


def _collector_urls(file: str, value: Any) -> tuple[str, ...]:
    """collector_url: one base URL, or a list of them (an active collector and its standby, in order)."""
    urls = [value] if isinstance(value, str) else value
    if not isinstance(urls, list) or not urls or not all(
            isinstance(u, str) and re.match(r"^https?://[^\s/]+", u) for u in urls):
        raise ConfigError(file, "collector_url", "required: the collector's base URL, https://host:port, or a "
                          "list of them (an active collector and its standby)")
    return tuple(u.rstrip("/") for u in urls)


def _security(file: str, data: dict[str, Any]) -> dict[str, Any]:
    """The baseline, FIM and auth-log keys, validated; baseline_params against the policies' parameters."""
    out: dict[str, Any] = {}
    for key in ("baseline",):
        if key in data and not isinstance(data[key], bool):
            raise ConfigError(file, key, "expected true or false")
        out[key] = data.get(key, True)
    out["baseline_interval"] = _duration(file, "baseline_interval", data.get("baseline_interval", "1h"))
    out["fim_interval"] = _duration(file, "fim_interval", data.get("fim_interval", "10m"))
    out["bruteforce_window"] = _duration(file, "bruteforce_window", data.get("bruteforce_window", "5m"))
    for key in ("baseline_policy", "baseline_policy_dir"):
        if key in data and (not isinstance(data[key], str) or not data[key]):
            raise ConfigError(file, key, "expected a non-empty string")
    out["baseline_policy"] = data.get("baseline_policy", "")
    out["baseline_policy_dir"] = data.get("baseline_policy_dir")
    if out["baseline_policy_dir"] and not os.path.isdir(out["baseline_policy_dir"]):
        raise ConfigError(file, "baseline_policy_dir", f"{out['baseline_policy_dir']} is not a directory")
    paths = data.get("fim_paths", list(DEFAULT_FIM_PATHS))
    if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("/") for p in paths):
        raise ConfigError(file, "fim_paths", "expected a list of absolute paths ([] turns file integrity off)")
    out["fim_paths"] = tuple(paths)
    mb = data.get("fim_max_file_mb", 64)
    if not isinstance(mb, (int, float)) or isinstance(mb, bool) or mb <= 0:
        raise ConfigError(file, "fim_max_file_mb", "expected a positive number of megabytes")
    out["fim_max_file_mb"] = float(mb)
    auth = data.get("auth_log", "auto")
    if not isinstance(auth, str) or not (auth in ("auto", "journal", "off") or auth.startswith("/")):
        raise ConfigError(file, "auth_log", "auto, journal, off, or the absolute path of the auth log")
    out["auth_log"] = auth
    threshold = data.get("bruteforce_threshold", 20)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ConfigError(file, "bruteforce_threshold", "expected a positive whole number of failures")
    out["bruteforce_threshold"] = threshold
    params = data.get("baseline_params", {})
    if not isinstance(params, dict):
        raise ConfigError(file, "baseline_params", "expected a table: [baseline_params] name = value")
    from opsmon.agent.baseline.policy import PolicyError, load_policies, with_params

    try:
        policies = load_policies(out["baseline_policy_dir"])
    except PolicyError as exc:
        raise ConfigError(file, "baseline_policy_dir", str(exc)) from None
    for policy in policies:  # every policy the host might pick must accept the overrides
        try:
            with_params(policy, params, file)
        except PolicyError as exc:
            raise ConfigError(file, exc.key, exc.reason) from None
    out["baseline_params"] = dict(params)
    return out
