"""ICMP echo: is the address there at all."""
from __future__ import annotations

from opsmon.collector.config.checks import IcmpSpec
from opsmon.collector.core.states import DOWN, UP
from opsmon.collector.inputs.checks.base import Check, Outcome


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
