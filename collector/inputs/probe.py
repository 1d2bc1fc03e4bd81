"""`opsmon check-config --probe`: every check of the inventory tried once against its real target.

A new installation's mistakes are mostly names: an interface, a credential, an address mistyped. The
running collector reports each as an `unknown` state with its reason (and a log line once), but only
after it started; the probe says it at once, per asset and check, before anything is stored. It builds
the same checks the collector schedules (CHECKS, the SNMP and SSH hubs with their secrets read), runs
each once, and turns the SNMP polls' uplink observations into the result of the `link` assets they feed.

Nothing is written: no store, no timeline, no incident. HJ 212 units push their data and have nothing
to probe; they are listed as such.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsmon.collector.core.messages import Message
from opsmon.collector.core.states import UNKNOWN, UP, Observation
from opsmon.collector.inputs.checks import CHECKS, CheckContext
from opsmon.collector.inputs.checks.pinger import Pinger

PARALLEL = 32  # checks in flight at once: enough for an estate of hundreds in seconds, gentle on the devices
SKIPPED = "skipped"  # a status of its own: counted neither ok nor not ok
NOT_PROBED = "the unit pushes its data (HJ 212): nothing to try"


@dataclass(frozen=True)
class Probed:
    """One check's result: `ok` when up, else the status and reason the collector would record."""

    asset_id: str
    check_id: str
    status: str
    reason: str

    @property
    def ok(self) -> bool:
        return self.status == UP


def probe(config: Any, assets: Iterable[Any]) -> list[Probed]:
    """Each check of `assets` (AssetSpec) once, in inventory order; secrets are read (ConfigError naming a
    missing variable)."""
    return asyncio.run(_probe(config, list(assets)))


async def _probe(config: Any, assets: list[Any]) -> list[Probed]:
    from opsmon.collector.inputs.snmp.hub import SnmpHub, Uplink
    from opsmon.collector.inputs.snmp.presence import PresenceHub

    fed: list[Observation] = []

    def publish(msg: Message) -> None:
        if isinstance(msg, Observation):
            fed.append(msg)

    base, source = Path(config.base_dir or "."), config.source_file or "collector.yaml"
    ctx = CheckContext(pinger=Pinger())
    if config.snmp.credentials:
        ctx.snmp = SnmpHub(config.snmp, base, source, publish, ctx.pinger)
        ctx.presence = PresenceHub(ctx.snmp)
        ctx.presence.set_assets({a.id: a for a in assets})
    if config.ssh.credentials:
        from opsmon.collector.inputs.ssh.hub import SshHub

        ctx.ssh = SshHub(config.ssh, base, source, publish)  # no store: a configuration fetched is not kept
    results: dict[tuple[str, str], Probed] = {}
    order: list[tuple[str, str]] = []
    runs = []
    uplinks: dict[str, list[Any]] = {}
    gate = asyncio.Semaphore(PARALLEL)
    for asset in assets:
        for spec in asset.checks:
            key = (asset.id, spec.check_id)
            order.append(key)
            if spec.type == "hj212":
                results[key] = Probed(*key, SKIPPED, NOT_PROBED)
                continue
            interval = spec.interval or config.scheduler.default_interval
            timeout = min(spec.timeout or config.scheduler.default_timeout, interval * 0.9)
            check = CHECKS[spec.type](asset.id, asset.address, spec, timeout, ctx)
            if check.passive:
                uplinks.setdefault(spec.device, []).append(Uplink(asset.id, spec.check_id, spec.interface))
                results[key] = Probed(*key, UNKNOWN, f"device {spec.device} not polled (it has no snmp check)")
            else:
                runs.append(check)

    async def once(check: Any) -> None:
        async with gate:
            obs = await check.run()
        results[(obs.asset_id, obs.check_id)] = Probed(obs.asset_id, obs.check_id, obs.status, obs.reason)

    if ctx.snmp is not None:
        ctx.snmp.set_uplinks(uplinks)
    try:
        await asyncio.gather(*(once(c) for c in runs))
    finally:
        if ctx.snmp is not None:
            ctx.snmp.close()
        if ctx.ssh is not None:
            ctx.ssh.close()
        ctx.pinger.close()
    for obs in fed:  # the links, from their devices' polls (the last word per link wins, as in the timeline)
        results[(obs.asset_id, obs.check_id)] = Probed(obs.asset_id, obs.check_id, obs.status, obs.reason)
    for check in runs:  # a device that answers but lacks OIDs of its profiles: ok, and which (the log says it once)
        state = ctx.snmp.devices.get(check.asset_id) if check.type_name == "snmp" and ctx.snmp else None
        done = results[(check.asset_id, check.check_id)]
        if state is not None and state.absent and done.ok:
            results[(check.asset_id, check.check_id)] = Probed(
                done.asset_id, done.check_id, UP, "lacks " + ", ".join(sorted(state.absent)))
    return [results[key] for key in order]
