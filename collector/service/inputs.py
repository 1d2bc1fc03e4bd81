"""The inputs that run on their own (receivers and pollers), one line each.

Each entry is a factory `make(ctx: InputContext) -> Input | None` from the input's folder (see
opsmon.collector.inputs.base): None when the collector's configuration does not turn it on. The service
binds, starts and closes every input it returns, in this order at start and the reverse at stop.
"""
from __future__ import annotations

from collections.abc import Callable

from opsmon.collector.inputs import base
from opsmon.collector.inputs.flows import receiver as flows
from opsmon.collector.inputs.hj212 import receiver as hj212
from opsmon.collector.inputs.snmp import traps

INPUTS: tuple[Callable[[base.InputContext], base.Input | None], ...] = (
    traps.make,
    hj212.make,
    flows.make,
)
