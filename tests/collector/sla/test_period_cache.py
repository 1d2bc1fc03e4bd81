"""The period cache (opsmon.collector.sla.cache): a measured period is reused until a change can move its figures,
in process with a fake clock. Quarter 2026Q3 in Asia/Shanghai (S..E, 92 days): srv is up through the quarter
but down 08-01..08-02 (1 day), so servers = 91/92 = 0.98913; figures by hand below.
"""
from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from opsmon.collector.sla.cache import SETTLED, SIZE, PeriodCache, table_of
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.store import Store
from opsmon.collector.store.exclusions import ExclusionRequest, approve_exclusion, request_exclusion
from tests.collector.sla.test_sla_scenarios import AFTER, E, S, seed
from tests.conftest import utc

Q3 = parse_period("2026Q3", "Asia/Shanghai")
Q4 = parse_period("2026Q4", "Asia/Shanghai")
TARGETS = {"coverage_floor": 0.9, "targets": [
    {"id": "servers", "name_zh": "服务器", "name_en": "Servers", "measure": "availability",
     "scope": {"categories": ["server"]}, "comparator": ">=", "threshold": 0.95}]}


def seeded(store: Store, tmp_path: Path, incidents: list = ()) -> Path:  # type: ignore[assignment]
    seed(store, [("srv", "server", S - timedelta(days=100), None)],
         [("srv", "up", S - timedelta(days=1), utc(2026, 8, 1)), ("srv", "down", utc(2026, 8, 1), utc(2026, 8, 2)),
          ("srv", "up", utc(2026, 8, 2), None)], incidents)
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(TARGETS, allow_unicode=True), encoding="utf-8")
    return path


def value(cache: PeriodCache, store: Store, path: Path, now, live: bool = False) -> float | None:  # type: ignore[no-untyped-def]
    return cache.measured(store, path, Q3, now, live).result.target("servers").value


def test_a_closed_quarter_is_measured_once_until_an_exclusion_changes_it(store: Store, tmp_path: Path) -> None:
    """Closed, nothing unacknowledged: settled. Asked three times (by the console, the API, the click-through) it
    is measured once. An approved exclusion over the down day (two audit entries) empties it: up 91 d, the day
    taken out, 91/91 = 1.0, measured a second time. A settled entry ages out after SETTLED seconds (an hour)."""
    path = seeded(store, tmp_path)
    cache = PeriodCache(refresh=60.0)
    assert value(cache, store, path, AFTER) == pytest.approx(91 / 92)
    first = cache.measured(store, path, Q3, AFTER)
    assert cache.measured(store, path, Q3, AFTER + timedelta(minutes=30), live=True) is first  # settled: live too
    assert cache.measurements == 1
    doc = request_exclusion(store, ExclusionRequest("carrier cut", asset="srv", start=utc(2026, 8, 1),
                                                    end=utc(2026, 8, 2)), "cli:a", AFTER)
    approve_exclusion(store, int(str(doc["id"])), "cli:b", AFTER)
    assert value(cache, store, path, AFTER) == 1.0
    assert cache.measurements == 2
    assert value(cache, store, path, AFTER + timedelta(seconds=SETTLED - 1)) == 1.0 and cache.measurements == 2
    assert value(cache, store, path, AFTER + timedelta(seconds=SETTLED)) == 1.0 and cache.measurements == 3


def test_an_edited_target_table_is_measured_again(store: Store, tmp_path: Path) -> None:
    """The goal 0.95 -> 0.99 (a longer file): 91/92 = 0.98913 now fails, at once, with no audit entry."""
    path = seeded(store, tmp_path)
    cache = PeriodCache(refresh=60.0)
    assert cache.measured(store, path, Q3, AFTER).result.target("servers").passed is True
    path.write_text(yaml.safe_dump({**TARGETS, "targets": [{**TARGETS["targets"][0], "threshold": 0.99}]}),
                    encoding="utf-8")
    assert cache.measured(store, path, Q3, AFTER).result.target("servers").passed is False
    assert cache.measurements == 2


