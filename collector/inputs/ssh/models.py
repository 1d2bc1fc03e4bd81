"""The table of stored device configurations lives with the others; this name stays for collector/ssh."""
from opsmon.collector.store.models import ConfigVersion

__all__ = ["ConfigVersion"]
