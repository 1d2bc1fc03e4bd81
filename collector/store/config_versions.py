"""The stored device configurations read back: which devices have some, one configuration's versions, one version
with its content (show) and what changed between two (diff).

Plain SQL on store/dbapi.py's Reader: `opsmon configs list|show|diff` read without SQLAlchemy (issue 25 item 2), and
the API (GET /api/v1/configs, /api/v1/configs/{asset}, its version and diff) runs the same queries.

A version is an int (1 is the first stored), "latest", or "previous" (the one before latest). Unknown assets or
versions raise NotFound; a malformed version raises InvalidInput.
"""
from __future__ import annotations

import difflib
from typing import Any

from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.store.dbapi import Readable, row_values
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
    return [row_values(SUMMARY, row, times=_TIMES) for row in rows]


Version = int | str
MAX_VERSION = 2 ** 63 - 1  # versions are the store's 64-bit integers: SQLite refuses a larger one (OverflowError)
_ONE = f"SELECT {', '.join(SUMMARY)}, content FROM config_versions WHERE asset_id = :asset AND name = :name"
NUMBERED = _ONE + " AND version = :version"
NEWEST = _ONE + " ORDER BY version DESC LIMIT 1 OFFSET :skip"  # skip 1: the one before the latest


def version_of(text: str) -> Version:
    """A version as typed (an API path or query, a CLI argument): a number for ASCII digits, else the text as given
    (`latest`, `previous` and anything else is checked by parse_version, which says why a version is refused). Not
    int() of any isdigit() text: int() refuses '²' and over 4,300 digits, with a traceback in the CLI."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4300 else text


def parse_version(version: Version) -> int | str:
    """A version as given (a number, its digits, 'latest' or 'previous'), checked: InvalidInput saying why not."""
    if isinstance(version, int) and not isinstance(version, bool):
        if version < 1:
            raise InvalidInput(f"version {version}: versions count from 1")
        if version > MAX_VERSION:
            raise InvalidInput(f"version {version}: versions are at most {MAX_VERSION}")
        return version
    text = str(version).strip().lower()
    if text in ("latest", "previous"):
        return text
    if text.isascii() and text.isdigit():  # isdigit() alone takes '²', which int() refuses
        digits = text.lstrip("0") or "0"  # int() refuses over 4,300 digits, leading zeros included
        if len(digits) > 19:
            raise InvalidInput(f"version {text[:30]}: versions are at most {MAX_VERSION}")
        return parse_version(int(digits))
    raise InvalidInput(f"version {version!r}: give a number from 1, 'latest' or 'previous'")


def _get(reader: Any, asset_id: str, name: str, version: Version) -> dict[str, Any]:
    want = parse_version(version)
    params: dict[str, Any] = {"asset": asset_id, "name": name}
    if isinstance(want, int):
        rows = reader.rows(NUMBERED, params | {"version": want})
    else:
        rows = reader.rows(NEWEST, params | {"skip": 1 if want == "previous" else 0})
    if not rows:
        raise NotFound(f"asset {asset_id!r} has no {name} configuration version {version}")
    return row_values((*SUMMARY, "content"), rows[0], times=_TIMES)


def show(store: Readable, asset_id: str, version: Version = "latest", name: str = "running") -> dict[str, Any]:
    """One version with its content."""
    with store.reader() as r:
        return _get(r, asset_id, name, version)


def diff(store: Readable, asset_id: str, a: Version = "previous", b: Version = "latest", name: str = "running",
         context: int = 3) -> str:
    """Unified diff from version a to version b ('' when they are the same)."""
    with store.reader() as r:
        old = _get(r, asset_id, name, a)
        new = _get(r, asset_id, name, b)
    lines = unified_diff(old["content"], new["content"], f"{asset_id} {name} v{old['version']}",
                         f"{asset_id} {name} v{new['version']}", context)
    return "\n".join(lines) + ("\n" if lines else "")


def unified_diff(old: str, new: str, old_label: str, new_label: str, context: int = 3) -> list[str]:
    """The lines of a unified diff of two configurations (the backup's change event and `opsmon configs diff`)."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_label, new_label, n=context, lineterm="")]
