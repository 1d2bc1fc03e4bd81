"""SNMP checks: `snmp` polls a device by its profiles; `snmp_interface` is a link's state taken
from one interface of a polled device (it is fed by that device's polls and link traps, never
scheduled itself)."""
from __future__ import annotations

from opsmon.collector.config.checks import SnmpInterfaceSpec, SnmpSpec
from opsmon.collector.core.states import UNKNOWN
from opsmon.collector.inputs.checks.base import Check, Outcome


class SnmpCheck(Check):
    type_name = "snmp"
    Spec = SnmpSpec

    async def probe(self) -> Outcome:
        hub = self.ctx.snmp
        if hub is None:
            return Outcome(UNKNOWN, "SNMP is not configured (no snmp section in collector.yaml)")
        if not self.address:
            return Outcome(UNKNOWN, "the asset has no address")
        return await hub.poll(self.asset_id, self.address, self.spec)


class SnmpInterfaceCheck(Check):
    type_name = "snmp_interface"
    Spec = SnmpInterfaceSpec
    passive = True  # results come from the device's polls and traps

    async def probe(self) -> Outcome:  # pragma: no cover - never scheduled
        return Outcome(UNKNOWN, "fed by the device's polls")
