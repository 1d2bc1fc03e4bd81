"""opsmon collector: checks, state timeline, store, API and the `opsmon` CLI."""

__version__ = "0.1.0"
__all__ = ["__version__"]
