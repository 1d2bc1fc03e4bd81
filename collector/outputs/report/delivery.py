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

from opsmon.collector.sla.periods import Period, containing
from opsmon.collector.store import Store
from opsmon.collector.store.models import ReportFile

log = logging.getLogger(__name__)


def last_complete(kind: str, now: datetime, tz: str) -> Period:
    """The latest period of `kind` that has ended by `now`."""
    return containing(kind, containing(kind, now, tz).start - timedelta(seconds=1), tz)


MEDIA = {"pdf": "application/pdf", "html": "text/html; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
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
    for kind in settings.periods:
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


def previous(period: Period) -> Period:
    return containing(period.kind, period.start - timedelta(seconds=1), period.timezone)


def _kind_of(label: str) -> str:
    """A stored report's period kind from its label: 2026, 2026Q3, 2026-07."""
    return "range" if "/" in label else "quarter" if "Q" in label else "month" if "-" in label else "year"


def generate(config: Any, store: Store, period: Period, lang: str, now: datetime | None = None) -> list[dict]:
    """Render and record one period in one language (blocking: run it off the event loop)."""
    from opsmon.collector.outputs.report import build_report, write_report

    now = now or datetime.now(UTC)
    folder = config.resolve(config.reports.folder) / period.label
    data = build_report(store, config, period, lang, now)
    written = write_report(data, config.reports.formats, folder)
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
    if config.reports.mail_channel:
        mail(config, period, lang, [path for path, _ in written])
    return docs


def mail(config: Any, period: Period, lang: str, files: list[Path]) -> None:
    """Send the files through the configured e-mail channel; a failure is logged, the files stay listed."""
    from opsmon.collector.notify import build_channels
    from opsmon.collector.notify.base import DeliveryError

    channel = build_channels(config.notify, Path(config.base_dir or "."), config.source_file or "collector.yaml")[
        config.reports.mail_channel]
    subject = (f"{config.organisation} SLA 合规报告 {period.label}" if lang == "zh"
               else f"{config.organisation} SLA compliance report {period.label}")
    body = (f"附件为 {period.label} 的 SLA 合规报告（{', '.join(p.suffix.lstrip('.') for p in files)}）。\n"
            f"The SLA compliance report for {period.label} is attached.\n")
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
