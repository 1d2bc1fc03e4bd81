"""collector.yaml: typed, frozen models (schema.py) and the loader (load.py)."""
from opsmon.collector.config.load import DEMO_CONFIG, load_config, resolve_config_path
from opsmon.collector.config.schema import CollectorConfig

__all__ = ["CollectorConfig", "DEMO_CONFIG", "load_config", "resolve_config_path"]
