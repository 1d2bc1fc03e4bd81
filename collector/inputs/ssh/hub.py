"""The SSH side of the collector: credentials, the known_hosts file, a worker pool, config backup.

One hub per collector, set as `CheckContext.ssh`; the `ssh` and `ssh_config` checks use it.
Host key events it emits (kind `security`):

- `ssh_host_key_trusted` (info): a key trusted on first use, with its fingerprint;
- `ssh_host_key_changed` (critical): a host offered another key; refused. Emitted once per
  host and offered key, not on every poll; `on_security` (if given) is told too, and told
  again when the host answers with its trusted key once more.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from opsmon.collector.config.ssh import SshConfig
from opsmon.collector.config.ssh_credentials import SshCredential, resolve
from opsmon.collector.config.ssh_platforms import Platform
from opsmon.collector.core.incidents import CRITICAL
from opsmon.collector.core.maintenance import MaintenanceBook, Window
from opsmon.collector.core.messages import Event, Message, SecurityFinding
from opsmon.collector.inputs.ssh.client import KnownHosts, SshTarget, run_command
from opsmon.collector.inputs.ssh.types import CommandResult, HostKeyMismatch

log = logging.getLogger(__name__)
SOURCE = "ssh"


@dataclass(frozen=True)
class _Bare:
    """An asset the hub knows only by id (no site, no tags) for maintenance matching."""

    id: str
    site: str | None = None
    tags: tuple[str, ...] = ()


class SshHub:
    def __init__(self, settings: SshConfig, base_dir: Path, source: str, publish: Callable[[Message], None],
                 store: Any = None, book: MaintenanceBook | None = None,
                 scope: Callable[[str], Any] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.credentials: dict[str, SshCredential] = {
            name: resolve(name, spec, base_dir, source) for name, spec in settings.credentials.items()}
        path = Path(settings.known_hosts).expanduser()
        self.known = KnownHosts(path if path.is_absolute() else base_dir / path)
        self.publish = publish
        self.book = book
        self.scope = scope
        self.clock = clock
        self.pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="opsmon-ssh")
        self.backup: Any = None  # without a store (a site poller's hub): no configuration backup, no SQLAlchemy
        if store is not None:
            from opsmon.collector.inputs.ssh.backup import ConfigBackup

            self.backup = ConfigBackup(store, publish, self.window_for, settings.ignore, settings.max_diff_lines,
                                       SOURCE)
        self._mismatch: dict[str, str] = {}  # host:port -> offered fingerprint already reported
        self.sessions = 0
        self.failures = 0
        # paramiko narrates every connection at INFO; its warnings and errors still come through.
        logging.getLogger("paramiko").setLevel(logging.WARNING)

    # -- maintenance -------------------------------------------------------
    def window_for(self, asset_id: str, since: datetime, until: datetime) -> str | None:
        """Ids of the windows covering the asset that were open at some time in [since, until], or None."""
        if self.book is None:
            return None
        asset = (self.scope(asset_id) if self.scope is not None else None) or _Bare(asset_id)
        hits: set[str] = set()
        now = MaintenanceBook.for_asset(self.book.active(until), asset)
        if now is not None:
            hits.update(now.id.split(","))
        for spec in self.book.specs():
            window = Window(spec, self.book.tz)
            if spec.id in hits or not window.covers(asset):
                continue
            if spec.cron is None:
                assert spec.start is not None and spec.end is not None
                if spec.start <= until and spec.end > since:
                    hits.add(spec.id)
            elif window.occurrence_at(since) is not None:
                hits.add(spec.id)
            else:
                fire = CronTrigger.from_crontab(spec.cron, timezone=ZoneInfo(self.book.tz)).get_next_fire_time(
                    None, since)
                if fire is not None and fire <= until:
                    hits.add(spec.id)
        return ",".join(sorted(hits)) or None

    # -- sessions ----------------------------------------------------------
    async def run(self, asset_id: str, host: str, port: int, credential: str, command: str, timeout: float,
                  trust_on_first_use: bool = False, platform: Platform | None = None) -> CommandResult:
        """Run one command on a device (at its CLI prompt for a `platform`); raises the errors of
        opsmon.collector.inputs.ssh.client."""
        target = SshTarget(host, port, self.credentials[credential], trust_on_first_use)
        budget = max(0.5, timeout * 0.9)  # finish (and say why) before the check's own timeout cuts in
        call = partial(run_command, target, command, self.known, budget,
                       min(self.settings.connect_timeout, budget), self.settings.max_output, platform)
        self.sessions += 1
        where = f"{host}:{port}"
        try:
            result = await asyncio.get_running_loop().run_in_executor(self.pool, call)
        except HostKeyMismatch as exc:
            self.failures += 1
            self._changed_key(asset_id, where, exc)
            raise
        except Exception:
            self.failures += 1
            raise
        if result.trusted:
            at = self.clock()
            log.warning("ssh host key trusted on first use", extra={"asset": asset_id, "host": where,
                                                                     "fingerprint": result.trusted})
            self.publish(Event(asset_id, at, SOURCE, "security", "ssh_host_key_trusted", "info",
                               f"host key of {where} trusted on first use: {result.trusted}",
                               {"host": where, "fingerprint": result.trusted, "known_hosts": str(self.known.path)}))
        if self._mismatch.pop(where, None) is not None:
            self.publish(SecurityFinding(asset_id, f"ssh_host_key:{where}", False, self.clock(),
                                         f"{where} offers its trusted host key again", CRITICAL))
        return result

    def _changed_key(self, asset_id: str, where: str, exc: HostKeyMismatch) -> None:
        if self._mismatch.get(where) == exc.offered:
            return
        self._mismatch[where] = exc.offered
        at = self.clock()
        log.error("ssh host key changed; connection refused",
                  extra={"asset": asset_id, "host": where, "offered": exc.offered, "expected": exc.expected})
        self.publish(Event(asset_id, at, SOURCE, "security", "ssh_host_key_changed", "critical",
                           f"host key of {where} changed: offered {exc.offered}, trusted {exc.expected}; refused",
                           {"host": where, "offered": exc.offered, "expected": exc.expected,
                            "known_hosts": str(self.known.path)}))
        self.publish(SecurityFinding(asset_id, f"ssh_host_key:{where}", True, at, str(exc), CRITICAL))

    async def record_config(self, asset_id: str, fetched: str, command: str, name: str, ignore: tuple[str, ...],
                            redact: bool) -> Any:
        """Store a fetched configuration (in a worker thread: the store is synchronous)."""
        if self.backup is None:
            raise RuntimeError("the SSH hub has no store: configuration backup is off")
        call = partial(self.backup.record, asset_id, fetched, self.clock(), command, name, ignore, redact)
        return await asyncio.get_running_loop().run_in_executor(self.pool, call)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
