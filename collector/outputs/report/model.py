"""The report as pure data: what every renderer prints, gathered once from the SLA engine and the store.

Why a separate model: the HTML, the PDF and the spreadsheet must show the same figures, and an
auditor must be able to trace each one back to `opsmon sla`. So every measured figure here comes
from `opsmon.collector.sla.engine.measure()` (the target table as configured, plus derived tables: one
target per site, the same targets per month, one over all assets for the cover's coverage), never
from arithmetic of our own. The store is read only for what the engine does not return: asset
names, incident rows and their trails, and maintenance windows.

For a finished period the model depends on `now` only through `generated_at`, so regenerating a
past period gives the same figures, with one unavoidable exception: an incident still pending at
the period's end (unacknowledged, its deadline not passed) turns into a miss once its deadline
passes unacknowledged. Its figure is then fixed (see opsmon.collector.sla.responses).
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, text

from opsmon.collector import __version__
from opsmon.collector.core.deadlines import response_seconds
from opsmon.collector.core.incidents import HARDWARE
from opsmon.collector.outputs.report.security import security_section
from opsmon.collector.outputs.report.sheet import Sheet, build_sheets
from opsmon.collector.sla.engine import COUNTED_WHERE, AssetInfo, in_scope, judge_target, measure
from opsmon.collector.sla.lives import lived_in
from opsmon.collector.sla.periods import Period, parse_period
from opsmon.collector.sla.responses import IncidentTimes
from opsmon.collector.sla.results import MeasuredPeriod, Status, TargetResult
from opsmon.collector.sla.targets import Target, TargetTable, load_targets
from opsmon.collector.store import Store
from opsmon.collector.store.db import safe_url
from opsmon.collector.store.exclusions import InForce, in_force
from opsmon.collector.store.models import (
    Asset,
    Heartbeat,
    Incident,
    IncidentEvent,
    MaintenanceWindow,
    StateInterval,
)

ALL_ASSETS = "report.all_assets"


@dataclass
class Source:
    """Where the figures come from: enough for an auditor to rerun `opsmon sla` on the same data."""

    database: str
    targets_file: str
    targets_sha256: str
    assets: int
    intervals: int
    incidents: int
    last_heartbeat: str | None
    generator: str = f"opsmon {__version__}"


@dataclass
class SignOff:
    """The sign-off block's names (collector.yaml `reports.signoff`); "" leaves a line to sign on."""

    prepared_by: str = ""  # 编制
    reviewed_by: str = ""  # 审核
    approved_by: str = ""  # 批准


@dataclass
class WorstAsset:
    asset: str
    name: str
    site: str | None
    value: float | None
    down_seconds: float
    incidents: int


@dataclass
class TrendPoint:
    label: str
    value: float | None
    coverage: float | None
    status: Status


@dataclass
class Category:
    """One availability target of the table (servers, links, ...) with its evidence."""

    target: TargetResult  # the engine's result, verbatim
    worst: list[WorstAsset]
    trend: list[TrendPoint]


@dataclass
class SiteRow:
    site: str | None
    target: TargetResult  # the engine's result for the link target restricted to this site


@dataclass
class TrailEntry:
    ts: str
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass
class IncidentRow:
    id: str
    asset: str
    asset_name: str
    kind: str
    severity: str | None
    status: str
    opened_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    response_seconds: float | None
    resolved_at: str | None
    resolved_by: str | None
    cause: str
    note: str
    hardware: bool
    missed: list[str]  # ids of the response targets this incident missed (engine's judgement)
    deadline_breached: bool  # acknowledged after, or not by, its escalation deadline
    trail: list[TrailEntry] = field(default_factory=list)
    self_healed: bool = False  # resolved before any response
    not_counted: str | None = None  # "excluded" or "self_healed" (healed under a target's self_healed_under)
    response_evidence: str | None = None  # a response recorded after it healed: the evidence given

    @property
    def breached(self) -> bool:
        return bool(self.missed) or self.deadline_breached


@dataclass
class WindowRow:
    id: str
    source: str  # config | api
    assets: list[str]
    sites: list[str]
    tags: list[str]
    start: str | None
    end: str | None
    cron: str | None
    duration_seconds: float | None
    reason: str


@dataclass
class ExclusionRow:
    """An approved exclusion bearing on the period (issue 18 item 2): what it took out, who asked, who approved."""

    id: int
    incident: str | None
    asset: str | None
    start: str | None  # local ISO; an outage's span
    end: str | None
    taken_out_seconds: float | None  # an outage's span inside the period; None for an incident
    reason: str
    requested_by: str
    requested_at: str
    approved_by: str
    approved_at: str


