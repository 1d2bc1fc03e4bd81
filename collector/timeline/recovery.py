"""Start-up repair of the timeline: time the collector did not see is unknown.

On start, every interval still open was cut short by a stop or a crash. It is
closed at the last heartbeat (never before its own start), and the gap up to
now is recorded as `unknown`, never as up or down. The gaps it records are handed to the timeline
(`Timeline.gaps`): an agent's spool that replays reports stamped inside one turns that time into what
the reports saw (docs/timeline.md, rule 7).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select

from opsmon.collector.core.states import GAP_REASON, UNKNOWN
from opsmon.collector.store import Store
from opsmon.collector.store.models import Heartbeat, StateInterval
from opsmon.collector.timeline.engine import Gap

log = logging.getLogger(__name__)


@dataclass
class Recovered:
    """What start-up recovery found: when live tracking starts, and each asset's unwatched time."""

    resume: datetime
    gaps: dict[str, Gap] = field(default_factory=dict)


def recover(store: Store, now: datetime) -> Recovered:
    """Close open intervals and record the time since as unknown; `resume` is >= now."""
    resume = now
    gaps: dict[str, Gap] = {}
    with store.session.begin() as session:
        beat = session.get(Heartbeat, 1)
        open_rows = list(session.scalars(select(StateInterval).where(StateInterval.end_ts.is_(None))))
        for row in open_rows:
            cut = max(beat.ts if beat is not None else row.start_ts, row.start_ts)
            if cut > now:
                resume = max(resume, cut)
        if resume > now:
            log.warning("clock is behind the last heartbeat; new intervals start at the heartbeat",
                        extra={"behind_seconds": round((resume - now).total_seconds(), 3)})
        for row in open_rows:
            cut = max(beat.ts if beat is not None else row.start_ts, row.start_ts)
            if cut == row.start_ts:
                session.execute(delete(StateInterval).where(StateInterval.id == row.id))
            else:
                row.end_ts = cut
            if cut < resume:
                session.add(StateInterval(asset_id=row.asset_id, state=UNKNOWN, start_ts=cut, end_ts=resume,
                                          reason=GAP_REASON))
                gaps[row.asset_id] = Gap(cut, resume, row.state)
        if open_rows:
            log.info("recovered timeline after restart",
                     extra={"open_intervals": len(open_rows),
                            "last_heartbeat": beat.ts.isoformat() if beat else None})
    return Recovered(resume, gaps)
