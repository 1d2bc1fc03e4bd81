"""What each baseline check is (the policies the agents run, rules/baseline/) and the counting of results per
control point of GB/T 22239-2019 8.1.4: what the security book, the report and `opsmon compliance` share.

Apart from inputs/security.py, which imports SQLAlchemy and the store's models for its writes, so that `opsmon
compliance` counts its plain-driver reads without them (issue 25 item 2).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opsmon.collector.core.incidents import MAJOR


@dataclass(frozen=True)
class CheckInfo:
    """What the collector knows of a check from the policies: where it belongs and how it matters."""

    control: str
    title_en: str
    title_zh: str
    severity: str = MAJOR
    incident: bool = False


def tally(results: Iterable[tuple[str, str, str, str]], catalog: Callable[[str, str], CheckInfo | None],
          ) -> dict[tuple[str, str], list[int]]:
    """(asset, policy, check, status) rows -> {(asset, control): [passed, failed]}; other statuses not counted
    but the control point still listed (so "nothing counted" shows as such)."""
    out: dict[tuple[str, str], list[int]] = {}
    for asset, policy, check, status in results:
        info = catalog(policy, check)
        counts = out.setdefault((asset, info.control if info else "unknown"), [0, 0])
        if status == "pass":
            counts[0] += 1
        elif status == "fail":
            counts[1] += 1
    return out


def security_catalog() -> Callable[[str, str], CheckInfo | None]:
    """What each baseline check is, from the policies the agents run (rules/baseline/)."""
    try:
        from opsmon.agent.baseline.catalog import load_catalog  # type: ignore[import-not-found]
    except ImportError:
        return lambda _policy, _check: None
    known = load_catalog()

    def lookup(policy: str, check_id: str) -> CheckInfo | None:
        entry = known.get((policy, check_id)) or known.get(("", check_id))
        if entry is None:
            return None
        return CheckInfo(entry["control"], entry["title_en"], entry["title_zh"], entry.get("severity", MAJOR),
                         bool(entry.get("incident", False)))

    return lookup


def standard_order(control: str) -> tuple[int, ...]:
    """A control point's place in GB/T 22239-2019 8.1.4 (8.1.4.1 身份鉴别 ... 8.1.4.10 剩余信息保护), compared
    clause number by number (8.1.4.10 after 8.1.4.9, not after 8.1.4.1); others after them."""
    from opsmon.agent.baseline.catalog import CONTROLS

    clause = CONTROLS.get(control, {}).get("mlps", "")
    parts = clause.split(".")
    return tuple(int(x) for x in parts) if all(x.isdigit() for x in parts) else (99,)
