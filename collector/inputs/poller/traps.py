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
for). Secrets as in collector.yaml's snmp.credentials: `community_env` / `_file` (or inline, in a file of mode
0600); they are resolved at start on the poller's box, never sent to the centre, never logged:

    [traps]
    enabled = true
    host = "0.0.0.0"          # the prefecture's devices send here
    port = 162                # needs CAP_NET_BIND_SERVICE; or 1162 and a device configured so
    engine_ids = {sw-2 = "8000000001020304"}
    [traps.credentials.v2]
    version = "2c"
    community_env = "OPSMON_TRAP_COMMUNITY"
"""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from opsmon.collector.config.snmp_credentials import Credential, CredentialSpec, resolve
from opsmon.collector.inputs.poller.trap_wire import MAX_TRAPS

if TYPE_CHECKING:  # imported when [traps] is on only: pysnmp and the trap maps' YAML reader (memory on a small box)
    from opsmon.collector.inputs.poller.trap_port import SiteTraps

MAX_QUEUE = 20_000  # traps held for the next report; beyond, refused (reason queue) until a report takes them


class PollerTrapSettings(BaseModel):
    """poller.toml's [traps]: what TrapReceiver reads of collector.yaml's snmp.traps, with the credentials inline."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    host: str = "0.0.0.0"
    port: int = Field(162, ge=1, le=65535)
    credentials: dict[str, CredentialSpec] = Field(default_factory=dict)
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
            raise ValueError("enabled needs credentials (the communities and v3 users traps may use)")
        for asset, engine_id in self.engine_ids.items():
            try:
                bytes.fromhex(engine_id)
            except ValueError:
                raise ValueError(f"engine_ids.{asset}: not hex") from None
        return self


def load_settings(path: str) -> tuple[PollerTrapSettings, dict[str, Credential]] | None:
    """poller.toml's [traps] and its secrets; None when off. Raises the agent's ConfigError (file, key, reason)."""
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
        raise ConfigError(path, ".".join(["traps", *(str(p) for p in e["loc"])]), e["msg"]) from None
    if not settings.enabled:
        return None
    try:
        creds = {name: resolve(name, spec, Path(path).parent, path) for name, spec in settings.credentials.items()}
    except CollectorConfigError as exc:  # a variable not set, a file not readable: named, the secret never
        raise ConfigError(path, "traps." + exc.keypath.removeprefix("snmp."), exc.reason) from None
    return settings, creds


def into_report(queue: deque[dict[str, Any]], doc: dict[str, Any], budget: int) -> int:
    """Move queued traps into a report (`traps`), oldest first, within `budget` bytes as sent; the bytes used.
    Called on the report thread (deque's append and popleft are thread-safe): a trap in a report is sent or
    spooled with it, so it has the report's guarantees (docs/agent.md, "Never losing a report")."""
    from opsmon.agent.runner import wire

    out: list[dict[str, Any]] = []
    size = 0
    while queue and len(out) < MAX_TRAPS and size < budget:
        trap = queue.popleft()
        size += len(wire(trap)) + 1
        out.append(trap)
    if out:
        doc["traps"] = out
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
