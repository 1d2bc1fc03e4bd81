"""A row of a closed flow interval: one (src, dst, dst port, protocol) key's sums, or the `other` row.

Its own module, not in messages.py (which re-exports it): the flow reads (store/flows.py, `opsmon flows top`)
return these rows summed over a period, and a read command imports only what it uses; messages.py's thirty-odd
dataclasses cost about 10 ms of start-up that `flows top` and `flows sites` do not need (issue 25 item 2).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FlowRow:
    """One key's sums in a closed flow interval; src/dst `other` (port and protocol -1) sums the rest."""

    src: str
    dst: str
    dst_port: int
    protocol: int
    bytes: int
    packets: int
    flows: int
