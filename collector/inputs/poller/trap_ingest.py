"""The traps a site poller forwards, taken by the centre as its own receiver takes a trap (docs/poller.md,
"SNMP traps at a site").

A poller's report carries the traps it received (`traps`, trap_wire.py): each is handed to a TrapReceiver
(inputs/snmp/traps.py, `take`) with its asset, its source address and its receive time as the poller dated it,
corrected by the report's clock offset like the poller's check results. So the trap maps of collector.yaml and
the bundled packs, the storm grouping, the capped details, a hardware fault raised and its clearing trap, a
security finding, a link trap acting on a polled interface: all as for a trap received centrally, dated when the
poller received it (a trap replayed after a WAN cut opens its incident at its own time). The event's details
say which poller received it (`poller`).

Once: the traps ride the report's stream, so a report sent twice (its answer lost, a spool replayed) is a
duplicate there and its traps are never taken again. Storms: one receiver per poller, whose storm window runs
on the traps' own times (the latest taken from that poller), not on their arrival: a storm replayed after a
cut is grouped as it happened, not as it arrived. A trap of an asset that is not of the poller's site (the
inventory moved it since the poller's share, or a poller forwarding what is not its own) is refused
(`not_site`), one dated in the future (over MAX_FUTURE after the corrected clock) too (`future`), and one whose
varbinds do not decode (`malformed`): counted per poller, logged at most a line a minute per poller.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opsmon.collector.config.trap_maps import TrapMap
from opsmon.collector.core.messages import Message
from opsmon.collector.inputs.poller.trap_wire import ForwardedTrap, decode
from opsmon.collector.inputs.snmp.trap_refusals import Refusals
from opsmon.collector.inputs.snmp.traps import TrapReceiver

log = logging.getLogger(__name__)

MAX_FUTURE = 300.0  # as a report's own time (inputs/agents/ingest.py)
NOT_TAKEN = ("站点轮询器转发的陷阱未处理（每个轮询器每分钟至多一行）/ traps forwarded by a site poller not taken "
             "(a line a minute per poller at most): not_site, future, malformed, error")


class ForwardedTraps:
    """Per poller a TrapReceiver without a port, fed from its reports (Ingest.on_traps)."""

    def __init__(self, settings: Any, maps: Callable[[], TrapMap], publish: Callable[[Message], None], hub: Any,
                 site_of: Callable[[str], str | None], poller_site: Callable[[str], str | None]) -> None:
        """settings: collector.yaml's snmp.traps (storm window, detail caps); maps: the trap maps, read at the
        first forwarded trap; site_of: an asset's site; poller_site: an enrolled poller's site."""
        self.settings = settings
        self.maps = maps
        self.publish = publish
        self.hub = hub
        self.site_of = site_of
        self.poller_site = poller_site
        self.receivers: dict[str, TrapReceiver] = {}
        self._latest: dict[str, float] = {}  # poller -> the latest trap time taken (its receiver's storm clock)
        # per poller (enrolled, authenticated: bounded), by reason
        self.refusals = Refusals(0, lambda poller: True, line=NOT_TAKEN)
        self.taken_by: dict[str, int] = {}  # poller -> traps taken (/metrics: opsmon_poller_traps_total)

    def _receiver(self, poller: str) -> TrapReceiver:
        receiver = self.receivers.get(poller)
        if receiver is None:
            receiver = TrapReceiver(self.settings, {}, self.publish, lambda _address: None, self.hub,
                                    maps=self.maps())
            receiver.storms.clock = lambda: self._latest.get(poller, 0.0)
            self.receivers[poller] = receiver
        return receiver

    def take(self, poller: str, traps: list[ForwardedTrap], offset: float, now: datetime) -> None:
        """A report's traps, in the order the poller received them (inside the report's store commit)."""
        receiver = self._receiver(poller)
        site = self.poller_site(poller)
        limit = now.timestamp() + MAX_FUTURE
        for trap in traps:
            at = trap.ts + offset
            if not (math.isfinite(at) and 0 <= at <= limit):
                self.refusals.refuse("future", poller)
                continue
            if site is None or self.site_of(trap.asset) != site:
                self.refusals.refuse("not_site", poller, f"asset {trap.asset[:128]}")
                continue
            try:
                var_binds = decode(trap.varbinds)
            except ValueError as exc:
                self.refusals.refuse("malformed", poller, str(exc)[:200])
                continue
            self._latest[poller] = max(self._latest.get(poller, 0.0), at)
            try:
                receiver.take(trap.source, trap.asset, datetime.fromtimestamp(at, UTC), var_binds, observer=poller)
            except Exception as exc:  # noqa: BLE001 - one odd trap must not refuse the report (its results too)
                self.refusals.refuse("error", poller, f"{type(exc).__name__}: {exc}"[:200])
                continue
            self.taken_by[poller] = self.taken_by.get(poller, 0) + 1
        receiver.storms.tick()  # the counts that grew, in the report's commit; groups past their window closed
