"""Configuration backup in a running collector: the scheduled `ssh_config` check against a real OpenSSH
server serving a fake device, its versions through the API and the CLI, an unexpected change as a
`security` event, and the database schema made by the migrations (not by the models)."""
from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opsmon.collector.store.db import SCHEMA_REVISION
from tests.peers import missing_peer
from tests.peers.collector import wait_for
from tests.peers.ssh_device import SshDevice, available


@pytest.fixture
def device(tmp_path: Path) -> Iterator[SshDevice]:
    why = available()
    if why:
        missing_peer(why)
    with SshDevice(tmp_path / "dev") as dev:
        yield dev


def test_scheduled_backup_versions_api_cli_and_change_event(collector_factory, device: SshDevice,
                                                            tmp_path: Path) -> None:
    known = tmp_path / "opsmon_known_hosts"
    shutil.copy(device.known_hosts, known)
    c = collector_factory(f"""
assets:
  - id: core-sw
    category: network
    site: urumqi
    address: 127.0.0.1
    checks: [{{type: ssh_config, credential: dev, port: {device.port}, interval: 2s}}]
""", extra=(f"ssh:\n  known_hosts: {known}\n  connect_timeout: 10s\n  credentials:\n"
            f"    dev: {{user: root, private_key_file: {device.client_key}}}\n"))
    c.start()
    operator = c.cli("tokens", "create", "li.wei", "--role", "operator").stdout.strip()
    viewer = c.cli("tokens", "create", "wang.viewer", "--role", "viewer").stdout.strip()
    c.token = viewer

    def get(path: str, token: str = operator) -> httpx.Response:
        return httpx.get(c.base + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    versions = wait_for(lambda: get("/api/v1/configs/core-sw").json() if get("/api/v1/configs").json() else None,
                        60, "the first configuration version")
    assert [v["version"] for v in versions] == [1]
    assert get("/api/v1/configs", viewer).status_code == 403  # device configurations: operators only
    first = get("/api/v1/configs/core-sw/1").json()
    assert "hostname fake-sw" in first["content"] and "ntp clock-period" not in first["content"]
    wait_for(lambda: c.states().get("core-sw", {}).get("state") == "up", 30, "core-sw up")

    # A change outside any maintenance window: a second version and a security event with the diff.
    device.running_config.write_text(device.running_config.read_text().replace(
        " switchport mode trunk\n", " switchport mode access\n switchport access vlan 666\n"))
    wait_for(lambda: len(get("/api/v1/configs/core-sw").json()) == 2, 60, "the changed configuration stored")
    text = get("/api/v1/configs/core-sw/diff").text
    assert "- switchport mode trunk" in text and "+ switchport access vlan 666" in text
    event = wait_for(lambda: next((e for e in get("/api/v1/events?asset=core-sw").json()
                                   if e["name"] == "config_change"), None), 30, "the config_change event")
    assert (event["kind"], event["severity"]) == ("security", "warning")
    assert "outside any maintenance window: +2 -1 lines (v1 -> v2)" in event["summary"]
    # The CLI reads the same versions.
    out = c.cli("configs", "list").stdout
    assert "core-sw" in out and "2" in out
    assert "+ switchport access vlan 666" in c.cli("configs", "diff", "core-sw").stdout
    # The versions table came from migration 0008: the schema the collector migrated to is the head.
    c.stop()
    with sqlite3.connect(c.config.parent / "opsmon.db") as db:
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
        rows = db.execute("SELECT asset_id, version FROM config_versions ORDER BY version").fetchall()
    assert revision == SCHEMA_REVISION and rows == [("core-sw", 1), ("core-sw", 2)]
