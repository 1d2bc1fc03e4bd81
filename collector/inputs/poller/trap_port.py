"""A site poller's trap port (docs/poller.md, "SNMP traps at a site"): the central receiver, its accepted traps
queued for the poller's reports (the rules: traps.py)."""
from __future__ import annotations

import time
from collections import deque
from typing import Any

from opsmon.collector.config.snmp_credentials import Credential
from opsmon.collector.config.trap_maps import TrapMap
from opsmon.collector.inputs.poller.trap_wire import encode
from opsmon.collector.inputs.poller.traps import PollerTrapSettings
from opsmon.collector.inputs.snmp.traps import SNMP_TRAP_OID, TrapReceiver


class SiteTraps(TrapReceiver):
    """The central receiver's port and guards; an accepted trap is queued for the poller's next report."""

    name = "poller-traps"

    def __init__(self, settings: PollerTrapSettings, credentials: dict[str, Credential]) -> None:
        self.sources: dict[str, str] = {}  # address -> asset of the poller's site (the share's `sources`)
        super().__init__(settings, credentials, publish=lambda _message: None, asset_for=self.sources.get,
                         hub=None, maps=TrapMap([]))
        self.queue: deque[dict[str, Any]] = deque()
        self.assets: frozenset[str] = frozenset()  # of the site: a v3 engine ID's asset must be one

    def use(self, sources: dict[str, str]) -> None:
        """The site's assets by address, from the share (each fetch)."""
        self.sources.clear()
        self.sources.update(sources)
        self.assets = frozenset(sources.values())

    def handle(self, host: str, var_binds: list[tuple[tuple[int, ...], Any]], engine_id: str | None = None) -> None:
        """An authenticated trap: queued with its receive time, or refused (unknown_source, not_a_trap, queue)."""
        ts = time.time()
        asset = self.attribute(host, engine_id)
        if asset is None or asset not in self.assets:
            self.refusals.refuse("unknown_source", host)
            return
        if not any(oid == SNMP_TRAP_OID for oid, _value in var_binds):
            self.refusals.refuse("not_a_trap", host)
            return
        if len(self.queue) >= self.settings.max_queue:
            self.refusals.refuse("queue", host)  # the report thread is behind (a spool on a full disk)
            return
        self.queue.append({"ts": round(ts, 6), "source": host, "asset": asset, "varbinds": encode(var_binds)})
        self.counts.accepted += 1
