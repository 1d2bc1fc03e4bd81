"""The schema of collector.yaml: the single source of truth for validation and docs.

Every model is frozen and forbids unknown keys, so a typo is an error at load
time instead of a silently ignored setting.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from opsmon.collector.config.basics import (  # noqa: F401 - the old home of DatabaseConfig, SlaConfig...
    WINDOWS,
    Basics,
    DatabaseConfig,
    SlaConfig,
    TimelineConfig,
    bundled_targets_path,
    targets_path,
)
from opsmon.collector.config.basics_oncall import IncidentsConfig  # noqa: F401 - also imported from here
from opsmon.collector.config.flows import FlowsConfig
from opsmon.collector.config.hj212 import Hj212Config
from opsmon.collector.config.ldap import LdapConfig
from opsmon.collector.config.notify import NotifyConfig
from opsmon.collector.config.snmp_credentials import CredentialSpec
from opsmon.collector.config.ssh import SshConfig
from opsmon.collector.config.survey import SurveyConfig
from opsmon.collector.core.fields import FROZEN, Duration, PositiveDuration
from opsmon.collector.core.maintenance import WindowSpec, check_unique_ids

if TYPE_CHECKING:
    from opsmon.collector.config.trap_maps import TrapMap


class ListenConfig(BaseModel):
    model_config = FROZEN
    host: str = Field("127.0.0.1", description="Address the API and /metrics listen on")
    port: int = Field(8470, ge=0, le=65535, description="Port of the API and /metrics")
    tls_cert: str | None = Field(None, description="PEM certificate (chain) to serve HTTPS; agents verify it")
    tls_key: str | None = Field(None, description="PEM private key for tls_cert")

    @model_validator(mode="after")
    def _pair(self) -> ListenConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither")
        return self


class ApiConfig(BaseModel):
    model_config = FROZEN
    public_read: bool = Field(
        False, description="Allow reads (assets, states, history, /metrics) without a token."
    )
    max_body_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, le=1024 ** 3,
        description="The largest request body the API reads (an inventory import of ~30,000 assets like the "
                    "demo's, ~230 bytes each in JSON, fits); a larger one is refused with 413 before it is read. "
                    "Agent reports have their own bound (1 MiB).")


class ConsoleConfig(BaseModel):
    """The web console at /ui/ (docs/console.md): its sessions and the lockout that slows password guessing."""

    model_config = FROZEN
    lockout_failures: int = Field(5, ge=1, le=1000, description=(
        "Failed logins of one account within lockout_window that lock it until the window has passed"))
    lockout_window: PositiveDuration = Field(900.0, description="The window the failures are counted in")
    session_lifetime: PositiveDuration = Field(43200.0, description=(
        "A console session ends this long after its login (a new login is needed)"))


class SchedulerConfig(BaseModel):
    model_config = FROZEN
    max_concurrency: int = Field(256, ge=1, le=100_000, description="Checks in flight at once")
    default_interval: PositiveDuration = Field(60.0, description="For checks without their own interval")
    default_timeout: PositiveDuration = Field(
        5.0, description="For checks without their own timeout (capped at 90% of the interval)")


class RetentionConfig(BaseModel):
    model_config = FROZEN
    observations: Duration = Field(7 * 86400.0, description="Raw check results kept this long (0 = forever)")
    events: Duration = Field(400 * 86400.0, description=(
        "Events (SNMP traps, ...) kept this long (0 = forever); the default covers a year's reports"))


class InventoryConfig(BaseModel):
    model_config = FROZEN
    files: tuple[str, ...] = Field((), description="Asset files imported (idempotently) at every start")


class AgentsConfig(BaseModel):
    model_config = FROZEN
    interval: PositiveDuration = Field(30.0, description="Report interval the collector asks agents to use")


class PollerSiteConfig(BaseModel):
    """One site's own settings for its pollers, over those of `pollers`."""

    model_config = FROZEN
    failover_delay: PositiveDuration | None = Field(None, description="This site's failover delay")
    min_online: int | None = Field(None, ge=1, le=1000, description="This site's minimum of online pollers")


