"""The satisfaction target measured from the survey's answers, computed by hand, in-process with a fake clock.

Rule (docs/sla.md): value = (满意 + 基本满意) / answers of the periods inside the measured one; the sample
size is answers of contacts the mail reached; nobody answered is no data, never a pass.
"""
from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from opsmon.collector.cli import main
from opsmon.collector.core.signing import LinkRefused
from opsmon.collector.sla.engine import measure
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.render import render_table
from opsmon.collector.sla.targets import TargetTable
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.models import AuditEntry
from opsmon.collector.store.surveys import SurveyLinks, answers
from tests.conftest import utc, write_config

TZ = "Asia/Shanghai"
TABLE = TargetTable.model_validate({"targets": [
    {"id": "satisfaction", "name_zh": "服务对象满意度", "name_en": "Satisfaction", "measure": "survey",
     "comparator": ">=", "threshold": 0.95}]})
SENT = utc(2026, 10, 2, 1)  # 2026Q3 ended 2026-09-30T16:00Z; its survey goes out on 2 October


def test_figure_with_sample_size_second_answer_refused_and_no_data(store: Store, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    links = SurveyLinks(store, b"k" * 32, ttl=30 * 86400)
    q3, q4 = parse_period("2026Q3", TZ), parse_period("2026Q4", TZ)
    tokens = []
    for i in range(10):  # 10 contacts invited; the mail to the 10th failed: m = 9
        nonce, token = links.invite(q3, f"dept{i % 3}", f"person {i}", f"P{i}@Env.gov.cn", SENT)
        links.mark(nonce, None if i < 9 else "mail.example: 550 no such user")
        tokens.append(token)
    # 7 of the 9 answer: 5 满意, 1 基本满意, 1 不满意
    scores = ["satisfied"] * 5 + ["fair", "dissatisfied"]
    for i, score in enumerate(scores):
        links.answer(tokens[i], score, "回复及时" if i == 0 else "", SENT + timedelta(days=1, minutes=i))
    # a second answer of contact 0 for Q3, by the same link and by a second link sent to the same contact
    with pytest.raises(LinkRefused) as replay:
        links.answer(tokens[0], "dissatisfied", "", SENT + timedelta(days=2))
    _, resent = links.invite(q3, "dept0", "person 0", "p0@env.gov.cn", SENT + timedelta(days=2))
    with pytest.raises(LinkRefused) as second:
        links.answer(resent, "dissatisfied", "", SENT + timedelta(days=2))
    assert replay.value.status == second.value.status == 409
    # an answer past the link's 30 days is refused too (410)
    with pytest.raises(LinkRefused) as late:
        links.answer(tokens[8], "satisfied", "", SENT + timedelta(days=30))
    assert late.value.status == 410

    # Q3: value = (5 + 1) / 7 = 0.857142..., n = 7 answers of 9 contacts reached -> fail (< 0.95)
    now = utc(2026, 12, 1)
    t = measure(store, TABLE, q3, now).target("satisfaction")
    assert t.value == pytest.approx(6 / 7) and (t.status, t.passed) == ("fail", False)
    assert t.as_document()["detail"] == {"sent": 9, "answered": 7, "satisfied": 5, "fair": 1, "dissatisfied": 1}
    assert "85.714% (n=7/9)" in render_table(measure(store, TABLE, q3, now))

    # Q4: 3 contacts mailed, nobody answered -> no data with n=0/3, never a pass
    for i in range(3):
        links.mark(links.invite(q4, "dept0", f"person {i}", f"p{i}@env.gov.cn", utc(2027, 1, 2))[0], None)
    t4 = measure(store, TABLE, q4, utc(2027, 1, 3)).target("satisfaction")
    assert (t4.value, t4.status, t4.passed, t4.detail.sample) == (None, "no_data", False, "0/3")  # type: ignore[union-attr]
    assert "- (n=0/3)" in render_table(measure(store, TABLE, q4, utc(2027, 1, 3)), "zh")
    # The year 2026 holds Q3 and Q4: 7 answers (the same 6 satisfied) of 9 + 3 = 12 contact-periods
    year = measure(store, TABLE, parse_period("2026", TZ), utc(2027, 1, 3)).target("satisfaction")
    assert (year.value, year.detail.sample) == (pytest.approx(6 / 7), "7/12")  # type: ignore[union-attr]

    # `opsmon survey list` (in-process): one row per contact and period, the failed mail with its reason
    write_config(tmp_path, "timezone: Asia/Shanghai\ndatabase:\n  path: opsmon.db\n")
    assert main(["--config", str(tmp_path / "collector.yaml"), "survey", "list", "--period", "2026Q3"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1 + 10 and listed[0].split()[:3] == ["PERIOD", "DEPARTMENT", "CONTACT"]
    assert sum(bool(re.search(r"(?<!dis)satisfied\b", line)) for line in listed) == 5
    assert "no: mail.example: 550 no such user" in [line for line in listed if "p9@env.gov.cn" in line][0]

    with store.session() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        audit = [(a.actor, a.action, a.detail.get("status")) for a in rows]
    assert audit.count(("survey:p0@env.gov.cn", "survey.refused", 409)) == 2
    assert ("survey:p8@env.gov.cn", "survey.refused", 410) in audit  # an expired link still names its contact
    assert sum(1 for a in audit if a[1] == "survey.answer") == 7


def _answer(links: SurveyLinks, barrier: threading.Barrier, outcome: list[object], token: str, score: str) -> None:
    """One of two answers at the same moment: the contact's e-mail when kept, the refusal's status when not."""
    barrier.wait()
    try:
        outcome.append(links.answer(token, score, "", SENT + timedelta(hours=1)).email)
    except LinkRefused as exc:
        outcome.append(exc.status)


def test_one_answer_per_contact_and_period_on_postgresql(postgres_url: str) -> None:
    """PostgreSQL keeps one answer per contact and period when two links of the contact are answered at the
    same moment (two threads behind a barrier, 5 contacts): each time exactly one answer is kept and the other
    is refused with 409, and every refusal's audit entry survives the failed insert's rollback."""
    pg = open_store(postgres_url)
    try:
        links = SurveyLinks(pg, b"p" * 32, ttl=86400)
        q3 = parse_period("2026Q3", TZ)
        run = uuid.uuid4().hex[:8]  # the session's database is shared: contacts of this run's own
        for i in range(5):
            email = f"pg{i}-{run}@env.gov.cn"
            tokens = [links.invite(q3, "law", "张三", email, SENT)[1] for _ in range(2)]
            barrier = threading.Barrier(2)
            outcome: list[object] = []
            threads = [threading.Thread(target=_answer, args=(links, barrier, outcome, t, s))
                       for t, s in zip(tokens, ("fair", "satisfied"), strict=True)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            assert sorted(outcome, key=str) == sorted([409, email], key=str), outcome
            assert len([a for a in answers(pg, q3.start, q3.end) if a.email == email]) == 1
            with pg.session() as s:
                refused = s.scalars(select(AuditEntry).where(AuditEntry.actor == f"survey:{email}",
                                                             AuditEntry.action == "survey.refused")).all()
            assert [r.detail["status"] for r in refused] == [409]
    finally:
        pg.close()
