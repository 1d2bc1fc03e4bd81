"""ICMP echo: is the address there at all."""
from __future__ import annotations

from opsmon.collector.config.checks import IcmpSpec
from opsmon.collector.core.states import DOWN, UP
from opsmon.collector.inputs.checks.base import Check, Outcome


class IcmpCheck(Check):
    type_name = "icmp"
    Spec = IcmpSpec

    async def probe(self) -> Outcome:
        """Send every one of `packets` (not only until the first reply), so the run measures the loss and the mean
        RTT of the replies that /metrics shows per link (opsmon_icmp_*: Grafana's latency and loss panels)."""
        host = self.spec.host or self.address
        per_packet = self.timeout * 0.9 / self.spec.packets  # leave room to report, not time out
        rtts: list[float] = []
        for _ in range(self.spec.packets):
            try:
                rtts.append(await self.ctx.pinger.ping(host, per_packet))
            except TimeoutError:
                continue
            except OSError:  # no route, no network: every request lost (run() says why)
                self.ctx.icmp[(self.asset_id, self.check_id)] = (None, 1.0)
                raise
        self.ctx.icmp[(self.asset_id, self.check_id)] = (sum(rtts) / len(rtts) if rtts else None,
                                                         1 - len(rtts) / self.spec.packets)
        if rtts:
            return Outcome(UP)
        return Outcome(DOWN, f"no echo reply from {host} ({self.spec.packets} sent)")
