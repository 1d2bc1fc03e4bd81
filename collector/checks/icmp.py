"""ICMP echo: is the address there at all."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from collector.checks.base import Check, CheckSpecBase, Outcome
from collector.states import DOWN, UP


class IcmpSpec(CheckSpecBase):
    type: Literal["icmp"]
    host: str | None = Field(None, description="Defaults to the asset's address")
    packets: int = Field(1, ge=1, le=10, description="Echo requests per run; up if any is answered")


class IcmpCheck(Check):
    type_name = "icmp"
    Spec = IcmpSpec

    async def probe(self) -> Outcome:
        host = self.spec.host or self.address
        per_packet = self.timeout * 0.9 / self.spec.packets  # leave room to report, not time out
        for _ in range(self.spec.packets):
            try:
                await self.ctx.pinger.ping(host, per_packet)
            except TimeoutError:
                continue
            return Outcome(UP)
        return Outcome(DOWN, f"no echo reply from {host} ({self.spec.packets} sent)")
