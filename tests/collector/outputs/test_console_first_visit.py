"""A console page about a period not yet measured, in process: it answers at once that its figures are being
measured and reloads itself; then it shows them; a period whose figures only aged shows the last ones, said so.
The SLA engine is held on an Event (as a slow estate holds it) so each state is seen for certain.

The estate of tests/collector/sla/test_period_cache.py: srv up through 2026Q3 but down 08-01..08-02, so
servers (the one target) = 91/92 = 98.913 % for the quarter and 30/31 = 96.774 % for August."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opsmon.collector.config.schema import ConsoleConfig
from opsmon.collector.sla import cache as cache_module
from opsmon.collector.sla.cache import Answer, PeriodCache, offered
from opsmon.collector.store import Store, users
from tests.collector.sla.test_period_cache import seeded
from tests.collector.sla.test_sla_scenarios import AFTER

PASSWORD = "correct-horse-1"


class Face:
    """The part of the collector's face these pages read, over the store and a clock the test moves."""

    def __init__(self, store: Store, path: Path) -> None:
        self.store, self.timezone, self.console, self.path = store, "Asia/Shanghai", ConsoleConfig(), path
        self.clock: datetime = AFTER
        self.periods = PeriodCache(60.0)

    def now(self) -> datetime:
        return self.clock

    def targets_path(self) -> Path:
        return self.path

    def offered(self, period: Any, target: str | None = None) -> Answer:
        return offered(self.periods, None, self.store, self.path, period, self.clock, target)


def logged_in(face: Face) -> TestClient:
    """The console's pages over `face`, for operator ops logged in (a day's account, a session from AFTER)."""
    from opsmon.collector.outputs.ui import pages

    users.add(face.store, "ops", "operator", PASSWORD, "test", AFTER - timedelta(days=1))
    session = users.login(face.store, "ops", PASSWORD, AFTER, 5, 900.0, 43200.0).session
    assert session is not None
    app = FastAPI()
    pages.mount(app, face)  # type: ignore[arg-type] - the pages read only these
    client = TestClient(app, base_url="http://127.0.0.1")
    client.cookies.set("opsmon_session", session, path="/ui")
    return client


def test_a_first_visit_answers_at_once_and_reloads_until_its_figures_are_there(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held: the click-through of servers over 2026Q3 and the table of 2026-08 each answer 200 with the
    "computing" note and a 2 s reload, the period's label in place, no figure. Released: the same pages show
    98.913 % and 96.774 %, no reload. An hour later (2026Q3 is settled: kept SETTLED = 3600 s) and held again:
    the click-through shows the last figures, 98.913 %, with the "refreshing" note and the reload."""
    path = seeded(store, tmp_path)
    real, release = cache_module.measured_with, threading.Event()

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_module, "measured_with", held)
    face = Face(store, path)
    client = logged_in(face)
    reload = '<meta http-equiv="refresh" content="2">'
    click, month = "/ui/targets/servers?period=2026Q3", "/ui/?period=2026-08"
    for page, label in ((click, "服务器 · 2026Q3"), (month, '<span id="period-label">2026-08</span>')):
        answer = client.get(page)
        assert answer.status_code == 200 and 'id="computing"' in answer.text and reload in answer.text
        assert label in answer.text and "%" not in answer.text.split("</form>", 1)[1]
    release.set()
    for page, figure in ((click, '<dd id="figure">98.913%</dd>'), (month, '<td class="num">96.774%</td>')):
        answer = client.get(page)
        for _ in range(100):  # the measurement started above may still be finishing (each ask waits 0.1 s)
            if 'id="computing"' not in answer.text:
                break
            answer = client.get(page)
        assert figure in answer.text and reload not in answer.text and 'id="refreshing"' not in answer.text
    release.clear()
    face.clock = AFTER + timedelta(seconds=3600)
    answer = client.get(click)
    assert 'id="refreshing"' in answer.text and '<dd id="figure">98.913%</dd>' in answer.text
    assert reload in answer.text
    release.set()


def test_a_failing_measurement_is_named_and_the_trail_empties_nothing(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine raising ("database gone"): the table of 2026-08 answers 200 naming the error in Chinese, then
    (ops switched to en) in English, with a 30 s reload (FAILED_FOR), no figure, and no second try (1 call: the
    failure is remembered). The engine back and the failure forgotten: 96.774 % (30/31), no reload. Then a
    notice delivered and an escalation step on an incident (its trail: no figure changes): the page is still
    current, 96.774 %, no reload and no second measurement."""
    from opsmon.collector.store.models import IncidentEvent

    path = seeded(store, tmp_path)
    real, calls = cache_module.measured_with, []

    def gone(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise RuntimeError("database gone")

    monkeypatch.setattr(cache_module, "measured_with", gone)
    face = Face(store, path)
    client = logged_in(face)
    month = "/ui/?period=2026-08"
    answer = client.get(month)
    for _ in range(100):  # the failing job may take longer than the page's 0.1 s under load
        if 'id="failed"' in answer.text:
            break
        answer = client.get(month)
    assert answer.status_code == 200 and "该考核期的指标计算失败" in answer.text and "database gone" in answer.text
    assert '<meta http-equiv="refresh" content="30">' in answer.text and "%" not in answer.text.split("</form>", 1)[1]
    users.set_lang(store, "ops", "en", "ui", AFTER)  # a console.* entry: changes no stamp either
    answer = client.get(month)
    assert "Measuring the figures of this period failed" in answer.text and "database gone" in answer.text
    assert len(calls) == 1
    monkeypatch.setattr(cache_module, "measured_with", real)
    monkeypatch.setattr(cache_module, "FAILED_FOR", 0.0)
    figure = '<td class="num">96.774%</td>'
    answer = client.get(month)
    for _ in range(100):
        if figure in answer.text:
            break
        answer = client.get(month)
    assert figure in answer.text and "refresh" not in answer.text and face.periods.measurements == 1
    with store.session() as s:
        for action in ("delivered", "escalated"):
            s.add(IncidentEvent(incident_id="INC-1", ts=AFTER, actor="system", action=action, detail={}))
        s.commit()
    answer = client.get(month)
    assert figure in answer.text and "refresh" not in answer.text and face.periods.measurements == 1
