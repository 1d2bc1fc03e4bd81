"""Service hours: the part of a period in which an asset is expected to work (office PCs 08:30-18:00 on
working days). Time outside them is left out of both sides of the ratio, like maintenance (docs/sla.md).

The hours are cut into windows by the maintenance calendar's own cron reading (core/maintenance.Window,
in the configured time zone), kept on the days the working-day calendar (core/workdays) allows.

Cost: the seconds per asset and state inside the windows are summed in SQL, like the engine's one
pass, without a range join. With F(t) = service milliseconds before t, an interval [s, e) holds
F(e) - F(s) of them; F is a lookup by UTC day (t / 86 400 000): the service time before that day
(`days`) plus what the day's own pieces hold up to t (`pieces`, a piece never crosses a UTC day).
Both are equality joins on a table of ~92 rows a quarter, so 10k assets over a quarter cost two
hash joins over their intervals, not intervals x windows comparisons.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from opsmon.collector.core.fields import FROZEN
from opsmon.collector.core.workdays import WorkCalendar
from opsmon.collector.store.dbapi import Reader, in_list
from opsmon.collector.store.millis import to_ms

DAY_MS = 86_400_000
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class ServiceHours(BaseModel):
    """When assets are expected to work; outside, their time counts neither up nor down."""

    model_config = FROZEN
    hours: tuple[str, ...] = Field(min_length=1, description=(
        "Local time ranges HH:MM-HH:MM (08:30-12:00, 13:30-18:00); an end before its start runs past midnight"))
    days: Literal["workdays", "every_day"] = Field("workdays", description=(
        "workdays: the official working days (public holidays off, adjusted working days 调休 on); every_day"))

    @field_validator("hours")
    @classmethod
    def _ranges(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for r in value:
            m = _RANGE.match(r)
            if m is None:
                raise ValueError(f"{r!r} is not HH:MM-HH:MM (24-hour local time, e.g. 08:30-18:00)")
            if m.group(3) == "24" and m.group(4) != "00":
                raise ValueError(f"{r!r}: the day ends at 24:00")
            if m.group(1, 2) == m.group(3, 4):
                raise ValueError(f"{r!r} starts and ends at the same time")
        return value

    def windows(self, calendar: WorkCalendar, tz: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
        """The service windows inside [start, end), in UTC milliseconds, sorted and merged."""
        # Imported here: the target table's model holds ServiceHours, but only a table with service hours cuts
        # windows (the maintenance calendar's cron reading is some 10 ms of `opsmon sla`'s start otherwise).
        from opsmon.collector.core.maintenance import Window, WindowSpec

        spans: list[tuple[int, int]] = []
        for r in self.hours:
            m = _RANGE.match(r)
            assert m is not None
            h1, m1, h2, m2 = (int(x) for x in m.groups())
            length = (h2 * 60 + m2) - (h1 * 60 + m1)
            length = (length if length > 0 else length + 24 * 60) * 60  # an end before its start: past midnight
            spec = WindowSpec(id="service-hours", assets=("*",), cron=f"{m1} {h1} * * *", duration=length)
            window = Window(spec, tz)
            for occ in window.occurrences(start - timedelta(days=1), end):
                if self.days == "workdays" and not calendar.is_workday(occ.start.astimezone(window.zone).date()):
                    continue
                s, e = max(to_ms(occ.start), to_ms(start)), min(to_ms(occ.end), to_ms(end))
                if e > s:
                    spans.append((s, e))
        return merge(spans)


def merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans as one, sorted (two ranges that meet, two faults open at once)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


class Inside:
    """Service windows of one period, asked how much of a span (or of each asset's intervals) they hold."""

    def __init__(self, windows: list[tuple[int, int]]) -> None:
        self.windows = windows
        self._starts = [s for s, _ in windows]
        self._cum = [0]
        for s, e in windows:
            self._cum.append(self._cum[-1] + e - s)

    @property
    def total_ms(self) -> int:
        return self._cum[-1]

    def before(self, t: int) -> int:
        """F(t): service milliseconds before t."""
        i = bisect_right(self._starts, t)
        if i == 0:
            return 0
        s, e = self.windows[i - 1]
        return self._cum[i - 1] + min(max(t - s, 0), e - s)

    def within(self, s: int, e: int) -> int:
        """Service milliseconds in [s, e)."""
        return max(0, self.before(e) - self.before(s)) if e > s else 0

    def spans(self, s: int, e: int) -> list[tuple[int, int]]:
        """The parts of [s, e) inside service hours."""
        i = max(0, bisect_right(self._starts, s) - 1)
        out = []
        for ws, we in self.windows[i:]:
            if ws >= e:
                break
            if we > s:
                out.append((max(ws, s), min(we, e)))
        return out

    def _tables(self, lo: int, hi: int) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
        """(day, F(day start)) for every UTC day of [lo, hi], and (day, start, end) of every window piece."""
        days = [(d, self.before(d * DAY_MS)) for d in range(lo // DAY_MS, hi // DAY_MS + 1)]
        pieces = []
        for s, e in self.windows:
            while s < e:
                cut = min(e, (s // DAY_MS + 1) * DAY_MS)
                pieces.append((s // DAY_MS, s, cut))
                s = cut
        return days, pieces

    def sums(self, reader: Reader, dialect: str, asset_ids: list[str], bounds: dict[str, int]
             ) -> list[tuple[str, str, int]]:
        """(asset, state, milliseconds inside service hours) of the assets' intervals clipped like the
        engine's one pass (`bounds`: ps, asof, open_until).

        The day and piece tables are temporary tables with the day as key (this connection's only): joined by an
        index, not scanned for every interval end (a VALUES list was 20x slower). So `reader` is one that may
        make temporary tables: a pooled connection of the full store, or the plain driver's scratch connection
        (store/dbapi.PlainStore.own_reader). Nothing here drops them after: on PostgreSQL the caller's rollback
        does (the transaction is read only once they are made); the plain driver's scratch connection is closed
        after, and they go with it; a pooled SQLite connection keeps them, empty (the rollback at the pool undoes
        the INSERTs, and would undo a DROP after them), and the next call drops them first."""
        sqlite = dialect == "sqlite"
        least, greatest = ("MIN", "MAX") if sqlite else ("LEAST", "GREATEST")
        days, pieces = self._tables(bounds["ps"], bounds["asof"])
        out: list[tuple[str, str, int]] = []
        if not days:
            return out
        own = "temp" if sqlite else "pg_temp"  # this connection's own tables only: never a table of the store
        reader.run(f"DROP TABLE IF EXISTS {own}.opsmon_sh_days")
        reader.run(f"DROP TABLE IF EXISTS {own}.opsmon_sh_pieces")
        reader.run("CREATE TEMPORARY TABLE opsmon_sh_days (day BIGINT PRIMARY KEY, cum BIGINT NOT NULL)")
        reader.run("CREATE TEMPORARY TABLE opsmon_sh_pieces (day BIGINT NOT NULL, ws BIGINT NOT NULL, "
                   "we BIGINT NOT NULL)")
        reader.run("CREATE INDEX opsmon_sh_pieces_day ON opsmon_sh_pieces (day)")
        if not sqlite:
            # The rest of this transaction writes nothing but these temporary tables' rows (allowed in a
            # read-only transaction, unlike CREATE), and its end (a rollback) drops them: from here the
            # plain driver's scratch connection is read only as well.
            reader.run("SET TRANSACTION READ ONLY")
        reader.run("INSERT INTO opsmon_sh_days (day, cum) VALUES (:d, :c)", [{"d": d, "c": c} for d, c in days])
        if pieces:
            reader.run("INSERT INTO opsmon_sh_pieces (day, ws, we) VALUES (:d, :s, :e)",
                       [{"d": d, "s": s, "e": e} for d, s, e in pieces])
        for i in range(0, len(asset_ids), 500):
            chunk = asset_ids[i:i + 500]
            in_ids, names = in_list("a", chunk)
            query = f"""
WITH c AS (
  SELECT asset_id, state, {greatest}(start_ts, :ps) AS s, {least}(COALESCE(end_ts, :open_until), :asof) AS e
  FROM state_intervals
  WHERE start_ts < :asof AND start_ts < :open_until AND (end_ts IS NULL OR end_ts > :ps)
    AND asset_id IN {in_ids}
),
p AS (SELECT asset_id, state, s AS t, s / {DAY_MS} AS day, -1 AS sign FROM c WHERE e > s
      UNION ALL SELECT asset_id, state, e AS t, e / {DAY_MS} AS day, 1 AS sign FROM c WHERE e > s)
SELECT asset_id, state, CAST(SUM(ms) AS BIGINT) AS ms FROM (
  SELECT p.asset_id, p.state, p.sign * d.cum AS ms FROM p JOIN opsmon_sh_days d ON d.day = p.day
  UNION ALL
  SELECT p.asset_id, p.state, p.sign * {least}({greatest}(p.t - w.ws, 0), w.we - w.ws) AS ms
  FROM p JOIN opsmon_sh_pieces w ON w.day = p.day
) x GROUP BY asset_id, state
"""
            rows = reader.rows(query, {**bounds, **names})
            out += [(asset_id, state, int(ms or 0)) for asset_id, state, ms in rows]
        return out
