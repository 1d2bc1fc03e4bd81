"""A maintenance window naming an asset, site or tag the inventory does not hold is refused with the name
(issue 18, item 2): through the API, in collector.yaml (at check-config and at start), and from the CLI,
which writes windows itself (audited as cli:<user>)."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.conftest import run_cli, write_config

ASSETS = """
assets:
  - {id: db, category: server, site: hotan, tags: [db]}
  - {id: web, category: server, site: kashgar, tags: [web]}
"""


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds, UTC).isoformat()


def test_api_refuses_a_window_naming_unknown_assets_sites_and_tags(collector_factory) -> None:
    c = collector_factory(ASSETS)
    c.start()
    operator = c.cli("tokens", "create", "li.operator", "--role", "operator").stdout.strip()
    window = {"id": "swap", "assets": ["db", "ghost"], "sites": ["hotan", "nowhere"], "tags": ["db", "nope"],
              "start": _iso(60), "end": _iso(3600)}
    auth = {"Authorization": f"Bearer {operator}"}
    r = httpx.post(f"{c.base}/api/v1/maintenance", json=window, headers=auth, timeout=5)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "'ghost'" in detail and "'nowhere'" in detail and "'nope'" in detail
    assert "'db'" not in detail and "'hotan'" not in detail
    assert c.get("/api/v1/maintenance", operator).json() == []  # nothing stored
    r = httpx.post(f"{c.base}/api/v1/maintenance", json={**window, "assets": ["db"], "sites": ["hotan"],
                                                         "tags": ["db"]}, headers=auth, timeout=5)
    assert r.status_code == 201, r.text
    assert c.stop()[0] == 0


CONFIG_WINDOWS = """
maintenance:
  - id: ok
    sites: [hotan]
    cron: '0 2 * * sun'
    duration: 1h
  - id: typo
    sites: [hotam]
    cron: '0 3 * * sun'
    duration: 1h
  - id: more
    assets: [db, dbb]
    tags: [web, wbe]
    start: 2030-01-01T00:00:00+08:00
    end: 2030-01-01T02:00:00+08:00
"""


def test_config_windows_naming_unknown_names_are_all_reported_with_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "assets.yaml").write_text(ASSETS)
    path = write_config(tmp_path, "timezone: Asia/Shanghai\ndatabase:\n  path: opsmon.db\n"
                                  "inventory:\n  files: [assets.yaml]\n" + CONFIG_WINDOWS)
    proc = run_cli("check-config", str(path))
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert f"{path}:13: maintenance[1].sites[0]: no asset has site 'hotam'" in lines[1:], proc.stderr
    assert f"{path}:17: maintenance[2].assets[1]: no asset 'dbb'" in lines[1:], proc.stderr
    assert f"{path}:18: maintenance[2].tags[1]: no asset has tag 'wbe'" in lines[1:], proc.stderr
    assert lines[0] == "opsmon: config error: 3 maintenance window names are unknown:", proc.stderr
    assert not (tmp_path / "opsmon.db").exists()


def test_start_refuses_unknown_names_but_not_a_site_whose_assets_were_removed(collector_factory) -> None:
    c = collector_factory(ASSETS, "maintenance:\n  - id: typo\n    sites: [hotam]\n    cron: '0 3 * * sun'\n"
                                  "    duration: 1h\n")
    try:
        c.start()
        raise AssertionError("the collector started with a window naming an unknown site")
    except AssertionError as exc:
        assert "maintenance[0].sites[0]: no asset has site 'hotam'" in str(exc), exc
    # A window on a site that existed: its last asset removed (API or CLI) must not stop the collector.
    text = c.config.read_text().replace("hotam", "kashgar")
    c.config.write_text(text)
    assert c.cli("assets", "import", str(c.config.parent / "assets.yaml")).returncode == 0
    assert c.cli("assets", "remove", "web").returncode == 0
    c.start()
    assert "kashgar" in c.log() and "no live asset" in c.log()
    assert c.stop()[0] == 0


def test_cli_adds_lists_and_removes_windows_audited_and_in_local_time(tmp_path: Path) -> None:
    (tmp_path / "assets.yaml").write_text(ASSETS)
    path = write_config(tmp_path, "timezone: Asia/Shanghai\ndatabase:\n  path: opsmon.db\n"
                                  "inventory:\n  files: [assets.yaml]\n")
    cfg = ("--config", str(path))
    assert run_cli(*cfg, "assets", "import", str(tmp_path / "assets.yaml")).returncode == 0
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=18, minute=0, second=0, microsecond=0)
    proc = run_cli(*cfg, "maintenance", "add", "ups", "--site", "hotan", "--site", "nowhere", "--tag", "nope",
                   "--start", start.isoformat(), "--end", (start + timedelta(hours=2)).isoformat())
    assert proc.returncode == 2 and "'nowhere'" in proc.stderr and "'nope'" in proc.stderr, proc.stderr
    proc = run_cli(*cfg, "maintenance", "add", "ups", "--site", "hotan", "--reason", "UPS 更换",
                   "--start", start.isoformat(), "--end", (start + timedelta(hours=2)).isoformat())
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(*cfg, "maintenance", "add", "weekly", "--tag", "web", "--cron", "0 2 * * sun",
                   "--duration", "1h")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(*cfg, "maintenance", "add", "ups", "--asset", "db", "--cron", "0 2 * * sun", "--duration", "1h")
    assert proc.returncode == 2 and "exists" in proc.stderr
    listing = run_cli(*cfg, "maintenance", "list")
    assert listing.returncode == 0, listing.stderr
    shanghai = (start + timedelta(hours=8)).strftime("%Y-%m-%d 02:00")  # 18:00 UTC is 02:00 in Shanghai
    assert shanghai in listing.stdout and "+08:00" in listing.stdout, listing.stdout
    assert "hotan" in listing.stdout and "UPS 更换" in listing.stdout and "0 2 * * sun" in listing.stdout
    assert run_cli(*cfg, "maintenance", "remove", "ups").returncode == 0
    assert run_cli(*cfg, "maintenance", "remove", "ups").returncode == 2
    listing = run_cli(*cfg, "maintenance", "list").stdout
    assert "ups" not in listing.split() and "weekly" in listing
    audit = run_cli(*cfg, "audit").stdout
    import getpass

    assert f"cli:{getpass.getuser()} maintenance.add ups" in audit, audit
    assert f"cli:{getpass.getuser()} maintenance.remove ups" in audit, audit
