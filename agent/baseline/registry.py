"""The probe registry: each probe module registers its functions by name with `@probe`.

The names are those of `policy.PROBES`. Nothing here imports a probe module: evaluate.py does,
so that every probe is registered before a policy runs.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

from opsmon.agent.baseline.host import Host

# A runtime alias, not an annotation: typing's generics, which Python 3.7 and 3.8 can subscript.
Probe = Callable[[Host, Dict[str, Any]], Tuple[str, str]]
PROBE_FUNCS: dict[str, Probe] = {}


def probe(name: str) -> Callable[[Probe], Probe]:
    def deco(fn: Probe) -> Probe:
        if name in PROBE_FUNCS:
            raise ValueError(f"probe {name!r} registered twice")
        PROBE_FUNCS[name] = fn
        return fn
    return deco
