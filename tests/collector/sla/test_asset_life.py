"""An asset's life bounds its figures (issue 19, items 1, 2, 3 and 5), against scenarios computed by hand.

Quarter 2026Q3 in Asia/Shanghai is [2026-06-30T16:00Z, 2026-09-30T16:00Z): 92 days (S to E below).
Times in the comments are UTC. "d" is a day, "h" an hour.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsmon.collector.config.inventory import AssetSpec, asset_document, remove_asset, upsert_assets
from opsmon.collector.config.schema import CollectorConfig
from opsmon.collector.core.errors import ConfigError, InvalidInput
from opsmon.collector.inputs.history_import import import_history
from opsmon.collector.outputs.report import build_report
from opsmon.collector.sla.engine import evaluate, measure
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.targets import bundled_targets_path, load_targets
from opsmon.collector.store import Store
from opsmon.collector.store.models import Asset, AssetAbsence, AuditEntry
from tests.collector.sla.test_sla_scenarios import AFTER, TABLE, D, E, H, S, seed
from tests.conftest import run_cli, utc, write_config

TZ = "Asia/Shanghai"
MIG = utc(2026, 10, 20)  # the day the inventory was loaded into opsmon: after the quarter
BEFORE_CREATED = S - timedelta(days=100)
DAY = timedelta(days=1)


def jsonl(tmp_path: Path, lines: list[dict[str, Any]], name: str = "old-system.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return str(path)


def state(asset: str, st: str, start: datetime, end: datetime) -> dict[str, Any]:
    return {"type": "state", "asset": asset, "state": st, "start": start.isoformat(), "end": end.isoformat()}


def servers(store: Store) -> dict[str, Any]:
    doc = evaluate(store, TABLE, parse_period("2026Q3", TZ), AFTER)
    return next(t for t in doc["targets"] if t["id"] == "servers")


def per_asset(target: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["asset"]: a for a in target["per_asset"]}


# -- item 1: the life clips the figures; the fleet coverage caps each asset first ---------------------------------

def test_an_imported_down_day_after_the_removal_is_not_counted(store: Store, tmp_path: Path) -> None:
    """`old` was removed on 08-25 00:00; the old system's export runs to 09-01 and has it down on 08-27.
    `gap` is up all quarter but for 5 days of no data (09-10..09-15).

    old: life S..08-25 = 55 d 8 h (S is 06-30 16:00), all up once clipped; the down day is outside.
         Before the fix: observed 62 d 8 h (to 09-01), down 1 d, and its 7 d past the removal
         filled gap's 5 missing days: fleet coverage min(1, (62 d 8 h + 87 d) / (55 d 8 h + 92 d)) = 1.0.
    gap: observed 87 d of 92 d.
    fleet: observed 55 d 8 h + 87 d = 142 d 8 h, down 0 -> value 1.0;
           coverage 142 d 8 h / (55 d 8 h + 92 d) = 142 1/3 / 147 1/3."""
    removed = utc(2026, 8, 25)
    seed(store, [("old", "server", BEFORE_CREATED, removed), ("gap", "server", BEFORE_CREATED, None)],
         [("gap", "up", S - DAY, utc(2026, 9, 10)), ("gap", "up", utc(2026, 9, 15), E + DAY)])
    result = import_history(store, jsonl(tmp_path, [
        state("old", "up", S, utc(2026, 8, 27)), state("old", "down", utc(2026, 8, 27), utc(2026, 8, 28)),
        state("old", "up", utc(2026, 8, 28), utc(2026, 9, 1))]), "tester")
    # Kept as evidence, clipped from the figures: all 3 reach past the removal (the first crosses it).
    assert result["states"] == {"imported": 3, "unchanged": 0, "outside_life": 3}
    t = servers(store)
    assert t["detail"]["down_seconds"] == 0
    assert t["detail"]["observed_seconds"] == 142 * D + 8 * H
    assert t["detail"]["expected_seconds"] == 147 * D + 8 * H
    assert t["value"] == 1.0
    assert t["coverage"] == pytest.approx((142 + 1 / 3) / (147 + 1 / 3))
    assert t["status"] == "pass"  # 96.6 % >= the 90 % floor
    assets = per_asset(t)
    assert assets["old"] == {"asset": "old", "value": 1.0, "coverage": 1.0, "observed_seconds": 55 * D + 8 * H,
                             "expected_seconds": 55 * D + 8 * H}
    assert assets["gap"]["coverage"] == pytest.approx(87 / 92)


def test_the_fleet_coverage_caps_each_asset_before_combining(store: Store) -> None:
    """`dup` has two overlapping up intervals (92 d, and 5 d again over its start): 97 d known of 92 d.
    `gap` misses 5 days. Summed first and capped after, 97 + 87 = 184 of 184 would read 1.0 and hide
    gap's 5 days; capped per asset: (min(97, 92) + 87) / 184 = 179 / 184."""
    seed(store, [("dup", "server", BEFORE_CREATED, None), ("gap", "server", BEFORE_CREATED, None)],
         [("dup", "up", S - DAY, E + DAY), ("dup", "up", S, S + 5 * DAY),
          ("gap", "up", S - DAY, utc(2026, 9, 10)), ("gap", "up", utc(2026, 9, 15), E + DAY)])
    t = servers(store)
    assert t["coverage"] == pytest.approx(179 / 184)
    assert per_asset(t)["dup"]["coverage"] == 1.0 and per_asset(t)["gap"]["coverage"] == pytest.approx(87 / 92)


