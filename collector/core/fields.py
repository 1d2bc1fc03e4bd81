"""Field types shared by the config, inventory and API models."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, ConfigDict

from opsmon.collector.core.durations import parse_duration

FROZEN = ConfigDict(extra="forbid", frozen=True)


def _duration(value: object) -> float:
    return parse_duration(value)


def _positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


Duration = Annotated[float, BeforeValidator(_duration)]
PositiveDuration = Annotated[float, BeforeValidator(_positive_duration)]


def _aware(value: object) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise ValueError("expected an ISO 8601 timestamp with a UTC offset")
    if value.tzinfo is None:
        raise ValueError("timestamp needs a UTC offset (e.g. +08:00 or Z) so it is not ambiguous")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC (was a 500 in the API)
        raise ValueError(f"{value.isoformat()} is outside the years 1 to 9999 in UTC") from None


AwareDatetime = Annotated[datetime, BeforeValidator(_aware)]


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp with offset, as UTC; ValueError with a readable reason otherwise."""
    return _aware(value)


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def _object_id(value: object) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError("ids are 1-128 characters of letters, digits and _ . : - starting with a letter or digit")
    return value


ObjectId = Annotated[str, BeforeValidator(_object_id)]
"""Ids of assets, windows and the like: safe in URLs, labels and file names."""


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. Asia/Shanghai)") from None
    return name
