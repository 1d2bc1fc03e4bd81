"""Persistence: tables (models.py), engine and migrations (db.py), batched writes (writer.py)."""
from opsmon.collector.store.db import Store, open_store

__all__ = ["Store", "open_store"]