# -- items 1, 2 and 5: a quarter whose assets join and leave mid-period, from the old system's history ------------

def import_quarter(store: Store, tmp_path: Path) -> tuple[dict[str, dict[str, int]], str]:
    """The inventory was loaded on MIG (after the quarter); the whole quarter comes from the old system.

    srv-a  server, site A: up all quarter but down 07-10 (1 d) and no data 09-10..09-12 (2 d)
    srv-j  server, site A: joined 08-01 00:00 (a `joined` line); the old system also has it up from 07-20
           (staging): 07-20..08-01 is outside its life. Down 08-10 00:00..06:00.
    srv-l  server, site B: left 08-25 00:00 (a `left` line); up S..08-27, down 08-27..08-28, up to 09-01
    lnk-1  link, site A: up all quarter
    lnk-2  link, site B: its first interval is 08-01 00:00 (no joined line): up from there to E
    """
    seed(store, [(a, c, MIG, None) for a, c in (("srv-a", "server"), ("srv-j", "server"), ("srv-l", "server"),
                                                ("lnk-1", "link"), ("lnk-2", "link"))], [])
    with store.session.begin() as s:
        for a in s.scalars(select(Asset)):
            a.site = "A" if a.id in ("srv-a", "srv-j", "lnk-1") else "B"
    path = jsonl(tmp_path, [
        state("srv-a", "up", S, utc(2026, 7, 10)), state("srv-a", "down", utc(2026, 7, 10), utc(2026, 7, 11)),
        state("srv-a", "up", utc(2026, 7, 11), utc(2026, 9, 10)), state("srv-a", "up", utc(2026, 9, 12), E),
        {"type": "joined", "asset": "srv-j", "at": "2026-08-01T08:00:00+08:00"},
        state("srv-j", "up", utc(2026, 7, 20), utc(2026, 8, 10)),
        state("srv-j", "down", utc(2026, 8, 10), utc(2026, 8, 10, 6)), state("srv-j", "up", utc(2026, 8, 10, 6), E),
        {"type": "left", "asset": "srv-l", "at": "2026-08-25T08:00:00+08:00"},
        state("srv-l", "up", S, utc(2026, 8, 27)), state("srv-l", "down", utc(2026, 8, 27), utc(2026, 8, 28)),
        state("srv-l", "up", utc(2026, 8, 28), utc(2026, 9, 1)),
        state("lnk-1", "up", S, E), state("lnk-2", "up", utc(2026, 8, 1), E)])
    return import_history(store, path, "tester"), path


