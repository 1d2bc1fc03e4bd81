"""A site poller's SNMP traps (docs/poller.md, "SNMP traps at a site"): the site's devices send their traps to
their poller, which forwards them to the centre in its reports, through its spool. Here: poller.toml's [traps]
and what the report loop does with the queue; the port itself is trap_port.py (loaded only when [traps] is on).

The port is the central receiver's (inputs/snmp/traps.py, TrapReceiver), not a twin of it: the same pysnmp engine
with its communities and v3 authPriv users, the same gate (a token bucket per source before anything is
decoded, every pysnmp failure a refusal by reason), the same refusal counts and log lines once a minute per
source. Only what happens to an authenticated trap differs (trap_port.py, `SiteTraps.handle`): it belongs to an
asset of the poller's site (by the v3 sender's engine ID under `engine_ids`, else by its source address among
the share's `sources`), or it is refused as `unknown_source`, as the centre refuses one from an address that is
no asset; then its varbinds, source, asset and receive time are queued (trap_wire.py) and ride the next report,
sent or spooled.
The centre maps them (inputs/poller/trap_ingest.py): the trap maps and storm grouping live there only.

`[traps]` in poller.toml (off by default: a poller is enrolled for its checks, and opens no port nobody asked
for). Its `credentials` name the communities and v3 users traps may use, as collector.yaml's snmp.traps.credentials
does: names of `snmp.credentials` in the poller's credentials file (`opsmon poller --credentials`, default
/etc/opsmon/poller-credentials.yaml), the file that already holds the secrets of the site's SNMP checks, so a site
keeps its secrets in one place. They are resolved at start on the poller's box (`*_env`, `*_file` or inline), never
sent to the centre, never logged:

    [traps]
    enabled = true
    host = "0.0.0.0"          # the prefecture's devices send here
    port = 162                # needs CAP_NET_BIND_SERVICE; or 1162 and a device configured so
    credentials = ["trap-v2", "core-v3"]
    engine_ids = {sw-2 = "8000000001020304"}

Deprecated, working for one release with a warning at start (naming the file, the key and the new form): the
credentials written inline under `[traps.credentials.NAME]` (snmp.credentials' format), as before; the secrets
then live in two files.
"""
from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

from opsmon.collector.config.snmp_credentials import Credential, CredentialSpec, resolve
from opsmon.collector.inputs.poller.devices import CREDENTIALS
from opsmon.collector.inputs.poller.trap_wire import MAX_TRAPS

if TYPE_CHECKING:  # imported when [traps] is on only: pysnmp and the trap maps' YAML reader (memory on a small box)
    from opsmon.collector.inputs.poller.trap_port import SiteTraps

log = logging.getLogger("opsmon.poller")
MAX_QUEUE = 20_000  # traps held for the next report; beyond, refused (reason queue) until a report takes them
NAMES, INLINE = "names", "inline"  # the two forms of [traps] credentials: names in the credentials file, or tables
DEPRECATED = ("poller.toml 的 [traps.credentials] 已弃用：请把这些团体名和 v3 用户移到凭据文件的 snmp.credentials 中，"
              "再在 [traps] 中按名称引用 / poller.toml's [traps.credentials] is deprecated: move these communities and "
              "v3 users to snmp.credentials of the credentials file and name them under [traps]")


def _form(value: Any) -> str:
    """Which form `credentials` is written in: a TOML array of names (a table is the deprecated inline form)."""
    return INLINE if isinstance(value, dict) else NAMES


