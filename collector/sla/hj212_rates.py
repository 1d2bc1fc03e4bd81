"""The HJ 212 effective transmission rate (数据传输有效率) as the national assessment counts it: pure arithmetic.

The unit of counting is one hourly value (CN 2061) per monitoring point x assessed factor x hour
(docs/hj212.md, "Rates", gives the rules
with their sources):

- should-transmit (应传): the period's complete hours, less the hours an approved exemption
  (停产, 停排, 设备停运, reported maintenance) covers;
- transmitted (实传): those hours whose hourly value arrived by the correction deadline (default the end
  of the 10th of the next month, local time); a resend or a history pull counts once (the store keeps
  one row per key), and an exempt hour is out of both counts, so 实传 never exceeds 应传;
- effective (有效): transmitted hours whose flag is effective (N by default; a value without a flag
  counts as the rules say, `unflagged`);
- transmission rate = 实传 / 应传; effective rate = 有效 / 实传 (or / 应传, `denominator`);
  effective transmission rate = their product.

Points, enterprises, prefectures and the region pool their counts (or, `aggregation: mean`, a prefecture
and the region average their enterprises' rates: which of the two the national assessment uses is not published).

Everything here takes integer milliseconds (UTC) and returns counts: the engine reads the store, this
module only counts, so every figure can be checked by hand against a few rows.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Series:
    """One assessed factor at one monitoring point of a DAU: what 应传 counts hours of."""

    asset_id: str
    site: str | None
    enterprise: str
    point: str
    factor: str


@dataclass(frozen=True, slots=True)
class HourValue:
    """An hourly value as stored: the hour it is for (DataTime, the hour's start) and when it arrived."""

    asset_id: str
    point: str
    factor: str
    hour_ms: int
    flag: str | None
    received_ms: int
    value: str | None = None  # the hourly average as sent (-Avg): what the report checks against the limit


@dataclass(frozen=True, slots=True)
class Exemption:
    """Approved hours out of the assessment: a whole DAU, one point, or one factor of a point.

    It counts for an hour only if it was entered by that hour's correction deadline (an exemption
    filed after the cut-off does not change a closed month: the national rule)."""

    asset_id: str
    point: str | None
    factor: str | None
    start_ms: int
    end_ms: int
    entered_ms: int

    def covers(self, s: Series, hour_ms: int) -> bool:
        return (self.asset_id == s.asset_id and self.point in (None, s.point) and self.factor in (None, s.factor)
                and self.start_ms <= hour_ms < self.end_ms)


@dataclass(frozen=True, slots=True)
class RateRules:
    """The assessment's choices (a target's `hj212:` settings in targets.yaml)."""

    timezone: str = "Asia/Shanghai"
    effective_flags: frozenset[str] = frozenset({"N"})
    unflagged: Literal["effective", "not_effective"] = "effective"
    denominator: Literal["transmitted", "should"] = "transmitted"
    correction_day: int = 10
    aggregation: Literal["pooled", "mean"] = "pooled"

    def effective(self, flag: str | None) -> bool:
        if flag is None or flag == "":
            return self.unflagged == "effective"
        return flag in self.effective_flags


@dataclass(slots=True)
class Counts:
    """应传, 实传, 有效 and the rates they give."""

    should: int = 0
    transmitted: int = 0
    effective: int = 0
    exempt: int = 0
    late: int = 0  # values that arrived after their hour's correction deadline (not transmitted)

    def add(self, other: Counts) -> None:
        self.should += other.should
        self.transmitted += other.transmitted
        self.effective += other.effective
        self.exempt += other.exempt
        self.late += other.late

    def transmission_rate(self) -> float | None:
        return self.transmitted / self.should if self.should else None

    def effective_rate(self, denominator: str = "transmitted") -> float | None:
        base = self.transmitted if denominator == "transmitted" else self.should
        return self.effective / base if base else None

    def rate(self, denominator: str = "transmitted") -> float | None:
        """The effective transmission rate (传输有效率); None when no hour was due."""
        t = self.transmission_rate()
        if t is None:
            return None
        e = self.effective_rate(denominator)
        return t * e if e is not None else 0.0


def fmt_rate(value: float | None) -> str:
    """A rate as `opsmon hj212 rates` and the semi-monthly report print it: 81.25%; no hour due: -."""
    return "-" if value is None else f"{value * 100:.2f}%"


def correction_deadline_ms(hour_ms: int, rules: RateRules) -> int:
    """The end of day `correction_day` of the month after the hour's month, local time (exclusive bound)."""
    zone = ZoneInfo(rules.timezone)
    local = datetime.fromtimestamp(hour_ms / 1000, zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    cut = datetime(year, month, 1, tzinfo=zone) + timedelta(days=rules.correction_day)
    return int(cut.timestamp() * 1000)


def hours(start_ms: int, as_of_ms: int) -> range:
    """The hour starts of the period that are complete by as_of (a running hour is not yet due)."""
    n = max(0, (as_of_ms - start_ms) // HOUR_MS)
    return range(start_ms, start_ms + n * HOUR_MS, HOUR_MS)


Outcome = Literal["exempt", "missing", "late", "effective", "invalid"]


def judge(series: Iterable[Series], values: Iterable[HourValue], exemptions: Iterable[Exemption],
          start_ms: int, as_of_ms: int, now_ms: int, rules: RateRules,
          life: Mapping[str, tuple[int, int | None]] | None = None,
          ) -> Iterator[tuple[Series, int, Outcome, HourValue | None]]:
    """Each due hour of each series over the complete hours of [start, as_of), judged at `now`: what `count`
    counts, one hour at a time, so the semi-monthly report's exceedances (effective hours only), flags and
    late values are read off the very hours the rates count.

    A value counts for the hour its DataTime falls in (DataTime is the hour's start; an off-grid one
    is floored). A value received after `now` does not exist yet (a re-measure of the past reproduces
    what was known then). `life`: a DAU's (added, removed) bounds; only the hours that start inside its
    life are due (the hour it was added in counts whole). Outcomes: `exempt` (out of 应传), `missing`
    (due, no value), `late` (arrived after the correction deadline), `effective` and `invalid`
    (transmitted; its flag effective or not)."""
    due = hours(start_ms, as_of_ms)
    by_key: dict[tuple[str, str, str], dict[int, HourValue]] = defaultdict(dict)
    for v in values:
        if v.received_ms > now_ms or not (due.start <= v.hour_ms < due.stop):
            continue
        slot = due.start + (v.hour_ms - due.start) // HOUR_MS * HOUR_MS
        seen = by_key[(v.asset_id, v.point, v.factor)]
        if slot not in seen or v.received_ms < seen[slot].received_ms:
            seen[slot] = v  # one per hour: the first copy (the store keeps one row per key anyway)
    ex_by_asset: dict[str, list[Exemption]] = defaultdict(list)
    for e in exemptions:
        if e.entered_ms <= now_ms:
            ex_by_asset[e.asset_id].append(e)
    deadlines: dict[int, int] = {}
    for s in series:
        got = by_key.get((s.asset_id, s.point, s.factor), {})
        ex = ex_by_asset.get(s.asset_id, ())
        first, last = (life or {}).get(s.asset_id, (due.start, None))
        first = due.start + max(0, (first - due.start) // HOUR_MS) * HOUR_MS
        for h in due:
            if h < first or (last is not None and h >= last):
                continue
            deadline = deadlines.get(h)
            if deadline is None:
                deadline = deadlines[h] = correction_deadline_ms(h, rules)
            if any(e.covers(s, h) and e.entered_ms < deadline for e in ex):
                yield s, h, "exempt", None
                continue
            v = got.get(h)
            if v is None:
                yield s, h, "missing", None
            elif v.received_ms >= deadline:
                yield s, h, "late", v
            else:
                yield s, h, "effective" if rules.effective(v.flag) else "invalid", v


def count(series: Iterable[Series], values: Iterable[HourValue], exemptions: Iterable[Exemption],
          start_ms: int, as_of_ms: int, now_ms: int, rules: RateRules,
          life: Mapping[str, tuple[int, int | None]] | None = None) -> dict[Series, Counts]:
    """Counts per series over the complete hours of [start, as_of), judged at `now` (see `judge`)."""
    series = list(series)
    out: dict[Series, Counts] = {s: Counts() for s in series}
    for s, _, outcome, _ in judge(series, values, exemptions, start_ms, as_of_ms, now_ms, rules, life):
        c = out[s]
        if outcome == "exempt":
            c.exempt += 1
            continue
        c.should += 1
        if outcome == "late":
            c.late += 1
        elif outcome != "missing":
            c.transmitted += 1
            c.effective += outcome == "effective"
    return out


Level = Literal["point", "enterprise", "site", "region"]


@dataclass(frozen=True, slots=True)
class Group:
    """One row of a rate table: a point, an enterprise, a prefecture or the region."""

    level: Level
    key: tuple[str, ...]
    counts: Counts
    rate: float | None
    transmission_rate: float | None
    effective_rate: float | None
    members: int = 0  # the series (point) or points (higher levels) it pools
    children: tuple[tuple[str, ...], ...] = field(default=())


def _key(s: Series, level: Level) -> tuple[str, ...]:
    site = s.site or ""
    if level == "point":
        return (site, s.enterprise, s.asset_id, s.point)
    if level == "enterprise":
        return (site, s.enterprise)
    if level == "site":
        return (site,)
    return ()


def groups(counts: Mapping[Series, Counts], level: Level, rules: RateRules) -> list[Group]:
    """Rate rows at `level`: pooled counts; with `aggregation: mean`, a prefecture's and the region's rate
    is the mean of their enterprises' rates (an enterprise always pools its points and factors)."""
    pooled: dict[tuple[str, ...], Counts] = defaultdict(Counts)
    members: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    firms: dict[tuple[str, ...], dict[tuple[str, ...], Counts]] = defaultdict(lambda: defaultdict(Counts))
    for s, c in counts.items():
        k = _key(s, level)
        pooled[k].add(c)
        members[k].add(_key(s, "point"))
        firms[k][_key(s, "enterprise")].add(c)
    rows = []
    for k, c in sorted(pooled.items()):
        rate = c.rate(rules.denominator)
        if rules.aggregation == "mean" and level in ("site", "region"):
            rated = [r for r in (f.rate(rules.denominator) for f in firms[k].values()) if r is not None]
            rate = sum(rated) / len(rated) if rated else None
        rows.append(Group(level, k, c, rate, c.transmission_rate(), c.effective_rate(rules.denominator),
                          members=len(members[k]), children=tuple(sorted(members[k]))))
    return rows


def region(counts: Mapping[Series, Counts], rules: RateRules) -> Group:
    """The whole region's row (pooled over every series, or the mean of its points)."""
    found = groups(counts, "region", rules)
    return found[0] if found else Group("region", (), Counts(), None, None, None)
