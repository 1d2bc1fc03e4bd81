"""Reading stored configurations, for the API: store/config_versions.py's plain SQL (which `opsmon configs
list|show|diff` imports alone, without SQLAlchemy), re-exported where the SSH input's API has always found it.
"""
from __future__ import annotations

from opsmon.collector.store.config_versions import MAX_VERSION, Version, diff, list_assets, list_versions, show

__all__ = ["MAX_VERSION", "Version", "diff", "list_assets", "list_versions", "show"]
