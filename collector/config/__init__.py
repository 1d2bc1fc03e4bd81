"""collector.yaml: typed, frozen models (schema.py) and the loader (load.py).

The names below are imported on first use, not with the package: `opsmon poller` reads only the check models
(config/checks.py), and importing the package first built every model of collector.yaml (14 MB of pydantic
validators in a poller's memory, docs/poller.md "Cost")."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsmon.collector.config.basics import DEMO_CONFIG, resolve_config_path
    from opsmon.collector.config.load import load_config
    from opsmon.collector.config.schema import CollectorConfig

__all__ = ["CollectorConfig", "DEMO_CONFIG", "load_config", "resolve_config_path"]
_HOMES = {"CollectorConfig": "schema", "DEMO_CONFIG": "basics", "load_config": "load", "resolve_config_path": "basics"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
