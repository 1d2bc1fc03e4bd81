"""The HJ 212 hour counts and rates of the running half-month and quarter, for /metrics (opsmon_hj212_*).

Computed in the SLA worker process beside the quarter's target figures (worker.py), never on a request:
one read of the quarter (hj212_read.read_inputs, the DAUs the hj212_rate target's scope keeps), counted
twice by hj212_rates.count: over the quarter and over the half-month (1st-15th, 16th-end, local time) that
contains `now`. The figures are those of `opsmon hj212 rates` and the API for the same period and instant.

Per assessed series (point x factor of a DAU) the metrics carry 应传/实传/有效 for both periods and the three
rates for the half-month (what the assessment and the semi-monthly report judge); a prefecture's, an
enterprise's or the region's pooled rate is a sum of the counts in PromQL (docs/metrics.md, "HJ 212").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opsmon.collector.sla.hj212_rates import Counts, count
from opsmon.collector.sla.hj212_read import read_inputs, rules_of
from opsmon.collector.sla.periods import containing
from opsmon.collector.store import Store
from opsmon.collector.store.hj212_exemptions import dau_mn
from opsmon.collector.store.types import to_ms

PERIODS = ("half_month", "quarter")  # the `period` label's values
_KIND = {"half_month": "half", "quarter": "quarter"}


@dataclass(frozen=True, slots=True)
class Hj212Row:
    """One assessed series' counts over one period."""

    period: str  # half_month or quarter
    asset: str
    mn: str
    site: str
    enterprise: str
    point: str
    factor: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class Hj212Figures:
    """Every assessed series over both periods, the periods' starts, and the rules' denominator."""

    rows: tuple[Hj212Row, ...]
    starts: dict[str, float]  # period -> its start, Unix seconds
    denominator: str


def hj212_figures(store: Store, targets_path: Path | str, timezone: str, now: datetime) -> Hj212Figures:
    """The counts of every DAU's assessed series the hj212_rate target's scope keeps (every DAU without one)."""
    from opsmon.collector.sla.engine import AssetInfo, in_scope
    from opsmon.collector.sla.targets import load_targets

    target = next((t for t in load_targets(Path(targets_path)).targets if t.measure == "hj212_rate"), None)
    rules = rules_of(target.hj212 if target is not None else None, timezone)
    periods = {name: containing(_KIND[name], now, timezone) for name in PERIODS}
    quarter = periods["quarter"]
    inputs = read_inputs(store, quarter.start, min(now, quarter.end), lambda a: target is None or in_scope(
        target, AssetInfo(a.id, a.category, a.site, tuple(a.tags or ()), a.removed_at)))
    mns = {a.id: dau_mn(a) for a in inputs.assets}
    rows = []
    for name, period in periods.items():
        counts = count(inputs.series, inputs.values, inputs.exemptions, to_ms(period.start),
                       to_ms(min(now, period.end)), to_ms(now), rules, inputs.life)
        rows += [Hj212Row(name, s.asset_id, mns.get(s.asset_id, ""), s.site or "", s.enterprise, s.point, s.factor, c)
                 for s, c in counts.items()]
    return Hj212Figures(tuple(rows), {n: p.start.timestamp() for n, p in periods.items()}, rules.denominator)