class PollersConfig(BaseModel):
    """Two or more site pollers at a site share its checks and take over each other's (docs/poller.md)."""

    model_config = FROZEN
    failover_delay: PositiveDuration = Field(60.0, description=(
        "A poller whose reports have not arrived for this long is offline: its assets' checks move to the site's "
        "other online pollers (Zabbix's proxy group failover delay, whose default is 1m too)"))
    min_online: int = Field(1, ge=1, le=1000, description=(
        "While fewer of a site's pollers are online, nothing moves: an asset keeps its silent poller and is "
        "unknown until it reports again (Zabbix's minimum of online proxies, default 1)"))
    sites: dict[str, PollerSiteConfig] = Field(default_factory=dict, description=(
        "One site's own `failover_delay` and `min_online` (by its inventory `site`), over the two above: "
        "`{hotan: {min_online: 2}}`"))
    snmp_credentials: tuple[str, ...] = Field((), description=(
        "Names of SNMP credentials only the site pollers hold (in their poller-credentials.yaml): the `snmp` "
        "checks of a site's assets may name them, and the collector keeps no secret of them (docs/poller.md)"))
    ssh_credentials: tuple[str, ...] = Field((), description=(
        "Names of SSH credentials only the site pollers hold, for the `ssh` checks of a site's assets"))

    def delay_of(self, site: str) -> float:
        own = self.sites.get(site)
        return own.failover_delay if own is not None and own.failover_delay is not None else self.failover_delay

    def min_online_of(self, site: str) -> int:
        own = self.sites.get(site)
        return own.min_online if own is not None and own.min_online is not None else self.min_online


class TrapConfig(BaseModel):
    model_config = FROZEN
    enabled: bool = Field(False, description="Receive SNMP traps (v2c and v3)")
    host: str = Field("127.0.0.1", description="Address the trap receiver listens on")
    port: int = Field(162, ge=1, le=65535, description="UDP port (162 needs CAP_NET_BIND_SERVICE; e.g. 1162)")
    credentials: tuple[str, ...] = Field(
        (), description="Names from snmp.credentials accepted on traps (communities and v3 users)")
    engine_ids: dict[str, str] = Field(
        default_factory=dict, description="v3 senders' engine IDs (hex) by device asset id, for v3 traps")
    rate: float = Field(50.0, gt=0, le=1_000_000, description=(
        "Datagrams a second each source may send (token bucket); beyond, they are dropped before decoding "
        "and counted (reason rate)"))
    burst: int = Field(200, ge=1, le=1_000_000, description="... and how many at once above that rate")
    storm_window: PositiveDuration = Field(60.0, description=(
        "The same trap (source, trap OID, varbinds but time values) within this long of its first is one "
        "event with a count"))
    max_detail_bytes: int = Field(4096, ge=512, le=1_000_000, description=(
        "A stored trap's details (JSON) stay under this size: long values are cut with a marker"))
    max_varbinds: int = Field(50, ge=1, le=10_000, description="Varbinds kept of one trap; the cut says how many came")
    maps: tuple[str, ...] = Field((), description=(
        "Trap map files (docs/snmp.md, \"Trap maps\"): what vendor traps mean, beyond the bundled packs; an "
        "entry replaces a bundled one with the same OID"))
    store_unknown: bool = Field(False, description=(
        "Store traps from addresses that are no asset (else they are counted, reason unknown_source, and logged)"))
    refused_sources: int = Field(100, ge=0, le=100_000, description=(
        "Addresses, beyond the assets', with their own label in opsmon_trap_refused_total and their own log "
        "line; the rest count as source other"))


class SnmpConfig(BaseModel):
    model_config = FROZEN
    credentials: dict[str, CredentialSpec] = Field(
        default_factory=dict, description="Named credentials; inventory checks refer to them by name")
    profile_dirs: tuple[str, ...] = Field((), description="Folders of extra profile YAML files")
    client: Literal["auto", "pysnmp", "fast"] = Field(
        "auto", description="auto or fast: the built-in client (every version and protocol); pysnmp: pysnmp 7's")
    timeout: PositiveDuration = Field(1.5, description="Wait this long for each SNMP response")
    retries: int = Field(2, ge=0, le=10, description="Resend a request this many times before giving up")
    varbinds_per_request: int = Field(
        60, ge=1, le=1000, description="Varbinds asked for per GETBULK (max-repetitions = this / columns)")
    static_refresh: PositiveDuration = Field(
        3600.0, description="How often rarely-changing columns (names, speeds, aliases) are read again")
    export_rates: bool = Field(False, description=(
        "Also put opsmon's own per-second rates and the interface utilisation on /metrics (wrap- and reset-safe "
        "gauges). Off: Prometheus derives them from the counters with the recording rules of rules/prometheus "
        "(opsmon:if_*), and a page is about half as long"))
    traps: TrapConfig = TrapConfig()

    @model_validator(mode="after")
    def _known(self) -> SnmpConfig:
        if self.traps.enabled and not self.traps.credentials:
            raise ValueError("traps.enabled needs traps.credentials (the communities and users traps may use)")
        for name in self.traps.credentials:
            if name not in self.credentials:
                raise ValueError(f"traps.credentials names {name!r}, which snmp.credentials does not define")
        return self


