"""The HJ 212 hour counts and rates of the running half-month, for /metrics (opsmon_hj212_*).

Computed in the SLA worker process beside the quarter's target figures (worker.py), never on a request: one read
of the half-month (1st-15th, 16th-end, local time) that contains `now` (hj212_read.read_inputs, the DAUs the
hj212_rate target's scope keeps), counted by hj212_rates.count: the figures of `opsmon hj212 rates` for the same
period and instant. The quarter's figure is the target's own (opsmon_sla_value, measured by the engine): counting
the quarter per series here too would read the worker's largest table a second time over three months.

Per assessed series (point x factor of a DAU) the metrics carry 应传/实传/有效 and the three rates; a prefecture's,
an enterprise's or the region's pooled rate is a sum of the counts in PromQL (docs/hj212.md, "/metrics").
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


@dataclass(frozen=True, slots=True)
class Hj212Row:
    """One assessed series' counts over the half-month."""

    asset: str
    mn: str
    site: str
    enterprise: str
    point: str
    factor: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class Hj212Figures:
    """Every assessed series of the running half-month, its start, and the rules' denominator."""

    rows: tuple[Hj212Row, ...]
    start: float  # Unix seconds
    denominator: str


def hj212_figures(store: Store, targets_path: Path | str, timezone: str, now: datetime) -> Hj212Figures:
    """The counts of every DAU's assessed series the hj212_rate target's scope keeps (every DAU without one)."""
    from opsmon.collector.sla.engine import AssetInfo, in_scope
    from opsmon.collector.sla.targets import load_targets

    target = next((t for t in load_targets(Path(targets_path)).targets if t.measure == "hj212_rate"), None)
    rules = rules_of(target.hj212 if target is not None else None, timezone)
    half = containing("half", now, timezone)
    as_of = min(now, half.end)
    inputs = read_inputs(store, half.start, as_of, lambda a: target is None or in_scope(
        target, AssetInfo(a.id, a.category, a.site, tuple(a.tags or ()), a.removed_at)))
    mns = {a.id: dau_mn(a) for a in inputs.assets}
    counts = count(inputs.series, inputs.values, inputs.exemptions, to_ms(half.start), to_ms(as_of), to_ms(now),
                   rules, inputs.life)
    rows = tuple(Hj212Row(s.asset_id, mns.get(s.asset_id, ""), s.site or "", s.enterprise, s.point, s.factor, c)
                 for s, c in counts.items())
    return Hj212Figures(rows, half.start.timestamp(), rules.denominator)
