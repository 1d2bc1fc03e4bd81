"""The languages people read opsmon in: Chinese first, English everywhere; and the times they read.

Every time a person reads (CLI, acknowledge page, API answers, notices, reports) is in the configured
zone with its offset, never bare UTC (issue 21 item 6): one function per way of writing it, here.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


def display_width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal. Here, not beside the SLA table it also
    pads (sla/render.py), so that every table of the CLI pads with it without importing the SLA results; most
    cells are ASCII, counted at once."""
    if text.isascii():
        return len(text)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


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


# A whole string that is an ISO 8601 time with an offset (Python's isoformat of an aware datetime, or Z).
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")


def localise(doc: Any, zone: str) -> Any:
    """A JSON document with every time in it written with `zone`'s offset (the same instants).

    For answers assembled from many readers (the API's): each reader keeps writing aware times as it always
    has, and the one place that sends them makes them local, so no answer is missed. Only whole strings that
    are ISO 8601 times with an offset change; a date, a duration or free text containing a time does not.
    """
    if isinstance(doc, str):
        if len(doc) <= 40 and _ISO_TIME.fullmatch(doc):
            try:
                return local_iso(datetime.fromisoformat(doc), zone)
            except (ValueError, OverflowError):  # a time Python cannot hold in the zone: left as written
                return doc
        return doc
    if isinstance(doc, dict):
        return {k: localise(v, zone) for k, v in doc.items()}
    if isinstance(doc, list):
        return [localise(v, zone) for v in doc]
    return doc
