"""Presence of PCs without an agent: which MACs the access switches' forwarding and ARP tables hold.

Cost: a switch's tables are walked once per interval, whatever the number of PCs behind it. Every
`presence` check asks `PresenceHub.walk()` for each switch it lists; a walk younger than the asker's
interval (and its `fresh`) is shared, and a walk in flight is awaited rather than started twice. A failed
walk is shared too, so 200 PCs behind a silent switch cost one timeout, not 200.

What one walk reads (one GET and one or two GETBULK walks, columns side by side, `client.walk_columns`):

- Q-BRIDGE-MIB dot1qTpFdbTable (1.3.6.1.2.1.17.7.1.2.2): port and status, indexed by FDB id (the VLAN
  on most switches) and MAC; else BRIDGE-MIB dot1dTpFdbTable (1.3.6.1.2.1.17.4.3), indexed by MAC, read
  only when the Q-BRIDGE table is empty. Bridge ports become interface names through dot1dBasePortIfIndex
  and the switch's own poll (its ifName), where it has one.
- IP-MIB ipNetToPhysicalTable (1.3.6.1.2.1.4.35), with the age of each entry (sysUpTime minus
  ipNetToPhysicalLastUpdated); else the older ipNetToMediaTable (1.3.6.1.2.1.4.22), without an age.

An ARP entry without an age may be hours old (a router keeps one for its ARP timeout, 4 h on Cisco): it
is dated by the walks themselves (`date_ageless`). One absent from the switch's walk before and present in
this one was made between the two, so its age is at most the time between them, and grows by the time
between walks while it stays; one already there at the first walk (or after a failed walk) has an unknown
age. The check counts an ARP entry only with an age within `fresh`; one of unknown age (or whose bound from the
walks has grown beyond `fresh` while it stayed) makes its result unknown, never up or down
(inputs/checks/presence.py).

Only learned forwarding entries (status learned(3) or no status) and dynamic ARP entries (type dynamic(3)
or no type) count: a static or the switch's own entry says nothing about a PC being on.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from opsmon.collector.core.errors import AuthFailed, PeerTimeout, ProtocolError
from opsmon.collector.inputs.snmp.client import NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Oid, Target, no_answer, walk_columns

log = logging.getLogger(__name__)

SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
BASE_PORT_IFINDEX: Oid = (1, 3, 6, 1, 2, 1, 17, 1, 4, 1, 2)
Q_PORT: Oid = (1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1, 2)
Q_STATUS: Oid = (1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1, 3)
D_PORT: Oid = (1, 3, 6, 1, 2, 1, 17, 4, 3, 1, 2)
D_STATUS: Oid = (1, 3, 6, 1, 2, 1, 17, 4, 3, 1, 3)
PHYS_ADDRESS: Oid = (1, 3, 6, 1, 2, 1, 4, 35, 1, 4)
PHYS_UPDATED: Oid = (1, 3, 6, 1, 2, 1, 4, 35, 1, 5)
PHYS_TYPE: Oid = (1, 3, 6, 1, 2, 1, 4, 35, 1, 6)
MEDIA_ADDRESS: Oid = (1, 3, 6, 1, 2, 1, 4, 22, 1, 2)
MEDIA_TYPE: Oid = (1, 3, 6, 1, 2, 1, 4, 22, 1, 4)
LEARNED = 3  # dot1dTpFdbStatus / dot1qTpFdbStatus learned(3)
DYNAMIC = 3  # ipNetToPhysicalType / ipNetToMediaType dynamic(3)


@dataclass(frozen=True)
class Sighting:
    """Where one walk saw a MAC: a forwarding entry (port, and VLAN for Q-BRIDGE) or an ARP entry (IP, age)."""

    switch: str
    table: str  # q-bridge, bridge, arp
    port: str = ""
    vlan: int | None = None
    ip: str = ""
    age: float | None = None  # seconds since the ARP entry was updated: the agent's, or `date_ageless`'s bound
    agent_age: bool = False  # the age is the agent's (ipNetToPhysicalLastUpdated), not a bound from the walks

    def describe(self) -> str:
        if self.table == "arp":
            return f"{self.switch} ARP {self.ip} on {self.port}"
        vlan = f" VLAN {self.vlan}" if self.vlan is not None else ""
        return f"{self.switch} port {self.port}{vlan}"


@dataclass
class Walk:
    """One walk of one switch: the MACs it saw, or why it could not be read (error)."""

    switch: str
    at: float  # the hub's clock when the walk began: its age is counted from there
    seen: dict[str, list[Sighting]] = field(default_factory=dict)
    error: str = ""
    varbinds: int = 0


def mac_text(value: Any) -> str | None:
    if isinstance(value, bytes) and len(value) == 6:
        return ":".join(f"{b:02x}" for b in value)
    if isinstance(value, tuple) and len(value) == 6 and all(0 <= b < 256 for b in value):
        return ":".join(f"{b:02x}" for b in value)
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and value not in (NO_SUCH_OBJECT, NO_SUCH_INSTANCE) else None


def _ip(octets: tuple[int, ...]) -> str:
    try:
        return str(ipaddress.ip_address(bytes(octets)))
    except ValueError:
        return ".".join(map(str, octets))


def date_ageless(before: Walk | None, walk: Walk) -> None:
    """Give `walk`'s ARP entries without an age (ipNetToMediaTable, or no ipNetToPhysicalLastUpdated) the bound
    the walks show: absent from `before` (a readable walk of the same switch) -> at most walk.at - before.at;
    present in `before` with a bound -> that bound plus the time between; otherwise left unknown (None)."""
    if before is None or before.error:
        return
    since = walk.at - before.at
    for mac, sightings in walk.seen.items():
        earlier = {(s.port, s.ip): s for s in before.seen.get(mac, ()) if s.table == "arp"}
        for i, s in enumerate(sightings):
            if s.table != "arp" or s.age is not None:
                continue
            old = earlier.get((s.port, s.ip))
            if old is None:
                sightings[i] = replace(s, age=since)  # appeared between the two walks
            elif old.age is not None and not old.agent_age:
                sightings[i] = replace(s, age=old.age + since)


class PresenceHub:
    """The shared walks of the switches the `presence` checks list; needs the SNMP hub for client and credentials."""

    def __init__(self, snmp: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.snmp = snmp
        self.clock = clock
        self.switches: dict[str, tuple[str, Any]] = {}  # switch id -> (address, its snmp check's spec)
        self.walks: dict[str, Walk] = {}
        self.walked = 0  # walks made (the cost a test counts)
        self._inflight: dict[str, asyncio.Future[Walk]] = {}

    def set_assets(self, specs: Mapping[str, Any]) -> None:
        """The assets (AssetSpec by id) at each inventory reload: the polled ones are the switches a check may list.
        A switch whose address or credential changed is walked afresh."""
        switches: dict[str, tuple[str, Any]] = {}
        for asset_id, spec in specs.items():
            snmp = next((c for c in spec.checks if c.type == "snmp"), None)
            if snmp is not None and spec.address:
                switches[asset_id] = (spec.address, snmp)
        for gone in [s for s in self.walks if switches.get(s) != self.switches.get(s)]:
            del self.walks[gone]
        self.switches = switches

    async def walk(self, switch: str, max_age: float) -> Walk:
        """The switch's latest walk if it began less than max_age seconds ago, else a new one (shared)."""
        last = self.walks.get(switch)
        if last is not None and self.clock() - last.at < max_age:
            return last
        pending = self._inflight.get(switch)
        if pending is None:
            pending = asyncio.ensure_future(self._walk(switch))
            self._inflight[switch] = pending
            pending.add_done_callback(lambda _f: self._inflight.pop(switch, None))
        return await asyncio.shield(pending)  # one asker's timeout must not cancel the others' walk

    async def _walk(self, switch: str) -> Walk:
        walk = Walk(switch, self.clock())
        where = self.switches.get(switch)
        if where is None:
            walk.error = f"{switch} is not an asset with an address and an snmp check"
        elif where[1].credential not in getattr(self.snmp, "credentials", {}):
            walk.error = f"{switch}: unknown SNMP credential {where[1].credential!r}"
        else:
            target = self.snmp.target(where[0], where[1])
            try:
                await self._read(walk, target)
            except PeerTimeout:
                walk.error = f"{switch}: {no_answer(target)}"
            except AuthFailed as exc:
                walk.error = f"{switch}: SNMP credential {where[1].credential!r} refused: {exc}"
            except ProtocolError as exc:
                walk.error = f"{switch}: SNMP protocol error: {exc}"
            except Exception:  # noqa: BLE001 - a bug here is unknown for the PCs, never down
                log.exception("presence walk crashed", extra={"asset": switch})
                walk.error = f"{switch}: internal error in the presence walk (see the collector log)"
        old = self.walks.get(switch)
        if not walk.error:
            date_ageless(old, walk)
        if (old.error if old else "") != walk.error:
            if walk.error:
                log.warning("presence walk failed", extra={"asset": switch, "reason": walk.error})
            elif old is not None:
                log.info("presence walk answered again", extra={"asset": switch})
        self.walks[switch] = walk
        self.walked += 1
        return walk

    async def _read(self, walk: Walk, target: Target) -> None:
        client, per_request = self.snmp.client, self.snmp.settings.varbinds_per_request
        (_oid, uptime), = await client.get(target, [SYS_UPTIME])
        cols = await walk_columns(client, target, [Q_PORT, Q_STATUS, PHYS_ADDRESS, PHYS_UPDATED, PHYS_TYPE,
                                                   BASE_PORT_IFINDEX], per_request)
        fallback = ([D_PORT, D_STATUS] if not cols[Q_PORT] else []) + ([MEDIA_ADDRESS, MEDIA_TYPE]
                                                                       if not cols[PHYS_ADDRESS] else [])
        if fallback:
            cols.update(await walk_columns(client, target, fallback, per_request))
        walk.varbinds = 1 + sum(len(v) for v in cols.values())
        ports = {idx[0]: v for idx, v in cols[BASE_PORT_IFINDEX].items() if len(idx) == 1 and isinstance(v, int)}
        if_rows = self._if_rows(walk.switch)

        def port_name(bridge_port: int) -> str:
            if_index = ports.get(bridge_port)
            name = if_rows.get(str(if_index), {}).get("ifName") if if_index is not None else None
            return f"{bridge_port} ({name})" if name else str(bridge_port)

        def add(mac: str | None, sighting: Sighting) -> None:
            if mac is not None:
                walk.seen.setdefault(mac, []).append(sighting)

        for idx, port in cols[Q_PORT].items():
            if len(idx) == 7 and _int(port) is not None and _int(cols[Q_STATUS].get(idx)) in (LEARNED, None):
                add(mac_text(idx[1:]), Sighting(walk.switch, "q-bridge", port_name(port), idx[0]))
        for idx, port in cols.get(D_PORT, {}).items():
            if len(idx) == 6 and _int(port) is not None and _int(cols[D_STATUS].get(idx)) in (LEARNED, None):
                add(mac_text(idx), Sighting(walk.switch, "bridge", port_name(port)))
        now_ticks = _int(uptime)
        for idx, phys in cols[PHYS_ADDRESS].items():
            # index: ifIndex, address type, address length, address octets (InetAddress, not IMPLIED)
            if len(idx) < 3 or _int(cols[PHYS_TYPE].get(idx)) not in (DYNAMIC, None):
                continue
            updated = _int(cols[PHYS_UPDATED].get(idx))
            age = (now_ticks - updated) / 100 if now_ticks is not None and updated is not None else None
            known = age is not None and age >= 0
            add(mac_text(phys), Sighting(walk.switch, "arp", f"ifIndex {idx[0]}", ip=_ip(idx[3:3 + idx[2]]),
                                         age=age if known else None, agent_age=known))
        for idx, phys in cols.get(MEDIA_ADDRESS, {}).items():
            if len(idx) == 5 and _int(cols[MEDIA_TYPE].get(idx)) in (DYNAMIC, None):
                add(mac_text(phys), Sighting(walk.switch, "arp", f"ifIndex {idx[0]}", ip=_ip(idx[1:])))
        if not any(cols[c] for c in (Q_PORT, D_PORT, PHYS_ADDRESS, MEDIA_ADDRESS) if c in cols):
            # A live access switch always holds some MAC (its uplink's at least): empty tables mean no such MIB
            # or no view of it, which says nothing about the PCs.
            walk.error = f"{walk.switch}: no forwarding or ARP entries (BRIDGE-MIB, Q-BRIDGE-MIB, IP-MIB not readable)"

    def _if_rows(self, switch: str) -> dict[str, dict[str, Any]]:
        state = getattr(self.snmp, "devices", {}).get(switch)
        return state.last.tables.get("if", {}) if state is not None and state.last is not None else {}

    def where(self, mac: str) -> list[Sighting]:
        """Where the latest walks saw a MAC (for a person asking where a PC is plugged in)."""
        return [s for w in self.walks.values() for s in w.seen.get(mac, ())]
