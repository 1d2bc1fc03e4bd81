"""TCP connect: is a service accepting connections."""
from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field

from collector.checks.base import Check, CheckSpecBase, Outcome
from collector.states import UP


class TcpSpec(CheckSpecBase):
    type: Literal["tcp"]
    port: int = Field(ge=1, le=65535)
    host: str | None = Field(None, description="Defaults to the asset's address")

    def default_id(self) -> str:
        return f"tcp:{self.port}"


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