class SignOffConfig(BaseModel):
    """The names printed in the report's sign-off block; a name left out leaves a line to sign on."""

    model_config = FROZEN
    prepared_by: str = Field("", description="编制 (prepared by): name printed in the report's sign-off block")
    reviewed_by: str = Field("", description="审核 (reviewed by)")
    approved_by: str = Field("", description="批准 (approved by)")


class ReportsConfig(BaseModel):
    model_config = FROZEN
    enabled: bool = Field(False, description="Generate the reports after each period ends (the SLA report; for "
                                             "`half`, the HJ 212 report)")
    periods: tuple[Literal["quarter", "month", "year", "half"], ...] = Field(
        ("quarter",), description="Which periods: quarter, month, year (the SLA report); half (the semi-monthly "
                                  "HJ 212 statistical analysis report, after the 15th and the month's end)")
    count_target: str | None = Field(
        "monitoring_analysis_reports", description="The count target each delivered HJ 212 half-month report is "
                                                   "recorded toward, once per half-month (null: none)")
    langs: tuple[Literal["zh", "en"], ...] = Field(("zh", "en"), description="In which languages")
    formats: tuple[Literal["pdf", "html", "xlsx", "docx"], ...] = Field(
        ("pdf", "html", "xlsx", "docx"), description="Formats (docx: the SLA report only, for editing in WPS or Word; "
                                                     "the HJ 212 report is written in the others)")
    folder: str = Field("~/.local/state/opsmon/reports", description="Where the files are kept")
    delay: Duration = Field(3600.0, description="Wait this long after the period's end (late data lands first)")
    mail_channel: str | None = Field(None, description="An e-mail channel of notify.channels to mail the files to")
    signoff: SignOffConfig = SignOffConfig()


class LoggingConfig(BaseModel):
    model_config = FROZEN
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    format: Literal["text", "json"] = Field("text", description="text (key=value) or json (one object a line)")


class CollectorConfig(Basics):
    """Root of collector.yaml: its first keys (organisation, timezone, lang, database) are config/basics.py's."""

    model_config = FROZEN
    listen: ListenConfig = ListenConfig()
    api: ApiConfig = ApiConfig()
    console: ConsoleConfig = ConsoleConfig()
    ldap: LdapConfig = LdapConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    timeline: TimelineConfig = TimelineConfig()
    retention: RetentionConfig = RetentionConfig()
    inventory: InventoryConfig = InventoryConfig()
    maintenance: tuple[WindowSpec, ...] = Field((), description=WINDOWS)
    agents: AgentsConfig = AgentsConfig()
    pollers: PollersConfig = PollersConfig()
    sla: SlaConfig = SlaConfig()
    snmp: SnmpConfig = SnmpConfig()
    ssh: SshConfig = SshConfig()
    hj212: Hj212Config = Hj212Config()
    flows: FlowsConfig = FlowsConfig()
    incidents: IncidentsConfig = IncidentsConfig()
    notify: NotifyConfig = NotifyConfig()
    reports: ReportsConfig = ReportsConfig()
    survey: SurveyConfig = SurveyConfig()
    logging: LoggingConfig = LoggingConfig()
    _trap_maps: TrapMap | None = PrivateAttr(None)  # trap_maps(), parsed once

    @model_validator(mode="after")
    def _report_mail(self) -> CollectorConfig:
        name = self.reports.mail_channel
        if name is not None and getattr(self.notify.channels.get(name), "type", None) != "email":
            raise ValueError(f"reports.mail_channel {name!r} must name an e-mail channel under notify.channels")
        name = self.survey.channel
        if name is not None and getattr(self.notify.channels.get(name), "type", None) != "email":
            raise ValueError(f"survey.channel {name!r} must name an e-mail channel under notify.channels")
        return self

    @model_validator(mode="after")
    def _unique_windows(self) -> CollectorConfig:
        check_unique_ids(self.maintenance)
        return self

    def trap_maps(self) -> TrapMap:
        """The bundled trap maps and snmp.traps.maps, parsed at the first call and kept: the loader's check at
        start (config/load.py check_snmp) parses them, the trap receiver takes the same maps. ConfigError
        naming file, line, key and reason."""
        if self._trap_maps is None:
            from opsmon.collector.config.trap_maps import load_trap_maps

            self._trap_maps = load_trap_maps(tuple(self.resolve(f) for f in self.snmp.traps.maps))
        return self._trap_maps

    def targets_path(self) -> Path:
        return targets_path(self, self.sla)