def test_an_unacknowledged_incident_or_a_running_period_is_kept_only_refresh_seconds(
        store: Store, tmp_path: Path) -> None:
    """An incident opened 09-10 and never acknowledged: its response time grows with the clock, so the closed
    quarter is not settled: reused 59 s later, measured again at 60 s (refresh 60). A running quarter (2026Q4,
    now 11-01) likewise; and `live` (the API) measures a running one afresh every time."""
    path = seeded(store, tmp_path, [("I1", "srv", "hardware", utc(2026, 9, 10), None)])
    cache = PeriodCache(refresh=60.0)
    value(cache, store, path, AFTER)
    value(cache, store, path, AFTER + timedelta(seconds=59))
    assert cache.measurements == 1
    value(cache, store, path, AFTER + timedelta(seconds=60))
    assert cache.measurements == 2
    now = utc(2026, 11, 1)
    cache.measured(store, path, Q4, now)
    cache.measured(store, path, Q4, now + timedelta(seconds=30))
    assert cache.measurements == 3
    cache.measured(store, path, Q4, now + timedelta(seconds=30), live=True)
    assert cache.measurements == 4


def test_this_quarter_comes_from_the_workers_snapshot(store: Store, tmp_path: Path) -> None:
    """table_of: the snapshot when it is the asked quarter (no measurement), the cache for any other period."""
    path = seeded(store, tmp_path)
    cache = PeriodCache(refresh=60.0)
    snapshot = cache.measured(store, path, Q3, E - timedelta(days=1)).result
    assert table_of(cache, snapshot, store, path, Q3, E - timedelta(days=1)) is snapshot
    month = parse_period("2026-08", "Asia/Shanghai")
    # August: 31 days, 1 down: 30/31
    assert table_of(cache, snapshot, store, path, month, AFTER).target("servers").value == pytest.approx(30 / 31)
    assert cache.measurements == 2