@dataclass
class ReportData:
    """Everything a renderer prints. Plain data (JSON-able with to_json), no database handle."""

    organisation: str
    lang: str
    period: MeasuredPeriod  # the engine's (label, kind, timezone, start, end, complete, as_of)
    generated_at: str
    source: Source
    coverage: TargetResult  # the engine's result for a target over all assets
    has_data: bool
    targets: list[TargetResult]  # the engine's results, verbatim, in table order
    coverage_floors: dict[str, float]
    categories: list[Category]
    link_target: str | None
    sites: list[SiteRow]
    incidents: list[IncidentRow]
    windows: list[WindowRow]
    trend_kind: str  # month | day
    security: dict[str, Any] = field(default_factory=dict)  # compliance per control point and host, findings
    sheets: list[Sheet] = field(default_factory=list)  # the 绩效目标表 per project (the first section)
    signoff: SignOff = field(default_factory=SignOff)
    exclusions: list[ExclusionRow] = field(default_factory=list)  # approved exclusions bearing on the period

    def to_json(self) -> dict[str, Any]:
        """The model as JSON: the engine's results as their documents (what `opsmon sla --format json` prints)."""
        doc = asdict(self)
        doc["period"], doc["coverage"] = self.period.as_document(), self.coverage.as_document()
        doc["targets"] = [t.as_document() for t in self.targets]
        for rows, items in ((doc["categories"], self.categories), (doc["sites"], self.sites)):
            for row, item in zip(rows, items, strict=True):
                row["target"] = item.target.as_document()
        for row, inc in zip(doc["incidents"], self.incidents, strict=True):
            row["breached"] = inc.breached
        return doc

    def target(self, target_id: str) -> TargetResult:
        for t in self.targets:
            if t.id == target_id:
                return t
        raise KeyError(target_id)


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def sub_periods(period: Period) -> tuple[str, list[Period]]:
    """The trend's steps: months of a quarter or a year, days of a month (or of a short range)."""
    tz = ZoneInfo(period.timezone)
    local_start = period.start.astimezone(tz)
    out: list[Period] = []
    if period.kind in ("year", "quarter") or period.seconds > 62 * 86400:
        y, m = local_start.year, local_start.month
        while True:
            p = parse_period(f"{y}-{m:02d}", period.timezone)
            if p.start >= period.end:
                break
            out.append(p)
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return "month", out
    day = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day.astimezone(UTC) < period.end:
        nxt = (day + timedelta(days=1)).replace(tzinfo=None).replace(tzinfo=tz)  # wall-clock midnight
        start, end = max(day.astimezone(UTC), period.start), min(nxt.astimezone(UTC), period.end)
        out.append(Period(day.strftime("%Y-%m-%d"), start, end, period.timezone, "range"))
        day = nxt
    return "day", out


def _site_targets(link: Target, sites: list[str | None], no_site_assets: list[str]) -> list[Target]:
    """The link target once per site: the engine then measures each site exactly as it measures the whole."""
    out = []
    for i, site in enumerate(sites):
        scope = link.scope.model_copy(update={"sites": (site,)} if site is not None else
                                      {"assets": tuple(no_site_assets)})
        out.append(link.model_copy(update={"id": f"report.site_{i}", "scope": scope, "worst": 0}))
    return out


