"""Reading stored configurations, for `opsmon configs list|show|diff` and the API (the listings are
store/config_versions.py's plain SQL, which `opsmon configs list` imports alone).

A version is an int (1 is the first stored), "latest", or "previous" (the one before latest).
Unknown assets or versions raise NotFound; a malformed version raises InvalidInput.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.inputs.ssh.backup import unified_diff
from opsmon.collector.inputs.ssh.models import ConfigVersion
from opsmon.collector.store.config_versions import SUMMARY, list_assets, list_versions

__all__ = ["MAX_VERSION", "Version", "diff", "list_assets", "list_versions", "show"]

Version = int | str


def _summary(row: ConfigVersion) -> dict[str, Any]:
    return {k: getattr(row, k) for k in SUMMARY}


MAX_VERSION = 2 ** 63 - 1  # versions are the store's 64-bit integers: SQLite refuses a larger one (OverflowError)


def _parse(version: Version) -> int | str:
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
        return _parse(int(digits))
    raise InvalidInput(f"version {version!r}: give a number from 1, 'latest' or 'previous'")


def _get(session: Any, asset_id: str, name: str, version: Version) -> ConfigVersion:
    want = _parse(version)
    query = select(ConfigVersion).where(ConfigVersion.asset_id == asset_id, ConfigVersion.name == name)
    if isinstance(want, int):
        row = session.scalars(query.where(ConfigVersion.version == want)).first()
    else:
        skip = 1 if want == "previous" else 0
        row = session.scalars(query.order_by(ConfigVersion.version.desc()).offset(skip).limit(1)).first()
    if row is None:
        raise NotFound(f"asset {asset_id!r} has no {name} configuration version {version}")
    return row


def show(store: Any, asset_id: str, version: Version = "latest", name: str = "running") -> dict[str, Any]:
    """One version with its content."""
    with store.session() as session:
        row = _get(session, asset_id, name, version)
        return {**_summary(row), "content": row.content}


def diff(store: Any, asset_id: str, a: Version = "previous", b: Version = "latest", name: str = "running",
         context: int = 3) -> str:
    """Unified diff from version a to version b ('' when they are the same)."""
    with store.session() as session:
        old = _get(session, asset_id, name, a)
        new = _get(session, asset_id, name, b)
        lines = unified_diff(old.content, new.content, f"{asset_id} {name} v{old.version}",
                             f"{asset_id} {name} v{new.version}", context)
    return "\n".join(lines) + ("\n" if lines else "")