def test_a_quarter_whose_assets_join_and_leave_from_imported_history(store: Store, tmp_path: Path) -> None:
    """servers (srv-a, srv-j, srv-l), each over its life:
      srv-a  life S..E = 92 d; up 89 d, down 1 d, 2 d no data           -> observed 90 d, expected 92 d
      srv-j  life 08-01..E = 31 d + 29 d 16 h = 60 d 16 h; down 6 h, up 60 d 10 h (07-20..08-01 clipped)
      srv-l  life S..08-25 = 55 d 8 h, all up (the down day of 08-27 is outside)
      fleet: good 89 d + 60 d 10 h + 55 d 8 h = 204 d 18 h; bad 1 d 6 h; observed 206 d;
             expected 92 d + 60 d 16 h + 55 d 8 h = 208 d -> value 204.75 / 206, coverage 206 / 208
      budget (finished quarter, no time left): 204.75 d - 0.95 x 206 d = 9.05 d
    links: lnk-1 92 d up, lnk-2 60 d 16 h up (from its first interval) -> value 1.0, coverage 1.0, 2 assets."""
    result, path = import_quarter(store, tmp_path)
    # Outside the life: srv-j's 07-20..08-10 (starts before it joined), srv-l's three lines (end after it left).
    assert result["states"] == {"imported": 12, "unchanged": 0, "outside_life": 4}
    assert result["lives"] == {"imported": 2, "unchanged": 0}
    with store.session() as s:
        rows = {a.id: a for a in s.scalars(select(Asset))}
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "history.import")).all()
    assert rows["srv-j"].joined_at == utc(2026, 8, 1) and rows["srv-l"].removed_at == utc(2026, 8, 25)
    # As `opsmon assets list --format json` and the API show them.
    assert asset_document(rows["srv-j"])["joined_at"] == "2026-08-01T00:00:00+00:00"
    assert asset_document(rows["srv-l"])["removed_at"] == "2026-08-25T00:00:00+00:00"
    assert "joined_at" not in asset_document(rows["srv-a"])
    assert [a.detail["lives"] for a in audit] == [{"imported": 2, "unchanged": 0}]
    t = servers(store)
    assert t["detail"]["assets"] == 3
    assert t["detail"]["up_seconds"] == 204 * D + 18 * H
    assert t["detail"]["down_seconds"] == D + 6 * H
    assert t["detail"]["observed_seconds"] == 206 * D
    assert t["detail"]["unknown_seconds"] == 2 * D
    assert t["detail"]["expected_seconds"] == 208 * D
    assert t["value"] == pytest.approx(204.75 / 206)
    assert t["coverage"] == pytest.approx(206 / 208)
    assert t["budget_left_seconds"] == pytest.approx((204.75 - 0.95 * 206) * D)
    assets = per_asset(t)
    assert list(assets) == ["srv-a", "srv-j", "srv-l"]
    assert assets["srv-a"] == {"asset": "srv-a", "value": pytest.approx(89 / 90), "coverage": pytest.approx(90 / 92),
                               "observed_seconds": 90 * D, "expected_seconds": 92 * D}
    assert assets["srv-j"]["value"] == pytest.approx((60 * D + 10 * H) / (60 * D + 16 * H))
    assert assets["srv-j"]["expected_seconds"] == 60 * D + 16 * H and assets["srv-j"]["coverage"] == 1.0
    assert assets["srv-l"]["value"] == 1.0 and assets["srv-l"]["expected_seconds"] == 55 * D + 8 * H
    links = next(x for x in evaluate(store, TABLE, parse_period("2026Q3", TZ), AFTER)["targets"] if x["id"] == "links")
    assert (links["value"], links["coverage"], links["detail"]["assets"]) == (1.0, 1.0, 2)
    assert per_asset(links)["lnk-2"]["expected_seconds"] == 60 * D + 16 * H
    # The same file again changes nothing.
    again = import_history(store, path, "tester")
    assert again["states"] == {"imported": 0, "unchanged": 12, "outside_life": 0}
    assert again["lives"] == {"imported": 0, "unchanged": 2}


def test_the_life_clipping_query_gives_the_same_figures_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """The clipping is SQL (LEAST/GREATEST on PostgreSQL, MIN/MAX on SQLite): the quarter above, in a
    database of its own on the PostgreSQL peer, gives the figures worked out there."""
    from opsmon.collector.store.db import open_store
    from tests.peers.postgres import own_database

    store = open_store(own_database(postgres_url, "asset_life"))
    try:
        import_quarter(store, tmp_path)
        t = servers(store)
        assert (t["detail"]["observed_seconds"], t["detail"]["expected_seconds"]) == (206 * D, 208 * D)
        assert t["detail"]["down_seconds"] == D + 6 * H and t["value"] == pytest.approx(204.75 / 206)
        assert per_asset(t)["srv-l"]["expected_seconds"] == 55 * D + 8 * H
    finally:
        store.close()


