"""opsmon host agent. Imports nothing from `collector`: it installs with psutil and
prometheus-client alone (`pip install opsmon[agent]`)."""

__version__ = "0.1.0"
__all__ = ["__version__"]
