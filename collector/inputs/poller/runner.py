"""`opsmon poller`: a site poller at a prefecture (docs/poller.md).

It is an agent whose reports carry check results:

- enrolled and authenticated like an agent (`opsmon agents enroll NAME --site SITE --poller`; its token, hashed
  at rest, in poller.toml, which is agent.toml's format);
- it fetches its share of the checks (`GET /api/v1/poller/checks`: its site's, links excepted) at start and every
  `refresh` seconds the collector names, and keeps the last share on disk (`share.json` in its spool), so a
  poller restarted during a WAN cut goes on checking;
- it runs them with the collector's own check classes on the collector's scheduler (inputs/checks,
  inputs/scheduler.py): the same probes, timeouts and reasons as the centre's;
- every report interval, the results gathered so far ride one agent report (`observations`, with the time each
  probe started) through the agent's forwarding (opsmon.agent.runner.Agent): sent at once when the collector
  takes it, else written to the agent's crash-safe spool (fsync, rename) and replayed oldest first once the
  collector answers again; the collector's stream dedup stores a report sent twice once;
- when the collector refuses its token at the share door (401: revoked; 403: no site's poller), it stops its
  checks and deletes share.json (logged once): the checks are the collector's again.

What a crash can lose: the results of the running report interval not yet in a report (at most `interval`
seconds' worth, 5 s in the example); a report once written to the spool survives kill -9.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from opsmon.agent.config import AgentConfig
from opsmon.agent.runner import Agent, wire
from opsmon.collector.config.checks import CheckSpec
from opsmon.collector.core.states import Observation
from opsmon.collector.inputs.checks import CHECKS, Check, CheckContext
from opsmon.collector.inputs.checks.pinger import Pinger
from opsmon.collector.inputs.poller.devices import CREDENTIALS, PollerDevices
from opsmon.collector.inputs.poller.share import POLLED_TYPES, SHARE_PATH
from opsmon.collector.inputs.poller.traps import into_report, trap_counts, trap_sources
from opsmon.collector.inputs.scheduler import CheckScheduler

if TYPE_CHECKING:  # loaded when [traps] is on only (pysnmp)
    from opsmon.collector.inputs.poller.trap_port import SiteTraps

log = logging.getLogger("opsmon.poller")
SHARE_FILE = "share.json"
REPORT_RESULTS = 2000  # results in one report at most ...
REPORT_BYTES = 700_000  # ... and about this much of them: the collector refuses a report over 1 MiB (413)
REASON_CHARS = 500
DEFAULT_REFRESH = 60.0
_SPECS: TypeAdapter[Any] = TypeAdapter(CheckSpec)


def poller_config(cfg: AgentConfig) -> AgentConfig:
    """agent.toml's settings for a poller: no host baseline, file integrity or auth-log watch (its agent does that)."""
    return replace(cfg, baseline=False, fim_paths=(), auth_log="off")


