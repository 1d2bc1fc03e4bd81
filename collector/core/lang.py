"""The languages people read opsmon in: Chinese first, English everywhere; and the times they read.

Every time a person reads (CLI, acknowledge page, API answers, notices, reports) is in the configured
zone with its offset, never bare UTC (issue 21 item 6): one function per way of writing it, here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


def local_time(when: datetime, zone: str) -> str:
    """A time as a person reads it: in the configured zone, named (notices, the acknowledge page)."""
    return f"{when.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S} ({zone})"


def local_stamp(when: datetime | str | None, zone: str, timespec: str = "seconds") -> str:
    """A time in a table or a line of text: wall clock of `zone` with its offset, 2026-12-06 20:55:00+08:00.

    `when` may be ISO 8601 text (the store's documents carry UTC text); None prints as "-".
    """
    if when is None or when == "":
        return "-"
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    return moment.astimezone(ZoneInfo(zone)).isoformat(sep=" ", timespec=timespec)


def local_iso(when: datetime, zone: str) -> str:
    """A time in a machine-read answer (API, CLI --format json): ISO 8601 with the zone's offset,
    2026-12-06T20:55:00+08:00, the same instant as ...T12:55:00Z, so every ISO parser reads it right."""
    return when.astimezone(ZoneInfo(zone)).isoformat()
