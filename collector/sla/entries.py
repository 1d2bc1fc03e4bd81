"""Figures entered by hand, each audited: values for a period, and dated deliveries."""
from __future__ import annotations

import math
from datetime import UTC, datetime

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.sla.periods import Period
from opsmon.collector.store import Store
from opsmon.collector.store.audit import record
from opsmon.collector.store.models import TargetValue


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise InvalidInput("the value must be a finite number")
    return value


def set_value(store: Store, target_id: str, period: Period, value: float, note: str, actor: str) -> None:
    """A later entry for the same period wins; earlier ones stay for the record."""
    now = datetime.now(UTC)
    with store.session.begin() as session:
        session.add(TargetValue(target_id=target_id, kind="value", period_start=period.start, period_end=period.end,
                                ts=None, value=_finite(value), note=note, entered_by=actor, entered_at=now))
        record(session, actor, "sla.set_value", target_id, {"period": period.label, "value": value, "note": note},
               now)


def record_event(store: Store, target_id: str, at: datetime, count: float, note: str, actor: str) -> None:
    if _finite(count) <= 0:
        raise InvalidInput("--count must be positive")
    now = datetime.now(UTC)
    with store.session.begin() as session:
        session.add(TargetValue(target_id=target_id, kind="event", period_start=None, period_end=None, ts=at,
                                value=count, note=note, entered_by=actor, entered_at=now))
        record(session, actor, "sla.record", target_id, {"at": at.isoformat(), "count": count, "note": note}, now)
