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
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from opsmon.collector.config import CollectorConfig
from opsmon.collector.config.inventory import AssetSpec, import_file
from opsmon.collector.config.windows import check_window_names, stale_window_names
from opsmon.collector.core.errors import ConfigError
from opsmon.collector.core.maintenance import MaintenanceBook, UntrackedAsset, WindowSpec
from opsmon.collector.core.messages import (
    Backlog,
    BaselineResults,
    Event,
    EventRepeated,
    Facts,
    FlowTop,
    GapFilled,
    HardwareSignal,
    Heartbeat,
    Hj212Data,
    Hj212Frame,
    IntervalClosed,
    IntervalOpened,
    IntervalRelabelled,
    IntervalsMerged,
    Observation,
    Prune,
    Recombined,
    ResultRecorded,
    SecurityFinding,
    StreamPosition,
    Transition,
)
from opsmon.collector.core.states import DOWN
from opsmon.collector.incidents.engine import AssetInfo, IncidentEngine
from opsmon.collector.incidents.escalation import Escalator
from opsmon.collector.incidents.links import AckLinks, load_key
from opsmon.collector.incidents.roster import Roster
from opsmon.collector.inputs.agents.auth import AgentAuth
from opsmon.collector.inputs.agents.ingest import CHECK_ID as AGENT_CHECK
from opsmon.collector.inputs.agents.ingest import Ingest
from opsmon.collector.inputs.base import Input, InputContext
from opsmon.collector.inputs.checks import CHECKS, Check, CheckContext
from opsmon.collector.inputs.checks.pinger import Pinger
from opsmon.collector.inputs.flows.receiver import FlowReceiver
from opsmon.collector.inputs.hj212.receiver import Hj212Receiver
from opsmon.collector.inputs.poller.devices import Unresolved, held_at_pollers
from opsmon.collector.inputs.poller.group import HANDOVER, PollerGroups, share_refresh
from opsmon.collector.inputs.poller.share import (
    POLLER,
    PollerShare,
    SharedUplink,
    owner,
    pollable,
    share_document,
)
from opsmon.collector.inputs.poller.trap_ingest import ForwardedTraps
from opsmon.collector.inputs.scheduler import CheckScheduler
from opsmon.collector.inputs.security import SecurityBook, security_catalog
from opsmon.collector.inputs.snmp.hub import Uplink
from opsmon.collector.inputs.snmp.presence import PresenceHub
from opsmon.collector.inputs.snmp.traps import TrapReceiver
from opsmon.collector.outputs.metrics import CollectorMetrics
from opsmon.collector.service.inputs import INPUTS
from opsmon.collector.service.loopwatch import LoopWatch
from opsmon.collector.service.notices import HANDOFF_PREFIX, Notices
from opsmon.collector.service.routes import Consumer, Router
from opsmon.collector.sla.cache import basis
from opsmon.collector.sla.hj212_live import Hj212Figures, hj212_figures
from opsmon.collector.sla.hj212_rates import correction_deadline_ms
from opsmon.collector.sla.hj212_read import HOURLY, rules_of
from opsmon.collector.sla.results import PeriodResult
from opsmon.collector.sla.targets import load_targets
from opsmon.collector.sla.worker import SlaWorker, quarter_figures
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.flows import interval_totals
from opsmon.collector.store.lock import InstanceLock
from opsmon.collector.store.models import AgentRow, AgentStream, Asset, Hj212Datum, Hj212FrameRow, MaintenanceWindow
from opsmon.collector.store.models import Event as EventRow
from opsmon.collector.store.surveys import SurveyLinks
from opsmon.collector.store.types import to_ms
from opsmon.collector.store.windows import inventory_names
from opsmon.collector.store.writer import StoreWriter
from opsmon.collector.timeline.engine import CheckConf, Timeline
from opsmon.collector.timeline.recovery import recover

if TYPE_CHECKING:
    from opsmon.collector.outputs.ui.directory import Directory

