"""Scheduled reports in a real collector: after the period's end they are generated once per language,
kept with their SHA-256, listed and downloaded from the API (bytes equal to the checksum)."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from opsmon.collector.sla.periods import last_complete
from tests.peers.collector import wait_for

pytest.importorskip("weasyprint")


def test_last_complete_period_in_the_configured_timezone() -> None:
    # 2026-10-01 01:00 in Shanghai is still 2026-09-30 in UTC: Q3 has ended there.
    now = datetime(2026, 9, 30, 17, 0, tzinfo=UTC)
    assert last_complete("quarter", now, "Asia/Shanghai").label == "2026Q3"
    assert last_complete("quarter", now, "UTC").label == "2026Q2"
    assert last_complete("month", now, "Asia/Shanghai").label == "2026-09"
    assert last_complete("year", now, "Asia/Shanghai").label == "2025"


def test_due_catches_up_every_missed_period_but_no_history_on_a_new_install(store, tmp_path) -> None:
    from types import SimpleNamespace

    from opsmon.collector.outputs.report.delivery import due
    from opsmon.collector.store.models import ReportFile

    settings = SimpleNamespace(periods=["month", "quarter"], langs=["zh", "en"], delay=3 * 86400)
    config = SimpleNamespace(reports=settings, timezone="Asia/Shanghai")
    now = datetime(2026, 11, 5, 4, 0, tzinfo=UTC)  # Nov 5 12:00 in Shanghai; October ended 4.5 days ago

    def labels() -> list[tuple[str, str]]:
        return [(p.label, lang) for p, lang in due(config, store, now)]

    # Nothing ever delivered: the newest period of each kind only; within October's delay, nothing for
    # months yet (September would be an older period than a new installation should start with).
    assert labels() == [("2026-10", "zh"), ("2026-10", "en"), ("2026Q3", "zh"), ("2026Q3", "en")]
    early = now
    now = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
    assert labels() == [("2026Q3", "zh"), ("2026Q3", "en")]
    now = early
    # August delivered (both languages), then the collector was down: September and October, oldest first;
    # the quarter still only Q3. A language added later is generated for the newest period only.
    with store.session() as session:
        for label, lang in (("2026-08", "zh"), ("2026-08", "en"), ("2026Q2", "zh")):
            session.add(ReportFile(period=label, lang=lang, format="html", path="/x", sha256="0" * 64, size=1,
                                   created_ts=now))
        session.commit()
    assert labels() == [("2026-09", "zh"), ("2026-09", "en"), ("2026-10", "zh"), ("2026-10", "en"),
                        ("2026Q3", "zh"), ("2026Q3", "en")]
    # Once those are delivered, nothing more is due: the walk stops at the newest delivered period.
    with store.session() as session:
        for label in ("2026-09", "2026-10", "2026Q3"):
            for lang in ("zh", "en"):
                session.add(ReportFile(period=label, lang=lang, format="html", path="/x", sha256="0" * 64, size=1,
                                       created_ts=now))
        session.commit()
    assert labels() == []
    # English added to a configuration that had only Chinese: the newest period of each kind only.
    with store.session() as session:
        session.query(ReportFile).filter(ReportFile.lang == "en").delete()
        session.commit()
    assert labels() == [("2026-10", "en"), ("2026Q3", "en")]
    with store.session() as session:
        session.query(ReportFile).filter(ReportFile.period.in_(["2026-09", "2026-10", "2026Q3"])).delete()
        session.commit()
    # Before October's delay is over (it ended Oct 31 16:00Z; + 3 d = Nov 3 16:00Z), only September is due.
    now = datetime(2026, 11, 3, 15, 59, tzinfo=UTC)
    assert labels()[:2] == [("2026-09", "zh"), ("2026-09", "en")] and ("2026-10", "zh") not in labels()


def test_reports_generated_listed_and_downloaded(collector_factory, tmp_path) -> None:
    c = collector_factory("assets: []\n", extra=(
        "api:\n  public_read: true\n"
        f"reports:\n  enabled: true\n  periods: [month]\n  langs: [zh, en]\n  formats: [html, xlsx]\n"
        f"  folder: {tmp_path / 'reports'}\n  delay: 0s\n"))
    c.start()
    rows = wait_for(lambda: (lambda r: r if len(r) == 4 else None)(c.get("/api/v1/reports").json()), 90,
                    "two languages x two formats of last month's report")
    assert {(r["lang"], r["format"]) for r in rows} == {("zh", "html"), ("zh", "xlsx"), ("en", "html"), ("en", "xlsx")}
    assert len({r["period"] for r in rows}) == 1
    for row in rows:
        answer = c.get(f"/api/v1/reports/{row['id']}")
        assert answer.status_code == 200
        assert hashlib.sha256(answer.content).hexdigest() == row["sha256"] == answer.headers["X-Opsmon-SHA256"]
    assert c.get("/api/v1/reports/99999").status_code == 404
    # A restart does not generate the same period again (the check after start has run, and found nothing).
    c.stop()
    c.start()
    wait_for(lambda: c.get("/api/v1/health").json()["reports_checked"], 60, "the scheduled check after start")
    assert len(c.get("/api/v1/reports").json()) == 4


def test_reports_are_mailed_through_an_email_channel(collector_factory, tmp_path) -> None:
    import email
    import email.policy

    from tests.peers.smtp import SmtpServer

    server = SmtpServer(None).start()
    try:
        c = collector_factory("assets: []\n", extra=(
            "api:\n  public_read: true\n"
            f"notify:\n  channels:\n    mail: {{type: email, host: 127.0.0.1, port: {server.port}, security: none, "
            "sender: opsmon@it.example.gov.cn, to: [director@it.example.gov.cn]}\n"
            f"reports:\n  enabled: true\n  periods: [month]\n  langs: [zh]\n  formats: [html, xlsx, docx]\n"
            f"  folder: {tmp_path / 'reports'}\n  delay: 0s\n  mail_channel: mail\n"))
        c.start()
        wait_for(lambda: server.mailbox.messages, 90, "the report mail")
    finally:
        server.stop()
    _from, rcpt, raw = server.mailbox.messages[0]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert rcpt == ["director@it.example.gov.cn"] and "SLA 合规报告" in msg["Subject"]
    names = sorted(part.get_filename() for part in msg.iter_attachments())
    # the editable DOCX is attached too (issue 21 item 9), as a Word document
    assert [n.rsplit(".", 1)[1] for n in names] == ["docx", "html", "xlsx"]
    [word] = [p for p in msg.iter_attachments() if p.get_filename().endswith(".docx")]
    assert word.get_content_type() == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
