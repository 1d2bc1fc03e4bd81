"""`opsmon serve`: wires store, inventory, timeline, scheduler and API into one process.

Order at start: connect and migrate -> take the one-collector lock and the
listening socket -> import inventory files (removed assets stay removed) ->
recover the timeline (gap = unknown) -> load assets and windows -> start the
writer, the scheduler, the periodic jobs and the API. On SIGINT/SIGTERM everything stops
in reverse and the writer flushes, so nothing observed is lost.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import getpass
import json
import logging
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from collector import __version__
from collector.agents import AgentAuth
from collector.checks import CHECKS, Check, CheckContext
from collector.checks.pinger import Pinger
from collector.config import CollectorConfig
from collector.incidents.engine import AssetInfo, IncidentEngine
from collector.incidents.escalation import Escalator
from collector.incidents.links import AckLinks, load_key
from collector.incidents.oncall import load_oncall
from collector.ingest import CHECK_ID as AGENT_CHECK
from collector.ingest import Ingest
from collector.inventory import AssetSpec, import_file
from collector.maintenance import MaintenanceBook, WindowSpec
from collector.metrics import CollectorMetrics
from collector.recovery import recover
from collector.scheduler import CheckScheduler
from collector.security import SecurityBook, security_catalog
from collector.sla.targets import load_targets
from collector.sla.worker import SlaWorker, quarter_figures
from collector.snmp.hub import Uplink
from collector.states import DOWN
from collector.store import Store, open_store
from collector.store.lock import InstanceLock
from collector.store.models import AgentRow, Asset, MaintenanceWindow
from collector.store.writer import StoreWriter
from collector.timeline import CheckConf, Op, Timeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssetMeta:
    category: str
    site: str
    updated_at: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Service:
    """The running collector. Components receive what they need; nothing is global."""

    def __init__(self, config: CollectorConfig, store: Store | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.config = config
        self.clock = clock
        self.store = store or open_store(config.database_url(), config.database.connect_timeout)
        self.metrics = CollectorMetrics()
        self.started = clock()
        self.book = MaintenanceBook(config.maintenance, config.timezone)
        self.writer = StoreWriter(self.store, self.started, clock)
        self.timeline = Timeline(self._emit, self.book, config.timeline.stale_after_intervals)
        self.ctx = CheckContext(clock=clock, pinger=Pinger())
        self.scheduler = CheckScheduler(self.timeline.observe, config.scheduler.max_concurrency, self.metrics)
        self.assets: dict[str, AssetMeta] = {}
        self._inventory_mark: tuple[Any, ...] | None = None
        self._windows_mark: tuple[Any, ...] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.lock = InstanceLock(self.store)
        self.socket: socket.socket | None = None
        self.flushed = True
        self._stop: asyncio.Event | None = None
        self.ingest = Ingest(self.store, self._emit, self.timeline.observe, clock, self._ensure_agent_tracked)
        self.agent_auth = AgentAuth(self.store)
        self.metrics.watch_agents(self.ingest)
        self.metrics.watch_states(self._state_snapshot)
        self.sla_snapshot: dict[str, Any] | None = None
        self.reports_checked: datetime | None = None  # when scheduled reports were last looked for
        self._sla_worker = SlaWorker(self.store, config.database.connect_timeout)
        self.metrics.watch_sla(lambda: self.sla_snapshot)
        self.snmp: Any = None
        if config.snmp.credentials:
            from collector.snmp.hub import SnmpHub

            self.snmp = SnmpHub(config.snmp, Path(config.base_dir or "."), config.source_file or "collector.yaml",
                                self.timeline.observe, self._emit, self.ctx.pinger, clock)
            self.ctx.snmp = self.snmp
            self.metrics.watch_snmp(self.snmp)
        self.targets = load_targets(config.targets_path())
        self.asset_infos: dict[str, AssetInfo] = {}
        self.incidents = IncidentEngine(self.store, clock, self.asset_infos.get, config.incidents,
                                        self.targets.response_limit, self._pending_fault, config.timezone)
        self.oncall = (load_oncall(str(config.resolve(config.incidents.oncall_file)))
                       if config.incidents.oncall_file else None)
        self.dispatcher: Any = None
        if config.notify.channels:
            from collector.notify import Dispatcher, build_channels

            source = config.source_file or "collector.yaml"
            channels = build_channels(config.notify, Path(config.base_dir or "."), source)
            self.dispatcher = Dispatcher(channels, self._delivered, config.notify.retry, clock=clock)
        self.links: AckLinks | None = None
        if self.oncall is not None:
            self.links = AckLinks(self.store, load_key(config.resolve(config.incidents.link_key_file)),
                                  config.incidents.link_ttl)
        self.escalator = Escalator(self.incidents, self.oncall, self._send, self.asset_infos.get)
        self.ssh: Any = None
        if config.ssh.credentials:
            from collector.ssh.hub import SshHub

            self.ssh = SshHub(config.ssh, Path(config.base_dir or "."), config.source_file or "collector.yaml",
                              self._emit, store=self.store, book=self.book, scope=self.timeline.tracks.get,
                              clock=clock, on_security=self._ssh_finding)
            self.ctx.ssh = self.ssh
        self.security = SecurityBook(self.store, self._emit, security_catalog(), self._security_finding)
        self.ingest.on_security = self.security.accept
        self.metrics.watch_security(self.security)
        self.metrics.watch_incidents(self.incidents)
        self.metrics.watch_certs(self.ctx.cert_expiry)
        self.traps: Any = None
        self.trap_socket: socket.socket | None = None
        self._addresses: dict[str, str] = {}
        if self.snmp is not None and config.snmp.traps.enabled:
            from collector.snmp.traps import TrapReceiver

            self.traps = TrapReceiver(config.snmp.traps, self.snmp.credentials, self._emit,
                                      self._addresses.get, self.snmp, clock)
        self.metrics.store_queue.set_function(lambda: self.writer.queue.qsize())
        self.metrics.store_failures.set_function(lambda: self.writer.failures)
        self.metrics.store_dropped.set_function(lambda: self.writer.dropped)

    # -- wiring ------------------------------------------------------------
    def _emit(self, op: Op) -> None:
        self.writer.put(op)
        kind = op.kind
        if kind == "transition" or (kind == "observation" and len(op.args) > 5 and op.args[5] == "hardware"):
            try:
                if kind == "transition":
                    self.incidents.on_transition(op.asset_id, *op.args)
                else:
                    check_id, ts, _status, reason = op.args[:4]
                    self.incidents.on_hardware(op.asset_id, check_id.removeprefix("hw:"), ts, reason)
            except Exception:
                # Incident handling reads the timeline's output; a failure there must never stop the timeline.
                log.exception("incident engine failed on an input", extra={"asset": op.asset_id, "op": kind})

    def _state_snapshot(self) -> list[tuple[str, str, str, str]]:
        out = []
        for asset_id, track in list(self.timeline.tracks.items()):
            meta = self.assets.get(asset_id)
            if meta is not None:
                out.append((asset_id, meta.category, meta.site, track.state))
        return out

    @staticmethod
    def _raise_open_files_limit() -> None:
        """Each agent keeps a connection open: take the hard limit of open files, not the soft 1,024."""
        try:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if hard == resource.RLIM_INFINITY or hard > soft:
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        except (ImportError, ValueError, OSError):
            pass

    def prepare(self) -> None:
        """Everything before the event loop work: lock, listen, recovery, inventory, first load.

        The lock and the listening socket come first: a second collector, or one whose
        port is taken, must fail before it touches the timeline.
        """
        self._raise_open_files_limit()
        self.lock.acquire()
        try:
            self.socket = socket.create_server((self.config.listen.host, self.config.listen.port), reuse_port=False)
        except OSError as exc:
            self.lock.release()
            raise OSError(f"cannot listen on {self.config.listen.host}:{self.config.listen.port}: "
                          f"{exc.strerror}") from None
        if self.traps is not None:
            traps = self.config.snmp.traps
            try:
                self.trap_socket = socket.socket(socket.AF_INET6 if ":" in traps.host else socket.AF_INET,
                                                 socket.SOCK_DGRAM)
                self.trap_socket.bind((traps.host, traps.port))
            except OSError as exc:
                self.socket.close()
                self.lock.release()
                raise OSError(f"cannot receive SNMP traps on {traps.host}:{traps.port}: {exc.strerror}") from None
        actor = f"config:{getpass.getuser()}"
        for name in self.config.inventory.files:
            result = import_file(self.store, str(self.config.resolve(name)), actor, restore=False)
            changed = {f"assets_{k}": len(v) for k, v in result.items() if v}
            log.info("inventory file imported", extra={"file": name, **changed})
            if result.get("kept_removed"):
                log.warning("assets in the inventory file stay removed (`opsmon assets import` restores them)",
                            extra={"file": name, "assets": ",".join(result["kept_removed"])})
        resume = recover(self.store, self.clock())
        self.incidents.load()
        self.writer.start()
        self.reload_inventory(at=resume)
        self.reload_windows()
        # Everything loaded so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise stall every thread for ~180 ms at 5,000 assets.
        gc.freeze()

    # -- inventory ---------------------------------------------------------
    def _build_check(self, asset: AssetSpec, spec: Any) -> tuple[Check, float, str, CheckConf]:
        cfg = self.config
        interval = spec.interval or cfg.scheduler.default_interval
        timeout = min(spec.timeout or cfg.scheduler.default_timeout, interval * 0.9)
        check = CHECKS[spec.type](asset.id, asset.address, spec, timeout, self.ctx)
        fingerprint = json.dumps([asset.address, spec.model_dump(mode="json"), interval, timeout], sort_keys=True)
        conf = CheckConf(spec.check_id, interval, spec.down_after or cfg.timeline.down_after,
                         spec.up_after or cfg.timeline.up_after)
        return check, interval, fingerprint, conf

    def reload_inventory(self, at: datetime | None = None, force: bool = False) -> bool:
        """Bring timeline and scheduler in line with the assets table; cheap when nothing changed."""
        with self.store.session() as session:
            mark = (tuple(session.execute(select(func.count(Asset.id), func.max(Asset.updated_at))).one())
                    + tuple(session.execute(select(func.count(AgentRow.name), func.max(AgentRow.created_at))
                                            .where(AgentRow.revoked_at.is_(None))).one()))
            if mark == self._inventory_mark and not force:
                return False
            rows = list(session.scalars(select(Asset).where(Asset.removed_at.is_(None))))
            with_agent = set(session.scalars(select(AgentRow.asset_id).where(AgentRow.revoked_at.is_(None))))
        at = at or self.clock()
        jobs: dict[str, tuple[Check, float, str]] = {}
        live: dict[str, AssetMeta] = {}
        uplinks: dict[str, list[Uplink]] = {}
        infos: dict[str, AssetInfo] = {}
        # Parents first, so a child's parent is tracked when the child is evaluated.
        for row in _parents_first(rows):
            spec = AssetSpec.from_row(row)
            confs = []
            for check_spec in spec.checks:
                check, interval, fingerprint, conf = self._build_check(spec, check_spec)
                if check.passive:
                    uplinks.setdefault(check_spec.device, []).append(
                        Uplink(spec.id, conf.check_id, check_spec.interface))
                else:
                    jobs[f"{spec.id}/{conf.check_id}"] = (check, interval, fingerprint)
                confs.append(conf)
            if spec.id in with_agent:
                confs.append(CheckConf(AGENT_CHECK, self.config.agents.interval, 1, 1, DOWN, "agent not reporting"))
            self.timeline.upsert_asset(spec.id, spec.parent, spec.site, spec.tags, confs, at)
            live[spec.id] = AssetMeta(spec.category, spec.site or "", row.updated_at)
            infos[spec.id] = AssetInfo(spec.display_name, spec.category, spec.site or "", spec.criticality, spec.parent)
        for gone in set(self.timeline.tracks) - set(live):
            self.timeline.remove_asset(gone, at)
        self.assets = live
        self.asset_infos.clear()
        self.asset_infos.update(infos)
        for key in [k for k in self.ctx.cert_expiry if k[0] not in live]:
            del self.ctx.cert_expiry[key]
        self._addresses.clear()
        # Traps are matched to assets by source address; a polled device wins over another asset at that address.
        polled = sorted(rows, key=lambda r: any(c.get("type") == "snmp" for c in (r.checks or [])))
        self._addresses.update({row.address: row.id for row in polled if row.address})
        if self.snmp is not None:
            self.snmp.set_uplinks(uplinks)
            self.snmp.forget(set(live))
        self.scheduler.sync(jobs, at)
        self._inventory_mark = mark
        return True

    def _ensure_agent_tracked(self, asset_id: str) -> None:
        """A just-enrolled agent's first report must not wait for the periodic inventory reload."""
        track = self.timeline.tracks.get(asset_id)
        if track is None or AGENT_CHECK not in track.checks:
            self.reload_inventory(force=True)

    def reload_windows(self) -> None:
        with self.store.session() as session:
            rows = list(session.scalars(select(MaintenanceWindow).where(MaintenanceWindow.removed_at.is_(None))))
        mark = tuple(sorted((r.id, json.dumps(r.spec, sort_keys=True)) for r in rows))
        if mark == self._windows_mark:
            return
        fresh = MaintenanceBook(self.config.maintenance, self.config.timezone)
        for row in rows:
            fresh.put(WindowSpec.model_validate(row.spec))
        self.book._windows = fresh._windows
        self._windows_mark = mark

    # -- loops -------------------------------------------------------------
    async def _every(self, seconds: float, fn: Callable[[], Any], name: str) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                fn()
            except Exception:
                log.exception("periodic job failed", extra={"job": name})

    def _tick(self) -> None:
        now = self.clock()
        self.timeline.tick(now)
        self.escalator.step(now)

    # -- incidents ---------------------------------------------------------
    def _ssh_finding(self, asset_id: str, key: str, failing: bool, at: datetime, cause: str) -> None:
        """A device's SSH host key changed (or came back): a critical security incident."""
        self.incidents.on_security(asset_id, key, failing, at, cause, severity="critical")

    def _security_finding(self, asset_id: str, check_id: str, failing: bool, at: datetime, cause: str) -> None:
        self.incidents.on_security(asset_id, f"baseline:{check_id}", failing, at, cause)

    def _pending_fault(self, asset_id: str) -> bool:
        track = self.timeline.tracks.get(asset_id)
        return track is not None and any(ct.pending == "bad" for ct in track.checks.values())

    def _delivered(self, incident_id: str, channel: str, attempt: int, ok: bool, error: str | None,
                   at: datetime) -> None:
        """Every delivery attempt lands on the incident's trail (errors already scrubbed of secrets)."""
        detail = {"channel": channel, "attempt": attempt}
        if error:
            detail["error"] = error
        self.incidents.record(incident_id, "delivered" if ok else ("dropped" if attempt == 0 else "delivery_failed"),
                              detail, at)
        if not ok:
            log.warning("notification not delivered", extra={"incident": incident_id, "channel": channel,
                                                              "attempt": attempt, "error": error})

    def _send(self, inc: Any, event: str, level: int, who: list[str], channels: list[str]) -> None:
        """Build the notice (with an acknowledge link for the first person) and hand it to the dispatcher."""
        if self.dispatcher is None or self.oncall is None:
            return
        from collector.notify.message import Notice, Person

        now = self.clock()
        ack_url = None
        if event in ("opened", "escalated", "reopened") and who and self.links is not None:
            base = self.config.incidents.public_url.rstrip("/")
            ack_url = f"{base}/ack/{self.links.make(inc.id, who[0], now)}"
        info = self.asset_infos.get(inc.asset_id)
        people = tuple(Person(p.name, p.email, p.mobile) for p in (self.oncall.people[w] for w in who))
        notice = Notice(inc.id, event, inc.asset_id, info.name if info else inc.asset_id, info.site if info else "",
                        info.category if info else "", inc.kind, inc.severity, inc.cause, inc.opened, inc.deadline,
                        level, people, ack_url, len(inc.attached), inc.acknowledged_by, self.config.timezone, now)
        self.dispatcher.submit(notice, channels)

    def refresh_sla(self) -> None:
        """Quarter-to-date figures for /metrics, computed here (the service's loop uses _sla_worker)."""
        self.sla_snapshot = quarter_figures(self.store, self.config.targets_path(), self.config.timezone,
                                            self.clock())

    async def _reports(self) -> None:
        """Generate the reports of periods that have ended (APScheduler fires this daily at 01:05 local
        time and once after start, so a collector that was down at a period's end catches up)."""
        if not self.config.reports.enabled:
            return
        from collector.report.delivery import due, generate

        for period, lang in due(self.config, self.store, self.clock()):
            try:
                await asyncio.to_thread(generate, self.config, self.store, period, lang, self.clock())
            except Exception:
                log.exception("report generation failed", extra={"period": period.label, "lang": lang})
        self.reports_checked = self.clock()

    async def _sla_loop(self) -> None:
        # In a separate process: ~0.8 s of Python at 10,000 assets would hold the GIL against the loop.
        while True:
            try:
                self.sla_snapshot = await self._sla_worker.figures(self.config.targets_path(),
                                                                   self.config.timezone, self.clock())
            except Exception:
                log.exception("SLA refresh failed")
            await asyncio.sleep(self.config.sla.refresh)

    def _reload(self) -> None:
        if not self.lock.held():
            # The PostgreSQL session holding the lock is gone: another collector could start now.
            log.error("lost the one-collector lock on the database; stopping")
            if self._stop is not None:
                self._stop.set()
            return
        self.reload_inventory()
        self.reload_windows()

    def _prune(self) -> None:
        now = self.clock()
        keep = self.config.retention
        obs = now - timedelta(seconds=keep.observations) if keep.observations > 0 else None
        events = now - timedelta(seconds=keep.events) if keep.events > 0 else None
        if obs is not None or events is not None:
            self.writer.put(Op("prune", "", (obs, events)))

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then shut down in order and flush the store."""
        import uvicorn

        from collector.api.app import create_app

        self._stop = stop
        self.scheduler.start()
        if self.config.reports.enabled:
            from apscheduler.triggers.cron import CronTrigger

            daily = CronTrigger(hour=1, minute=5, timezone=self.config.timezone)
            self.scheduler.scheduler.add_job(self._reports, daily, id="opsmon-reports", coalesce=True,
                                             next_run_time=self.clock() + timedelta(seconds=5),
                                             misfire_grace_time=3600)
        if self.traps is not None and self.trap_socket is not None:
            self.traps.start(self.trap_socket)
        tl = self.config.timeline
        self._tasks = [
            asyncio.create_task(self._every(tl.tick, self._tick, "tick")),
            asyncio.create_task(self._every(tl.heartbeat_interval, self.writer.heartbeat, "heartbeat")),
            asyncio.create_task(self._every(10.0, self._reload, "reload")),
            asyncio.create_task(self._every(3600.0, self._prune, "prune")),
            asyncio.create_task(self._sla_loop()),
        ]
        app = create_app(self)
        listen = self.config.listen
        tls = {}
        if listen.tls_cert and listen.tls_key:
            tls = {"ssl_certfile": str(self.config.resolve(listen.tls_cert)),
                   "ssl_keyfile": str(self.config.resolve(listen.tls_key))}
        # Agents keep one connection open between reports: keep it alive past their interval, so
        # a report does not pay a TCP (and TLS) handshake every time.
        keep_alive = int(self.config.agents.interval * 2 + 5)
        server = _QuietServer(uvicorn.Config(app, host=listen.host, port=listen.port, log_level="warning",
                                             access_log=False, lifespan="off", timeout_keep_alive=keep_alive,
                                             **tls))
        serve = asyncio.create_task(server.serve(sockets=[self.socket] if self.socket else None))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({serve, stopper}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serve, 10)
        stopper.cancel()
        await self.scheduler.shutdown()
        for task in self._tasks:
            task.cancel()
        self._sla_worker.close()
        self.ctx.pinger.close()
        if self.dispatcher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.dispatcher.close(), 5)
        if self.traps is not None:
            self.traps.close()
        if self.snmp is not None:
            self.snmp.close()
        if self.ssh is not None:
            self.ssh.close()
        self.flushed = self.writer.stop()
        self.lock.release()
        self.store.close()
        if serve in done and serve.exception() is not None:
            raise serve.exception()  # type: ignore[misc]


def _parents_first(rows: list[Asset]) -> list[Asset]:
    by_id = {r.id: r for r in rows}
    out: list[Asset] = []
    seen: set[str] = set()

    def visit(row: Asset) -> None:
        if row.id in seen:
            return
        seen.add(row.id)
        if row.parent_id in by_id:
            visit(by_id[row.parent_id])
        out.append(row)

    for row in sorted(rows, key=lambda r: r.id):
        visit(row)
    return out


class _QuietServer:
    """uvicorn.Server without its own signal handling: opsmon owns SIGINT/SIGTERM."""

    def __new__(cls, config: Any) -> Any:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):  # type: ignore[override]
                yield

        return Server(config)


def serve(config: CollectorConfig) -> int:
    """Blocking entry point for `opsmon serve`."""
    service = Service(config)
    service.prepare()
    host = config.listen.host
    port = service.socket.getsockname()[1] if service.socket else config.listen.port
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    base = f"{'https' if config.listen.tls_cert else 'http'}://{shown}:{port}"
    print(
        f"opsmon {__version__} collector running (Ctrl-C to stop)\n"
        f"  API:        {base}/api/v1/states\n"
        f"  API docs:   {base}/docs\n"
        f"  metrics:    {base}/metrics\n"
        f"  health:     {base}/api/v1/health\n"
        f"  database:   {_safe_db(config)}\n"
        f"  assets:     {len(service.assets)} monitored, {service.scheduler.job_count} checks",
        flush=True,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await service.run(stop)

    try:
        import uvloop  # the faster event loop where available; plain asyncio otherwise

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())
    if not service.flushed or service.writer.dropped:
        print(f"opsmon stopped, but the store did not take everything: {service.writer.queue.qsize()} operations "
              f"unwritten, {service.writer.dropped} refused (see the log)", file=sys.stderr, flush=True)
        return 1
    print("opsmon stopped; all observations written.", flush=True)
    return 0


def _safe_db(config: CollectorConfig) -> str:
    from collector.store.db import safe_url

    return safe_url(config.database_url())
