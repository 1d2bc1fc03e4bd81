"""Baseline compliance per host and control point, read from the store (`opsmon compliance`, issue 23).

The latest result of every check on every host (baseline_results), counted per control point of GB/T
22239-2019 8.1.4 in the standard's order: passed, failed, passed / (passed + failed) (not-applicable and
errors are not counted, as everywhere: inputs/security_catalog.py), and the failing checks with their evidence.
Plain SQL on store/dbapi.py's Reader, so that the command reads on the plain driver without SQLAlchemy
(issue 25 item 2).
"""
from __future__ import annotations

from typing import Any

from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.millis import from_ms

# The latest result of every check (of one host: {where}), by host and check.
RESULTS = ("SELECT asset_id, policy, check_id, status, evidence, ran_at, since FROM baseline_results{where} "
           "ORDER BY asset_id, check_id")


def compliance(store: Readable, host: str | None = None) -> list[dict[str, Any]]:
    """One row per host and control point (hosts by name, control points in the standard's order)."""
    from opsmon.agent.baseline.catalog import CONTROLS
    from opsmon.collector.inputs.security_catalog import security_catalog, standard_order, tally

    catalog = security_catalog()
    sql = RESULTS.format(where="" if host is None else " WHERE asset_id = :host")
    with store.reader() as r:
        results = r.rows(sql, {} if host is None else {"host": host})
    counts = tally(((asset, policy, check, status) for asset, policy, check, status, *_ in results), catalog)
    failing: dict[tuple[str, str], list[dict[str, Any]]] = {}
    ran: dict[str, str] = {}
    for asset, policy, check, status, evidence, ran_at, since in results:
        ran[asset] = max(ran.get(asset, ""), from_ms(ran_at).isoformat())
        if status != "fail":
            continue
        info = catalog(policy, check)
        failing.setdefault((asset, info.control if info else "unknown"), []).append(
            {"check": check, "zh": info.title_zh if info else check,
             "en": info.title_en if info else check, "severity": info.severity if info else "",
             "evidence": evidence, "since": from_ms(since).isoformat()})
    rows = []
    for (asset, control), (passed, failed) in sorted(counts.items(),
                                                     key=lambda kv: (kv[0][0], standard_order(kv[0][1]))):
        ctl = CONTROLS.get(control, {})
        rows.append({"asset": asset, "control": control, "clause": ctl.get("mlps", ""),
                     "zh": ctl.get("zh", control), "en": ctl.get("en", control), "passed": passed, "failed": failed,
                     "score": passed / (passed + failed) if passed + failed else None, "ran_at": ran[asset],
                     "failing": sorted(failing.get((asset, control), []), key=lambda f: f["check"])})
    return rows
