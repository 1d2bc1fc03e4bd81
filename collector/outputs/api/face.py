"""The narrow face of the running collector: everything the API needs from it, and nothing else.

The API reads and changes the collector only through this protocol (the service implements it in
opsmon.collector.service.face); it never imports the service nor reaches into its parts.

Live reads (the timeline, security results, SNMP polls, open incidents) and commands must be called
from the event loop that owns them: the handlers that call them are `async`. Stored history, events,
incidents, configurations, reports, tokens and the audit log are read from `store` with the store's
own read functions, off the loop.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from opsmon.collector.inputs.agents.route import AgentDoor
from opsmon.collector.inputs.poller.route import ShareDoor
from opsmon.collector.outputs.api.live import (
    Baseline,
    ComplianceRow,
    Health,
    Interfaces,
    LiveState,
    StateRow,
    WindowDoc,
)
from opsmon.collector.outputs.api.oncall_doc import OncallDoc

if TYPE_CHECKING:
    from opsmon.collector.config.inventory import AssetSpec
    from opsmon.collector.config.schema import ConsoleConfig
    from opsmon.collector.core.maintenance import WindowSpec
    from opsmon.collector.incidents.engine import Active
    from opsmon.collector.incidents.links import LinkClaim
    from opsmon.collector.sla.cache import Answer, Measured
    from opsmon.collector.sla.periods import Period
    from opsmon.collector.sla.results import PeriodResult
    from opsmon.collector.store import Store
    from opsmon.collector.store.surveys import SurveyLinks
    from opsmon.collector.store.users import Verdict


class CollectorFace(AgentDoor, ShareDoor, Protocol):
    # -- settings and the record ------------------------------------------------
    @property
    def store(self) -> Store:
        """The database, for the store's read functions."""

    @property
    def public_read(self) -> bool:
        """Reads need no token (`api.public_read`)."""

    @property
    def max_body_bytes(self) -> int:
        """The largest request body the API reads (`api.max_body_bytes`)."""

    @property
    def timezone(self) -> str: ...

    @property
    def console(self) -> ConsoleConfig:
        """The web console's session and lockout settings (`console:`)."""

    @property
    def directory(self) -> Callable[[str, str], Verdict] | None:
        """The LDAP/AD check of a console login's name and password (`ldap:`); None when not configured. It
        blocks for up to the directory's timeouts: call it off the loop."""

    def targets_path(self) -> Path: ...

    def now(self) -> datetime:
        """The collector's clock."""

    # -- live reads (on the loop) -------------------------------------------------
    def health(self) -> Health: ...

    def live_state(self, asset_id: str) -> LiveState | None:
        """None: the asset is not monitored."""

    def live_states(self) -> list[StateRow]:
        """Every monitored asset, by id."""

    def interfaces(self, asset_id: str) -> Interfaces | None:
        """None: no SNMP poll of it yet (and no site poller polls it)."""

    def compliance(self) -> list[ComplianceRow]: ...

    def baseline(self, asset_id: str) -> Baseline | None:
        """None: no baseline results for it yet."""

    def sla_snapshot(self) -> PeriodResult | None:
        """The target table of this quarter as /metrics shows it: measured every `sla.refresh` seconds in the
        SLA worker's process, as of its `period.as_of`. None before the first measurement."""

    def offered(self, period: Period, target: str | None = None) -> Answer:
        """What a console page shows of a period, never waiting on the engine longer than the period cache's
        WAIT (opsmon.collector.sla.cache.offered): this quarter's table is the SLA worker's snapshot; any other
        period's, and every click-through (`target`), the period cache's, measured in the background when not
        there (the answer then has no result, or the previous one as of its own time)."""

    def measured(self, period: Period, live: bool = False, target: str | None = None) -> Measured:
        """The period's loaded Evaluation with its result, from the period cache: what a click-through behind a
        figure reads (its per-asset figures are computed once per period). `live`: a period not yet settled is
        measured as of now (the API's answer), else it may be `sla.refresh` old, as the page says. `target`:
        the whole period's entry if one holds, else that target alone over its scope's assets."""

    def windows(self) -> list[WindowDoc]:
        """Maintenance windows in force, from the config file and the API."""

    def incident(self, incident_id: str) -> Active | None:
        """A live (not closed) incident."""

    def ack_link(self, token: str, use: bool, by: str | None = None) -> LinkClaim | None:
        """Check an acknowledge link, and mark it used (by `by`) if `use`; LinkRefused says why not.
        None: acknowledge links are not configured."""

    def link_refused(self, reason: str, incident_id: str, text: str, origin: dict[str, str]) -> None:
        """A refused link attempt: audited (with source address and user agent) and counted by reason."""

    def link_people(self) -> tuple[tuple[str, str], ...]:
        """(id, name) of the on-call roster, for a group link's question "who is acknowledging"."""

    def send_link_code(self, claim: LinkClaim, person: str) -> bool:
        """Send a code for this group link to `person` alone; False when no channel reaches them alone."""

    def check_link_code(self, claim: LinkClaim, person: str, code: str) -> None:
        """LinkRefused unless `code` is the one sent to `person` for this link, in time."""

    def asset_name(self, asset_id: str) -> str | None:
        """The asset's name, for pages a person reads."""

    def oncall(self) -> OncallDoc | None:
        """Who is on call now and next per schedule, the stored overrides and the file's state; None: no on-call."""
    def survey_links(self) -> SurveyLinks | None:
        """The satisfaction survey's links (safe off the loop: they only read and write the store).
        None: the survey is not configured."""

    def department_name(self, department_id: str) -> str:
        """A department of the survey as its page shows it: 'zh / en' (the id when it left the config)."""

    def render_metrics(self) -> bytes:
        """/metrics in Prometheus' text format (safe off the loop)."""

    # -- commands (on the loop; audited) ----------------------------------------------
    def upsert_assets(self, specs: list[AssetSpec], actor: str) -> dict[str, list[str]]:
        """Ids by outcome: created, updated, restored, unchanged; `actor` as the audit log is to name it."""

    def remove_asset(self, asset_id: str, actor: str, at: datetime | None = None) -> None:
        """Removed at `at` (default now). NotFound; InvalidInput while live assets name it as their parent,
        or for an `at` in the future or before it joined."""

    def add_window(self, spec: WindowSpec, actor: str) -> None:
        """Audited as `actor` (api:<person>, ui:<name>). InvalidInput for a window beginning in the past;
        Conflict for an id in use."""

    def remove_window(self, window_id: str, actor: str) -> None:
        """Ends a window now (its past maintenance time stays recorded); audited as `actor`. Conflict for a
        window of the config file; NotFound."""

    def generate_report(self, period: Period, lang: str, actor: str) -> list[dict[str, Any]]:
        """The SLA report of `period` in every configured format, recorded and listed as the scheduled run's
        are (outputs/report/delivery.generate); audited as `actor`. Blocking: call it off the event loop."""

    def acknowledge(self, incident_id: str, actor: str, note: str, context: dict[str, str] | None = None) -> None:
        """`context` (how it came: a link's source address and user agent) is kept on the trail and audit row."""

    def reassign(self, incident_id: str, actor: str, to: str, note: str) -> None:
        """InvalidInput for a person not in the on-call roster, or an incident not active; the new owner is told."""

    def take_over(self, incident_id: str, actor: str, note: str) -> None:
        """`actor` takes the incident (acknowledging it if still open)."""

    def add_override(self, schedule: str, person: str, start: datetime, end: datetime, reason: str,
                     actor: str) -> int:
        """Audited as `actor` (api:<token's person>, ui:<name>); in force at once, without a restart. The new
        override's id."""

    def remove_override(self, override_id: int, actor: str) -> None:
        """Audited as `actor`; NotFound."""

    def resolve(self, incident_id: str, actor: str, note: str) -> None: ...

    def record_response(self, incident_id: str, actor: str, responded_at: datetime | None, evidence: str,
                        note: str) -> None:
        """A response to a healed fault, recorded after the fact (InvalidInput, Conflict, NotFound)."""

    def add_note(self, incident_id: str, actor: str, note: str) -> None: ...

    def on_alerts(self, alerts: list[dict[str, Any]]) -> list[str]:
        """Alertmanager's alerts: the ids of the incidents they opened, kept or resolved."""
