"""Stored times: aware UTC datetimes as integer milliseconds since the Unix epoch (the one rule; store/types.py's
UTCMillis column and the plain-driver reads of store/dbapi.py both use it, and this module imports no
SQLAlchemy)."""
from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; opsmon stores only UTC-aware times")
    return int(round(value.timestamp() * 1000))


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def from_ms_or_none(value: int | None) -> datetime | None:
    """A nullable stored time read back (what UTCMillis gives for NULL: None)."""
    return None if value is None else from_ms(value)
