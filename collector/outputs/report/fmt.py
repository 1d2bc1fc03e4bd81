"""How figures are written in the report: one function per kind of figure.

The percentages and durations are the `opsmon sla` table's (opsmon.collector.sla.render.fmt_value), so a
figure read off the report can be found verbatim in the CLI's output; the tests use these same
functions to look every engine figure up in the HTML and the PDF text.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from opsmon.collector.core.durations import say_duration
from opsmon.collector.outputs.report.labels import TEXT
from opsmon.collector.sla.render import fmt_value, pending_suffix
from opsmon.collector.sla.results import SurveyDetail, TargetResult

DASH = "-"


def pct(value: float | None) -> str:
    """An availability or rate: 98.913%."""
    return fmt_value(value, "ratio")


def coverage(value: float | None) -> str:
    """Coverage is shown to 0.1 %, as in `opsmon sla`."""
    return DASH if value is None else f"{value * 100:.1f}%"


def duration(seconds: float | None, lang: str = "en") -> str:
    """A duration in the units of the text it stands in: 3天19小时58分 in Chinese, 3d19h58m in English."""
    return DASH if seconds is None else say_duration(seconds, lang)


def value(target: TargetResult, lang: str = "en") -> str:
    return fmt_value(target.value, target.unit, lang)


def sample(target: TargetResult) -> str:
    """A survey's sample size as `opsmon sla` writes it beside the figure, '(n=7/9)'; '' for other targets."""
    return f"(n={target.detail.sample})" if isinstance(target.detail, SurveyDetail) else ""


def threshold(target: TargetResult, lang: str = "en") -> str:
    return f"{target.comparator} {fmt_value(target.threshold, target.unit, lang)}"


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
        return f"{sign}{say_duration(abs(m), lang)}"
    return f"{sign}{abs(m):g}"


def budget(seconds: float | None, lang: str) -> str:
    """The downtime budget: left, or exceeded by."""
    if seconds is None:
        return DASH
    t = TEXT[lang]
    if seconds >= 0:
        return f"{t['budget_left']} {say_duration(seconds, lang)}"
    return f"{t['budget_exceeded']} {say_duration(-seconds, lang)}"


def _local(value: str | datetime, tz: str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(ZoneInfo(tz))


def when(value: str | datetime | None, tz: str) -> str:
    """A time in the report's zone as 2026-08-03 10:00:05, for a table whose heading names the zone.

    Whatever zone `value` carries (the model's times are local, the engine's as-of and entry times
    UTC), it is converted: the report prints one zone throughout (issue 19).
    """
    if not value:
        return DASH
    return _local(value, tz).strftime("%Y-%m-%d %H:%M:%S")


def stamp(value: str | datetime | None, tz: str) -> str:
    """A time standing alone (cover, sign-off, entries), in the report's zone with its offset:
    2026-10-01 00:00:00 +08:00."""
    if not value:
        return DASH
    local = _local(value, tz)
    offset = local.strftime("%z")
    return f"{local.strftime('%Y-%m-%d %H:%M:%S')} {offset[:3]}:{offset[3:]}"


def zoned(heading: str, tz: str) -> str:
    """A column heading of times, naming the zone they are in: 发生时间 (Asia/Shanghai)."""
    return f"{heading} ({tz})"


def status(target: TargetResult, lang: str) -> str:
    """The verdict's word; "no data (pending N)" for a response target with nothing judged yet, as `opsmon sla`."""
    return TEXT[lang][target.status] + pending_suffix(target, lang)


def target_name(target: TargetResult, lang: str) -> str:
    return target.name(lang)


def entry(target: TargetResult, lang: str, tz: str, full: bool = False) -> str:
    """Who entered a value by hand, when, and its evidence: shown beside the value ("" when not entered
    by hand). The hash is cut to 16 digits beside the value; `full` gives all 64 (the appendix)."""
    from opsmon.collector.sla.results import ManualDetail

    d = target.detail
    if not isinstance(d, ManualDetail):
        return ""
    t = TEXT[lang]
    if d.evidence is None:
        proof = t["no_evidence"]
    else:
        digest = d.evidence_sha256 or ""
        shown = digest if full or not digest else f"{digest[:16]}…"
        proof = f"{t['evidence']} {d.evidence}" + (f" (sha256 {shown})" if digest else "")
    return f"{t['entered_by']} {d.entered_by} · {stamp(d.entered_at, tz)} · {proof}"
