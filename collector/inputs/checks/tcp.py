"""TCP connect: is a service accepting connections."""
from __future__ import annotations

import asyncio
import time

from opsmon.collector.config.checks import TcpSpec
from opsmon.collector.core.states import DEGRADED, UP
from opsmon.collector.inputs.checks.base import Check, Outcome, slow


class TcpCheck(Check):
    type_name = "tcp"
    Spec = TcpSpec

    async def probe(self) -> Outcome:
        host = self.spec.host or self.address
        t0 = time.perf_counter()
        _reader, writer = await asyncio.open_connection(host, self.spec.port)
        too_slow = slow("connect", time.perf_counter() - t0, self.spec.latency_warn)
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        return Outcome(DEGRADED, too_slow) if too_slow else Outcome(UP)
