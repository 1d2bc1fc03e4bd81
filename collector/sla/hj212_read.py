"""Read what the HJ 212 rates count from the store: the DAUs' assessed series, hourly values, exemptions.

One query per table over the period; the counting itself is opsmon.collector.sla.hj212_rates (pure).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from opsmon.collector.sla.hj212_rates import Counts, Exemption, HourValue, RateRules, Series, count
from opsmon.collector.sla.targets import Hj212Rules
from opsmon.collector.store import Store
from opsmon.collector.store.hj212_exemptions import dau_points
from opsmon.collector.store.models import Asset, Hj212Datum, Hj212Exemption
from opsmon.collector.store.types import to_ms

HOURLY = "2061"  # CN of hourly data: what the assessment counts


def rules_of(settings: Hj212Rules | None, timezone: str) -> RateRules:
    s = settings or Hj212Rules()
    return RateRules(timezone=timezone, effective_flags=frozenset(s.effective_flags), unflagged=s.unflagged,
                     denominator=s.denominator, correction_day=s.correction_day, aggregation=s.aggregation)


def dau_series(asset: Asset) -> list[Series]:
    """The assessed (point, factor) pairs of a DAU, from its hj212 check as stored with the inventory."""
    enterprise, points = dau_points(asset)
    return [Series(asset.id, asset.site, enterprise, pid, factor)
            for pid in sorted(points) for factor in sorted(points[pid])]


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the rates count, as read: `read_counts` counts them; the semi-monthly report
    judges the same hours (hj212_rates.judge) for its exceedances, flags and late values."""

    assets: list[Asset]
    series: list[Series]
    values: list[HourValue]
    exemptions: list[Exemption]
    life: dict[str, tuple[int, int | None]]


def read_inputs(store: Store, start: datetime, as_of: datetime,
                wanted: Callable[[Asset], bool] = lambda a: True) -> Inputs:
    """The assessed series of the DAUs `wanted` keeps, their hourly values and exemptions in [start, as_of)."""
    with store.session() as session:
        assets = [a for a in session.scalars(select(Asset).where(Asset.category == "dau")) if wanted(a)]
        series = [s for a in assets for s in dau_series(a)]
        ids = sorted({s.asset_id for s in series})
        values: list[HourValue] = []
        exemptions: list[Exemption] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            values.extend(HourValue(r.asset_id, r.point, r.factor, to_ms(r.data_time), r.flag, to_ms(r.received),
                                    r.avg)
                          for r in session.execute(
                              select(Hj212Datum.asset_id, Hj212Datum.point, Hj212Datum.factor, Hj212Datum.data_time,
                                     Hj212Datum.flag, Hj212Datum.received, Hj212Datum.avg)
                              .where(Hj212Datum.asset_id.in_(chunk), Hj212Datum.cn == HOURLY,
                                     Hj212Datum.data_time >= start, Hj212Datum.data_time < as_of)))
            exemptions.extend(Exemption(e.asset_id, e.point, e.factor, to_ms(e.start_ts), to_ms(e.end_ts),
                                        to_ms(e.entered_at))
                              for e in session.scalars(select(Hj212Exemption).where(
                                  Hj212Exemption.asset_id.in_(chunk), Hj212Exemption.removed_at.is_(None),
                                  Hj212Exemption.start_ts < as_of, Hj212Exemption.end_ts > start)))
        # A DAU added after the period began counts from its first value if that is earlier (its history
        # was pulled or imported), as an asset's life does for availability.
        first: dict[str, int] = {}
        for v in values:
            first[v.asset_id] = min(first.get(v.asset_id, v.hour_ms), v.hour_ms)
        life = {a.id: (min(to_ms(a.created_at), first.get(a.id, to_ms(a.created_at))),
                       to_ms(a.removed_at) if a.removed_at is not None else None) for a in assets}
        for a in assets:
            session.expunge(a)
    return Inputs(assets, series, values, exemptions, life)


def read_counts(store: Store, start: datetime, as_of: datetime, now: datetime, rules: RateRules,
                wanted: Callable[[Asset], bool] = lambda a: True) -> dict[Series, Counts]:
    """Counts per series for the DAUs `wanted` keeps, over the complete hours of [start, as_of)."""
    i = read_inputs(store, start, as_of, wanted)
    return count(i.series, i.values, i.exemptions, to_ms(start), to_ms(as_of), to_ms(now), rules, i.life)
