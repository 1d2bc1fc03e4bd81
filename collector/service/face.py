"""The running collector as the API sees it: ServiceFace implements the API's CollectorFace.

This is the one place that reads the service's parts (timeline, writer, security book, SNMP hub,
incident engine, links, config) on the API's behalf; the API itself only knows the protocol.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from opsmon.collector import __version__
from opsmon.collector.config.inventory import AssetSpec, remove_asset, upsert_assets
from opsmon.collector.config.schema import ConsoleConfig
from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.core.maintenance import WindowSpec
from opsmon.collector.incidents.engine import Active
from opsmon.collector.incidents.links import LinkClaim
from opsmon.collector.inputs.agents.route import AgentAnswer
from opsmon.collector.inputs.poller.devices import readings_at_poller
from opsmon.collector.outputs.api.live import (
    Baseline,
    BaselineCheck,
    CheckStatus,
    ComplianceRow,
    HardwareFault,
    Health,
    InterfaceRow,
    Interfaces,
    LiveState,
    StateRow,
    WindowDoc,
)
from opsmon.collector.outputs.api.oncall_doc import LevelDoc, OncallDoc, OverrideDoc, PolicyDoc, RouteDoc, ShiftDoc
from opsmon.collector.sla.cache import Answer, Measured, PeriodCache, offered
from opsmon.collector.sla.periods import Period, containing
from opsmon.collector.sla.results import PeriodResult
from opsmon.collector.store import Store, audit
from opsmon.collector.store.oncall import add_override, remove_override
from opsmon.collector.store.surveys import SurveyLinks
from opsmon.collector.store.users import Verdict
from opsmon.collector.store.windows import add_window, remove_window

if TYPE_CHECKING:
    from opsmon.collector.service.service import Service


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class ServiceFace:
    """opsmon.collector.outputs.api.face.CollectorFace over a Service."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._periods = PeriodCache(service.config.sla.refresh)

    # -- settings and the record ------------------------------------------------
    @property
    def store(self) -> Store:
        return self._service.store

    @property
    def public_read(self) -> bool:
        return self._service.config.api.public_read

    @property
    def max_body_bytes(self) -> int:
        return self._service.config.api.max_body_bytes

    @property
    def timezone(self) -> str:
        return self._service.config.timezone

    @property
    def console(self) -> ConsoleConfig:
        return self._service.config.console

    @property
    def directory(self) -> Callable[[str, str], Verdict] | None:
        directory = self._service.directory
        return directory.check if directory is not None else None

    def targets_path(self) -> Path:
        return self._service.config.targets_path()

    def now(self) -> datetime:
        return self._service.clock()

    # -- live reads ---------------------------------------------------------------
    def health(self) -> Health:
        s = self._service
        writer = s.writer
        return Health(status="ok" if writer.healthy else "degraded", store_error=writer.trouble,
                      store_writer_alive=writer.alive,
                      store_dropped_ops=writer.dropped, version=__version__, started=s.started.isoformat(),
                      assets=len(s.assets), checks=s.scheduler.job_count, store_queue=writer.queue.qsize(),
                      store_write_failures=writer.failures, reports_checked=_iso(s.reports_checked))

    def live_state(self, asset_id: str) -> LiveState | None:
        track = self._service.timeline.tracks.get(asset_id)
        if track is None:
            return None
        return LiveState(state=track.state, since=track.since.isoformat(), reason=track.reason, check_status={
            cid: CheckStatus(status=ct.confirmed, reason=ct.reason, last_result=ct.last_status,
                             last_ts=_iso(ct.last_ts)) for cid, ct in track.checks.items()})

    def live_states(self) -> list[StateRow]:
        s = self._service
        out = []
        for asset_id, track in sorted(s.timeline.tracks.items()):
            meta = s.assets.get(asset_id)
            out.append(StateRow(asset=asset_id, category=meta.category if meta else None,
                                site=meta.site if meta else None, state=track.state,
                                since=track.since.isoformat(), reason=track.reason))
        return out

    def interfaces(self, asset_id: str) -> Interfaces | None:
        hub = self._service.snmp
        state = hub.devices.get(asset_id) if hub is not None else None
        if state is None or state.last is None:
            poller = self._service.snmp_owner.get(asset_id)  # its hub forgot it (service.reload_inventory)
            if poller is None:
                return None
            return Interfaces(asset=asset_id, polled_at=None, profiles=[], interfaces=[], faults=[], polled_by=poller,
                              reason=readings_at_poller(asset_id, poller))
        rates = state.rates.get("if", {})
        rows = [InterfaceRow.model_validate({"ifIndex": idx, **row, **rates.get(idx, {})})
                for idx, row in state.last.tables.get("if", {}).items()]
        return Interfaces(asset=asset_id, polled_at=datetime.fromtimestamp(state.last.at, UTC).isoformat(),
                          profiles=[p.name for p in state.profiles], interfaces=rows,
                          faults=[HardwareFault(component=c, problem=en, problem_zh=zh) for c, en, zh in state.faults])

    def compliance(self) -> list[ComplianceRow]:
        return [ComplianceRow(**row) for row in self._service.security.scores()]

    def baseline(self, asset_id: str) -> Baseline | None:
        book = self._service.security
        host = book.latest.get(asset_id)
        if host is None:
            return None
        checks = []
        for check_id, (status, evidence, since) in sorted(host.checks.items()):
            info = book.catalog(host.policy, check_id)
            checks.append(BaselineCheck(id=check_id, status=status, evidence=evidence, since=since.isoformat(),
                                        control=info.control if info else None,
                                        title_en=info.title_en if info else None,
                                        title_zh=info.title_zh if info else None))
        return Baseline(asset=asset_id, policy=host.policy, ran_at=_iso(host.ran_at), checks=checks)

    def sla_snapshot(self) -> PeriodResult | None:
        return self._service.sla_snapshot

    def offered(self, period: Period, target: str | None = None) -> Answer:
        s = self._service
        noted = s.sla_basis  # read before the snapshot: the service clears it before a new snapshot (service.py)
        return offered(self._periods, s.sla_snapshot, s.store, s.config.targets_path(), period, s.clock(), target,
                       noted)

    def warm(self) -> None:
        """This quarter measured in the background at the collector's start, for the console's click-throughs."""
        s = self._service
        now = s.clock()
        self._periods.warm(s.store, s.config.targets_path(), containing("quarter", now, s.config.timezone), now)

    def measured(self, period: Period, live: bool = False, target: str | None = None) -> Measured:
        s = self._service
        return self._periods.measured(s.store, s.config.targets_path(), period, s.clock(), live, target)

    def windows(self) -> list[WindowDoc]:
        s = self._service
        config_ids = {w.id for w in s.config.maintenance}
        return [WindowDoc.model_validate({**w.model_dump(), "source": "config" if w.id in config_ids else "api"})
                for w in s.book.specs()]

    def incident(self, incident_id: str) -> Active | None:
        return self._service.incidents.by_id.get(incident_id)

    def ack_link(self, token: str, use: bool, by: str | None = None) -> LinkClaim | None:
        links = self._service.links
        if links is None:
            return None
        now = self._service.clock()
        return links.use(token, now, by) if use else links.check(token, now)

    def link_refused(self, reason: str, incident_id: str, text: str, origin: dict[str, str]) -> None:
        s = self._service
        s.metrics.ack_link_refusals.labels(reason).inc()
        with s.store.session.begin() as session:
            audit.record(session, "link", f"ack_link.{reason}", incident_id, {"reason": text, **origin}, s.clock())

    def link_people(self) -> tuple[tuple[str, str], ...]:
        oncall = self._service.oncall
        return tuple((pid, p.name) for pid, p in oncall.people.items()) if oncall is not None else ()

    def send_link_code(self, claim: LinkClaim, person: str) -> bool:
        return self._service.notices.link_code(claim, person)

    def check_link_code(self, claim: LinkClaim, person: str, code: str) -> None:
        links = self._service.links
        assert links is not None
        links.check_code(claim, person, code, self._service.clock())

    def asset_name(self, asset_id: str) -> str | None:
        info = self._service.asset_infos.get(asset_id)
        return info.name if info is not None else None

    def oncall(self) -> OncallDoc | None:
        s = self._service
        roster = s.roster
        if roster is None:
            return None
        now = s.clock()
        zone = ZoneInfo(s.config.timezone)
        people = roster.current.people

        def name(pid: str | None) -> str | None:
            return people[pid].name if pid in people else pid

        def local(t: datetime) -> str:
            return t.astimezone(zone).isoformat()

        shifts = [ShiftDoc(schedule=sh.schedule, person=sh.person, name=name(sh.person) or sh.person,
                           until=local(sh.until) if sh.until else None, next_person=sh.next_person,
                           next_name=name(sh.next_person)) for sh in roster.shifts(now)]
        overrides = [OverrideDoc(id=o.id, schedule=sched, person=o.person, start=local(o.start), end=local(o.end),
                                 reason=o.reason, source="api" if o.id is not None else "file")
                     for sched, sch in roster.current.schedules.items() for o in sch.overrides if o.end > now]
        policies = [PolicyDoc(name=pname, levels=[LevelDoc(after=lv.after, notify=list(lv.notify),
                                                            channels=list(lv.channels),
                                                            only_if_breached=lv.only_if_breached)
                                                   for lv in p.levels],
                              repeat_every=p.repeat_every, fallback=p.fallback)
                    for pname, p in roster.current.policies.items()]
        routes = [RouteDoc(match={k: list(v) for k, v in r.match.model_dump().items() if v}, policy=r.policy)
                  for r in roster.current.routes]
        return OncallDoc(now=local(now), shifts=shifts, overrides=overrides, policies=policies, routes=routes,
                         file=str(roster.path), file_errors=roster.errors)

    def survey_links(self) -> SurveyLinks | None:
        return self._service.survey_links

    def department_name(self, department_id: str) -> str:
        dept = self._service.config.survey.departments.get(department_id)
        if dept is None:
            return department_id
        return f"{dept.name_zh} / {dept.name_en}" if dept.name_en else dept.name_zh

    def render_metrics(self) -> bytes:
        return self._service.metrics.render()

    # -- commands -------------------------------------------------------------------
    def upsert_assets(self, specs: list[AssetSpec], actor: str) -> dict[str, list[str]]:
        result = upsert_assets(self._service.store, specs, actor)
        self._service.reload_inventory()
        return result

    def remove_asset(self, asset_id: str, actor: str, at: datetime | None = None) -> None:
        remove_asset(self._service.store, asset_id, actor, self._service.clock(), at)
        self._service.reload_inventory()

    def add_window(self, spec: WindowSpec, actor: str) -> None:
        s = self._service
        add_window(s.store, spec, {w.id for w in s.config.maintenance}, actor, s.clock())
        s.reload_windows()

    def remove_window(self, window_id: str, actor: str) -> None:
        s = self._service
        remove_window(s.store, window_id, {w.id for w in s.config.maintenance}, actor, datetime.now(UTC))
        s.reload_windows()

    def generate_report(self, period: Period, lang: str, actor: str) -> list[dict[str, Any]]:
        from opsmon.collector.outputs.report.delivery import generate

        s = self._service
        docs = generate(s.config, s.store, period, lang, s.clock())
        with s.store.session.begin() as session:
            audit.record(session, actor, "report.generate", period.label,
                         {"lang": lang, "files": [d["file"] for d in docs]}, s.clock())
        return docs

    def acknowledge(self, incident_id: str, actor: str, note: str, context: dict[str, str] | None = None) -> None:
        self._service.incidents.acknowledge(incident_id, actor, note, context=context)

    def reassign(self, incident_id: str, actor: str, to: str, note: str) -> None:
        oncall = self._service.oncall
        if oncall is None or to not in oncall.people:
            known = ", ".join(sorted(oncall.people)) if oncall is not None else "none: no on-call configured"
            raise InvalidInput(f"to: {to!r} is not a person of the on-call roster (there: {known})")
        self._service.incidents.reassign(incident_id, actor, to, note)

    def take_over(self, incident_id: str, actor: str, note: str) -> None:
        self._service.incidents.take_over(incident_id, actor, note)

    def add_override(self, schedule: str, person: str, start: datetime, end: datetime, reason: str,
                     actor: str) -> int:
        s = self._service
        assert s.roster is not None
        oncall = s.roster.from_file
        new = add_override(s.store, oncall.schedules, oncall.people, schedule, person, start, end, reason,
                           actor, s.clock())
        s.reload_oncall()
        return new

    def remove_override(self, override_id: int, actor: str) -> None:
        s = self._service
        remove_override(s.store, override_id, actor, s.clock())
        s.reload_oncall()

    def resolve(self, incident_id: str, actor: str, note: str) -> None:
        self._service.incidents.resolve(incident_id, actor, note)

    def add_note(self, incident_id: str, actor: str, note: str) -> None:
        self._service.incidents.add_note(incident_id, actor, note)

    def record_response(self, incident_id: str, actor: str, responded_at: datetime | None, evidence: str,
                        note: str) -> None:
        self._service.incidents.record_response(incident_id, actor, responded_at, evidence, note)

    def on_alerts(self, alerts: list[dict[str, Any]]) -> list[str]:
        s = self._service
        now = s.clock()
        ids = [s.incidents.on_alert(a, now) for a in alerts]
        s.incidents.flush()  # the answer is a promise: an incident kept from a refused save is stored first
        return [i for i in ids if i]

    # -- the agents' door -------------------------------------------------------------
    def agent_for(self, token: str) -> tuple[str, str] | None:
        return self._service.agent_auth.check(token)

    def poller_share(self, poller: str) -> Any:
        return self._service.poller_share(poller)

    def store_trouble(self) -> str | None:
        return self._service.writer.trouble

    def durable(self) -> Awaitable[None]:
        return asyncio.wrap_future(self._service.writer.durable())

    def agent_report(self, agent: str, asset_id: str, body: bytes, sent_at: str | None,
                     backlog: str | None) -> AgentAnswer:
        ingest = self._service.ingest
        report = ingest.parse(body)
        status = ingest.accept(agent, asset_id, report, sent_at, body, backlog)
        return AgentAnswer(status=status, interval=self._service.config.agents.interval)  # type: ignore[arg-type]
