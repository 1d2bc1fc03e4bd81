"""`opsmon incidents show` and `opsmon survey results` read without SQLAlchemy (issue 25 item 2) and give what the
ORM and the whole SLA measurement gave, on SQLite and on the real PostgreSQL peer. show_incident() is two SQL
strings run by the plain driver (PlainStore) and by the collector's pooled connection (Store.reader(): the API's
GET /api/v1/incidents/{id} and the console's incident page); both are checked against the mapped classes read
through the ORM, as main read them. measure_surveys() is checked against measure()'s survey targets (main's
`survey results` measured the whole table, loading every interval, and kept those). The CLI prints the same bytes
on both databases.

The estate (T0 = 2026-12-06 00:00 UTC, 08:00 in Shanghai):
  INC-1: sw-1 down, major, fault T0-2h-1min, opened T0-2h, deadline T0-1h30min, acknowledged T0-1h by ui:wang.fang
    (after its deadline: breached; response 3,600 s), resolved T0-30min by opsmon, closed T0, level 1, attached
    [INC-2], reopened once, note 换光模块, breached_ts T0-1h30min.
    Its trail (ids 1, 2, 4; id 3 is INC-2's): opened T0-2h by opsmon {}; acknowledged T0-1h by ui:wang.fang
    {"note": "在处理"}; note T0-30min by cli:li JSON null (read back as None, as the ORM reads it).
  INC-2: rt-9 hardware, no severity, opened T0-10min, open, no deadline (not breached), attached NULL (shown []),
    its trail: opened T0-10min by opsmon {"port": 3}.
  Survey 2026Q4 (2026-10-01 .. 2027-01-01 in Shanghai): research, finance, hr mailed and answered satisfied, fair,
    dissatisfied; ops not delivered, not answered. Sent 3, answered 3; (满意 + 基本满意) / answers = 2/3.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsmon.collector.core.errors import NotFound
from opsmon.collector.incidents.read import incident_doc, show_incident
from opsmon.collector.sla.engine import measure
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.results import SurveyDetail
from opsmon.collector.sla.survey import measure_surveys, read_surveys
from opsmon.collector.sla.targets import load_targets
from opsmon.collector.store import Store
from opsmon.collector.store import models as m
from opsmon.collector.store.dbapi import PlainStore
from tests.collector.store.plain_pair import cli_outputs, plain_store, postgres_estate, sqlite_estate
from tests.conftest import write_config

T0 = datetime(2026, 12, 6, tzinfo=UTC)
H, MIN = timedelta(hours=1), timedelta(minutes=1)
NOW = datetime(2026, 12, 7, tzinfo=UTC)  # inside 2026Q4: a period not complete, as of NOW
CONFIG = "timezone: Asia/Shanghai\n"
ARGVS = (("incidents", "show", "INC-1"), ("incidents", "show", "INC-1", "--format", "json"),
         ("incidents", "show", "INC-2"), ("survey", "results", "--period", "2026Q4"),
         ("survey", "results", "--period", "2026Q4", "--format", "json"),
         ("survey", "results", "--period", "2026Q4", "--lang", "en"))


def _populate(store: Store) -> None:
    q4 = (datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC))  # 2026Q4 in Shanghai
    with store.session.begin() as s:
        s.add(m.Incident(id="INC-1", asset_id="sw-1", kind="down", severity="major", status="closed",
                         cause="no answer", fault_ts=T0 - 2 * H - MIN, opened_ts=T0 - 2 * H,
                         deadline_ts=T0 - 90 * MIN, acknowledged_ts=T0 - H, acknowledged_by="ui:wang.fang",
                         resolved_ts=T0 - 30 * MIN, resolved_by="opsmon", closed_ts=T0, level=1, attached=["INC-2"],
                         reopened=1, note="换光模块", breached_ts=T0 - 90 * MIN))
        s.add(m.Incident(id="INC-2", asset_id="rt-9", kind="hardware", severity=None, status="open", cause="fan",
                         opened_ts=T0 - 10 * MIN, attached=None))
    with store.session.begin() as s:  # one at a time: the trail's ids are 1, 2, 3, 4
        for incident, ts, actor, action, detail in (
                ("INC-1", T0 - 2 * H, "opsmon", "opened", {}),
                ("INC-1", T0 - H, "ui:wang.fang", "acknowledged", {"note": "在处理"}),
                ("INC-2", T0 - 10 * MIN, "opsmon", "opened", {"port": 3}),
                ("INC-1", T0 - 30 * MIN, "cli:li", "note", None)):
            s.add(m.IncidentEvent(incident_id=incident, ts=ts, actor=actor, action=action, detail=detail))
            s.flush()
        for i, (department, score) in enumerate((("research", "satisfied"), ("finance", "fair"),
                                                 ("hr", "dissatisfied"), ("ops", None))):
            email = f"{department}@example.org"
            s.add(m.SurveyInvitation(nonce=f"n{i}", period="2026Q4", period_start=q4[0], period_end=q4[1],
                                     department=department, contact="王五", email=email, sent_ts=T0 - 24 * H,
                                     expires_ts=T0 + 30 * 24 * H, delivered=score is not None,
                                     error=None if score else "550 no such user"))
            if score:
                s.add(m.SurveyAnswer(period="2026Q4", period_start=q4[0], period_end=q4[1], department=department,
                                     email=email, score=score, comment="", answered_ts=T0 - 2 * H, nonce=f"n{i}"))


def _orm_show(full: Store, incident_id: str) -> dict[str, Any]:
    """show_incident() as main read it: the mapped classes through the ORM."""
    with full.session() as session:
        row = session.get(m.Incident, incident_id)
        assert row is not None
        doc = incident_doc(row)
        trail = select(m.IncidentEvent).where(m.IncidentEvent.incident_id == incident_id).order_by(m.IncidentEvent.id)
        doc["trail"] = [{"ts": e.ts.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                        for e in session.scalars(trail)]
    return doc


def _check(full: Store, plain: PlainStore) -> None:
    """Both stores give what the ORM gives and what the docstring lists."""
    orm = {i: _orm_show(full, i) for i in ("INC-1", "INC-2")}
    one, two = orm["INC-1"], orm["INC-2"]
    assert (one["breached"], one["response_seconds"], one["attached"], one["level"]) == (True, 3600, ["INC-2"], 1)
    assert one["breached_at"] == (T0 - 90 * MIN).isoformat() == "2026-12-05T22:30:00+00:00"
    assert [(e["ts"], e["action"], e["detail"]) for e in one["trail"]] == [
        ("2026-12-05T22:00:00+00:00", "opened", {}), ("2026-12-05T23:00:00+00:00", "acknowledged", {"note": "在处理"}),
        ("2026-12-05T23:30:00+00:00", "note", None)]
    assert (two["severity"], two["attached"], two["deadline"], two["breached"]) == (None, [], None, False)
    assert two["trail"] == [{"ts": "2026-12-05T23:50:00+00:00", "actor": "opsmon", "action": "opened",
                             "detail": {"port": 3}}]
    table = load_targets(Path(__file__).resolve().parents[3] / "rules" / "targets.yaml")
    period = parse_period("2026Q4", "Asia/Shanghai")
    whole = measure(full, table, period, NOW)
    surveys = tuple(t for t in whole.targets if t.measure == "survey")
    assert [(t.value, t.detail) for t in surveys] == [(2 / 3, SurveyDetail(sent=3, answered=3, satisfied=1, fair=1,
                                                                            dissatisfied=1))]
    for store in (plain, full):
        assert {i: show_incident(store, i) for i in orm} == orm
        with pytest.raises(NotFound, match="no incident 'nope'"):
            show_incident(store, "nope")
        assert measure_surveys(read_surveys(store, period), table, period, NOW).as_document() == {
            "period": whole.period.as_document(), "targets": [t.as_document() for t in surveys]}


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    yield from sqlite_estate(tmp_path_factory, "plain-reads-show", _populate, lambda _: CONFIG)


def test_show_and_survey_results_on_sqlite_give_what_the_orm_and_measure_gave(sqlite_store: tuple[Store, Path]) -> None:
    full, _ = sqlite_store
    with plain_store(full, "sqlite") as plain:
        _check(full, plain)


def test_incidents_show_and_survey_results_print_the_estate(sqlite_store: tuple[Store, Path],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Times in Shanghai (UTC+8): T0-2h is 2026-12-06 06:00:00+08:00, T0-90min 06:30, T0-1h 07:00."""
    out = dict(zip(ARGVS, cli_outputs(sqlite_store[1], capsys, ARGVS), strict=True))
    shown = out[("incidents", "show", "INC-1")].splitlines()
    assert "              id: INC-1" in shown and "        deadline: 2026-12-06 06:30:00+08:00" in shown
    assert " acknowledged_at: 2026-12-06 07:00:00+08:00" in shown  # keys right-aligned to 16 characters
    assert shown[-4:] == ["trail:", "  2026-12-06 06:00:00+08:00 opsmon opened {}",
                          '  2026-12-06 07:00:00+08:00 ui:wang.fang acknowledged {"note": "在处理"}',
                          "  2026-12-06 07:30:00+08:00 cli:li note null"]
    assert '"breached_at": "2026-12-06T06:30:00+08:00"' in out[("incidents", "show", "INC-1", "--format", "json")]
    assert "severity" not in out[("incidents", "show", "INC-2")]  # None is not printed; level 0 is
    assert "           level: 0" in out[("incidents", "show", "INC-2")].splitlines()
    # 2/3 = 66.667 %, from 3 answers of the 3 reached; below the bundled target's 95 %
    assert "(n=3/3)" in out[("survey", "results", "--period", "2026Q4", "--lang", "en")]
    assert out[("survey", "results", "--period", "2026Q4")].startswith("2026Q4  服务对象满意度  66.")
    assert '"value": 0.6666666666666666' in out[("survey", "results", "--period", "2026Q4", "--format", "json")]


def test_show_and_survey_results_on_postgresql_give_what_the_orm_and_sqlite_gave(
        postgres_url: str, sqlite_store: tuple[Store, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same estate on the real PostgreSQL peer: the same answers, and the CLI prints the same bytes as on
    SQLite (psycopg through the plain driver)."""
    with postgres_estate(postgres_url, "plain_reads_show", _populate) as (full, url):
        with plain_store(full, "postgresql") as plain:
            _check(full, plain)
        config = write_config(tmp_path, f"{CONFIG}database:\n  url: {url}\n")
        assert _timeless(cli_outputs(config, capsys, ARGVS)) == _timeless(cli_outputs(sqlite_store[1], capsys, ARGVS))


def _timeless(outputs: list[str]) -> list[str]:
    """The outputs without the line of survey results' JSON that says when it ran ("as_of": min(now, the end of
    2026Q4)), which differs between two runs while 2026Q4 lasts."""
    return ["".join(line for line in out.splitlines(keepends=True) if '"as_of": ' not in line) for out in outputs]
