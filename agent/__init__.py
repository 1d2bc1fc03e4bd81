"""opsmon host agent. Imports nothing from `collector`: it installs with psutil and
prometheus-client alone (`pip install opsmon-agent`, or `opsmon[agent]` beside the collector).

It runs on Python 3.7 and later (Kylin V10 and UOS V20 ship 3.7). Older interpreters are refused
here, on import, with one line that says why: every entry point (`opsmon-agent`, `python -m
opsmon.agent`) imports this package first, and the modules after it are not even parseable by 3.6
(`from __future__ import annotations`), which would otherwise end in a SyntaxError traceback.
This file must therefore stay parseable by old Pythons: no f-strings, no annotations.
"""
import sys

if sys.version_info < (3, 7):  # noqa: UP036 - the point (RHEL 8 has 3.6)
    sys.exit("opsmon-agent needs Python 3.7 or later; this is {}.{}.{} ({})".format(  # noqa: UP032 - no f-string here
        sys.version_info[0], sys.version_info[1], sys.version_info[2], sys.executable))

__version__ = "0.1.0"
__all__ = ["__version__"]
