"""The semi-monthly HJ 212 statistical analysis report (污染源自动监控数据统计分析报告) as pure data.

Why its own model beside the SLA report's: its sections (rates per prefecture, enterprise and point,
exceedances, flags, stuck series) are about hours of pollution-source data, not about assets' states.
Its machinery is the SLA report's (the page CSS, the charts, WeasyPrint, openpyxl, write_report, the
scheduled delivery), and every rate is the rate engine's: the store is read once
(hj212_read.read_inputs), counted by hj212_rates.count and grouped by hj212_rates.groups, exactly as
`opsmon hj212 rates` and `opsmon sla` do. The exceedances, flags and late values are read off the hours
hj212_rates.judge judged, so an exceedance is only ever counted in an hour the rates count as effective.
"""
from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from opsmon.collector import __version__
from opsmon.collector.sla.hj212_rates import HOUR_MS, Counts, Group, RateRules, Series, count, groups, judge
from opsmon.collector.sla.hj212_read import HOURLY, read_inputs, rules_of
from opsmon.collector.sla.periods import Period
from opsmon.collector.sla.results import MeasuredPeriod
from opsmon.collector.sla.targets import load_targets
from opsmon.collector.store import Store
from opsmon.collector.store.db import safe_url
from opsmon.collector.store.hj212_exemptions import ExemptionRow, list_exemptions
from opsmon.collector.store.models import Hj212Datum
from opsmon.collector.store.types import from_ms, to_ms

FLAGS = ("D", "M", "C", "T", "B", "F", "S", "P")  # the report's flag columns (docs/hj212.md, "Fields")
STUCK_RUN = 6  # identical consecutive hourly averages that make a series stuck (constant)
SILENT_HOURS = 24  # a point silent longer than this is listed under "DAUs online"
LOW, VERY_LOW = 0.9, 0.6  # the listing thresholds: < 90 % (the target), < 60 %, and = 0


@dataclass
class PointOnline:
    """A monitoring point's transmission in the period: did it send, and its longest silence."""

    asset: str
    enterprise: str
    site: str | None
    point: str
    sent_hours: int  # hours with at least one hourly value of an assessed factor
    last_value: str | None  # the last hour (local ISO) it sent a value for
    longest_silence: int  # the longest run of due hours without any hourly value
    silence_from: str | None  # where that run began (local ISO)


@dataclass
class Exceedance:
    """Effective hours of one point x factor above the factor's limit (inventory `limit`)."""

    asset: str
    enterprise: str
    site: str | None
    point: str
    factor: str
    limit: float
    unit: str | None
    hours: list[str]  # local ISO hour starts
    max_value: float
    max_multiple: float  # max value / limit

    @property
    def count(self) -> int:
        return len(self.hours)


@dataclass
class FlagRow:
    """Transmitted hours of one point by flag (each factor's hour counts once)."""

    asset: str
    enterprise: str
    point: str
    flags: dict[str, int]
    other: int  # flags outside FLAGS and N (kept as sent, counted here)


@dataclass
class StuckRun:
    asset: str
    point: str
    factor: str
    value: str
    start: str  # local ISO of the first hour
    hours: int


@dataclass
class LateValue:
    asset: str
    point: str
    factor: str
    hour: str  # local ISO
    received: str  # local ISO


@dataclass
class Hj212Source:
    """Where the figures come from: enough to rerun `opsmon hj212 rates` and `opsmon sla` on the same data."""

    database: str
    targets_file: str
    targets_sha256: str
    hourly_rows: int  # CN 2061 rows stored for the period's hours (any factor, any point)
    rules: dict[str, Any]
    generator: str = f"opsmon {__version__}"


