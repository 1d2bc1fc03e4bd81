"""Baseline compliance per host and control point, read from the store (`opsmon compliance`, issue 23).

The latest result of every check on every host (baseline_results), counted per control point of GB/T
22239-2019 8.1.4 in the standard's order: passed, failed, passed / (passed + failed) (not-applicable and
errors are not counted, as everywhere: inputs/security.py), and the failing checks with their evidence.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from opsmon.collector.store import Store


def compliance(store: Store, host: str | None = None) -> list[dict[str, Any]]:
    """One row per host and control point (hosts by name, control points in the standard's order)."""
    from opsmon.agent.baseline.catalog import CONTROLS
    from opsmon.collector.inputs.security import security_catalog, tally
    from opsmon.collector.outputs.report.security import standard_order
    from opsmon.collector.store.models import BaselineResult

    catalog = security_catalog()
    query = select(BaselineResult)
    if host is not None:
        query = query.where(BaselineResult.asset_id == host)
    with store.session() as session:
        results = list(session.scalars(query))
    counts = tally(((r.asset_id, r.policy, r.check_id, r.status) for r in results), catalog)
    failing: dict[tuple[str, str], list[dict[str, Any]]] = {}
    ran: dict[str, str] = {}
    for r in results:
        ran[r.asset_id] = max(ran.get(r.asset_id, ""), r.ran_at.isoformat())
        if r.status != "fail":
            continue
        info = catalog(r.policy, r.check_id)
        failing.setdefault((r.asset_id, info.control if info else "unknown"), []).append(
            {"check": r.check_id, "zh": info.title_zh if info else r.check_id,
             "en": info.title_en if info else r.check_id, "severity": info.severity if info else "",
             "evidence": r.evidence, "since": r.since.isoformat()})
    rows = []
    for (asset, control), (passed, failed) in sorted(counts.items(),
                                                     key=lambda kv: (kv[0][0], standard_order(kv[0][1]))):
        ctl = CONTROLS.get(control, {})
        rows.append({"asset": asset, "control": control, "clause": ctl.get("mlps", ""),
                     "zh": ctl.get("zh", control), "en": ctl.get("en", control), "passed": passed, "failed": failed,
                     "score": passed / (passed + failed) if passed + failed else None, "ran_at": ran[asset],
                     "failing": sorted(failing.get((asset, control), []), key=lambda f: f["check"])})
    return rows
