"""`opsmon history import`: all or nothing, line numbers in errors, idempotent."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opsmon.collector.config.inventory import AssetSpec, upsert_assets
from opsmon.collector.core.errors import ConfigError
from opsmon.collector.inputs.history_import import import_history
from opsmon.collector.store import Store
from opsmon.collector.store.models import AuditEntry, Incident, StateInterval
from tests.conftest import run_cli, write_config


def lines(*docs: dict) -> str:
    return "\n".join(json.dumps(d, ensure_ascii=False) for d in docs) + "\n"


GOOD = lines(
    {"type": "state", "asset": "srv", "state": "up", "start": "2026-07-01T00:00:00+08:00",
     "end": "2026-07-10T00:00:00+08:00"},
    {"type": "state", "asset": "srv", "state": "down", "start": "2026-07-10T00:00:00+08:00",
     "end": "2026-07-10T06:00:00+08:00", "reason": "PSU failed"},
    {"type": "state", "asset": "link", "state": "up", "start": "2026-07-01T00:00:00+08:00",
     "end": "2026-08-01T00:00:00+08:00"},
    {"type": "incident", "id": "ZBX-1001", "asset": "srv", "kind": "hardware", "opened": "2026-07-10T00:00:00+08:00",
     "acknowledged": "2026-07-10T00:40:00+08:00", "resolved": "2026-07-10T06:00:00+08:00"},
)


@pytest.fixture
def assets(store: Store) -> Store:
    upsert_assets(store, [AssetSpec(id="srv", category="server"), AssetSpec(id="link", category="link")], "test")
    return store


def counts(store: Store) -> tuple[int, int]:
    with store.session() as s:
        return s.scalar(select(func.count(StateInterval.id))), s.scalar(select(func.count(Incident.id)))


def test_import_then_reimport_changes_nothing(assets: Store, tmp_path: Path) -> None:
    path = write_config(tmp_path, GOOD, "h.jsonl")
    first = import_history(assets, str(path), "test")
    assert first == {"states": {"imported": 3, "unchanged": 0, "outside_life": 0},
                     "incidents": {"imported": 1, "unchanged": 0},
                     "lives": {"imported": 0, "unchanged": 0}}
    again = import_history(assets, str(path), "test")
    assert again == {"states": {"imported": 0, "unchanged": 3, "outside_life": 0},
                     "incidents": {"imported": 0, "unchanged": 1},
                     "lives": {"imported": 0, "unchanged": 0}}
    assert counts(assets) == (3, 1)
    with assets.session() as s:
        assert s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "history.import")) == 1
        row = s.get(Incident, "ZBX-1001")
        assert (row.acknowledged_ts - row.opened_ts).total_seconds() == 2400


@pytest.mark.parametrize("bad, message", [
    ({"type": "state", "asset": "ghost", "state": "up", "start": "2026-07-01T00:00:00Z",
      "end": "2026-07-02T00:00:00Z"}, "line 5: asset 'ghost' does not exist"),
    ({"type": "state", "asset": "srv", "state": "fine", "start": "2026-07-01T00:00:00Z",
      "end": "2026-07-02T00:00:00Z"}, "line 5: state: Input should be"),
    ({"type": "state", "asset": "srv", "state": "up", "start": "2026-09-02T00:00:00Z",
      "end": "2026-09-01T00:00:00Z"}, "line 5: end must be after start"),
    ({"type": "state", "asset": "srv", "state": "up", "start": "yesterday",
      "end": "2026-09-01T00:00:00Z"}, "line 5: start: 'yesterday' is not an ISO 8601 timestamp"),
    ({"type": "state", "asset": "srv", "state": "up", "start": "2026-09-01T00:00:00",
      "end": "2026-09-02T00:00:00Z"}, "line 5: start: timestamp needs a UTC offset"),
    ({"type": "state", "asset": "srv", "state": "degraded", "start": "2026-07-05T00:00:00+08:00",
      "end": "2026-07-06T00:00:00+08:00"}, "line 5: overlaps line 1 for asset 'srv'"),
    ({"type": "incident", "id": "ZBX-1002", "asset": "srv", "kind": "hardware",
      "opened": "2026-07-10T00:00:00+08:00", "acknowledged": "2026-07-09T00:00:00+08:00"},
     "line 5: acknowledged is before opened"),
    ({"type": "incident", "id": "ZBX-1001", "asset": "srv", "kind": "hardware",
      "opened": "2026-07-11T00:00:00+08:00"}, "line 5: incident id 'ZBX-1001' repeats line 4"),
    ({"type": "gossip"}, 'line 5: type must be "state", "incident", "joined" or "left"'),
    ({"type": "state", "asset": "srv", "state": "up", "start": "2026-09-01T00:00:00Z",
      "end": "2099-09-02T00:00:00Z"}, "line 5: ends in the future"),
    ({"type": "state", "asset": "srv", "state": "up", "start": "2026-09-01T00:00:00Z",
      "end": "2026-09-02T00:00:00Z", "colour": "red"}, "line 5: colour: unknown key"),
])
def test_any_bad_line_imports_nothing_and_names_the_line(assets: Store, tmp_path: Path, bad: dict,
                                                         message: str) -> None:
    path = write_config(tmp_path, GOOD + json.dumps(bad) + "\n", "h.jsonl")
    with pytest.raises(ConfigError) as err:
        import_history(assets, str(path), "test")
    assert "nothing imported" in str(err.value) and message in str(err.value), str(err.value)
    assert counts(assets) == (0, 0)


def test_not_json_is_named_by_line(assets: Store, tmp_path: Path) -> None:
    path = write_config(tmp_path, GOOD + "{oops\n", "h.jsonl")
    with pytest.raises(ConfigError, match="line 5: not JSON"):
        import_history(assets, str(path), "test")


def test_overlap_with_stored_history_is_refused(assets: Store, tmp_path: Path) -> None:
    import_history(assets, str(write_config(tmp_path, GOOD, "h.jsonl")), "test")
    clash = lines({"type": "state", "asset": "link", "state": "down", "start": "2026-07-15T00:00:00+08:00",
                   "end": "2026-07-15T01:00:00+08:00"})
    with pytest.raises(ConfigError, match="line 1: overlaps the stored up interval"):
        import_history(assets, str(write_config(tmp_path, clash, "clash.jsonl")), "test")
    changed = GOOD.replace('"acknowledged": "2026-07-10T00:40:00+08:00"', '"acknowledged": "2026-07-10T00:50:00+08:00"')
    with pytest.raises(ConfigError, match="line 4: incident 'ZBX-1001' is stored with different data"):
        import_history(assets, str(write_config(tmp_path, changed, "changed.jsonl")), "test")


def test_cli_history_import_and_sla(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "timezone: Asia/Shanghai\ndatabase:\n  path: h.db\n")
    inv = write_config(tmp_path, "assets:\n  - {id: srv, category: server}\n  - {id: link, category: link}\n",
                       "assets.yaml")
    assert run_cli("--config", str(cfg), "assets", "import", str(inv)).returncode == 0
    proc = run_cli("--config", str(cfg), "history", "import", str(write_config(tmp_path, GOOD, "h.jsonl")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "states: 3 imported, 0 unchanged; incidents: 1 imported, 0 unchanged"
    proc = run_cli("--config", str(cfg), "history", "import",
                   str(write_config(tmp_path, GOOD + "{oops\n", "bad.jsonl")))
    assert proc.returncode == 2 and "line 5: not JSON" in proc.stderr
    proc = run_cli("--config", str(cfg), "sla", "--from", "2026-07-01T00:00:00+08:00",
                   "--to", "2026-07-10T06:00:00+08:00", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = {t["id"]: t for t in json.loads(proc.stdout)["targets"]}
    # 9 days up then 6 hours down: 216 / 222 hours.
    assert doc["servers_ok"]["value"] == pytest.approx(216 / 222)
    assert doc["hardware_fault_response_time"]["value"] == 2400 and doc["hardware_fault_response_time"]["pass"]
    proc = run_cli("--config", str(cfg), "sla", "--period", "2026Q3", "--lang", "zh")
    assert "正常工作的服务器" in proc.stdout and "硬件设备故障响应时限" in proc.stdout
    proc = run_cli("--config", str(cfg), "sla", "--period", "2026Q5")
    assert proc.returncode == 2 and "use a year (2026), a quarter (2026Q3) or a month (2026-08)" in proc.stderr


def test_every_overlapping_line_is_named_not_only_the_neighbour_in_time(assets: Store, tmp_path: Path) -> None:
    """Issue 19, item 4. Line 1 is up 1 to 3 July; line 2 (1 July 06:00-12:00) and line 3 (2 July 00:00-06:00)
    both lie inside it but not in each other. In time order 1, 2, 3: before, only neighbours were compared
    (2 with 1, 3 with 2), so line 3's overlap with line 1 went unnamed. Now every pair that overlaps is a line
    of its own: (2, 1) and (3, 1), and not (3, 2), which do not overlap (12:00 on the 1st < 00:00 on the 2nd);
    line 4 repeats line 3 exactly and overlaps both 1 and 3. So 4 problems: 2~1, 3~1, 4~1, 4~3."""
    def state(start: str, end: str) -> dict:
        return {"type": "state", "asset": "srv", "state": "up", "start": start, "end": end}

    body = lines(state("2026-07-01T00:00:00+08:00", "2026-07-03T00:00:00+08:00"),
                 state("2026-07-01T06:00:00+08:00", "2026-07-01T12:00:00+08:00"),
                 state("2026-07-02T00:00:00+08:00", "2026-07-02T06:00:00+08:00"),
                 state("2026-07-02T00:00:00+08:00", "2026-07-02T06:00:00+08:00"))
    path = write_config(tmp_path, body, "h.jsonl")
    with pytest.raises(ConfigError) as err:
        import_history(assets, str(path), "test")
    assert str(err.value).splitlines() == [
        f"{path}: nothing imported, 4 problems:",
        f"{path}: line 2: overlaps line 1 for asset 'srv'",
        f"{path}: line 3: overlaps line 1 for asset 'srv'",
        f"{path}: line 4: overlaps line 1 for asset 'srv'",
        f"{path}: line 4: overlaps line 3 for asset 'srv'",
    ]
    assert counts(assets) == (0, 0)
