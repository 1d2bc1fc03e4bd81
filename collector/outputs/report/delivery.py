"""Scheduled reports: after each period ends (plus a delay for late data), generate the report in
every configured language and format, keep the files with their SHA-256 in `report_files`, and list
them for the API. Idempotent: a period already delivered is never generated again, so a collector
that was down at the period's end catches up at its next check, and a restart does nothing twice."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from opsmon.collector.sla.periods import Period, last_complete, previous
from opsmon.collector.store import Store
from opsmon.collector.store.models import ReportFile

log = logging.getLogger(__name__)


MEDIA = {"pdf": "application/pdf", "html": "text/html; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
"""The media type each report file is served with (the API's download and the console's)."""

CATCH_UP = 12  # periods of one kind generated at most in one check, oldest missing first


def due(config: Any, store: Store, now: datetime) -> list[tuple[Period, str]]:
    """(period, lang) pairs whose period ended more than `delay` ago and have no stored report yet.

    Walking back from the newest such period to the newest one already delivered, so a collector
    that was down across several period ends delivers each of them, not only the last. A kind never
    delivered before (a new installation) starts with its newest period: no backlog of history."""
    settings = config.reports
    out = []
    with store.session() as session:
        done = {(r.period, r.lang) for r in session.scalars(select(ReportFile))}
    delivered = {label for label, _ in done}
    # Half-months first: a half-month's delivery counts toward monitoring_analysis_reports, which the
    # quarter's (or month's, year's) SLA report generated in the same check must already see.
    for kind in sorted(settings.periods, key=lambda k: k != "half"):
        period = last_complete(kind, now, config.timezone)
        ever = any(_kind_of(label) == kind for label in delivered)
        if now < period.end + timedelta(seconds=settings.delay):
            if not ever:
                continue  # a new installation waits for the newest period, never the one before it
            period = previous(period)
        missing: list[tuple[Period, str]] = []
        for step in range(CATCH_UP):
            if period.label in delivered:  # delivered before: so were the older ones
                if step == 0:  # the newest: only a language added since
                    missing += [(period, lang) for lang in settings.langs if (period.label, lang) not in done]
                break
            missing += [(period, lang) for lang in settings.langs if (period.label, lang) not in done]
            if not ever:
                break
            period = previous(period)
        out += sorted(missing, key=lambda pl: pl[0].start)
    return out


def _kind_of(label: str) -> str:
    """A stored report's period kind from its label: 2026, 2026Q3, 2026-07, 2026-11-H1."""
    return ("range" if "/" in label else "quarter" if "Q" in label else "half" if "-H" in label
            else "month" if "-" in label else "year")


def generate(config: Any, store: Store, period: Period, lang: str, now: datetime | None = None) -> list[dict]:
    """Render and record one period in one language (blocking: run it off the event loop)."""
    from opsmon.collector.outputs.report import build_report, write_report

    now = now or datetime.now(UTC)
    folder = config.resolve(config.reports.folder) / period.label
    if period.kind == "half":  # the semi-monthly HJ 212 statistical analysis report
        from opsmon.collector.outputs.report.hj212_model import build_hj212_report

        formats = [f for f in config.reports.formats if f != "docx"]  # the editable copy is the SLA report's
        written = write_report(build_hj212_report(store, config, period, lang, now), formats, folder)
    else:
        written = write_report(build_report(store, config, period, lang, now), config.reports.formats, folder)
    rows = []
    with store.session() as session:
        for path, digest in written:
            row = ReportFile(period=period.label, lang=lang, format=path.suffix.lstrip("."), path=str(path),
                             sha256=digest, size=path.stat().st_size, created_ts=now)
            session.add(row)
            rows.append(row)
        session.commit()
        docs = [doc(r) for r in rows]
    log.info("report generated", extra={"period": period.label, "lang": lang, "files": len(written)})
    if period.kind == "half" and config.reports.count_target:
        count_delivery(store, config.reports.count_target, period, now)
    if config.reports.mail_channel:
        mail(config, period, lang, [path for path, _ in written])
    return docs


DELIVERY_ACTOR = "opsmon report delivery"


def delivery_note(period: Period) -> str:
    """The note of the count event a half-month's delivery records: its key, so a re-delivery counts once."""
    return f"HJ 212 半月统计分析报告 / semi-monthly analysis report {period.label}"


def count_delivery(store: Store, target_id: str, period: Period, now: datetime) -> bool:
    """Count one report toward `target_id` (monitoring_analysis_reports) for the half-month, once: a second
    language, a re-delivery or a collector restarted mid-delivery finds the event and adds nothing.

    The event is dated at the half-month's start, so a year's count is its 24 half-months (the report on
    2026-12-H2, delivered on 2027-01-01, is one of 2026's). Audited as `sla.record` by the delivery."""
    from opsmon.collector.sla.entries import record_event

    return record_event(store, target_id, period.start, 1, delivery_note(period), DELIVERY_ACTOR, once=True)


def mail(config: Any, period: Period, lang: str, files: list[Path]) -> None:
    """Send the files through the configured e-mail channel; a failure is logged, the files stay listed."""
    from opsmon.collector.notify import build_channels
    from opsmon.collector.notify.base import DeliveryError

    channel = build_channels(config.notify, Path(config.base_dir or "."), config.source_file or "collector.yaml")[
        config.reports.mail_channel]
    zh, en = (("污染源自动监控数据统计分析报告", "statistical analysis report on the pollution-source data")
              if period.kind == "half" else ("SLA 合规报告", "SLA compliance report"))
    subject = (f"{config.organisation} {zh} {period.label}" if lang == "zh"
               else f"{config.organisation} {en} {period.label}")
    body = (f"附件为 {period.label} 的{zh}（{', '.join(p.suffix.lstrip('.') for p in files)}）。\n"
            f"The {en} for {period.label} is attached.\n")
    try:
        channel.send_files(subject, body, files)  # type: ignore[attr-defined]
    except DeliveryError as exc:
        log.error("report not mailed", extra={"period": period.label, "lang": lang, "error": str(exc)})


def doc(row: ReportFile) -> dict[str, Any]:
    return {"id": row.id, "period": row.period, "lang": row.lang, "format": row.format,
            "file": Path(row.path).name, "sha256": row.sha256, "size": row.size,
            "created_at": row.created_ts.isoformat()}


def listing(store: Store) -> list[dict[str, Any]]:
    with store.session() as session:
        return [doc(r) for r in session.scalars(select(ReportFile).order_by(ReportFile.id.desc()))]


def find(store: Store, report_id: int) -> ReportFile | None:
    with store.session() as session:
        row = session.get(ReportFile, report_id)
        if row is not None:
            session.expunge(row)
        return row
