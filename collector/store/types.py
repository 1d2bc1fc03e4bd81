"""Column types that behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from opsmon.collector.store.millis import EPOCH, from_ms, to_ms

__all__ = ["EPOCH", "UTCMillis", "from_ms", "to_ms"]


class UTCMillis(TypeDecorator[datetime]):
    """An aware datetime stored as integer milliseconds since the Unix epoch (UTC).

    Why not DATETIME: SQLite has no such type (SQLAlchemy stores text and parses
    it back slowly), and the SLA engine sums millions of intervals; integers are
    unambiguous across both databases and fast to aggregate in SQL.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> int | None:
        return None if value is None else to_ms(value)

    def process_result_value(self, value: int | None, dialect: object) -> datetime | None:
        return None if value is None else from_ms(value)