log = logging.getLogger(__name__)
HJ212_SILENT = "数采仪未发送 / DAU not sending"
# Handovers read back at a start (and each asset's latest before): a poller's spool keeps 7 days by default
# (spool_max_age); its results older than that are not counted (PollerGroups.horizon)
HANDOVERS_KEPT = timedelta(days=7)


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
                 clock: Callable[[], datetime] = _utcnow, lock: InstanceLock | None = None) -> None:
        """store, lock: the database and its one-collector lock when the caller took them first (`opsmon
        serve` does, so a standby builds nothing from the database before it takes over)."""
        self.config = config
        self.clock = clock
        self.store = store or open_store(config.database_url(), config.database.connect_timeout)
        self.metrics = CollectorMetrics()
        self.started = clock()
        self.book = MaintenanceBook(config.maintenance, config.timezone)
        self.writer = StoreWriter(self.store, self.started, clock)
        # Producers hold the router's publish from the start; its table is set once every consumer exists.
        self.router = Router()
        self.publish: Callable[[object], None] = self.router.publish
        self.timeline = Timeline(self.publish, self.book, config.timeline.stale_after_intervals)
        self.ctx = CheckContext(clock=clock, pinger=Pinger())
        self.scheduler = CheckScheduler(self.publish, config.scheduler.max_concurrency, self.metrics)
        self.assets: dict[str, AssetMeta] = {}
        # site pollers (inputs/poller/share.py): (asset, check) -> the poller that runs it; poller -> its site;
        # which asset each of a site's pollers runs, and who ran it when (group.py)
        self.polled: dict[tuple[str, str], str] = {}
        self._pollers_of: dict[str, set[str]] = {}  # asset -> the pollers running any of its checks (from polled)
        self._site_links: dict[str, tuple[str, ...]] = {}  # site -> its links: all cut, its group is unknown
        self.groups = PollerGroups(config.pollers.delay_of, config.pollers.min_online_of, self.started,
                                   config.agents.interval,
                                   lambda site: self.timeline.cut_off(self._site_links.get(site, ())) is not None)
        self._unknown_poller_sites: frozenset[str] = frozenset()  # pollers.sites keys warned about
        self.pollers: dict[str, str] = {}
        self._poller_assets: dict[str, str] = {}  # poller -> its own asset (whose `agent` check its reports feed)
        self._shares: dict[str, list[tuple[AssetSpec, Any, float, float]]] = {}
        self._uplinks: dict[str, list[SharedUplink]] = {}  # poller -> the links read from its devices' interfaces
        # (link, snmp_interface check) -> its device, when a poller polls that device: the device's owner judges it
        self._polled_via: dict[tuple[str, str], str] = {}
        self.snmp_owner: dict[str, str] = {}  # device -> the site poller polling it over SNMP (the hub forgets it)
        self._inventory_mark: tuple[Any, ...] | None = None
        self._windows_mark: tuple[Any, ...] | None = None
        self._stale_windows: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.lock = lock or InstanceLock(self.store)
        self.socket: socket.socket | None = None
        self.flushed = True
        self._stop: asyncio.Event | None = None
        self.ingest = Ingest(self.store, self.publish, clock, self._ensure_agent_tracked, atomic=self.writer.atomic,
                             owner_of=lambda asset_id, check_id, at: self.groups.owner_at(
                                 self._polled_via.get((asset_id, check_id), asset_id), at)
                             if (asset_id, check_id) in self.polled else None)
        self.agent_auth = AgentAuth(self.store)
        self.metrics.watch_agents(self.ingest)
        self.metrics.watch_states(self._state_snapshot)
        self.sla_snapshot: PeriodResult | None = None  # quarter to date, for /metrics
        # What the snapshot was measured from (sla.cache.basis: change stamp, target table file), noted before
        # the measurement starts: the console shows the snapshot only while it is still the store's. Cleared
        # before a new snapshot is set and noted after it, so a reader (face.offered reads it first) never pairs
        # a snapshot with a basis newer than the one it was measured from.
        self.sla_basis: object = None
        self.reports_checked: datetime | None = None  # when scheduled reports were last looked for
        self._sla_worker = SlaWorker(self.store, config.database.connect_timeout)
        self.metrics.watch_sla(lambda: self.sla_snapshot)
        self.hj212_snapshot: Hj212Figures | None = None  # the running half-month, for /metrics
        self.metrics.watch_hj212_rates(lambda: self.hj212_snapshot)
        self.metrics.sla_refreshed.set(self.started.timestamp())  # stale from here if no refresh ever succeeds
        self.snmp: Any = None
        if config.snmp.credentials:
            from opsmon.collector.inputs.snmp.hub import SnmpHub

            self.snmp = SnmpHub(config.snmp, Path(config.base_dir or "."), config.source_file or "collector.yaml",
                                self.publish, self.ctx.pinger, clock)
            self.ctx.snmp = self.snmp
            self.ctx.presence = PresenceHub(self.snmp)  # the switches' shared walks for `presence` checks
            self.metrics.watch_snmp(self.snmp, config.snmp.export_rates)
        # the SNMP traps site pollers forward, taken as the trap receiver takes its own (docs/poller.md)
        self.forwarded_traps = ForwardedTraps(config.snmp.traps, config.trap_maps, self.publish, self.snmp,
                                              lambda asset: meta.site if (meta := self.assets.get(asset)) else None,
                                              lambda poller: self.pollers.get(poller),
                                              clock=lambda: self.clock().timestamp())
        self.ingest.on_traps = self.forwarded_traps.take
        # what the pollers' SNMP polls saw, beside the centre's own polls: a forwarded (or direct) recovery trap
        # clears no fault the device's latest poll still reports, whoever polled it (inputs/snmp/device_faults.py)
        self.ingest.on_polled = lambda taken: self.forwarded_traps.device_faults.report(taken, self._is_snmp_poll)
        self.metrics.watch_forwarded_traps(self.forwarded_traps)
        self.targets = load_targets(config.targets_path())
        self.asset_infos: dict[str, AssetInfo] = {}
        self.incidents = IncidentEngine(self.store, clock, self.asset_infos.get, config.incidents,
                                        self.targets.response_limit, self._pending_fault, config.timezone,
                                        self._maintenance_of)
        self.incidents.observer_late = self._observer_late
        self.roster = (Roster(config.resolve(config.incidents.oncall_file), self.store, set(config.notify.channels))
                       if config.incidents.oncall_file else None)
        self.dispatcher: Any = None
        if config.notify.channels:
            from opsmon.collector.notify import Dispatcher, build_channels

            source = config.source_file or "collector.yaml"
            channels = build_channels(config.notify, Path(config.base_dir or "."), source)
            self.dispatcher = Dispatcher(channels, self._delivered, config.notify.retry, clock=clock)
            self.metrics.watch_notify(self.dispatcher)
        self.links: AckLinks | None = None
        if self.oncall is not None:
            self.links = AckLinks(self.store, load_key(config.resolve(config.incidents.link_key_file)),
                                  config.incidents.link_ttl)
        self.survey_links: SurveyLinks | None = None
        self._survey_tasks: set[asyncio.Task[None]] = set()  # mails after resolved incidents, on their way
        if config.survey.enabled:  # the acknowledge links' key signs the survey's too (purpose "survey")
            self.survey_links = SurveyLinks(self.store, load_key(config.resolve(config.incidents.link_key_file)),
                                            config.survey.link_ttl)
            self.incidents.on_change.append(self._incident_survey)
        # The console's LDAP login, when configured: its service account's password read now (a ConfigError at start).
        self.directory: Directory | None = None
        if config.ldap.url:
            from opsmon.collector.outputs.ui.directory import Directory

            self.directory = Directory(config.ldap, Path(config.base_dir or "."), config.source_file)
        self.notices = Notices(self)
        self.escalator = Escalator(self.incidents, self.oncall, self.notices.send, self.asset_infos.get)
        self.ssh: Any = None
        if config.ssh.credentials:
            from opsmon.collector.inputs.ssh.hub import SshHub

            self.ssh = SshHub(config.ssh, Path(config.base_dir or "."), config.source_file or "collector.yaml",
                              self.publish, store=self.store, book=self.book, scope=self.timeline.tracks.get,
                              clock=clock)
            self.ctx.ssh = self.ssh
        self.security = SecurityBook(self.store, self.publish, security_catalog(),
                                     config.incidents.security_critical_paths)
        self.ingest.on_security = self.security.accept
        self.metrics.watch_security(self.security)
        self.metrics.watch_incidents(self.incidents)
        self.metrics.watch_certs(self.ctx.cert_expiry)
        self.metrics.watch_icmp(self.ctx.icmp)
        self._addresses: dict[str, str] = {}
        self._address_owners: dict[str, tuple[str, ...]] = {}
        self._specs: dict[str, AssetSpec] = {}  # replaced (not changed) at each inventory reload
        ctx = InputContext(config, self.publish, clock, self._addresses.get, self.snmp,
                           assets=lambda: self._specs,
                           # no hurry: its one user, the HJ 212 receiver, gathers many units' frames for a commit
                           durable=lambda: asyncio.wrap_future(self.writer.durable(hurry=False)),
                           store_trouble=lambda: self.writer.trouble,
                           assets_at=lambda address: self._address_owners.get(address, ()),
                           hj212_frames_since=self._hj212_frames_since, hj212_hours=self._hj212_hours,
                           hj212_deadline=self._hj212_deadline,
                           flow_totals=lambda link, starts: interval_totals(self.store, link, starts))
        self.inputs: list[Input] = [i for i in (make(ctx) for make in INPUTS) if i is not None]
        for receiver in (i for i in self.inputs if isinstance(i, TrapReceiver)):
            self.metrics.watch_traps(receiver.counts)
        for hj212 in (i for i in self.inputs if isinstance(i, Hj212Receiver)):
            self.metrics.watch_hj212(hj212.counts)
        for flows in (i for i in self.inputs if isinstance(i, FlowReceiver)):
            self.metrics.watch_flows(flows.counts)
        self.metrics.watch_store(self.writer)
        self.loopwatch = LoopWatch()
        self.metrics.watch_loop(self.loopwatch)
        self.router.route(self._routes())

    @property
    def oncall(self) -> Any:
        """The on-call roster in force (oncall.yaml and stored overrides), or None."""
        return self.roster.current if self.roster is not None else None

    def reload_oncall(self, force: bool = False) -> None:
        """Take up a changed oncall.yaml (when valid: a bad one keeps the roster in force) or changed overrides;
        at every periodic reload, at once after an API change, and on SIGHUP (force)."""
        if self.roster is not None and self.roster.reload(force):
            self.escalator.oncall = self.roster.current

    # -- wiring ------------------------------------------------------------
    def _routes(self) -> dict[type, list[Consumer]]:
        """Who hears what. Everything is stored; the timeline hears check results; the incident engine
        hears transitions, hardware signals and security findings, guarded, since a failure there must
        never stop the timeline or an input."""
        store = Consumer("store", self.writer.put)
        incidents = self.incidents
        return {
            Observation: [Consumer("timeline", self.timeline.observe)],
            Backlog: [Consumer("timeline", self.timeline.backlog)],
            ResultRecorded: [store],
            IntervalOpened: [store],
            IntervalClosed: [store],
            IntervalRelabelled: [store],
            IntervalsMerged: [store],
            GapFilled: [store],
            Recombined: [store],
            Transition: [store, Consumer("incidents", lambda t: incidents.on_transition(
                t.asset_id, t.at, t.detected, t.old, t.new, t.reason), guarded=True)],
            HardwareSignal: [store, Consumer("incidents", lambda h: incidents.on_hardware(
                h.asset_id, h.component, h.ts, h.problem, h.cleared, h.source), guarded=True)],
            SecurityFinding: [Consumer("incidents", lambda f: incidents.on_security(
                f.asset_id, f.key, f.failing, f.at, f.cause, severity=f.severity), guarded=True)],
            Event: [store],
            EventRepeated: [store],
            StreamPosition: [store],
            Facts: [store],
            BaselineResults: [store],
            Hj212Data: [store],
            Hj212Frame: [store],
            FlowTop: [store],
            Heartbeat: [store],
            Prune: [store],
        }

    def _state_snapshot(self) -> list[tuple[str, str, str, str, str]]:
        out = []
        for asset_id, track in list(self.timeline.tracks.items()):
            meta = self.assets.get(asset_id)
            if meta is not None:
                info = self.asset_infos.get(asset_id)
                out.append((asset_id, meta.category, meta.site, track.state, info.name if info else asset_id))
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
        port is taken, must fail before it touches the timeline (the lock may be held already:
        `opsmon serve` takes it before it builds the service).
        """
        self._raise_open_files_limit()
        self.lock.acquire()
        try:
            self.socket = socket.create_server((self.config.listen.host, self.config.listen.port), reuse_port=False)
        except OSError as exc:
            self.lock.release()
            raise OSError(f"cannot listen on {self.config.listen.host}:{self.config.listen.port}: "
                          f"{exc.strerror}") from None
        for bound, inp in enumerate(self.inputs):
            try:
                inp.bind()
            except OSError:
                for earlier in self.inputs[:bound]:
                    earlier.close()
                self.socket.close()
                self.lock.release()
                raise
        actor = f"config:{getpass.getuser()}"
        for name in self.config.inventory.files:
            result = import_file(self.store, str(self.config.resolve(name)), actor, restore=False)
            changed = {f"assets_{k}": len(v) for k, v in result.items() if v}
            log.info("inventory file imported", extra={"file": name, **changed})
            if result.get("kept_removed"):
                log.warning("assets in the inventory file stay removed (`opsmon assets import` restores them)",
                            extra={"file": name, "assets": ",".join(result["kept_removed"])})
        try:
            self._check_config_windows()
        except ConfigError:
            for inp in self.inputs:
                inp.close()
            self.socket.close()
            self.lock.release()
            raise
        recovered = recover(self.store, self.clock())
        resume = recovered.resume
        self.incidents.load()
        self.writer.start()
        self._restore_handovers()
        self.reload_inventory(at=resume)
        self.timeline.gaps = recovered.gaps  # an agent's spool may yet fill them (docs/timeline.md, rule 7)
        self.reload_windows()
        # Everything loaded so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise stall every thread for ~180 ms at 5,000 assets.
        gc.freeze()

    # -- inventory ---------------------------------------------------------
    def _timing(self, spec: Any) -> tuple[float, float]:
        """A check's interval and timeout (shorter than the interval), for the scheduler and a poller's share."""
        interval = spec.interval or self.config.scheduler.default_interval
        return interval, min(spec.timeout or self.config.scheduler.default_timeout, interval * 0.9)

    def _build_check(self, asset: AssetSpec, spec: Any) -> tuple[Check, float, str, CheckConf]:
        cfg = self.config
        interval, timeout = self._timing(spec)
        check = CHECKS[spec.type](asset.id, asset.address, spec, timeout, self.ctx)
        held = {"snmp": cfg.pollers.snmp_credentials, "ssh": cfg.pollers.ssh_credentials}.get(spec.type, ())
        if getattr(spec, "credential", None) in held:  # the centre runs it only while the site has no poller
            check = Unresolved(check, held_at_pollers(spec.type, spec.credential, asset.site))
        fingerprint = json.dumps([asset.address, spec.model_dump(mode="json"), interval, timeout], sort_keys=True)
        conf = CheckConf(spec.check_id, interval, spec.down_after or cfg.timeline.down_after,
                         spec.up_after or cfg.timeline.up_after, far_end=getattr(spec, "from_site", False))
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
            poller_rows = session.execute(select(AgentRow.name, Asset.site, AgentRow.asset_id)
                                          .join(Asset, Asset.id == AgentRow.asset_id)
                                          .where(AgentRow.revoked_at.is_(None), AgentRow.role == POLLER)).all()
        at = at or self.clock()
        ordered = [(row, AssetSpec.from_row(row)) for row in _parents_first(rows)]
        # A site poller's reports cross its site's links: its silence while they are all cut is unknown (rule 10),
        # and its group moves nothing then (group.py): known before the pollers are arranged.
        links: dict[str, list[str]] = {}
        for row in rows:
            if row.category == "link" and row.site:
                links.setdefault(row.site, []).append(row.id)
        self._site_links = {site: tuple(sorted(ids)) for site, ids in links.items()}
        self._warn_unknown_poller_sites({row.site for row in rows if row.site})
        owners = self._arrange_pollers(ordered, poller_rows)
        poller_sites = {asset_id: site for _, site, asset_id in poller_rows}  # the poller's own asset -> its site
        polled: dict[tuple[str, str], str] = {}
        shares: dict[str, list[tuple[AssetSpec, Any, float, float]]] = {name: [] for name, _, _ in poller_rows}
        # A device a poller polls over SNMP: its links' snmp_interface checks are fed by that poller's polls, and the
        # centre's hub forgets it (below).
        snmp_owner = {spec.id: owners[spec.id] for _, spec in ordered if spec.id in owners
                      and any(c.type == "snmp" and pollable(spec, c) for c in spec.checks)}
        uplinks_of: dict[str, list[SharedUplink]] = {name: [] for name, _, _ in poller_rows}
        polled_via: dict[tuple[str, str], str] = {}
        jobs: dict[str, tuple[Check, float, str]] = {}
        live: dict[str, AssetMeta] = {}
        uplinks: dict[str, list[Uplink]] = {}
        infos: dict[str, AssetInfo] = {}
        specs: dict[str, AssetSpec] = {}
        # Parents first, so a child's parent is tracked when the child is evaluated.
        for row, spec in ordered:
            confs = []
            specs[spec.id] = spec
            for check_spec in spec.checks:
                if check_spec.type == "hj212":
                    # Pushed by the unit (inputs/hj212/): never scheduled; its silence is down, like an agent's.
                    stale = check_spec.stale_after or self.config.hj212.stale_after
                    confs.append(CheckConf(check_spec.check_id, stale / self.config.timeline.stale_after_intervals,
                                           1, 1, DOWN, HJ212_SILENT))
                    continue
                check, interval, fingerprint, conf = self._build_check(spec, check_spec)
                poller = owner(spec, owners, check_spec)
                if poller is not None:  # its site's poller runs it: the collector never probes it too
                    polled[(spec.id, conf.check_id)] = poller
                    shares[poller].append((spec, check_spec, interval, check.timeout))
                elif conf.far_end:
                    pass  # a link's far end: only its site's poller runs it; without one the centre decides alone
                elif check.passive and snmp_owner.get(check_spec.device) in uplinks_of:
                    device_poller = snmp_owner[check_spec.device]
                    polled[(spec.id, conf.check_id)] = device_poller
                    polled_via[(spec.id, conf.check_id)] = check_spec.device
                    uplinks_of[device_poller].append(SharedUplink(device=check_spec.device, link=spec.id,
                                                                  check=conf.check_id, interface=check_spec.interface))
                elif check.passive:
                    uplinks.setdefault(check_spec.device, []).append(
                        Uplink(spec.id, conf.check_id, check_spec.interface))
                else:
                    jobs[f"{spec.id}/{conf.check_id}"] = (check, interval, fingerprint)
                confs.append(conf)
            if spec.id in with_agent:
                behind = tuple(sorted(links.get(poller_sites.get(spec.id) or "", ())))
                confs.append(CheckConf(AGENT_CHECK, self.config.agents.interval, 1, 1, DOWN, "agent not reporting",
                                       behind=behind))
                self.security.enrolled(spec.id)  # its security counters exist from 0 (issue 23)
            self.timeline.upsert_asset(spec.id, spec.parent, spec.site, spec.tags, confs, at)
            live[spec.id] = AssetMeta(spec.category, spec.site or "", row.updated_at)
            infos[spec.id] = AssetInfo(spec.display_name, spec.category, spec.site or "", spec.criticality, spec.parent)
        for gone in set(self.timeline.tracks) - set(live):
            self.timeline.remove_asset(gone, at)
        self.assets = live
        self._specs = specs
        self.polled, self._shares = polled, shares
        self._pollers_of = {}
        for (asset_id, _check), poller in polled.items():
            self._pollers_of.setdefault(asset_id, set()).add(poller)
        self._uplinks, self._polled_via, self.snmp_owner = uplinks_of, polled_via, snmp_owner
        self.pollers = {name: site for name, site, _ in poller_rows if site}
        self._poller_assets = {name: asset_id for name, _, asset_id in poller_rows}
        self.asset_infos.clear()
        self.asset_infos.update(infos)
        for seen in (self.ctx.cert_expiry, self.ctx.icmp):
            for key in [k for k in seen if k[0] not in live]:
                del seen[key]
        self._addresses.clear()
        # Traps are matched to assets by source address; a polled device wins over another asset at that address.
        polled = sorted(rows, key=lambda r: any(c.get("type") == "snmp" for c in (r.checks or [])))
        self._addresses.update({row.address: row.id for row in polled if row.address})
        owners: dict[str, list[str]] = {}
        for row in rows:
            if row.address:
                owners.setdefault(row.address, []).append(row.id)
        self._address_owners = {address: tuple(sorted(ids)) for address, ids in owners.items()}
        if self.ctx.presence is not None:
            self.ctx.presence.set_assets(specs)
        if self.snmp is not None:
            self.snmp.set_uplinks(uplinks)
            # a device moved to a site poller is no longer the centre's to poll: its state here (the faults of a
            # poll before the move, shown by /metrics and the API) goes, or /metrics would serve its last poll frozen
            # beside the poller's own page (poller/metrics_door.py); device_faults keeps the latest poll's, any
            self.snmp.forget(set(live) - set(snmp_owner))
        self.forwarded_traps.device_faults.forget(set(live))
        self.scheduler.sync(jobs, at)
        self._inventory_mark = mark
        return True

    def _is_snmp_poll(self, asset_id: str, check_id: str) -> bool:
        """Whether the check is the asset's SNMP poll (whose result says whether its hardware was read)."""
        spec = self._specs.get(asset_id)
        return spec is not None and any(c.check_id == check_id and c.type == "snmp" for c in spec.checks)

    def _arrange_pollers(self, ordered: list[tuple[Asset, AssetSpec]], poller_rows: Any) -> dict[str, str]:
        """Which poller runs each asset's polled checks (asset id -> poller, inputs/poller/group.py); a move is
        stored as an event `poller_handover` and logged."""
        members: dict[str, list[str]] = {}
        for name, site, _ in poller_rows:
            if site:
                members.setdefault(site, []).append(name)
        site_assets: dict[str, list[str]] = {}
        for _, spec in ordered:
            if spec.site and any(pollable(spec, c) for c in spec.checks):
                site_assets.setdefault(spec.site, []).append(spec.id)
        moves = self.groups.arrange(site_assets, members, self.clock())
        for site in sorted(members):
            if site in site_assets and not self.groups.group_online(site):
                log.warning("too few site pollers online: nothing moves, a silent poller's assets stay unknown",
                            extra={"site": site, "online": ",".join(sorted(self.groups.online.get(site, ()))),
                                   "min_online": self.config.pollers.min_online_of(site)})
        for move in moves:
            self.publish(move.event())
        for site in sorted({m.site for m in moves}):
            here = [m for m in moves if m.site == site]
            log.warning("site poller handover", extra={
                "site": site, "assets": len(here), "moves": ", ".join(sorted({f"{m.old or '-'}->{m.new or '-'} "
                                                                              f"({m.reason})" for m in here})),
                "online": ",".join(sorted(self.groups.online.get(site, ())))})
        return self.groups.owner

    def _warn_unknown_poller_sites(self, known: set[str]) -> None:
        """A `pollers.sites` key no asset of the inventory has (a typo, a site renamed): its settings apply to
        nothing. Logged once per reload that finds a new such key."""
        unknown = frozenset(self.config.pollers.sites) - known
        if unknown - self._unknown_poller_sites:
            keys = ", ".join(f"pollers.sites.{k}" for k in sorted(unknown))
            log.warning("collector.yaml pollers.sites 中的站点不在资产清单中 / pollers.sites names a site no asset "
                        "has: its settings apply to nothing", extra={"key": keys})
        self._unknown_poller_sites = unknown

    def _restore_handovers(self) -> None:
        """Who owns what, and who was heard when, before the restart (inputs/poller/group.py):

        - the handovers stored in the last HANDOVERS_KEPT, and each asset's latest one before them (one row per
          asset: an asset that moved long ago stays where it went), so a poller replaying its spool has its results
          judged by who owned the asset at their time, as before; older results are refused (`horizon`);
        - each poller's last report's arrival (agent_streams' latest update): its silence goes on counting from
          there, so a poller dead for days is offline once the start's grace is over, not alive from the start."""
        horizon = self.clock() - HANDOVERS_KEPT
        handovers = (EventRow.kind == "poller", EventRow.name == HANDOVER)
        with self.store.session() as s:
            last = (select(EventRow.asset_id, func.max(EventRow.ts).label("ts"))
                    .where(*handovers, EventRow.ts < horizon).group_by(EventRow.asset_id).subquery())
            before = s.execute(select(EventRow.asset_id, EventRow.ts, EventRow.details)
                               .join(last, (EventRow.asset_id == last.c.asset_id) & (EventRow.ts == last.c.ts))
                               .where(*handovers).order_by(EventRow.ts, EventRow.id)).all()
            rows = s.execute(select(EventRow.asset_id, EventRow.ts, EventRow.details)
                             .where(*handovers, EventRow.ts >= horizon)
                             .order_by(EventRow.ts, EventRow.id)).all()
            heard = s.execute(select(AgentStream.agent, func.max(AgentStream.updated_at))
                              .join(AgentRow, AgentRow.name == AgentStream.agent).where(AgentRow.role == POLLER)
                              .group_by(AgentStream.agent)).all()
        for agent, at in heard:
            if at is not None:
                self.groups.heard_from(agent, at if at.tzinfo else at.replace(tzinfo=UTC))
        self.groups.restore(((asset, ts if ts.tzinfo else ts.replace(tzinfo=UTC), (d or {}).get("from"),
                              (d or {}).get("to")) for asset, ts, d in [*before, *rows] if asset), horizon)

    def _hj212_frames_since(self, since: datetime) -> list[tuple[datetime, bytes, str]]:
        """(received, raw, crc) of the HJ 212 frames stored since `since`: the receiver rebuilds its split messages
        (raw is the masked copy, whose CRC no longer matches: crc is the status found on receipt)."""
        with self.store.session() as s:
            return [(r, raw, crc) for r, raw, crc in s.execute(
                select(Hj212FrameRow.received, Hj212FrameRow.raw, Hj212FrameRow.crc)
                .where(Hj212FrameRow.received >= since).order_by(Hj212FrameRow.id))]

    def _hj212_hours(self, mn: str, since: datetime) -> list[tuple[datetime, str]]:
        """(data_time, factor) of the hourly values (CN 2061) stored for an MN since `since`: the history pull."""
        with self.store.session() as s:
            return [(t if t.tzinfo else t.replace(tzinfo=UTC), f) for t, f in s.execute(
                select(Hj212Datum.data_time, Hj212Datum.factor)
                .where(Hj212Datum.mn == mn, Hj212Datum.cn == HOURLY, Hj212Datum.data_time >= since))]

    def _hj212_deadline(self, hour: datetime) -> datetime:
        """The end of an hour's correction window, by the rate target's rules (sla/hj212_rates.py)."""
        target = next((t for t in self.targets.targets if t.measure == "hj212_rate"), None)
        rules = rules_of(target.hj212 if target is not None else None, self.config.timezone)
        return datetime.fromtimestamp(correction_deadline_ms(to_ms(hour), rules) / 1000, UTC)

    def poller_share(self, poller: str) -> PollerShare | None:
        """GET /api/v1/poller/checks: the checks this poller runs; None when `poller` is no site's poller."""
        site = self.pollers.get(poller)
        if site is None:
            return None
        refresh = share_refresh(len(self.groups.members.get(site, ())), self.config.pollers.delay_of(site))
        return share_document(poller, site, refresh, self._shares.get(poller, []), self._uplinks.get(poller, []),
                              self._specs.values())

    def _ensure_agent_tracked(self, asset_id: str) -> None:
        """A just-enrolled agent's first report must not wait for the periodic inventory reload."""
        track = self.timeline.tracks.get(asset_id)
        if track is None or AGENT_CHECK not in track.checks:
            self.reload_inventory(force=True)

    def _check_config_windows(self) -> None:
        """collector.yaml's windows against the inventory just imported (config/windows.py states the rule)."""
        with self.store.session() as session:
            ever, live = inventory_names(session, include_removed=True), inventory_names(session)
        for warning in check_window_names(self.config, ever, live):
            log.warning("maintenance window names what no live asset carries", extra={"detail": warning})

    def _warn_stale_windows(self) -> None:
        """After an inventory change: a window naming what no live asset carries any more is a warning (once)."""
        with self.store.session() as session:
            stale = stale_window_names(self.book.specs(), inventory_names(session))
        if stale and stale != self._stale_windows:
            log.warning("maintenance windows name what no live asset carries; they cover nothing there",
                        extra={"detail": "; ".join(stale)})
        self._stale_windows = stale

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
        if self.writer.trouble is not None:
            # The agents' door answers 503 while the store fails: their silence is ours, judged again only
            # stale_after_intervals after the store writes again (the reports they kept are on their way).
            self.timeline.started = now
        self.timeline.tick(now)
        self.ingest.refusals.tick()
        self.forwarded_traps.refusals.tick()
        if self.groups.tick(now, lambda name: getattr(self.ingest.agents.get(name), "arrived", None)):
            self.reload_inventory(force=True)  # a site's online pollers changed: its assets may move
        self.escalator.step(now)
        if self.roster is not None:
            for schedule, person in self.roster.handoffs(now):
                self.notices.handoff(schedule, person, now)

    # -- incidents ---------------------------------------------------------
    def _observer_late(self, asset_id: str, now: datetime) -> bool:
        """A site poller polling this asset is silent or replaying its spool (a WAN cut): its polled hardware
        faults arrive late, so their absence clears nothing yet (IncidentEngine.tick). Asked only of a fault due to
        clear."""
        # by the asset's index, not a scan of every polled check: asked every tick of each fault held this way
        return any(self.timeline.reporting_late(self._poller_assets.get(p, p), AGENT_CHECK, now)
                   for p in self._pollers_of.get(asset_id, ()))

    def _pending_fault(self, asset_id: str) -> bool:
        track = self.timeline.tracks.get(asset_id)
        return track is not None and any(ct.pending == "bad" for ct in track.checks.values())

    def _maintenance_of(self, asset_id: str, at: datetime) -> str | None:
        """The windows covering an asset, for the incident engine; an asset opsmon does not track (an alert's
        `asset` label) is covered by a window naming it."""
        track = self.timeline.tracks.get(asset_id)
        occ = self.book.covering(track if track is not None else UntrackedAsset(asset_id), at)
        return occ.id if occ is not None else None

    def _delivered(self, incident_id: str, channel: str, attempt: int, ok: bool, error: str | None,
                   at: datetime) -> None:
        """Every delivery attempt lands on the incident's trail (errors already scrubbed of secrets)."""
        detail = {"channel": channel, "attempt": attempt}
        if error:
            detail["error"] = error
        if incident_id.startswith(HANDOFF_PREFIX):
            log.log(logging.INFO if ok else logging.WARNING, "handoff notice %s",
                    "delivered" if ok else "not delivered",
                    extra={"schedule": incident_id, "channel": channel, "attempt": attempt, "error": error})
            return
        self.incidents.record(incident_id, "delivered" if ok else ("dropped" if attempt == 0 else "delivery_failed"),
                              detail, at)
        if not ok:
            log.warning("notification not delivered", extra={"incident": incident_id, "channel": channel,
                                                              "attempt": attempt, "error": error})

    def refresh_sla(self) -> None:
        """Quarter-to-date figures for /metrics, computed here (the service's loop uses _sla_worker)."""
        noted = basis(self.store, self.config.targets_path())
        snapshot = quarter_figures(self.store, self.config.targets_path(), self.config.timezone, self.clock())
        self.sla_basis, self.sla_snapshot = None, snapshot
        self.sla_basis = noted
        self.hj212_snapshot = hj212_figures(self.store, self.config.targets_path(), self.config.timezone,
                                            self.clock())
        self.metrics.sla_refreshed.set(self.clock().timestamp())

    async def _reports(self) -> None:
        """Generate the reports of periods that have ended (APScheduler fires this daily at 01:05 local
        time and once after start, so a collector that was down at a period's end catches up)."""
        if not self.config.reports.enabled:
            return
        from opsmon.collector.outputs.report.delivery import due, generate

        for period, lang in due(self.config, self.store, self.clock()):
            try:
                await asyncio.to_thread(generate, self.config, self.store, period, lang, self.clock())
            except Exception:
                log.exception("report generation failed", extra={"period": period.label, "lang": lang})
        self.reports_checked = self.clock()

    async def _surveys(self) -> None:
        """Send the satisfaction survey of the quarter that ended (after survey.delay) to every contact not yet
        mailed for it (APScheduler fires this daily at 01:10 local time and once after start: a collector
        down at the quarter's end catches up, a failed mail is tried again, and nobody is asked twice)."""
        if self.survey_links is None or self.config.survey.channel is None:
            return
        from opsmon.collector.notify.survey import send_survey
        from opsmon.collector.sla.periods import last_complete

        now = self.clock()
        period = last_complete("quarter", now, self.config.timezone)
        if now < period.end + timedelta(seconds=self.config.survey.delay):
            return
        try:
            await asyncio.to_thread(send_survey, self._survey_channel(), self.survey_links, self.config.survey, period,  # type: ignore[arg-type]
                                    self.config.incidents.public_url, self.config.timezone, now)
        except Exception:
            log.exception("survey sending failed", extra={"period": period.label})

    def _survey_channel(self) -> Any:
        from opsmon.collector.notify import build_channels

        assert self.config.survey.channel is not None  # the config requires it with departments
        return build_channels(self.config.notify, Path(self.config.base_dir or "."),
                              self.config.source_file or "collector.yaml")[self.config.survey.channel]

    def _incident_survey(self, inc: Any, action: str, actor: str, detail: dict[str, Any]) -> None:
        """After a resolved incident, survey the departments whose `after_incidents` scope covers its asset
        (filed under the incident's id, counted in the period it was resolved in). Mailed off the loop."""
        if action != "resolved" or self.survey_links is None:
            return
        info = self.asset_infos.get(inc.asset_id)
        departments = self.config.survey.served(inc.asset_id, info.site if info else None,
                                                info.category if info else None)
        if not departments:
            return
        from opsmon.collector.notify.survey import IncidentPeriod, send_survey

        now = self.clock()
        period = IncidentPeriod(inc.id, now, now + timedelta(milliseconds=1))

        async def mail() -> None:
            try:
                await asyncio.to_thread(send_survey, self._survey_channel(), self.survey_links,  # type: ignore[arg-type]
                                        self.config.survey, period, self.config.incidents.public_url,
                                        self.config.timezone, now, "opsmon", departments)
            except Exception:
                log.exception("survey after the incident failed", extra={"incident": inc.id})

        self._survey_tasks.add(task := asyncio.get_running_loop().create_task(mail()))
        task.add_done_callback(self._survey_tasks.discard)

    async def _sla_loop(self) -> None:
        # In a separate process: ~0.8 s of Python at 10,000 assets would hold the GIL against the loop.
        while True:
            try:
                noted = await asyncio.to_thread(basis, self.store, self.config.targets_path())
                snapshot = await self._sla_worker.figures(self.config.targets_path(), self.config.timezone,
                                                          self.clock())
                self.sla_basis, self.sla_snapshot = None, snapshot
                self.sla_basis = noted
                self.hj212_snapshot = await self._sla_worker.hj212(self.config.targets_path(),
                                                                   self.config.timezone, self.clock())
                self.metrics.sla_refreshed.set(self.clock().timestamp())
            except Exception:
                self.metrics.sla_refresh_failures.inc()
                log.exception("SLA refresh failed")
            await asyncio.sleep(self.config.sla.refresh)

    def _reload(self) -> None:
        if not self.lock.held():
            # The PostgreSQL session holding the lock is gone: another collector could start now.
            log.error("lost the one-collector lock on the database; stopping")
            if self._stop is not None:
                self._stop.set()
            return
        changed = self.reload_inventory()
        self.reload_windows()
        self.reload_oncall()
        if changed:
            self._warn_stale_windows()

    def _prune(self) -> None:
        now = self.clock()
        keep = self.config.retention
        obs = now - timedelta(seconds=keep.observations) if keep.observations > 0 else None
        events = now - timedelta(seconds=keep.events) if keep.events > 0 else None
        frames = now - timedelta(seconds=self.config.hj212.raw_retention) if self.config.hj212.enabled else None
        flows = self.config.flows
        flow_top = now - timedelta(seconds=flows.retention) if flows.enabled and flows.retention > 0 else None
        if obs is not None or events is not None or frames is not None or flow_top is not None:
            self.publish(Prune(obs, events, frames, flow_top))

    async def _watch_loop_once_serving(self, server: Any) -> None:
        """The loop's watch starts once the server answers: building the app and uvicorn's start (imports) hold
        the loop a second or more on a busy host, and are no stall of a running collector."""
        while not server.started:
            await asyncio.sleep(0.05)
        self.loopwatch.start(asyncio.get_running_loop())

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then shut down in order and flush the store."""
        from opsmon.collector.outputs.api.app import create_app
        from opsmon.collector.service.face import ServiceFace
        from opsmon.collector.service.http import http_server

        self._stop = stop
        self.scheduler.start()
        if self.config.reports.enabled:
            from apscheduler.triggers.cron import CronTrigger

            daily = CronTrigger(hour=1, minute=5, timezone=self.config.timezone)
            self.scheduler.scheduler.add_job(self._reports, daily, id="opsmon-reports", coalesce=True,
                                             next_run_time=self.clock() + timedelta(seconds=5),
                                             misfire_grace_time=3600)
        if self.survey_links is not None:
            from apscheduler.triggers.cron import CronTrigger

            self.scheduler.scheduler.add_job(
                self._surveys, CronTrigger(hour=1, minute=10, timezone=self.config.timezone), id="opsmon-surveys",
                coalesce=True, next_run_time=self.clock() + timedelta(seconds=2), misfire_grace_time=3600)
        for inp in self.inputs:
            inp.start()
        tl = self.config.timeline
        self._tasks = [
            asyncio.create_task(self._every(tl.tick, self._tick, "tick")),
            asyncio.create_task(self._every(tl.heartbeat_interval, lambda: self.publish(Heartbeat()), "heartbeat")),
            asyncio.create_task(self._every(10.0, self._reload, "reload")),
            asyncio.create_task(self._every(3600.0, self._prune, "prune")),
            asyncio.create_task(self._sla_loop()),
        ]
        face = ServiceFace(self)
        face.warm()
        server = http_server(create_app(face), self.config)
        self.timeline.started = self.clock()  # the door opens now: no agent could report before (see Timeline.tick)
        serve = asyncio.create_task(server.serve(sockets=[self.socket] if self.socket else None))
        self._tasks.append(asyncio.create_task(self._watch_loop_once_serving(server)))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({serve, stopper}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serve, 10)
        self.loopwatch.close()  # the door is shut: the closes below may hold the loop, and nobody waits on it
        stopper.cancel()
        await self.scheduler.shutdown()
        for task in self._tasks:
            task.cancel()
        self._sla_worker.close()
        self.ctx.pinger.close()
        if self.dispatcher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.dispatcher.close(), 5)
        for inp in reversed(self.inputs):
            inp.close()
        if self.snmp is not None:
            self.snmp.close()
        if self.ssh is not None:
            self.ssh.close()
        self.ingest.refusals.flush()
        self.forwarded_traps.refusals.flush()
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