def test_joined_and_left_lines_that_cannot_be_true_are_refused_with_the_line_named(store: Store,
                                                                                  tmp_path: Path) -> None:
    """Nothing is imported when any line is wrong; each wrong line is named."""
    seed(store, [("p", "server", MIG, None), ("c", "server", MIG, None), ("x", "server", MIG, utc(2026, 8, 1))], [])
    with store.session.begin() as s:
        s.get(Asset, "c").parent_id = "p"
    path = jsonl(tmp_path, [
        {"type": "joined", "asset": "x", "at": "2026-07-01T00:00:00Z"},          # 1: fine
        {"type": "joined", "asset": "x", "at": "2026-07-02T00:00:00Z"},          # 2: a second joined
        {"type": "left", "asset": "p", "at": "2026-08-01T00:00:00Z"},            # 3: c is its live child
        {"type": "left", "asset": "c", "at": "2099-01-01T00:00:00Z"},            # 4: in the future
        {"type": "joined", "asset": "c", "at": "2026-09-01T00:00:00Z"},          # 5: fine alone...
        {"type": "left", "asset": "x", "at": "2026-08-02T00:00:00Z"},            # 6: x already left 08-01
        {"type": "joined", "asset": "ghost", "at": "2026-07-01T00:00:00Z"},      # 7: no such asset
    ])
    with pytest.raises(ConfigError) as err:
        import_history(store, path, "tester")
    # Every problem, one a line (issue 19 item 4): ConfigProblems holds them all.
    reason = "\n".join(p.reason for p in getattr(err.value, "problems", [err.value]))
    assert "line 2: a second 'joined' line for asset 'x' (line 1)" in reason
    assert "line 3: 'p' is the parent of c" in reason
    assert "line 4: left in the future" in reason
    assert "line 6: asset 'x' already left at 2026-08-01T00:00:00+00:00" in reason
    assert "line 7: asset 'ghost' does not exist" in reason
    assert "line 1:" not in reason and "line 5:" not in reason
    with store.session() as s:
        assert s.get(Asset, "x").joined_at is None and s.get(Asset, "c").joined_at is None  # nothing imported
        assert s.get(Asset, "p").removed_at is None


# -- item 2: back-dated removal, and a restore that keeps the removed span ----------------------------------------

