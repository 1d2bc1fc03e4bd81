"""The languages people read opsmon in: Chinese first, English everywhere."""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


def local_time(when: datetime, zone: str) -> str:
    """A time as a person reads it: in the configured zone, named (notices, the acknowledge page)."""
    return f"{when.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S} ({zone})"
