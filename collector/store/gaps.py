"""Filling the time a stopped collector did not watch with what an agent's spool saw (`GapFilled`), and a link's
closed time with what its site's poller saw there (`Recombined`, the same cut-and-put on any closed row).

Start-up recovery (timeline/recovery.py) records that time as closed `unknown` intervals with the reason
`collector not running`. When an agent's replayed reports prove the host up in part of it, that part is cut
out of those rows and stored with the state the timeline gives it; a fill that continues the previous one
(same state and reason, touching) extends its row, so a replayed spool of a thousand reports is one row.
Only those unknown rows are touched: what the collector saw itself is never rewritten, and the rows keep
tiling time (each piece is cut from a row, nothing is added beside one).
"""
from __future__ import annotations

from sqlalchemy import Connection, and_, delete, insert, select, update

from opsmon.collector.core.messages import GapFilled, Recombined
from opsmon.collector.core.states import GAP_REASON, UNKNOWN
from opsmon.collector.store.models import StateInterval
from opsmon.collector.store.types import from_ms, to_ms


def fill_gap(conn: Connection, msg: GapFilled | Recombined) -> None:
    """Apply one GapFilled (the gap's unknown rows only) or Recombined (any closed row of the link) inside the
    writer's transaction (times at the store's millisecond precision)."""
    start, end = to_ms(msg.start), to_ms(msg.end)
    if end <= start:
        return
    si = StateInterval
    which = (si.state == UNKNOWN, si.reason == GAP_REASON) if isinstance(msg, GapFilled) else ()
    rows = conn.execute(select(si.id, si.start_ts, si.end_ts, si.state, si.reason).where(
        si.asset_id == msg.asset_id, *which, si.end_ts.is_not(None),
        si.start_ts < msg.end, si.end_ts > msg.start).order_by(si.start_ts)).all()
    for row_id, row_start, row_end, row_state, row_reason in rows:
        assert row_end is not None  # closed rows only (the query's condition)
        lo, hi = to_ms(row_start), to_ms(row_end)
        a, b = max(lo, start), min(hi, end)
        if a >= b:
            continue
        if lo < a:  # the time before the fill stays in the row
            conn.execute(update(si).where(si.id == row_id).values(end_ts=from_ms(a)))
        else:
            conn.execute(delete(si).where(si.id == row_id))
        if b < hi:  # ... and after it, a row of its own
            conn.execute(insert(si).values(asset_id=msg.asset_id, state=row_state, start_ts=from_ms(b),
                                           end_ts=from_ms(hi), reason=row_reason))
        _put(conn, msg, a, b)


def _put(conn: Connection, msg: GapFilled | Recombined, a: int, b: int) -> None:
    """[a, b) with the fill's state: extends the fill just before it (touching, same state and reason) if any."""
    si = StateInterval
    same = and_(si.asset_id == msg.asset_id, si.state == msg.state, si.reason == msg.reason)
    before = conn.execute(select(si.id).where(same, si.end_ts == from_ms(a))).scalar()
    # ... and joins the closed one just after the message's span (a link's rewritten edge: the same cut, seen
    # first from the site), never a row inside the span, which the caller's loop has yet to cut
    after = None if b < to_ms(msg.end) else conn.execute(select(si.id, si.end_ts).where(
        same, si.start_ts == from_ms(b), si.end_ts.is_not(None))).first()
    if after is not None and after[1] is not None:  # closed (the query's condition)
        conn.execute(delete(si).where(si.id == after[0]))
        b = to_ms(after[1])
    if before is not None:
        conn.execute(update(si).where(si.id == before).values(end_ts=from_ms(b)))
    else:
        conn.execute(insert(si).values(asset_id=msg.asset_id, state=msg.state, start_ts=from_ms(a),
                                       end_ts=from_ms(b), reason=msg.reason))