def test_back_dated_removal_and_a_restore_keep_the_removed_span_out_of_the_figures(store: Store) -> None:
    """srv up all quarter (one interval). Removed as of 08-01 00:00 (told on 08-05), restored on 08-11 00:00.

    Its life in Q3: S..08-01 (31 d 8 h) + 08-11..E (50 d 16 h) = 82 d; the 10 d absent are not expected,
    and its up time then is not counted: observed 82 d, value 1.0, coverage 1.0."""
    seed(store, [("srv", "server", BEFORE_CREATED, None)], [("srv", "up", S - DAY, E + DAY)])
    spec = AssetSpec(id="srv", category="server")
    with pytest.raises(InvalidInput, match="in the future"):
        remove_asset(store, "srv", "tester", now=utc(2026, 8, 5), at=utc(2026, 8, 6))
    with pytest.raises(InvalidInput, match="it would never have existed"):  # before its creation (S - 100 d)
        remove_asset(store, "srv", "tester", now=utc(2026, 8, 5), at=BEFORE_CREATED - DAY)
    remove_asset(store, "srv", "tester", now=utc(2026, 8, 5), at=utc(2026, 8, 1))
    assert upsert_assets(store, [spec], "tester", now=utc(2026, 8, 11))["restored"] == ["srv"]
    with store.session() as s:
        spans = [(a.start_ts, a.end_ts) for a in s.scalars(select(AssetAbsence))]
        audit = [(a.action, a.detail) for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert spans == [(utc(2026, 8, 1), utc(2026, 8, 11))]
    assert audit == [("assets.remove", {"at": "2026-08-01T00:00:00+00:00"}),
                     ("assets.upsert", {"restored": ["srv"], "removed_spans": {
                         "srv": ["2026-08-01T00:00:00+00:00", "2026-08-11T00:00:00+00:00"]}})]
    t = servers(store)
    assert t["detail"]["observed_seconds"] == 82 * D and t["detail"]["expected_seconds"] == 82 * D
    assert (t["value"], t["coverage"]) == (1.0, 1.0)
    # A removal cannot be dated before the restore on record (it was monitored then).
    with pytest.raises(InvalidInput, match="before 'srv' was restored"):
        remove_asset(store, "srv", "tester", now=utc(2026, 9, 1), at=utc(2026, 8, 10))


def test_the_remove_command_takes_at(store: Store, tmp_path: Path) -> None:
    """`opsmon assets remove ID --at TIME`: the removal is dated there; a bad time is refused by name.
    Then `opsmon history import` of two lines: 08-20..08-24 (inside the life) and 08-27 (after it)."""
    seed(store, [("srv", "server", BEFORE_CREATED, None)], [])
    cfg = write_config(tmp_path, f"""
        timezone: {TZ}
        database:
          path: {tmp_path / 'opsmon.db'}
        """)
    bad = run_cli("--config", str(cfg), "assets", "remove", "srv", "--at", "2026-08-25")
    assert bad.returncode == 2 and "--at" in bad.stderr, bad.stderr
    res = run_cli("--config", str(cfg), "assets", "remove", "srv", "--at", "2026-08-25T08:00:00+08:00")
    assert res.returncode == 0, res.stderr
    assert "2026-08-25T08:00:00+08:00" in res.stdout
    with store.session() as s:
        assert s.get(Asset, "srv").removed_at == utc(2026, 8, 25)
    # The old system's export runs past the removal: imported, and the command says it is not counted.
    path = jsonl(tmp_path, [state("srv", "up", utc(2026, 8, 20), utc(2026, 8, 24)),
                            state("srv", "down", utc(2026, 8, 27), utc(2026, 8, 28))])
    res = run_cli("--config", str(cfg), "history", "import", path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("states: 2 imported (1 reach outside their asset's life: stored, not counted), "
                                 "0 unchanged;"), res.stdout


# -- item 3: the report counts the same assets as `opsmon sla` ------------------------------------------------------

def report_config(tmp_path: Path) -> CollectorConfig:
    return CollectorConfig.model_validate({"organisation": "测试中心", "timezone": TZ,
                                           "database": {"path": str(tmp_path / "opsmon.db")}})


def test_a_report_over_imported_history_counts_its_assets(store: Store, tmp_path: Path) -> None:
    """Inventory loaded on MIG (after the quarter), the quarter imported: srv-a, lnk-1 (site A) and lnk-2
    (site B) all lived in Q3. Before the fix the report said 0 assets and had no connectivity-by-site rows
    (it took the creation date for the life's start), while `opsmon sla` measured all three."""
    seed(store, [("srv-a", "server", MIG, None), ("lnk-1", "link", MIG, None), ("lnk-2", "link", MIG, None)], [])
    with store.session.begin() as s:
        for a in s.scalars(select(Asset)):
            a.site = "B" if a.id == "lnk-2" else "A"
    import_history(store, jsonl(tmp_path, [state("srv-a", "up", S, E), state("lnk-1", "up", S, E),
                                           state("lnk-2", "up", utc(2026, 8, 1), E)]), "tester")
    data = build_report(store, report_config(tmp_path), parse_period("2026Q3", TZ), "zh", now=AFTER)
    assert data.source.assets == 3 == data.coverage.availability.assets
    assert [(r.site, r.target.availability.assets) for r in data.sites] == [("A", 1), ("B", 1)]


def test_report_and_sla_give_the_same_assets_and_figures(store: Store, tmp_path: Path) -> None:
    """The joining-and-leaving quarter: `opsmon sla --format json` (the command, on the same database) and
    the report's model agree target by target on every figure, and on the asset count: 5 assets lived in
    Q3 (srv-a, srv-j, srv-l, lnk-1, lnk-2), 3 servers and 2 links; sites A (lnk-1) and B (lnk-2)."""
    import_quarter(store, tmp_path)
    cfg = write_config(tmp_path, f"""
        organisation: 测试中心
        timezone: {TZ}
        database:
          path: {tmp_path / 'opsmon.db'}
        """)
    res = run_cli("--config", str(cfg), "sla", "--period", "2026Q3", "--format", "json")
    assert res.returncode == 0, res.stderr
    sla = json.loads(res.stdout)
    data = build_report(store, report_config(tmp_path), parse_period("2026Q3", TZ), "zh", now=AFTER)
    report = data.to_json()
    assert [t["id"] for t in report["targets"]] == [t["id"] for t in sla["targets"]]
    for mine, theirs in zip(report["targets"], sla["targets"], strict=True):
        for key in ("value", "pass", "status", "coverage", "budget_left_seconds", "worst", "detail", "per_asset"):
            assert mine[key] == theirs[key], (mine["id"], key)
    by_id = {t["id"]: t for t in sla["targets"]}
    assert by_id["servers_ok"]["detail"]["assets"] == 3 and by_id["network_connectivity"]["detail"]["assets"] == 2
    assert by_id["servers_ok"]["value"] == pytest.approx(204.75 / 206)  # as computed in the scenario above
    assert data.source.assets == 5 == data.coverage.availability.assets
    assert [(r.site, r.target.availability.assets, r.target.value) for r in data.sites] == [("A", 1, 1.0),
                                                                                           ("B", 1, 1.0)]
    # The same engine, in process, on the same data: the typed results equal the command's document.
    table = load_targets(bundled_targets_path())
    assert measure(store, table, parse_period("2026Q3", TZ), AFTER).as_document()["targets"] == sla["targets"]