def test_the_per_period_locks_leave_with_their_requests(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One lock per period being measured, dropped when its last request leaves: over 24 months asked one after
    another (24 keys) the map of locks is empty after each (a lock left behind would count), never 24 locks; the
    entries stay at most SIZE (8). While a measurement is held inside the engine (the cache's measured_with,
    wrapped to wait on an Event), another thread reads 1 lock: the period in flight. Two threads asking for the
    same month at once share one measurement (settled: the second reuses the first's entry or waits on its lock)
    and leave no lock behind; August 2026 reads 30/31 (31 days, 1 down) to both."""
    from opsmon.collector.sla import cache as cache_module
    path = seeded(store, tmp_path)
    cache = PeriodCache(refresh=60.0)
    months = [parse_period(f"{y}-{m:02d}", "Asia/Shanghai") for y in (2025, 2026) for m in range(1, 13)]
    after_each = []
    for month in months:
        cache.measured(store, path, month, AFTER)
        after_each.append(cache.locks_held)
    assert after_each == [0] * 24 and cache.measurements == 24 and cache.entries_held == SIZE
    real, inside, release = cache_module.measured_with, threading.Event(), threading.Event()

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        inside.set()
        assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_module, "measured_with", held)
    q3 = threading.Thread(target=lambda: cache.measured(store, path, Q3, AFTER))
    q3.start()
    assert inside.wait(10)
    during = cache.locks_held  # read by this thread while Q3's measurement holds its lock
    release.set()
    q3.join()
    assert during == 1 and cache.locks_held == 0 and cache.measurements == 25
    monkeypatch.setattr(cache_module, "measured_with", real)
    august = parse_period("2026-08", "Asia/Shanghai")
    got: list[float | None] = []
    fresh = PeriodCache(refresh=60.0)
    workers = [threading.Thread(target=lambda: got.append(
        fresh.measured(store, path, august, AFTER).result.target("servers").value)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert got == [pytest.approx(30 / 31)] * 2
    assert fresh.measurements == 1 and fresh.locks_held == 0


def test_a_click_through_reads_only_its_targets_assets_until_the_period_is_measured(
        store: Store, tmp_path: Path) -> None:
    """srv (server, 91/92 as above) and sw, a network switch down the whole quarter (0 of 92 days up). servers'
    click-through with nothing cached measures that target alone over its scope: the Evaluation holds srv only
    (sw's sums are not asked for), the value is 91/92 as in the whole table, and it is kept (asked again: no new
    measurement). Once the whole period is measured (a second measurement: both assets), the click-through
    reads that entry (the very same object), not its own."""
    path = seeded(store, tmp_path)
    seed(store, [("sw", "network", S - timedelta(days=100), None)], [("sw", "down", S - timedelta(days=1), None)])
    cache = PeriodCache(refresh=60.0)
    alone = cache.measured(store, path, Q3, AFTER, target="servers")
    assert set(alone.evaluation.assets) == {"srv"} and set(alone.evaluation.times) == {"srv"}
    assert [t.id for t in alone.result.targets] == ["servers"]
    assert alone.result.target("servers").value == pytest.approx(91 / 92)
    assert cache.measured(store, path, Q3, AFTER, target="servers") is alone and cache.measurements == 1
    whole = cache.measured(store, path, Q3, AFTER)
    assert set(whole.evaluation.assets) == {"srv", "sw"} and cache.measurements == 2
    assert whole.result.target("servers").value == alone.result.target("servers").value
    assert cache.measured(store, path, Q3, AFTER, target="servers") is whole and cache.measurements == 2
    assert cache.locks_held == 0


def test_a_response_targets_click_through_reads_the_whole_period(store: Store, tmp_path: Path) -> None:
    """A response figure judges every asset's incidents, so its click-through has no scope to narrow to: it is the
    whole period's entry (one measurement, holding the table's targets), which the table then reuses."""
    path = seeded(store, tmp_path)
    path.write_text(yaml.safe_dump({**TARGETS, "targets": [*TARGETS["targets"], {
        "id": "responses", "name_zh": "响应", "name_en": "Responses", "measure": "response_rate", "limit": 1800,
        "comparator": ">=", "threshold": 0.9}]}, allow_unicode=True), encoding="utf-8")
    cache = PeriodCache(refresh=60.0)
    clicked = cache.measured(store, path, Q3, AFTER, target="responses")
    assert [t.id for t in clicked.result.targets] == ["servers", "responses"]
    assert cache.measured(store, path, Q3, AFTER) is clicked and cache.measurements == 1


def test_a_target_removed_while_its_click_through_is_measured_is_no_error(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """targets.yaml loses `servers` (a person edits it) right after the click-through has read the table. The
    click-through measures from that one reading (the file is parsed once: one load), so `servers` alone over
    its scope, 91/92 as above, instead of a KeyError (a 500 on /ui/targets/servers). The next click-through
    sees the new file (another mtime and size: another key): `servers` is no availability target there, so it
    reads the whole period, which holds only `other` (the console answers 404 for a target not in the result)."""
    from opsmon.collector.sla import cache as cache_module
    path = seeded(store, tmp_path)
    real, loads = cache_module.load_targets, []

    def load_then_edit(where: Path):  # type: ignore[no-untyped-def]
        table = real(where)
        loads.append(where)
        if len(loads) == 1:  # the person's edit lands just after the first reading
            path.write_text(yaml.safe_dump({**TARGETS, "targets": [{**TARGETS["targets"][0], "id": "other"}]},
                                           allow_unicode=True), encoding="utf-8")
        return table

    monkeypatch.setattr(cache_module, "load_targets", load_then_edit)
    cache = PeriodCache(refresh=60.0)
    alone = cache.measured(store, path, Q3, AFTER, target="servers")
    assert [t.id for t in alone.result.targets] == ["servers"] and len(loads) == 1
    assert alone.result.target("servers").value == pytest.approx(91 / 92)
    after = cache.measured(store, path, Q3, AFTER, target="servers")
    assert [t.id for t in after.result.targets] == ["other"] and len(loads) == 2
    assert cache.locks_held == 0


def test_a_page_never_waits_on_the_engine_longer_than_it_is_told(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ask() (the console's read) over the running quarter 2026Q4 (now 11-01: srv up since 09-30, 1.0), with the
    engine held inside measured_with on an Event, as a slow estate would hold it:
    - first ask: nothing cached, the measurement starts in the background, the page gets no result after its
      0.05 s (computing); released, the measurement fills the cache: the next ask is current (1.0), one
      measurement, and it is the one the background ran;
    - 60 s later (refresh 60: only the clock moved), held again: the page gets the previous result at once, not
      current (refreshing); released, current again (2 measurements);
    - an audit entry of a person's change (a pending exclusion request) after that: held again, the page gets
      NO result, never the figures from before the change (3 measurements once released);
    - a login and a logout (console.* entries: a session, no figure) empty nothing: no 4th measurement."""
    from opsmon.collector.sla import cache as cache_module
    from opsmon.collector.store import users

    path = seeded(store, tmp_path)
    users.add(store, "ops", "operator", "correct-horse-1", "test", utc(2026, 10, 1))
    real, release = cache_module.measured_with, threading.Event()

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_module, "measured_with", held)
    cache = PeriodCache(refresh=60.0)
    now = utc(2026, 11, 1)

    def settle(at):  # type: ignore[no-untyped-def]
        release.set()
        answer = cache.ask(store, path, Q4, at, within=10)
        release.clear()
        return answer

    first = cache.ask(store, path, Q4, now, within=0.05)
    assert (first.result, first.evaluation, first.fresh) == (None, None, False)
    done = settle(now)
    assert done.fresh and done.result is not None and done.result.target("servers").value == 1.0
    assert done.evaluation is not None and cache.measurements == 1
    later = now + timedelta(seconds=60)
    aged = cache.ask(store, path, Q4, later, within=0.05)
    assert aged.result is done.result and not aged.fresh
    assert settle(later).fresh and cache.measurements == 2
    request_exclusion(store, ExclusionRequest("carrier cut", asset="srv", start=utc(2026, 10, 5),
                                              end=utc(2026, 10, 6)), "ui:ops", later)
    changed = cache.ask(store, path, Q4, later, within=0.05)
    assert changed.result is None and not changed.fresh
    assert settle(later).fresh and cache.measurements == 3
    session = users.login(store, "ops", "correct-horse-1", later, 5, 900.0, 43200.0).session
    assert session is not None
    users.logout(store, session, "ui", later)
    assert cache.ask(store, path, Q4, later, within=0.05).fresh and cache.measurements == 3
    assert cache.locks_held == 0