class PollerTrapSettings(BaseModel):
    """poller.toml's [traps]: what TrapReceiver reads of collector.yaml's snmp.traps (its `credentials` are names,
    iterated as the centre's are; the deprecated inline tables are iterated by their names too)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    host: str = "0.0.0.0"
    port: int = Field(162, ge=1, le=65535)
    credentials: Annotated[Annotated[tuple[str, ...], Tag(NAMES)] | Annotated[dict[str, CredentialSpec], Tag(INLINE)],
                           Discriminator(_form)] = ()
    engine_ids: dict[str, str] = Field(default_factory=dict)
    rate: float = Field(50.0, gt=0, le=1_000_000)
    burst: int = Field(200, ge=1, le=1_000_000)
    refused_sources: int = Field(100, ge=0, le=100_000)
    max_queue: int = Field(MAX_QUEUE, ge=1, le=1_000_000)
    # read by TrapReceiver, unused at a poller (the centre groups storms and caps details)
    storm_window: float = 60.0
    store_unknown: bool = False

    @model_validator(mode="after")
    def _usable(self) -> PollerTrapSettings:
        if self.enabled and not self.credentials:
            raise ValueError("enabled needs credentials (the communities and v3 users traps may use: names of "
                             "snmp.credentials in the poller's credentials file, e.g. credentials = [\"trap-v2\"])")
        for asset, engine_id in self.engine_ids.items():
            try:
                bytes.fromhex(engine_id)
            except ValueError:
                raise ValueError(f"engine_ids.{asset}: not hex") from None
        return self


def load_settings(path: str, credentials: str = CREDENTIALS) -> tuple[PollerTrapSettings, dict[str, Credential]] | None:
    """poller.toml's [traps] and its secrets, read from the credentials file `credentials` (`opsmon poller
    --credentials`); None when off. Raises the agent's ConfigError (file, key, reason)."""
    from opsmon.agent.compat import tomllib
    from opsmon.agent.errors import ConfigError
    from opsmon.collector.core.errors import ConfigError as CollectorConfigError

    with open(path, "rb") as fh:
        table = tomllib.load(fh).get("traps")
    if table is None:
        return None
    try:
        settings = PollerTrapSettings.model_validate(table)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = [str(p) for i, p in enumerate(e["loc"]) if (i, e["loc"][0]) != (1, "credentials")]  # not the form's tag
        raise ConfigError(path, ".".join(["traps", *loc]), e["msg"]) from None
    if not settings.enabled:
        return None
    if isinstance(settings.credentials, tuple):
        return settings, file_credentials(path, settings.credentials, credentials)
    try:
        creds = {name: resolve(name, spec, Path(path).parent, path) for name, spec in settings.credentials.items()}
    except CollectorConfigError as exc:  # a variable not set, a file not readable: named, the secret never
        raise ConfigError(path, "traps." + exc.keypath.removeprefix("snmp."), exc.reason) from None
    names = ", ".join(f'"{name}"' for name in settings.credentials)
    log.warning(DEPRECATED, extra={"file": path, "key": "traps.credentials",  # names only: no secret
                                   "move_to": f"{credentials} snmp.credentials", "write": f"credentials = [{names}]"})
    return settings, creds


def file_credentials(path: str, names: tuple[str, ...], credentials: str) -> dict[str, Credential]:
    """The credentials [traps] names, from `snmp.credentials` of the poller's credentials file (the same the site's
    SNMP checks use), their secrets read now. Only these are read and validated here: the rest of the file is the
    hubs' (devices.py), read when the share first needs them. Raises the agent's ConfigError: a name the file does
    not define names poller.toml's key; a problem in the file names the file, its line and key."""
    from opsmon.agent.errors import ConfigError
    from opsmon.collector.config.yamlfile import read_yaml, validation_to_config_error
    from opsmon.collector.core.errors import ConfigError as CollectorConfigError

    try:
        doc = read_yaml(credentials)
        snmp = doc.data.get("snmp") if isinstance(doc.data, dict) else None
        specs = snmp.get("credentials") if isinstance(snmp, dict) else None
        specs = specs if isinstance(specs, dict) else {}
        out: dict[str, Credential] = {}
        for name in names:
            if name not in specs:
                defined = ", ".join(sorted(str(n) for n in specs)) or "none"
                raise ConfigError(path, "traps.credentials", f"names {name!r}, which snmp.credentials of {credentials} "
                                  f"does not define (defined: {defined})")
            try:
                spec = CredentialSpec.model_validate(specs[name])
            except ValidationError as exc:
                raise validation_to_config_error(exc, doc, ("snmp", "credentials", name)) from None
            out[name] = resolve(name, spec, Path(credentials).parent, credentials)
    except CollectorConfigError as exc:  # the file, line and key; a secret's value never appears in it
        more = len(exc.each()) - 1
        reason = exc.reason + (f" (and {more} more)" if more else "")
        if not exc.keypath:  # the file itself: say who wanted it
            reason += f" (the SNMP credentials file, read for traps.credentials of {path})"
        raise ConfigError(exc.file, exc.keypath, reason) from None
    return out


def into_report(queue: deque[dict[str, Any]], doc: dict[str, Any], budget: int) -> int:
    """Move queued traps into a report (`traps`), oldest first, within `budget` bytes as sent; the bytes used.
    Called on the report thread (deque's append and popleft are thread-safe): a trap in a report is sent or
    spooled with it, so it has the report's guarantees (docs/agent.md, "Never losing a report"); a report that
    cannot be built gives its traps back to the queue (runner.py, Forwarder.make_report)."""
    from opsmon.agent.runner import wire

    out: list[dict[str, Any]] = doc.setdefault("traps", [])  # in the report as taken: a failure can give them back
    size = 0
    while queue and len(out) < MAX_TRAPS and size < budget:
        out.append(queue.popleft())
        size += len(wire(out[-1])) + 1
    if not out:
        del doc["traps"]
    return size


def trap_sources(share: dict[str, Any]) -> dict[str, str]:
    """address -> asset of the site's assets (the share's `sources`; an odd entry is skipped)."""
    out: dict[str, str] = {}
    for item in share.get("sources") or ():
        if isinstance(item, dict) and isinstance(item.get("address"), str) and isinstance(item.get("asset"), str):
            out.setdefault(item["address"], item["asset"])
    return out


def trap_counts(traps: SiteTraps | None) -> dict[str, Any]:
    """For the poller's stop line: traps forwarded (in reports, sent or spooled), and refused by reason."""
    if traps is None:
        return {}
    refused: dict[str, int] = {}
    for (reason, _source), n in traps.refusals.counts.items():
        refused[reason] = refused.get(reason, 0) + n
    return {"traps": traps.counts.accepted - len(traps.queue), "traps_packets": traps.counts.packets,
            "traps_refused": ",".join(f"{r}:{n}" for r, n in sorted(refused.items())) or "0"}