class Forwarder(Agent):
    """The agent's report loop (its thread), its reports carrying the check results the event loop hands over."""

    follow_collector_interval = False  # results go out every `interval` of poller.toml, not the agents' 30 s
    traps: deque[dict[str, Any]] | None = None  # the trap port's queue (poller/trap_port.py), when [traps] is on

    def __init__(self, cfg: AgentConfig) -> None:
        super().__init__(poller_config(cfg))
        self._results: deque[Observation] = deque()  # appended on the event loop, taken on the report thread
        self.produced = 0  # results the checks gave since the start: logged at the stop ("poller stopped")
        # what SNMP and SSH checks found beside their results (devices.py), as sent: report field -> items
        self._extras: dict[str, deque[dict[str, Any]]] = {}
        self.extras = Counter[str]()  # of them since the start, by field: logged at the stop too

    def take(self, obs: Observation) -> None:
        self._results.append(obs)
        self.produced += 1

    def take_extra(self, field: str, item: dict[str, Any]) -> None:
        """An item of report field `field` (polled_hardware, polled_events: share.py), for the next report."""
        self._extras.setdefault(field, deque()).append(item)
        self.extras[field] += 1

    def extend(self, doc: dict[str, Any]) -> None:
        out = []
        # bytes of the traps and results so far as sent (wire: \uXXXX for CJK), a comma each; traps first
        size = 0 if self.traps is None else into_report(self.traps, doc, REPORT_BYTES // 2)
        while self._results and len(out) < REPORT_RESULTS and size < REPORT_BYTES:
            o = self._results.popleft()
            item = {"asset": o.asset_id, "check": o.check_id, "ts": round(o.ts.timestamp(), 3),
                    "status": o.status, "reason": o.reason[:REASON_CHARS], "latency_ms": o.latency_ms}
            size += len(wire(item)) + 1
            out.append(item)
        if out:
            doc["observations"] = out
        room = REPORT_RESULTS - len(out)
        for field, items in self._extras.items():  # a poll's faults ride the report of its result or the next one
            taken = []
            while items and room > 0 and size < REPORT_BYTES:  # the same byte bound: a report over 1 MiB is refused
                item = items.popleft()
                size += len(wire(item)) + 1
                taken.append(item)
                room -= 1
            if taken:
                doc[field] = taken

    @property
    def waiting(self) -> int:
        """Results not yet in a report."""
        return len(self._results)

    @property
    def extras_waiting(self) -> int:
        """Hardware faults and host key events not yet in a report."""
        return sum(len(items) for items in self._extras.values())


class _Uncounted:
    """The scheduler's metrics, unused by a poller: every call is accepted and does nothing."""

    def __getattr__(self, name: str) -> _Uncounted:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _Uncounted:
        return self


def fetch_share(cfg: AgentConfig) -> dict[str, Any] | int | None:
    """The poller's share from the first collector that answers; None when none does (a WAN cut); 401 or 403 when
    one refuses the token (revoked, an agent's, a second poller of the site) and none gives the share.

    The TLS context is built for an https collector only, inside the handling: a CA file gone since the start
    (poller.toml's is checked at load) is logged with its key and path, like an unreachable collector."""
    refused: int | None = None
    for base in cfg.collector_urls or (cfg.collector_url,):
        request = urllib.request.Request(base + SHARE_PATH, headers={"Authorization": f"Bearer {cfg.token}"})
        try:
            context = ssl.create_default_context(cafile=cfg.ca_file) if base.startswith("https") else None
        except (OSError, ssl.SSLError) as exc:
            log.error("ca_file cannot be used; keeping the checks",
                      extra={"key": "ca_file", "file": cfg.ca_file, "error": str(exc)[:200]})
            continue
        try:
            with urllib.request.urlopen(request, timeout=cfg.timeout, context=context) as resp:
                doc = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                refused = exc.code  # the caller says so once (Poller._refused), not every refresh
            else:
                log.error("collector refuses to give the checks", extra={"status": exc.code, "collector": base})
            continue
        except (OSError, ValueError) as exc:
            log.warning("collector unreachable; keeping the checks", extra={"collector": base, "error": str(exc)[:200]})
            continue
        if isinstance(doc, dict) and isinstance(doc.get("checks"), list):
            return doc
    return refused


def build_jobs(share: dict[str, Any], ctx: CheckContext, centre: str | None = None,
               runs: Callable[[Check], Check] = lambda check: check) -> dict[str, tuple[Check, float, str]]:
    """The scheduler's jobs for a share; a check it cannot read is skipped and logged, never the whole share.
    A link's far-end check (`from_site`) probes the centre: without a `host` of its own, `centre` (the host of the
    collector the poller reports to), not the link's address. `runs`: the check as the poller runs it (an SNMP or
    SSH check without its credential here is unknown, devices.py)."""
    jobs: dict[str, tuple[Check, float, str]] = {}
    for item in share.get("checks", []):
        try:
            spec = _SPECS.validate_python(item["spec"])
            interval, timeout = float(item["interval"]), float(item["timeout"])
            asset, address = str(item["asset"]), item.get("address")
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            log.error("a check of the share cannot be read; skipped", extra={"error": str(exc)[:200]})
            continue
        if spec.type not in POLLED_TYPES:
            continue
        if getattr(spec, "from_site", False):
            address = centre
        check = runs(CHECKS[spec.type](asset, address, spec, timeout, ctx))
        jobs[f"{asset}/{spec.check_id}"] = (check, interval, json.dumps(item, sort_keys=True))
    return jobs


class Poller:
    """The poller's event-loop side: the share, the scheduler, and the forwarder's thread."""

    def __init__(self, cfg: AgentConfig, max_concurrency: int = 100, credentials: str = CREDENTIALS,
                 traps: SiteTraps | None = None) -> None:
        """credentials: the poller's own SNMP and SSH secrets file; traps: the site's trap port (poller.toml
        [traps]), bound by the caller; started in `run`."""
        self.forwarder = Forwarder(cfg)
        self.traps = traps
        if traps is not None:
            self.forwarder.traps = traps.queue
        self.cfg = self.forwarder.cfg
        self.ctx = CheckContext(pinger=Pinger())
        self.devices = PollerDevices(credentials, self.ctx, self.forwarder.take, self.forwarder.take_extra)
        self.scheduler = CheckScheduler(self.forwarder.take, max_concurrency, _Uncounted())
        self._share_file = Path(self.cfg.spool_dir) / SHARE_FILE
        self.share: dict[str, Any] | None = None

    def _load_cached(self) -> dict[str, Any] | None:
        try:
            doc = json.loads(self._share_file.read_text())
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def _save(self, share: dict[str, Any]) -> None:
        tmp = self._share_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(share))
        os.replace(tmp, self._share_file)

    def _refused(self, status: int) -> None:
        """The collector refuses the token (401: revoked or unknown; 403: not this site's poller): the checks are no
        longer this poller's, so they stop and the kept share goes, or a restart would run them again for ever."""
        if self.share is None and not self._share_file.exists():
            return  # said already
        stopped = len((self.share or {}).get("checks", []))
        self.share = None
        self.scheduler.sync({})
        if self.traps is not None:
            self.traps.use({})  # nor its traps: refused as unknown_source from now on
        self._share_file.unlink(missing_ok=True)
        log.error("collector refuses this poller's token; its checks stopped and share.json deleted (enrol it "
                  "again: opsmon agents enroll NAME --site SITE --poller)",
                  extra={"status": status, "checks": stopped, "share": str(self._share_file)})

    def _use(self, share: dict[str, Any]) -> None:
        self.share = share
        self.devices.prepare(share)
        jobs = build_jobs(share, self.ctx, urllib.parse.urlsplit(self.cfg.collector_urls[0] if self.cfg.collector_urls
                                                                 else self.cfg.collector_url).hostname,
                          self.devices.check)
        self.scheduler.sync(jobs)
        log.info("checks of the site", extra={"site": share.get("site"), "checks": len(jobs)})
        if self.traps is not None:
            self.traps.use(trap_sources(share))

    async def run(self, stop: asyncio.Event) -> None:
        self.scheduler.start()
        if self.traps is not None:
            self.traps.start()
        reports = threading.Thread(target=self.forwarder.run, name="opsmon-poller-reports", daemon=True)
        reports.start()
        cached = self._load_cached()
        if cached is not None:
            self._use(cached)  # a restart during a WAN cut goes on with the last share
        try:
            while not stop.is_set():
                share = await asyncio.to_thread(fetch_share, self.cfg)
                if isinstance(share, int):
                    self._refused(share)
                elif share is not None and share != self.share:
                    self._save(share)
                    self._use(share)
                refresh = (self.share or {}).get("refresh", DEFAULT_REFRESH)
                try:
                    await asyncio.wait_for(stop.wait(), max(1.0, float(refresh)))
                except TimeoutError:
                    pass
        finally:
            if self.traps is not None:
                self.traps.close()  # no more traps; the queued ones ride the last report below
            await self.scheduler.shutdown()
            self.devices.close()
            self.forwarder.stop.set()
            await asyncio.to_thread(reports.join)
            # the last results, faults, events and traps: sent, or kept in the spool for the next start
            if self.forwarder.waiting or self.forwarder.extras_waiting or self.forwarder.traps:
                self.forwarder.stop.clear()
                await asyncio.to_thread(self.forwarder.cycle)
            # What this run gave and where it is: every result is in a report numbered up to `seq` on `stream`
            # (sent, or spooled), unless `waiting` says otherwise; a collector holding seq has them all.
            log.info("poller stopped", extra={"results": self.forwarder.produced,
                                              "faults": self.forwarder.extras["polled_hardware"],
                                              "events": self.forwarder.extras["polled_events"],
                                              "stream": self.forwarder.stream,
                                              "seq": self.forwarder.seq, "spooled": len(self.forwarder.spool),
                                              "waiting": self.forwarder.waiting, **trap_counts(self.traps)})
