"""ICMP echo: is the address there at all."""
from __future__ import annotations

from opsmon.collector.config.checks import IcmpSpec
from opsmon.collector.core.states import DEGRADED, DOWN, UP
from opsmon.collector.inputs.checks.base import Check, Outcome, slow


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
        mean, loss = (sum(rtts) / len(rtts) if rtts else None), 1 - len(rtts) / self.spec.packets
        self.ctx.icmp[(self.asset_id, self.check_id)] = (mean, loss)
        if mean is None:
            return Outcome(DOWN, f"no echo reply from {host} ({self.spec.packets} sent)")
        # A WAN link's thresholds (issue 22 item 4): answered, but losing or slow -> degraded.
        problems = [p for p in (slow("rtt", mean, self.spec.rtt_warn),) if p]
        if self.spec.loss_warn is not None and loss * 100 > self.spec.loss_warn:
            problems.insert(0, f"loss {loss * 100:.0f}% > {self.spec.loss_warn:g}%")
        return Outcome(DEGRADED, "; ".join(problems)) if problems else Outcome(UP)
