"""`presence`: a PC without an agent is up while the network sees it (docs/snmp.md, "Presence of PCs").

How the evidence combines, in this order:

1. its MAC in the latest walk of any listed switch (forwarding table; ARP table unless `arp: false`, an
   entry counting only when its age is known and within `fresh`): up;
2. else, with `icmp` and an address, an echo reply: up (either one up means up);
3. else, when a listed switch timed out, refused, or has no readable table: unknown, never down, since the
   PC may be behind the switch that could not be read;
4. else, when an ARP entry of unknown age shows it (no age from the agent, and either there since the first
   walk or there for so many walks that the walks' bound exceeds `fresh`; inputs/snmp/presence.date_ageless):
   unknown, since it may be hours old (a router's ARP timeout) or refreshed a second ago: neither up nor
   down (the entry is in the table, so "not in the tables" would be false);
5. else (every listed switch walked, the MAC in none): down.

The walks are the hub's (inputs/snmp/presence.py), shared by every PC behind a switch.
"""
from __future__ import annotations

import asyncio

from opsmon.collector.config.checks import PresenceSpec
from opsmon.collector.core.states import DOWN, UNKNOWN, UP
from opsmon.collector.inputs.checks.base import Check, Outcome
from opsmon.collector.inputs.snmp.presence import Sighting, Walk

WALK_SHARE = 0.6  # of the check's timeout for the walks; the rest is the ping's


class PresenceCheck(Check):
    type_name = "presence"
    Spec = PresenceSpec

    async def probe(self) -> Outcome:
        spec: PresenceSpec = self.spec
        hub = self.ctx.presence
        if hub is None:
            return Outcome(UNKNOWN, "SNMP is not configured (no snmp section in collector.yaml)")
        max_age = min(spec.fresh, (spec.interval or spec.fresh) * 0.9)
        asks = {s: asyncio.ensure_future(hub.walk(s, max_age)) for s in dict.fromkeys(spec.switches)}
        budget = self.timeout * WALK_SHARE
        await asyncio.wait(asks.values(), timeout=budget)
        walks: dict[str, Walk | None] = {}
        for switch, ask in asks.items():
            if ask.done() and not ask.cancelled() and ask.exception() is None:
                walks[switch] = ask.result()
            else:
                ask.cancel()  # the shared walk goes on (shielded) for the next asker
                walks[switch] = None
        sightings = [s for w in walks.values() if w is not None and not w.error for s in w.seen.get(spec.mac, ())
                     if s.table != "arp" or spec.arp]
        seen = [s for s in sightings if s.table != "arp" or (s.age is not None and s.age <= spec.fresh)]
        if seen:
            return Outcome(UP, "seen: " + "; ".join(s.describe() for s in seen[:4]))
        # ARP entries of unknown age: no age from the agent, and no bound from the walks (there since the first
        # walk) or a bound beyond `fresh` (there for several walks: made long ago or refreshed a second ago).
        undated = [s for s in sightings if s.table == "arp" and not s.agent_age]
        walked = [s for s, w in walks.items() if w is not None and not w.error]
        silent = [f"{spec.mac} not in the tables of {', '.join(walked)}"] if walked and not undated else []
        if undated:
            silent.append(f"{spec.mac} 仍在 ARP 表中，但表项时长未知 / {spec.mac} still in ARP entries of unknown age "
                          f"(no age from the agent): " + "; ".join(_undated(s, spec.fresh) for s in undated[:4]))
        if spec.icmp and self.address and self.ctx.pinger is not None:
            host = self.address
            try:
                await self.ctx.pinger.ping(host, max(0.1, self.timeout * (0.9 - WALK_SHARE)))
            except PermissionError as exc:
                silent.append(f"ICMP not permitted: {exc}")
            except (TimeoutError, OSError):
                silent.append(f"no echo reply from {host}")
            else:
                return Outcome(UP, "; ".join([f"echo reply from {host}", *silent]))
        unread = [w.error if w is not None else f"{s}: walk not finished within {budget:g}s"
                  for s, w in walks.items() if w is None or w.error]
        if unread or undated:
            return Outcome(UNKNOWN, "; ".join(unread + silent))
        return Outcome(DOWN, "; ".join(silent))


def _undated(s: Sighting, fresh: float) -> str:
    """An ARP entry of unknown age, with what the walks know of it."""
    if s.age is None:
        return f"{s.describe()} (there since the first walk)"
    return f"{s.describe()} (made at most {s.age:g}s ago, beyond fresh {fresh:g}s)"
