"""A link's volume against its baseline: each closed interval's bytes against the median of the same
interval of the week over the last `weeks` weeks (issue 23 item 5).

Why the same slot of past weeks and not an EWMA: traffic on the prefecture links follows the office day and
week (Monday 09:00 is busy, Sunday 03:00 is not); an average of the last hours would call every morning's
rise an anomaly and miss a Sunday backup that runs on a Tuesday. The median (not the mean) keeps one odd week,
a holiday or a past incident, from moving the baseline. The figures are read from the stored intervals
(flow_top, every row `other` included, so exact), so the baseline survives restarts and needs no state here.

The volume is `high` above `factor` x baseline and `low` below baseline / `factor`; both only when the larger
of the two figures reaches `floor_bytes` (a quiet link's 2 KB against 500 bytes is no news), and only with at
least `min_weeks` weeks of history for that slot. An event is emitted when a link's judgement changes (normal
-> high, high -> normal, ...), so a long anomaly is two events, not one per interval. The first interval after
the receiver starts and the one it stores at stop are partial and not judged (receiver.py).
"""
from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from opsmon.collector.core.messages import Event

WEEK = timedelta(days=7)
SOURCE = "flows"
TEXT = {"high": ("流量高于基线", "volume above its baseline"), "low": ("流量低于基线", "volume below its baseline"),
        "normal": ("流量恢复到基线附近", "volume back near its baseline")}
History = Callable[[str, list[datetime]], Mapping[datetime, int]]  # store/flows.py interval_totals


class VolumeBaseline:
    def __init__(self, history: History, weeks: int = 4, min_weeks: int = 2, factor: float = 3.0,
                 floor_bytes: int = 0) -> None:
        self.history = history
        self.weeks = weeks
        self.min_weeks = min_weeks
        self.factor = factor
        self.floor_bytes = floor_bytes
        self.state: dict[str, str] = {}  # link -> normal / high / low, as last judged
        self.last: dict[str, float] = {}  # link -> the baseline of its last judged interval (the metric)

    def baseline(self, link: str, start: datetime) -> float | None:
        """The median bytes of the same interval 1..weeks weeks before `start`, or None with too few weeks."""
        starts = [start - n * WEEK for n in range(1, self.weeks + 1)]
        totals = list(self.history(link, starts).values())
        return statistics.median(totals) if len(totals) >= max(self.min_weeks, 1) else None

    def judge(self, link: str, start: datetime, end: datetime, octets: int) -> list[Event]:
        """The interval's judgement: an event when it differs from the link's previous one."""
        base = self.baseline(link, start)
        if base is None:
            return []
        self.last[link] = base
        if max(base, octets) < self.floor_bytes:
            verdict = "normal"
        elif octets > base * self.factor:
            verdict = "high"
        elif octets * self.factor < base:
            verdict = "low"
        else:
            verdict = "normal"
        previous = self.state.get(link, "normal")
        self.state[link] = verdict
        if verdict == previous:
            return []
        zh, en = TEXT[verdict]
        ratio = octets / base if base else None
        shown = f"{ratio:.2f}" if ratio is not None else "∞"
        summary = (f"{link}: {zh}（{octets} 字节，基线 {base:.0f}，{shown} 倍）/ {en} ({octets} bytes, baseline "
                   f"{base:.0f}, x{shown})")
        return [Event(link, end, SOURCE, "traffic", f"link_volume_{verdict}", "info" if verdict == "normal" else
                      "warning", summary, {"link": link, "bytes": octets, "baseline": base, "ratio": ratio,
                                           "factor": self.factor, "weeks": self.weeks,
                                           "interval_start": start.isoformat(), "interval_end": end.isoformat()})]
