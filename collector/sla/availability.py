"""Pure arithmetic of availability: seconds per state in, figures out. No I/O here.

Definitions (docs/sla.md has them with examples):
  good      = up (+ degraded when the target says degraded_as: up)
  bad       = down (+ degraded by default) (+ unreachable when unreachable_as: down)
  observed  = good + bad
  expected  = time the asset existed in the period - maintenance - time taken out by exclusions
  coverage  = (observed + unreachable excluded) / expected   (unknown time lowers it), at most 1
  value     = good / observed          (None when nothing was observed)
A fleet sums good and observed over its assets (time-weighted), never averages ratios. Its coverage
sums each asset's covered time capped at that asset's expected time: one asset's excess (overlapping
intervals) must not hide another's missing days.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from opsmon.collector.core.states import DEGRADED, DOWN, MAINTENANCE, UNKNOWN, UNREACHABLE, UP


@dataclass(slots=True)
class AssetTime:
    """Seconds per state of one asset inside a period, and how long it existed there (slots: one is made per
    asset, 50k at a province's scale)."""

    asset_id: str
    exist: float
    by_state: dict[str, float] = field(default_factory=dict)
    taken_out: float = 0.0  # existing time taken out by approved exclusions (store/exclusions.py), not maintenance

    @property
    def no_data(self) -> float:
        """Existing time with no interval at all (before tracking began, or lost)."""
        return max(0.0, self.exist - self.taken_out - sum(self.by_state.values()))


class Figures(NamedTuple):
    """One asset's (or a fleet's) seconds on each side, and what follows from them. A named tuple, not a
    dataclass: one is made per asset and target (50k assets: a frozen dataclass's construction was half of
    asset_figures())."""

    good: float
    bad: float
    maintenance: float
    unknown: float
    excluded: float  # unreachable time charged to the parent
    expected: float
    covered: float  # known time (observed + excluded), capped per asset at its expected time
    taken_out: float = 0.0  # time taken out by exclusions: out of both sides, like maintenance

    @property
    def observed(self) -> float:
        return self.good + self.bad

    @property
    def value(self) -> float | None:
        return self.good / self.observed if self.observed > 0 else None

    @property
    def coverage(self) -> float | None:
        """Known time over expected time; unreachable time is known (charged to the parent), so it counts."""
        return min(1.0, self.covered / self.expected) if self.expected > 0 else None

    def __add__(self, other: Figures) -> Figures:  # type: ignore[override]  # field by field, not concatenation
        return Figures(self.good + other.good, self.bad + other.bad, self.maintenance + other.maintenance,
                       self.unknown + other.unknown, self.excluded + other.excluded, self.expected + other.expected,
                       self.covered + other.covered, self.taken_out + other.taken_out)


ZERO = Figures(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
_figures = tuple.__new__
"""A Figures from its eight fields without the named tuple's own __new__, a Python call of its own."""


def asset_figures(t: AssetTime, degraded_as: str = "down", unreachable_as: str = "excluded") -> Figures:
    # Written out (one dict lookup a state, no property or min/max call): it runs once per asset and set of
    # options, 50k times at a province's scale. The same operations in the same order as the definitions above,
    # so the same floats: max(0.0, x) is `x if x > 0.0 else 0.0`, min(a, b) is `b if b < a else a`.
    s = t.by_state
    get = s.get
    degraded = get(DEGRADED, 0.0)
    good = get(UP, 0.0) + (degraded if degraded_as == "up" else 0.0)
    bad = get(DOWN, 0.0) + (degraded if degraded_as == "down" else 0.0)
    excluded = 0.0
    if unreachable_as == "down":
        bad += get(UNREACHABLE, 0.0)
    else:
        excluded = get(UNREACHABLE, 0.0)
    maintenance = get(MAINTENANCE, 0.0)
    exist, taken_out = t.exist, t.taken_out
    no_data = exist - taken_out - sum(s.values())  # AssetTime.no_data
    unknown = get(UNKNOWN, 0.0) + (no_data if no_data > 0.0 else 0.0)
    expected = exist - maintenance - taken_out
    if not expected > 0.0:
        expected = 0.0
    covered = good + bad + excluded
    return _figures(Figures, (good, bad, maintenance, unknown, excluded, expected,
                              expected if expected < covered else covered, taken_out))


def fleet(figures: Iterable[Figures]) -> Figures:
    """The figures summed field by field, in the order given: the same floating-point sums as adding the
    Figures one by one, without a Figures object per asset (50k assets times every availability target).
    A plain loop, not sum(): from Python 3.12 sum() of floats compensates rounding, which would move figures."""
    good = bad = maintenance = unknown = excluded = expected = covered = taken_out = 0.0
    for f in figures:
        good += f.good
        bad += f.bad
        maintenance += f.maintenance
        unknown += f.unknown
        excluded += f.excluded
        expected += f.expected
        covered += f.covered
        taken_out += f.taken_out
    return Figures(good, bad, maintenance, unknown, excluded, expected, covered, taken_out)


def budget_left(good: float, observed: float, threshold: float, remaining: float) -> float:
    """More down seconds the fleet can absorb and still reach `threshold` at the period's end.

    `remaining` is the observable time still to come (live assets x seconds left), assumed up.
    Negative: the budget is exceeded by that much and cannot be recovered.
    """
    return (good + remaining) - threshold * (observed + remaining)
