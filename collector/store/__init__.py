"""Persistence: tables (models.py), engine and migrations (db.py), batched writes (writer.py), reads on the plain
driver (dbapi.py).

Store and open_store are imported on first use, not with the package: a read command imports store/dbapi.py and
the reads without SQLAlchemy (issue 25 item 2), and importing the package used to bring db.py and SQLAlchemy."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsmon.collector.store.db import Store, open_store

__all__ = ["Store", "open_store"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.db"), name)
