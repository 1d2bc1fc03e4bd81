"""SNMP checks: `snmp` polls a device by its profiles; `snmp_interface` is a link's state taken
from one interface of a polled device (it is fed by that device's polls and link traps, never
scheduled itself)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from collector.checks.base import Check, CheckSpecBase, Outcome
from collector.fields import ObjectId, PositiveDuration
from collector.states import UNKNOWN


class SnmpSpec(CheckSpecBase):
    type: Literal["snmp"]
    credential: str = Field(description="A name from snmp.credentials in collector.yaml")
    port: int = Field(161, ge=1, le=65535)
    profiles: tuple[str, ...] = Field(("auto",), min_length=1,
                                      description="Profile names; 'auto' adds those detected on the device")
    request_timeout: PositiveDuration | None = Field(None, description="Per request; default snmp.timeout")
    retries: int | None = Field(None, ge=0, le=10)
    timeout: PositiveDuration | None = Field(30.0, description="The whole poll (capped at 90% of the interval)")

    def default_id(self) -> str:
        return "snmp"


class SnmpInterfaceSpec(CheckSpecBase):
    type: Literal["snmp_interface"]
    device: ObjectId = Field(description="Asset id of the polled device that has the interface")
    interface: str = Field(min_length=1, max_length=128, description="ifName, ifDescr, ifAlias or ifIndex")
    down_after: int | None = Field(1, ge=1, le=100, description="Interface status is exact: no debounce by default")

    def default_id(self) -> str:
        return f"if:{self.device}:{self.interface}"


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