@dataclass
class Hj212ReportData:
    organisation: str
    lang: str
    period: MeasuredPeriod
    generated_at: str
    target: str | None  # the hj212_rate target's id in the table (None: the rules' defaults)
    threshold: float
    source: Hj212Source
    daus: int
    points: int
    enterprises: int
    series: int
    region: Group
    sites: list[Group]
    enterprise_rows: list[Group]
    point_rows: list[Group]
    series_rows: list[tuple[Series, Counts]]  # the appendix: raw counts per point x factor
    online: list[PointOnline]
    exceedances: list[Exceedance]
    flags: list[FlagRow]
    stuck: list[StuckRun]
    exemptions: list[ExemptionRow]
    late: list[LateValue]
    kind: str = "hj212"  # the file names and the delivery tell the two reports apart by it
    signoff: Any = field(default=None)

    @property
    def online_points(self) -> int:
        return sum(1 for p in self.online if p.sent_hours)

    @property
    def silent(self) -> list[PointOnline]:
        return [p for p in self.online if p.longest_silence > SILENT_HOURS]

    def below(self, rows: list[Group], limit: float) -> list[Group]:
        """Rows with a rate under `limit` (0: the rows at exactly 0)."""
        if limit == 0:
            return [g for g in rows if g.rate == 0.0]
        return [g for g in rows if g.rate is not None and g.rate < limit]

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        doc = asdict(self)
        doc["period"] = self.period.as_document()
        doc["series_rows"] = [{"series": asdict(s), "counts": asdict(c)} for s, c in self.series_rows]
        return doc


def _local(ms: int, tz: ZoneInfo) -> str:
    return from_ms(ms).astimezone(tz).isoformat()


def _number(text: str | None) -> float | None:
    try:
        v = float(text) if text is not None else None
    except ValueError:
        return None
    return v if v is not None and math.isfinite(v) else None


