"""An asset's life: the time it belonged to the estate, which bounds every figure measured of it.

One rule, read by the SLA engine and the report alike (so both count the same assets):

  life = [start, end) minus the spans it was removed and then restored
  start = joined_at when known (an imported `joined` line), else the earlier of its creation and its
          first interval (history imported after the asset was created in opsmon)
  end   = removed_at (back-dated or not); open while it is in the inventory

Intervals outside the life are kept in the store (evidence) but clipped out of availability, coverage
and budget (docs/sla.md, "An asset's life").
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from opsmon.collector.store.dbapi import Reader
from opsmon.collector.store.history import life_start
from opsmon.collector.store.millis import to_ms


class Life(NamedTuple):
    """One asset's life, in epoch milliseconds (a named tuple: one is made per asset, 50k at a province's
    scale)."""

    asset_id: str
    start: int
    end: int | None  # removed_at; None while in the inventory
    absences: tuple[tuple[int, int], ...] = ()  # removed, then restored: [start, end)
    joined: bool = False  # start is a known joining time, which intervals may precede (else none can)

    def seconds(self, lo: int, hi: int) -> float:
        """Seconds of its life inside [lo, hi) (ms)."""
        a, b = max(self.start, lo), min(hi if self.end is None else self.end, hi)
        if b <= a:
            return 0.0
        if not self.absences:  # most assets: no generator to sum (50k assets a measurement)
            return (b - a) / 1000
        gone = sum(max(0, min(b, e) - max(a, s)) for s, e in self.absences)
        return (b - a - gone) / 1000

    def cuts(self, lo: int, hi: int) -> bool:
        """Whether its life begins at a known joining time or ends inside [lo, hi): only then can intervals
        there lie outside it (a start from creation or first interval precedes them all)."""
        return (self.joined and lo < self.start < hi) or (self.end is not None and lo < self.end < hi)

    def absent(self, lo: int, hi: int) -> tuple[tuple[int, int], ...]:
        """The absences that cut into [lo, hi) and the life, clipped to both."""
        lo, hi = max(lo, self.start), min(hi, hi if self.end is None else self.end)
        return tuple((max(s, lo), min(e, hi)) for s, e in self.absences if s < hi and e > lo)


_life = tuple.__new__
"""A Life from its five fields without the named tuple's own __new__ (a Python call; 50k assets)."""

LIFE_COLUMNS = "SELECT assets.id, assets.created_at, assets.removed_at, assets.joined_at FROM assets"
"""What a life is made of, per asset: id, created_at, removed_at, joined_at as the stored integer milliseconds
(no datetime per asset: 50k assets cost 0.3 s of conversions)."""
# The first interval of each asset created after :since without a known joining time: one index seek each (MIN
# over the index on asset_id, start_ts), not a read of every interval they have.
_FIRSTS = """
SELECT assets.id, (SELECT min(start_ts) FROM state_intervals WHERE state_intervals.asset_id = assets.id) AS anon_1
FROM assets WHERE assets.joined_at IS NULL AND assets.created_at > :since
"""
_ABSENCES = ("SELECT asset_absences.asset_id, asset_absences.start_ts, asset_absences.end_ts FROM asset_absences "
             "ORDER BY asset_absences.start_ts")


def load_lives(reader: Reader, since: int, rows: Iterable[tuple[str, int, int | None, int | None]] | None = None
               ) -> dict[str, Life]:
    """Every asset's life, for a period starting at `since` (ms).

    `rows`: the assets' LIFE_COLUMNS when the caller has read them already (the SLA engine reads the
    assets once), read once; else they are read here.
    Only an asset created after `since` without a known joining time can have imported history from
    before its creation: only those few need the first-interval lookup.
    """
    if rows is None:
        rows = reader.rows(LIFE_COLUMNS)
    firsts: dict[str, int] = {aid: start for aid, start in reader.rows(_FIRSTS, {"since": since})
                              if start is not None}
    absences: dict[str, list[tuple[int, int]]] = {}
    for aid, start, end in reader.rows(_ABSENCES):
        absences.setdefault(aid, []).append((int(start), int(end)))
    lives = {}
    for aid, created, removed, joined in rows:
        first = firsts.get(aid) if firsts else None
        if joined is None and first is None:  # life_start's answer without calling it (50k assets a measurement)
            start = int(created)
        else:
            start = life_start(int(created), int(joined) if joined is not None else None,
                               int(first) if first is not None else None)
        gone = absences.get(aid) if absences else None
        lives[aid] = _life(Life, (aid, start, int(removed) if removed is not None else None,
                                  tuple(gone) if gone else (), joined is not None))
    return lives


def lived_in(reader: Reader, start: datetime, as_of: datetime,
             rows: Iterable[tuple[str, int, int | None, int | None]] | None = None
             ) -> tuple[dict[str, Life], dict[str, float]]:
    """Every asset's life, and the seconds of it inside [start, as_of) for each asset that lived there
    at all: the assets a period counts (as_of = min(now, the period's end)), in every figure and section.
    `rows`: as load_lives takes them."""
    lo, hi = to_ms(start), to_ms(as_of)
    lives = load_lives(reader, lo, rows)
    present = {}
    for asset_id, life in lives.items():
        if life.absences:
            seconds = life.seconds(lo, hi)
        else:  # most assets: Life.seconds without absences, written out (50k assets a measurement)
            a, b = life.start, life.end
            a = lo if lo > a else a
            b = hi if b is None or hi < b else b
            seconds = (b - a) / 1000 if b > a else 0.0
        if seconds > 0:
            present[asset_id] = seconds
    return lives, present
