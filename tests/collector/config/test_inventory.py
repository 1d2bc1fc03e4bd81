"""Inventory import: idempotent, validated as a whole, and never half-applied."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from opsmon.collector.config.inventory import import_file, list_assets, parse_inventory, remove_asset
from opsmon.collector.core.errors import ConfigError, InvalidInput, NotFound
from opsmon.collector.store import Store
from opsmon.collector.store.models import Asset, AuditEntry
from tests.conftest import run_cli, write_config

ASSETS = """
assets:
  - id: wan-kashgar
    name: WAN link Kashgar
    category: link
    site: kashgar
    address: 127.0.0.1
    criticality: high
    checks:
      - {type: icmp}
  - id: ks-file
    category: server
    site: kashgar
    address: 127.0.0.1
    parent: wan-kashgar
    tags: [files]
    checks:
      - {type: tcp, port: 445, interval: 30s}
      - {type: http, url: "http://127.0.0.1:8080/", id: web}
"""


def inv(tmp_path: Path, body: str, name: str = "assets.yaml") -> str:
    return str(write_config(tmp_path, body, name))


def snapshot(store: Store) -> list[tuple]:
    with store.session() as s:
        return [(a.id, a.name, a.category, a.site, a.parent_id, a.checks, a.tags, a.updated_at, a.removed_at)
                for a in s.scalars(select(Asset).order_by(Asset.id))]


def test_import_is_idempotent(store: Store, tmp_path: Path) -> None:
    path = inv(tmp_path, ASSETS)
    first = import_file(store, path, "test")
    assert sorted(first["created"]) == ["ks-file", "wan-kashgar"]
    before = snapshot(store)
    second = import_file(store, path, "test")
    assert second == {"created": [], "updated": [], "restored": [], "unchanged": ["wan-kashgar", "ks-file"]}
    assert snapshot(store) == before
    with store.session() as s:
        assert s.scalar(select(func.count(AuditEntry.id))) == 1  # an unchanged re-import is not an operator change


def test_reimport_updates_changed_assets_only(store: Store, tmp_path: Path) -> None:
    import_file(store, inv(tmp_path, ASSETS), "test")
    changed = ASSETS.replace("criticality: high", "criticality: critical")
    result = import_file(store, inv(tmp_path, changed, "v2.yaml"), "test")
    assert result["updated"] == ["wan-kashgar"] and result["unchanged"] == ["ks-file"]


def test_removal_is_explicit_keeps_the_row_and_reimport_restores(store: Store, tmp_path: Path) -> None:
    import_file(store, inv(tmp_path, ASSETS), "test")
    with pytest.raises(InvalidInput, match="parent of ks-file"):
        remove_asset(store, "wan-kashgar", "test")
    remove_asset(store, "ks-file", "test")
    assert [a.id for a in list_assets(store)] == ["wan-kashgar"]
    assert [a.id for a in list_assets(store, include_removed=True)] == ["ks-file", "wan-kashgar"]
    with pytest.raises(NotFound):
        remove_asset(store, "ks-file", "test")
    # The files re-imported at every collector start do not undo an explicit removal...
    result = import_file(store, inv(tmp_path, ASSETS), "config", restore=False)
    assert result["kept_removed"] == ["ks-file"] and not result["restored"]
    assert [a.id for a in list_assets(store)] == ["wan-kashgar"]
    # ...an operator's import does.
    result = import_file(store, inv(tmp_path, ASSETS), "test")
    assert result["restored"] == ["ks-file"]


@pytest.mark.parametrize(
    "edit, key, reason",
    [
        (lambda s: s.replace("category: server", "category: toaster"), "assets[1].category", "Input should be"),
        (lambda s: s.replace("parent: wan-kashgar", "parent: nowhere"), "assets[1].parent", "not a known asset"),
        (lambda s: s.replace("id: wan-kashgar", "id: ks-file"), "assets[1].id", "duplicate id"),
        (lambda s: s.replace("port: 445", "port: 0"), "assets[1].checks[0].port", "greater than or equal to 1"),
        (lambda s: s.replace("{type: icmp}", "{type: smoke}"), "assets[0].checks[0]",
         "does not match any of the expected tags"),
        (lambda s: s.replace("url: \"http://127.0.0.1:8080/\"", "url: ftp://x"), "assets[1].checks[1].url", "http://"),
        (lambda s: s.replace("    criticality: high\n", "    criticality: high\n    parent: ks-file\n"),
         "assets[0].parent", "loops"),
        (lambda s: s + "    colour: red\n", "assets[1].colour", "unknown key"),
        # a link's far end (issue 22 item 4) is a link's check: not a server's
        (lambda s: s.replace("port: 445, interval: 30s", "port: 445, from_site: true"), "assets[1]",
         "give the asset category link and its site"),
    ],
)
def test_bad_inventory_names_key_and_changes_nothing(store: Store, tmp_path: Path, edit, key: str, reason: str) -> None:
    import_file(store, inv(tmp_path, ASSETS), "test")
    before = snapshot(store)
    bad = inv(tmp_path, edit(ASSETS), "bad.yaml")
    with pytest.raises(ConfigError) as err:
        import_file(store, bad, "test")
    assert err.value.keypath == key, str(err.value)
    assert reason in err.value.reason
    assert "bad.yaml:" in err.value.file
    assert snapshot(store) == before


def test_parent_may_be_an_asset_already_in_the_store(store: Store, tmp_path: Path) -> None:
    import_file(store, inv(tmp_path, ASSETS), "test")
    child = inv(tmp_path, "assets:\n  - {id: ks-pc, category: computer, parent: wan-kashgar}\n", "more.yaml")
    # parse_inventory validates the file alone; import checks parents against the store too.
    with pytest.raises(ConfigError):
        parse_inventory(child)


def test_cli_import_list_remove_and_audit(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "database:\n  path: cli.db\n")
    path = inv(tmp_path, ASSETS)
    proc = run_cli("--config", str(cfg), "assets", "import", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2 created, 0 updated, 0 restored, 0 unchanged"
    proc = run_cli("--config", str(cfg), "assets", "import", path)
    assert proc.stdout.strip() == "0 created, 0 updated, 0 restored, 2 unchanged"
    proc = run_cli("--config", str(cfg), "assets", "list")
    assert "wan-kashgar" in proc.stdout and "ks-file" in proc.stdout
    proc = run_cli("--config", str(cfg), "assets", "remove", "ks-file")
    assert proc.returncode == 0
    proc = run_cli("--config", str(cfg), "assets", "list", "--all", "--format", "json")
    assert '"removed_at": null' in proc.stdout and "ks-file" in proc.stdout
    proc = run_cli("--config", str(cfg), "audit")
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2 and "assets.upsert" in lines[0] and "assets.remove ks-file" in lines[1]
    assert "cli:" in lines[1]


def test_cli_bad_file_is_one_line_exit_2(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "database:\n  path: cli.db\n")
    bad = inv(tmp_path, "assets:\n  - {id: x, category: toaster}\n")
    proc = run_cli("--config", str(cfg), "assets", "import", bad)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "assets[0].category" in proc.stderr
    assert not (tmp_path / "cli.db").exists()


def test_cli_unreachable_database_is_one_line_without_password(tmp_path: Path) -> None:
    from tests.conftest import closed_port

    cfg = write_config(tmp_path, f"database:\n  url: postgresql://ops:s3cret-pw@127.0.0.1:{closed_port()}/opsmon\n"
                                 "  connect_timeout: 2s\n")
    proc = run_cli("--config", str(cfg), "assets", "list")
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "cannot connect to database postgresql+psycopg://ops:***@127.0.0.1" in proc.stderr or \
        "cannot connect to database postgresql://ops:***@127.0.0.1" in proc.stderr
    assert "s3cret-pw" not in proc.stderr