def build_report(store: Store, config: Any, period: Period, lang: str, now: datetime | None = None,
                 table: TargetTable | None = None) -> ReportData:
    """Gather the report for `period` in `lang` ('zh' or 'en').

    `config` is the CollectorConfig (organisation, timezone, target table, maintenance windows);
    `table` overrides the target table it names. `now` defaults to the current time and appears
    only as the generation time (and, as in `opsmon sla`, bounds a period not yet over).
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be zh or en, not {lang!r}")
    now = now or datetime.now(UTC)
    tz = ZoneInfo(period.timezone)
    targets_path = Path(config.targets_path())
    if table is None:
        table = load_targets(targets_path)

    with store.session() as session, store.reader() as reader:
        assets = {r.id: r for r in session.execute(
            select(Asset.id, Asset.name, Asset.category, Asset.site, Asset.tags, Asset.removed_at)).all()}
        # The assets the period counts, by the SLA engine's rule (an asset's life: opsmon.collector.sla.lives).
        _, lived = lived_in(reader, period.start, min(now, period.end))
        n_intervals = session.scalar(select(func.count()).select_from(StateInterval).where(
            StateInterval.start_ts < period.end,
            or_(StateInterval.end_ts.is_(None), StateInterval.end_ts > period.start))) or 0
        inc_rows = list(session.scalars(select(Incident).where(
            Incident.opened_ts >= period.start, Incident.opened_ts < period.end, text(COUNTED_WHERE))
            .order_by(Incident.opened_ts, Incident.id)))
        beat = session.get(Heartbeat, 1)
        api_windows = list(session.scalars(select(MaintenanceWindow).where(
            MaintenanceWindow.created_at < period.end,
            or_(MaintenanceWindow.removed_at.is_(None), MaintenanceWindow.removed_at > period.start))
            .order_by(MaintenanceWindow.id)))
        counted_ids = {r.id for r in inc_rows}
        exclusions = [x for x in in_force(reader, period.start, min(now, period.end))
                      if x.incident_id is None or x.incident_id in counted_ids]
    infos = {a.id: AssetInfo(a.id, a.category, a.site, tuple(a.tags or ()), a.removed_at) for a in assets.values()}
    in_period = [a for a in assets.values() if a.id in lived]

    # Derived tables, measured by the same engine: a target over all assets, and the link target per site.
    avail = [t for t in table.targets if t.measure == "availability"]
    link = next((t for t in avail if "link" in t.scope.categories), None)
    everything = Target.model_validate({"id": ALL_ASSETS, "name_zh": "全部资产", "name_en": "All assets",
                                        "measure": "availability", "comparator": ">=", "threshold": 0.0,
                                        "worst": 0})
    site_list: list[str | None] = []
    no_site: list[str] = []
    if link is not None:
        link_assets = [infos[a.id] for a in in_period if in_scope(link, infos[a.id])]
        named = sorted({a.site for a in link_assets if a.site is not None})
        no_site = sorted(a.id for a in link_assets if a.site is None)
        site_list = [*named, *([None] if no_site else [])]
    # One measure() for the table and the derived targets: one pass over the intervals instead of two
    # (targets are evaluated independently, so each result is what measuring it alone would give).
    derived = (everything, *(_site_targets(link, site_list, no_site) if link else ()))
    combined = TargetTable(coverage_floor=table.coverage_floor, targets=(*table.targets, *derived))
    sla = measure(store, combined, period, now)
    results = list(sla.targets[:len(table.targets)])
    derived_results = {r.id: r for r in sla.targets[len(table.targets):]}
    sites = [SiteRow(site, derived_results[f"report.site_{i}"]) for i, site in enumerate(site_list)]

    # Trend: the availability targets over each month (or day) of the period.
    trend_kind, steps = sub_periods(period)
    trend: dict[str, list[TrendPoint]] = {t.id: [] for t in avail}
    if avail:
        trend_table = TargetTable(coverage_floor=table.coverage_floor,
                                  targets=tuple(t.model_copy(update={"worst": 0}) for t in avail))
        for step in steps:
            label = step.label if trend_kind == "month" else step.label[5:]
            for r in measure(store, trend_table, step, now).targets:
                trend[r.id].append(TrendPoint(label, r.value, r.coverage, r.status))

    incidents_per_asset: dict[str, int] = {}
    for r in inc_rows:
        incidents_per_asset[r.asset_id] = incidents_per_asset.get(r.asset_id, 0) + 1
    categories = []
    for t in avail:
        result = next(r for r in results if r.id == t.id)
        worst = [WorstAsset(w.asset, assets[w.asset].name if w.asset in assets else w.asset,
                            assets[w.asset].site if w.asset in assets else None, w.value,
                            w.down_seconds, incidents_per_asset.get(w.asset, 0)) for w in result.worst_assets]
        categories.append(Category(result, worst, trend[t.id]))

    excluded = frozenset(x.incident_id for x in exclusions if x.incident_id is not None)
    incidents = _incidents(store, inc_rows, table, infos, assets, now, period.end, tz, excluded)
    windows = _windows(config, api_windows, period, tz)
    source = Source(
        database=safe_url(str(store.engine.url)),
        targets_file=str(targets_path),
        targets_sha256=hashlib.sha256(targets_path.read_bytes()).hexdigest() if targets_path.is_file() else "",
        assets=len(in_period), intervals=int(n_intervals), incidents=len(inc_rows),
        last_heartbeat=_iso(beat.ts, tz) if beat is not None else None)
    return ReportData(
        organisation=config.organisation, lang=lang, period=sla.period,
        generated_at=now.astimezone(tz).isoformat(timespec="seconds"), source=source,
        coverage=derived_results[ALL_ASSETS], has_data=bool(n_intervals or inc_rows),
        targets=results, coverage_floors={t.id: table.floor(t) for t in table.targets},
        categories=categories, link_target=link.id if link else None, sites=sites,
        incidents=incidents, windows=windows, trend_kind=trend_kind,
        security=security_section(store, period, excluded), sheets=build_sheets(table, results, lang),
        signoff=SignOff(**config.reports.signoff.model_dump()),
        exclusions=[_exclusion(x, period, min(now, period.end), tz) for x in exclusions])


def _exclusion(x: InForce, period: Period, as_of: datetime, tz: ZoneInfo) -> ExclusionRow:
    taken = None
    if x.start_ts is not None and x.end_ts is not None:
        taken = max(0.0, (min(x.end_ts, as_of) - max(x.start_ts, period.start)).total_seconds())
    return ExclusionRow(x.id, x.incident_id, x.asset_id, _iso(x.start_ts, tz), _iso(x.end_ts, tz), taken, x.reason,
                        x.requested_by, _iso(x.requested_at, tz) or "", x.approved_by or "",
                        _iso(x.approved_at, tz) or "")


def _incidents(store: Store, rows: list[Incident], table: TargetTable, infos: dict[str, AssetInfo],
               assets: dict[str, Any], now: datetime, period_end: datetime, tz: ZoneInfo,
               excluded: frozenset[str] = frozenset()) -> list[IncidentRow]:
    """Each incident with the engine's judgement against every response target whose scope holds it."""
    from opsmon.collector.incidents.read import breached

    response_targets = [t for t in table.targets if t.measure in ("response_time", "response_rate")]
    missed: dict[str, list[str]] = {}
    uncounted: dict[str, str] = {}
    times = [IncidentTimes(r.id, r.asset_id, r.kind, r.opened_ts, r.acknowledged_ts, r.resolved_ts,
                           r.response_recorded_ts is not None) for r in rows]
    for t in response_targets:
        for j in judge_target(t, times, infos, now, min(now, period_end), excluded):
            if j.within is False:
                missed.setdefault(j.incident.id, []).append(t.id)
            if j.uncounted is not None:
                uncounted[j.incident.id] = j.uncounted
    healed = {i.id for i in times if i.self_healed}
    out = []
    for r in rows:
        out.append(IncidentRow(
            id=r.id, asset=r.asset_id, asset_name=assets[r.asset_id].name if r.asset_id in assets else r.asset_id,
            kind=r.kind, severity=r.severity, status=r.status, opened_at=_iso(r.opened_ts, tz) or "",
            acknowledged_at=_iso(r.acknowledged_ts, tz), acknowledged_by=r.acknowledged_by,
            response_seconds=response_seconds(r.opened_ts, r.acknowledged_ts) if r.acknowledged_ts else None,
            resolved_at=_iso(r.resolved_ts, tz), resolved_by=r.resolved_by, cause=r.cause or "", note=r.note or "",
            hardware=r.kind == HARDWARE, missed=missed.get(r.id, []), deadline_breached=breached(r, now),
            self_healed=r.id in healed, not_counted=uncounted.get(r.id), response_evidence=r.response_evidence))
    # The trail only for breaches: that is where an auditor asks "who was told, and when".
    wanted = {i.id: i for i in out if i.breached}
    ids = list(wanted)
    with store.session() as session:
        for k in range(0, len(ids), 500):
            query = (select(IncidentEvent).where(IncidentEvent.incident_id.in_(ids[k:k + 500]))
                     .order_by(IncidentEvent.incident_id, IncidentEvent.id))
            breach_told: set[str] = set()
            for e in session.scalars(query):
                if e.action == "breached":
                    # Collectors before issue 18 recorded a breach again at every restart: the first is the one.
                    if e.incident_id in breach_told:
                        continue
                    breach_told.add(e.incident_id)
                wanted[e.incident_id].trail.append(
                    TrailEntry(_iso(e.ts, tz) or "", e.actor, e.action, dict(e.detail or {})))
    return out


def _windows(config: Any, api_rows: list[MaintenanceWindow], period: Period, tz: ZoneInfo) -> list[WindowRow]:
    """The windows in force during the period: those of the config file and those declared through the API."""
    from opsmon.collector.core.maintenance import WindowSpec

    out = []
    specs = [(s, "config") for s in getattr(config, "maintenance", ())]
    for row in api_rows:
        try:
            specs.append((WindowSpec.model_validate(row.spec), "api"))
        except ValueError:
            continue  # validated when stored; an unreadable row is not a window
    for spec, origin in specs:
        if spec.start is not None and spec.end is not None and (spec.end <= period.start or spec.start >= period.end):
            continue  # a one-off window outside the period excluded nothing from it
        out.append(WindowRow(spec.id, origin, list(spec.assets), list(spec.sites), list(spec.tags),
                             _iso(spec.start, tz), _iso(spec.end, tz), spec.cron, spec.duration, spec.reason))
    return out
