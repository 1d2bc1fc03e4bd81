"""Read what the HJ 212 rates count from the store: the DAUs' assessed series, hourly values, exemptions.

One query per table over the period; the counting itself is opsmon.collector.sla.hj212_rates (pure).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from opsmon.collector.sla.hj212_rates import Counts, Exemption, HourValue, RateRules, Series, count
from opsmon.collector.sla.targets import Hj212Rules
from opsmon.collector.store.dbapi import Readable, Row, in_list, row_values
from opsmon.collector.store.hj212_exemptions import dau_points
from opsmon.collector.store.millis import to_ms

HOURLY = "2061"  # CN of hourly data: what the assessment counts
# Plain SQL on store/dbapi.py's Reader (the running collector and `opsmon sla` run the same text): the DAUs
# (_DAUS, below), and the hourly values and the exemptions of a list of them over [:s, :e).
_HOURLY = """
SELECT hj212_data.asset_id, hj212_data.point, hj212_data.factor, hj212_data.data_time, hj212_data.flag,
       hj212_data.received, hj212_data.avg
FROM hj212_data WHERE hj212_data.asset_id IN {ids} AND hj212_data.cn = :cn AND hj212_data.data_time >= :s
  AND hj212_data.data_time < :e
"""
_EXEMPTIONS = """
SELECT hj212_exemptions.asset_id, hj212_exemptions.point, hj212_exemptions.factor, hj212_exemptions.start_ts,
       hj212_exemptions.end_ts, hj212_exemptions.entered_at
FROM hj212_exemptions WHERE hj212_exemptions.asset_id IN {ids} AND hj212_exemptions.removed_at IS NULL
  AND hj212_exemptions.start_ts < :e AND hj212_exemptions.end_ts > :s
"""


@dataclass(frozen=True, slots=True)
class Dau:
    """A DAU as the rates and the reports read it: what dau_points() and dau_mn() read, and its life."""

    id: str
    name: str
    category: str
    site: str | None
    tags: list[str]
    checks: list[dict[str, Any]]
    created_at: datetime
    removed_at: datetime | None

    @classmethod
    def read(cls, row: Row) -> Dau:
        """A row of _DAUS: the JSON columns as values, stored milliseconds as UTC datetimes."""
        return cls(**row_values(_DAU_FIELDS, row, json=("tags", "checks"), times=("created_at", "removed_at")))


_DAU_FIELDS = tuple(f.name for f in fields(Dau))
# The DAUs in the assets' own order (no ORDER BY).
_DAUS = f"SELECT {', '.join(_DAU_FIELDS)} FROM assets WHERE category = 'dau'"


def rules_of(settings: Hj212Rules | None, timezone: str) -> RateRules:
    s = settings or Hj212Rules()
    return RateRules(timezone=timezone, effective_flags=frozenset(s.effective_flags), unflagged=s.unflagged,
                     denominator=s.denominator, correction_day=s.correction_day, aggregation=s.aggregation)


def dau_series(asset: Dau) -> list[Series]:
    """The assessed (point, factor) pairs of a DAU, from its hj212 check as stored with the inventory."""
    enterprise, points = dau_points(asset)
    return [Series(asset.id, asset.site, enterprise, pid, factor)
            for pid in sorted(points) for factor in sorted(points[pid])]


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the rates count, as read: `read_counts` counts them; the semi-monthly report
    judges the same hours (hj212_rates.judge) for its exceedances, flags and late values."""

    assets: list[Dau]
    series: list[Series]
    values: list[HourValue]
    exemptions: list[Exemption]
    life: dict[str, tuple[int, int | None]]


def read_inputs(store: Readable, start: datetime, as_of: datetime,
                wanted: Callable[[Dau], bool] = lambda a: True) -> Inputs:
    """The assessed series of the DAUs `wanted` keeps, their hourly values and exemptions in [start, as_of)."""
    span = {"s": to_ms(start), "e": to_ms(as_of)}
    with store.reader() as r:
        assets = [a for a in map(Dau.read, r.rows(_DAUS)) if wanted(a)]
        series = [s for a in assets for s in dau_series(a)]
        ids = sorted({s.asset_id for s in series})
        values: list[HourValue] = []
        exemptions: list[Exemption] = []
        for i in range(0, len(ids), 500):
            chunk, params = in_list("a", ids[i:i + 500])
            values.extend(HourValue(aid, point, factor, int(at), flag, int(got), avg) for aid, point, factor, at, flag,
                          got, avg in r.rows(_HOURLY.format(ids=chunk), {**params, **span, "cn": HOURLY}))
            exemptions.extend(Exemption(aid, point, factor, int(s), int(e), int(entered)) for aid, point, factor, s, e,
                              entered in r.rows(_EXEMPTIONS.format(ids=chunk), {**params, **span}))
        # A DAU added after the period began counts from its first value if that is earlier (its history
        # was pulled or imported), as an asset's life does for availability.
        first: dict[str, int] = {}
        for v in values:
            first[v.asset_id] = min(first.get(v.asset_id, v.hour_ms), v.hour_ms)
    life = {a.id: (min(to_ms(a.created_at), first.get(a.id, to_ms(a.created_at))),
                   to_ms(a.removed_at) if a.removed_at is not None else None) for a in assets}
    return Inputs(assets, series, values, exemptions, life)


def read_counts(store: Readable, start: datetime, as_of: datetime, now: datetime, rules: RateRules,
                wanted: Callable[[Dau], bool] = lambda a: True) -> dict[Series, Counts]:
    """Counts per series for the DAUs `wanted` keeps, over the complete hours of [start, as_of)."""
    i = read_inputs(store, start, as_of, wanted)
    return count(i.series, i.values, i.exemptions, to_ms(start), to_ms(as_of), to_ms(now), rules, i.life)
