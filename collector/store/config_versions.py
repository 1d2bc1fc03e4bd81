"""The stored device configurations listed: which devices have some, and one configuration's versions.

Plain SQL on store/dbapi.py's Reader: `opsmon configs list` reads without SQLAlchemy (issue 25 item 2), and the API
(GET /api/v1/configs, /api/v1/configs/{asset}) runs the same queries through inputs/ssh/configs.py, which
re-exports them beside show() and diff() (those read a version's content through the ORM).
"""
from __future__ import annotations

from typing import Any

from opsmon.collector.core.errors import NotFound
from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.millis import from_ms

# A version as listed (without its content), in this order: the API's ConfigVersion and show()'s answer.
SUMMARY = ("asset_id", "name", "version", "fetched_at", "last_seen", "sha256", "size", "command")
_TIMES = ("fetched_at", "last_seen")
SERIES = ("SELECT asset_id, name, MAX(version), MAX(last_seen) FROM config_versions GROUP BY asset_id, name "
          "ORDER BY asset_id, name")
VERSIONS = (f"SELECT {', '.join(SUMMARY)} FROM config_versions WHERE asset_id = :asset AND name = :name "
            "ORDER BY version DESC")


def list_assets(store: Readable) -> list[dict[str, Any]]:
    """Every asset and configuration name with a stored version: how many, and the latest."""
    with store.reader() as r:
        rows = r.rows(SERIES)
    return [{"asset_id": a, "name": n, "versions": v, "last_seen": from_ms(seen)} for a, n, v, seen in rows]


def list_versions(store: Readable, asset_id: str, name: str = "running") -> list[dict[str, Any]]:
    """The versions of one configuration, newest first (without their content)."""
    with store.reader() as r:
        rows = r.rows(VERSIONS, {"asset": asset_id, "name": name})
    if not rows:
        raise NotFound(f"no stored {name} configuration for asset {asset_id!r}")
    return [{k: from_ms(v) if k in _TIMES else v for k, v in zip(SUMMARY, row, strict=True)} for row in rows]
