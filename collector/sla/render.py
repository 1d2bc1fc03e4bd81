"""The target table for people, in Chinese or English."""
from __future__ import annotations

from opsmon.collector.core.durations import say_duration
from opsmon.collector.core.lang import display_width
from opsmon.collector.sla.results import STATUSES, PeriodResult, ResponseDetail, SurveyDetail, TargetResult

TEXT = {
    "en": {"target": "TARGET", "threshold": "THRESHOLD", "value": "MEASURED", "status": "RESULT",
           "coverage": "COVERAGE", "budget": "BUDGET LEFT", "period": "Period",
           "pass": "pass", "fail": "FAIL", "low_coverage": "LOW COVERAGE", "no_data": "no data",
           "partial": "(to date)", "pending": "pending", "healed": "healed before any response",
           "excluded": "excluded", "not_counted": "not counted", "no_response": "no response",
           "recorded_after": "recorded after", "in_time": "in time", "late": "late"},
    "zh": {"target": "绩效目标", "threshold": "指标值", "value": "实际值", "status": "结论",
           "coverage": "数据覆盖率", "budget": "剩余停机预算", "period": "统计周期",
           "pass": "达标", "fail": "未达标", "low_coverage": "数据不足", "no_data": "无数据",
           "partial": "(截至目前)", "pending": "待判定", "healed": "响应前已自愈",
           "excluded": "已剔除", "not_counted": "不计入", "no_response": "无响应",
           "recorded_after": "事后登记", "in_time": "及时", "late": "超时"},
}
_missing = [(lang, s) for lang, words in TEXT.items() for s in STATUSES if s not in words]
if _missing:  # every verdict the engine gives has its word in both languages (the report uses them too)
    raise KeyError(f"no word for status {_missing}")


def pending_suffix(target: TargetResult, lang: str) -> str:
    """ " (pending 2)" after "no data" of a response target whose incidents are all still within their limit:
    nothing judged yet reads "no data", never "pass" (issue 19 item 8); the CLI and the report both say it."""
    if target.status != "no_data" or not target.pending:
        return ""
    return f" ({TEXT[lang]['pending']} {target.pending})"


def fmt_value(value: float | None, unit: str, lang: str = "en") -> str:
    """A target's figure in its unit; a duration in the units of `lang` (core.durations.say_duration)."""
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value * 100:.3f}%"
    if unit == "seconds":
        return say_duration(value, lang)
    return f"{value:g}"


def measured(tg: TargetResult, lang: str = "en") -> str:
    """The value as people read it; a survey's with its sample size: '85.714% (n=7/9)', '- (n=0/9)'."""
    shown = fmt_value(tg.value, tg.unit, lang)
    if isinstance(tg.detail, SurveyDetail):
        shown += f" (n={tg.detail.sample})"
    return shown


def render_table(result: PeriodResult, lang: str = "en") -> str:
    t = TEXT[lang]
    p = result.period
    head = f"{t['period']}: {p.label} [{p.local_start} .. {p.local_end}) {p.timezone}"
    if not p.complete:
        head += f" {t['partial']}"
    rows = [(t["target"], t["threshold"], t["value"], t["status"], t["coverage"], t["budget"])]
    for tg in result.targets:
        budget = tg.budget_left_seconds
        shown_budget = "-" if budget is None else ("-" if budget < 0 else "") + say_duration(abs(budget), lang)
        rows.append((
            tg.name(lang),
            f"{tg.comparator} {fmt_value(tg.threshold, tg.unit, lang)}",
            measured(tg, lang),
            t[tg.status] + pending_suffix(tg, lang),
            "-" if tg.coverage is None else f"{tg.coverage * 100:.1f}%",
            shown_budget,
        ))
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [head, ""]
    for r in rows:
        lines.append("  ".join(c + " " * (w - display_width(c)) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines + _listed(result, lang))


def _listed(result: PeriodResult, lang: str) -> list[str]:
    """Under the table: per response target, the faults that healed before any response and the excluded
    incidents, whether judged or not (docs/sla.md: listed either way)."""
    t = TEXT[lang]
    out = []
    for tg in result.targets:
        d = tg.detail
        if not isinstance(d, ResponseDetail) or not (d.self_healed or d.excluded):
            continue
        out.append(f"{tg.name(lang)}:")
        for h in d.self_healed:
            after = f" {t['recorded_after']}" if h.recorded_after else ""
            took = h.response_seconds
            response = t["no_response"] if took is None else say_duration(took, lang) + after
            verdict = t["not_counted"] if not h.counted else (t["in_time"] if h.within else t["late"])
            out.append(f"  {h.incident}  {t['healed']} {say_duration(h.healed_seconds, lang)}; {response}; {verdict}")
        if d.excluded:
            out.append(f"  {t['excluded']}: {', '.join(d.excluded)}")
    return ["", *out] if out else []
