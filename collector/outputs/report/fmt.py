"""How figures are written in the report: one function per kind of figure.

The percentages and durations are the `opsmon sla` table's (opsmon.collector.sla.render.fmt_value), so a
figure read off the report can be found verbatim in the CLI's output; the tests use these same
functions to look every engine figure up in the HTML and the PDF text.
"""
from __future__ import annotations

from opsmon.collector.core.durations import format_duration
from opsmon.collector.outputs.report.labels import TEXT
from opsmon.collector.sla.render import fmt_value, pending_suffix
from opsmon.collector.sla.results import TargetResult

DASH = "-"


def pct(value: float | None) -> str:
    """An availability or rate: 98.913%."""
    return fmt_value(value, "ratio")


def coverage(value: float | None) -> str:
    """Coverage is shown to 0.1 %, as in `opsmon sla`."""
    return DASH if value is None else f"{value * 100:.1f}%"


def duration(seconds: float | None) -> str:
    return DASH if seconds is None else format_duration(seconds)


def value(target: TargetResult) -> str:
    return fmt_value(target.value, target.unit)


def threshold(target: TargetResult) -> str:
    return f"{target.comparator} {fmt_value(target.threshold, target.unit)}"


def margin_number(target: TargetResult) -> float | None:
    """How far the value is on the passing side of its threshold (negative: on the failing side).

    A presentation of two engine figures (value, threshold), in the unit of the target.
    """
    if target.value is None:
        return None
    diff = target.value - target.threshold
    return -diff if target.comparator in ("<=", "<") else diff


def margin(target: TargetResult, lang: str) -> str:
    m = margin_number(target)
    if m is None:
        return DASH
    sign = "+" if m >= 0 else "-"
    if target.unit == "ratio":
        return f"{sign}{abs(m) * 100:.3f} {TEXT[lang]['pp']}"
    if target.unit == "seconds":
        return f"{sign}{format_duration(abs(m))}"
    return f"{sign}{abs(m):g}"


def budget(seconds: float | None, lang: str) -> str:
    """The downtime budget: left, or exceeded by."""
    if seconds is None:
        return DASH
    t = TEXT[lang]
    if seconds >= 0:
        return f"{t['budget_left']} {format_duration(seconds)}"
    return f"{t['budget_exceeded']} {format_duration(-seconds)}"


def when(iso: str | None) -> str:
    """A local ISO timestamp as 2026-08-03 10:00:05 (the zone is on the cover)."""
    if not iso:
        return DASH
    return iso[:19].replace("T", " ")


def status(target: TargetResult, lang: str) -> str:
    """The verdict's word; "no data (pending N)" for a response target with nothing judged yet, as `opsmon sla`."""
    return TEXT[lang][target.status] + pending_suffix(target, lang)


def target_name(target: TargetResult, lang: str) -> str:
    return target.name(lang)