def build_hj212_report(store: Store, config: Any, period: Period, lang: str, now: datetime | None = None) -> \
        Hj212ReportData:
    """Gather the semi-monthly report (or any period's) in `lang` ('zh' or 'en'), judged at `now`."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be zh or en, not {lang!r}")
    now = now or datetime.now(UTC)
    tz = ZoneInfo(period.timezone)
    targets_path = Path(config.targets_path())
    table = load_targets(targets_path)
    target = next((t for t in table.targets if t.measure == "hj212_rate"), None)
    rules: RateRules = rules_of(target.hj212 if target is not None else None, config.timezone)
    as_of = min(now, period.end)
    inputs = read_inputs(store, period.start, as_of)
    start_ms, as_of_ms, now_ms = to_ms(period.start), to_ms(as_of), to_ms(now)
    counts = count(inputs.series, inputs.values, inputs.exemptions, start_ms, as_of_ms, now_ms, rules, inputs.life)

    limits: dict[tuple[str, str, str], tuple[float, str | None]] = {}
    for a in inputs.assets:
        for check in a.checks or ():
            if check.get("type") == "hj212":
                for pid, point in (check.get("points") or {}).items():
                    for f, spec in ((point or {}).get("factors") or {}).items():
                        if spec and spec.get("limit") is not None:
                            limits[(a.id, pid, f)] = (float(spec["limit"]), spec.get("unit"))

    # One pass over the judged hours: exceedances (effective hours only), flags, runs, late values, silence.
    exceed: dict[tuple[str, str, str], list[tuple[int, float]]] = defaultdict(list)
    flags: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    late: list[LateValue] = []
    sent: dict[tuple[str, str], set[int]] = defaultdict(set)
    due: dict[tuple[str, str], set[int]] = defaultdict(set)
    runs: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(list)
    for s, h, outcome, v in judge(inputs.series, inputs.values, inputs.exemptions, start_ms, as_of_ms, now_ms,
                                  rules, inputs.life):
        pk = (s.asset_id, s.point)
        if outcome != "exempt":
            due[pk].add(h)
        if v is None:
            continue
        sent[pk].add(h)
        if outcome == "late":
            late.append(LateValue(s.asset_id, s.point, s.factor, _local(h, tz), _local(v.received_ms, tz)))
            continue
        flags[pk][(v.flag or "").strip() or "N"] += 1
        number = _number(v.value)
        if number is not None:
            runs[(s.asset_id, s.point, s.factor)].append((h, v.value or ""))
        limit = limits.get((s.asset_id, s.point, s.factor))
        if outcome == "effective" and limit is not None and number is not None and number > limit[0]:
            exceed[(s.asset_id, s.point, s.factor)].append((h, number))

    info = {(s.asset_id, s.point): s for s in inputs.series}
    exceedances = []
    for (aid, pid, f), hits in sorted(exceed.items()):
        lim, unit = limits[(aid, pid, f)]
        top = max(v for _, v in hits)
        s = info[(aid, pid)]
        exceedances.append(Exceedance(aid, s.enterprise, s.site, pid, f, lim, unit, [_local(h, tz) for h, _ in hits],
                                      top, top / lim if lim > 0 else math.inf))
    flag_rows = []
    for pk, by in sorted(flags.items()):
        s = info[pk]
        flag_rows.append(FlagRow(pk[0], s.enterprise, pk[1], {f: by.get(f, 0) for f in FLAGS},
                                 sum(n for f, n in by.items() if f not in FLAGS and f != "N")))
    stuck = []
    for (aid, pid, f), values in sorted(runs.items()):
        values.sort()
        i = 0
        while i < len(values):
            j = i
            while (j + 1 < len(values) and values[j + 1][0] == values[j][0] + HOUR_MS
                   and _number(values[j + 1][1]) == _number(values[i][1])):
                j += 1
            if j - i + 1 >= STUCK_RUN:
                stuck.append(StuckRun(aid, pid, f, values[i][1], _local(values[i][0], tz), j - i + 1))
            i = j + 1
    online = []
    for pk in sorted(due.keys() | sent.keys()):
        s = info[pk]
        got = sent.get(pk, set())
        longest, where, run, begin = 0, None, 0, None
        for h in sorted(due.get(pk, set())):
            if h in got:
                run = 0
                continue
            if run == 0 or begin is None:
                begin = h
            run += 1
            if run > longest:
                longest, where = run, begin
        online.append(PointOnline(pk[0], s.enterprise, s.site, pk[1], len(got),
                                  _local(max(got), tz) if got else None, longest,
                                  _local(where, tz) if where is not None else None))

    exemptions = [ExemptionRow.of(e, tz) for e in list_exemptions(store)
                  if e.start_ts < as_of and e.end_ts > period.start
                  and e.entered_at <= now and e.asset_id in {a.id for a in inputs.assets}]  # known at `now`
    with store.session() as session:
        hourly_rows = session.scalar(select(func.count()).select_from(Hj212Datum).where(
            Hj212Datum.cn == HOURLY, Hj212Datum.data_time >= period.start, Hj212Datum.data_time < as_of)) or 0
    source = Hj212Source(
        database=safe_url(str(store.engine.url)), targets_file=str(targets_path),
        targets_sha256=hashlib.sha256(targets_path.read_bytes()).hexdigest() if targets_path.is_file() else "",
        hourly_rows=int(hourly_rows),
        rules={"timezone": rules.timezone, "effective_flags": sorted(rules.effective_flags),
               "unflagged": rules.unflagged, "denominator": rules.denominator,
               "correction_day": rules.correction_day, "aggregation": rules.aggregation})
    region = groups(counts, "region", rules)
    from opsmon.collector.outputs.report.model import SignOff

    so = config.reports.signoff
    return Hj212ReportData(
        organisation=config.organisation, lang=lang,
        period=MeasuredPeriod(period.label, period.kind, period.timezone, period.start, period.end,
                              complete=now >= period.end, as_of=as_of),
        generated_at=now.astimezone(tz).isoformat(), target=target.id if target is not None else None,
        threshold=target.threshold if target is not None else LOW, source=source,
        daus=len({s.asset_id for s in inputs.series}), points=len({(s.asset_id, s.point) for s in inputs.series}),
        enterprises=len({(s.site or "", s.enterprise) for s in inputs.series}), series=len(inputs.series),
        region=region[0] if region else Group("region", (), Counts(), None, None, None),
        sites=groups(counts, "site", rules), enterprise_rows=groups(counts, "enterprise", rules),
        point_rows=groups(counts, "point", rules),
        series_rows=sorted(counts.items(), key=lambda sc: (sc[0].site or "", sc[0].enterprise, sc[0].asset_id,
                                                            sc[0].point, sc[0].factor)),
        online=online, exceedances=exceedances, flags=flag_rows, stuck=stuck, exemptions=exemptions,
        late=sorted(late, key=lambda x: (x.asset, x.point, x.factor, x.hour)),
        signoff=SignOff(so.prepared_by, so.reviewed_by, so.approved_by))
