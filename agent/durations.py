"""Durations as people write them ("90s", "5m", "1h30m", "7d"): the one grammar of agent.toml and collector.yaml.

A duration is a number of seconds (30, 1.5, or the string "30"), or one or more number-unit parts
written together: ms, s, m, h, d, w (any case), e.g. "500ms", "1h30m", "2W". Blanks around it are
ignored; a negative or empty value is refused.

It lives in the agent package because the agent installs alone (standard library only) while the
collector may import the agent's pure helpers: opsmon.collector.core.durations re-exports it.
Plain Python that runs on 3.6 (f-strings, no `from __future__ import annotations`, no walrus).
"""
import re

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
EXAMPLES = "30s, 5m, 1h30m, 7d"


def parse_duration(value: object) -> float:
    """Seconds for a duration string or a plain number of seconds; ValueError saying why otherwise.

    >>> parse_duration("1h30m")
    5400.0
    >>> parse_duration(15)
    15.0
    >>> parse_duration("30")
    30.0
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h, got a boolean")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 30s, 5m or 1h, got {type(value).__name__}")
    text = value.strip().lower()
    if _NUMBER.fullmatch(text):
        return float(text)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration; use forms like {EXAMPLES}")
    return total


def format_duration(seconds: float) -> str:
    """Compact rendering for tables, in the grammar above: 3725 -> '1h2m5s'."""
    seconds = int(round(seconds))
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)