def test_the_collector_warms_this_quarter_for_the_click_throughs(store: Store, tmp_path: Path) -> None:
    """warm() measures the whole quarter in the background (what the collector does at its start); once done, a
    click-through of servers reads that entry (the same object), no measurement of its own; warming a period
    whose entry holds does nothing (None)."""
    path = seeded(store, tmp_path)
    cache = PeriodCache(refresh=60.0)
    job = cache.warm(store, path, Q3, AFTER)
    assert job is not None
    whole = job.result(timeout=10)
    assert cache.ask(store, path, Q3, AFTER, target="servers").evaluation is whole.evaluation
    assert cache.warm(store, path, Q3, AFTER) is None and cache.measurements == 1


def test_the_incident_trail_moves_no_stamp_and_one_job_waits_per_period(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notices delivered or failed and escalation steps (an incident event each, every few seconds while
    incidents are active) change no figure: the change stamp stays, so a cached figure still counts as "only the
    clock moved". A person's acknowledgement (an incident event `acknowledged`) moves it.

    The one-at-a-time lock held by the test (as a long measurement of another period holds it), the stamp moved
    three times by a person's change (three exclusion requests): the period's background job is queued once
    and every later request joins it (the same future, one thread); released, it measures once, as of the
    newest stamp, so the next ask is current without a second measurement (1 measurement, 1 full collection).
    Then the lock held again, a change, a job queued; the API measures that stamp on the request meanwhile (2);
    released, the queued job finds the entry there: no measurement, no collection (still 2 and 1)."""
    from opsmon.collector.sla import cache as cache_module
    from opsmon.collector.sla.cache import TRAIL_ACTIONS, change_stamp
    from opsmon.collector.store.models import IncidentEvent

    path = seeded(store, tmp_path)
    now = utc(2026, 11, 1)
    settles = []
    monkeypatch.setattr(cache_module, "_settle_heap", lambda: settles.append(1))
    before = change_stamp(store)
    with store.session() as session:
        for action in TRAIL_ACTIONS:
            session.add(IncidentEvent(incident_id="INC-1", ts=now, actor="system", action=action, detail={}))
        session.commit()
    assert change_stamp(store) == before
    with store.session() as session:
        session.add(IncidentEvent(incident_id="INC-1", ts=now, actor="ops", action="acknowledged", detail={}))
        session.commit()
    moved = change_stamp(store)
    assert moved[0] == before[0] and moved[1] > before[1]

    cache = PeriodCache(refresh=60.0)
    cache._one.acquire()
    try:
        futures = []
        for day in (5, 6, 7):
            request_exclusion(store, ExclusionRequest("carrier cut", asset="srv", start=utc(2026, 10, day),
                                                      end=utc(2026, 10, day + 1)), "ui:ops", now)
            assert cache.ask(store, path, Q4, now, within=0.01).result is None
            futures.append(cache.warm(store, path, Q4, now))
        assert futures[0] is not None and futures[0] is futures[1] is futures[2]
        assert sum(t.name == "opsmon-period-cache" for t in threading.enumerate()) == 1
    finally:
        cache._one.release()
    assert futures[0].result(timeout=10).result.target("servers").value == 1.0  # up since 09-30
    finished(cache)
    assert cache.measurements == 1 and len(settles) == 1
    assert cache.ask(store, path, Q4, now).fresh and cache.measurements == 1
    cache._one.acquire()
    try:
        request_exclusion(store, ExclusionRequest("carrier cut", asset="srv", start=utc(2026, 10, 9),
                                                  end=utc(2026, 10, 10)), "ui:ops", now)
        job = cache.warm(store, path, Q4, now)
        assert job is not None
        cache.measured(store, path, Q4, now)  # the API, on the request
        assert cache.measurements == 2
    finally:
        cache._one.release()
    job.result(timeout=10)
    finished(cache)
    assert cache.measurements == 2 and len(settles) == 1


def finished(cache: PeriodCache) -> None:
    """Wait for the background jobs' threads: a job's result is out before its collection runs."""
    for thread in threading.enumerate():
        if thread.name == "opsmon-period-cache":
            thread.join(10)


def test_this_quarters_snapshot_is_shown_only_while_nothing_changed_since_it_was_measured(
        store: Store, tmp_path: Path) -> None:
    """offered(): the SLA worker's snapshot of 2026Q3 (91/92) while the basis noted before its measurement is
    still the store's; after an approved exclusion of the down day (91/91 = 1.0) the table reads the cache,
    never the snapshot's 91/92; a snapshot with no basis noted (the service clears it while it replaces the
    snapshot) reads the cache too; an edit of targets.yaml (another mtime and size) likewise."""
    from opsmon.collector.sla.cache import basis, offered

    path = seeded(store, tmp_path)
    cache = PeriodCache(refresh=60.0)
    noted = basis(store, path)
    snapshot = cache.measured(store, path, Q3, AFTER).result
    assert offered(cache, snapshot, store, path, Q3, AFTER, snapshot_basis=noted).result is snapshot
    assert offered(cache, snapshot, store, path, Q3, AFTER, snapshot_basis=None).result is snapshot  # the cache's
    doc = request_exclusion(store, ExclusionRequest("carrier cut", asset="srv", start=utc(2026, 8, 1),
                                                    end=utc(2026, 8, 2)), "cli:a", AFTER)
    approve_exclusion(store, int(str(doc["id"])), "cli:b", AFTER)
    changed = offered(cache, snapshot, store, path, Q3, AFTER, snapshot_basis=noted)
    assert changed.result is not snapshot
    assert changed.result is None or changed.result.target("servers").value == 1.0  # measured within 0.1 s, or not
    assert cache.ask(store, path, Q3, AFTER, within=10).result.target("servers").value == 1.0
    noted = basis(store, path)
    assert offered(cache, snapshot, store, path, Q3, AFTER, snapshot_basis=noted).result is snapshot
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert offered(cache, snapshot, store, path, Q3, AFTER, snapshot_basis=noted).result is not snapshot


def test_a_failing_measurement_is_remembered_and_warned_of_once_a_minute(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The engine raising ("database gone"): the first ask waits for the background job and gets its error, no
    figure; the next two asks get the same error without another try (1 call: remembered FAILED_FOR = 30 s).
    FAILED_FOR set to 0: each ask tries again (calls 2 and 3), but the warning is written once (a line a minute
    per period at most). The engine back and the failure forgotten: 2026Q4 measured, servers 1.0."""
    from opsmon.collector.sla import cache as cache_module

    path = seeded(store, tmp_path)
    now = utc(2026, 11, 1)
    real, calls = cache_module.measured_with, []

    def gone(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise RuntimeError("database gone")

    monkeypatch.setattr(cache_module, "measured_with", gone)
    cache = PeriodCache(refresh=60.0)
    with caplog.at_level("WARNING", logger="opsmon.collector.sla.cache"):
        first = cache.ask(store, path, Q4, now, within=10)
        assert (first.result, first.fresh, first.error) == (None, False, "database gone")
        for _ in range(2):
            assert cache.ask(store, path, Q4, now, within=10).error == "database gone"
        assert len(calls) == 1
        monkeypatch.setattr(cache_module, "FAILED_FOR", 0.0)
        for _ in range(2):
            assert cache.ask(store, path, Q4, now, within=10).error == "database gone"
        assert len(calls) == 3
    lines = [r for r in caplog.records if r.getMessage() == cache_module.FAILED_LINE]
    assert len(lines) == 1 and lines[0].__dict__["source"] == "2026Q4"
    monkeypatch.setattr(cache_module, "measured_with", real)
    done = cache.ask(store, path, Q4, now, within=10)
    assert done.fresh and done.error == "" and done.result is not None
    assert done.result.target("servers").value == 1.0 and cache.measurements == 1
