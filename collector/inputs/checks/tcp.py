"""TCP connect: is a service accepting connections."""
from __future__ import annotations

import asyncio

from opsmon.collector.config.checks import TcpSpec
from opsmon.collector.core.states import UP
from opsmon.collector.inputs.checks.base import Check, Outcome


class TcpCheck(Check):
    type_name = "tcp"
    Spec = TcpSpec

    async def probe(self) -> Outcome:
        host = self.spec.host or self.address
        _reader, writer = await asyncio.open_connection(host, self.spec.port)
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        return Outcome(UP)
