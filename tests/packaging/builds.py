"""The packaging scripts (packaging/*.py, run by `make`) loaded by path: `packaging` is also the name of a PyPI
library, so the folder is not importable as a package."""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.conftest import ROOT


def load(name: str) -> ModuleType:
    """packaging/<name>.py as a module (once per process)."""
    key = f"opsmon_packaging_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, ROOT / "packaging" / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]
