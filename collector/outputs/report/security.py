"""The report's security section: baseline compliance per control point and host, and findings opened and closed."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from opsmon.collector.sla.periods import Period
from opsmon.collector.store import Store


def security_section(store: Store, period: Period) -> dict[str, Any]:
    """Baseline compliance per control point and per host as it stood at the period's end (or now, for
    a period still running), and the security findings opened and closed in the period."""
    from opsmon.agent.baseline.catalog import CONTROLS
    from opsmon.collector.inputs.security import last_changes, security_catalog, tally

    with store.session() as session:
        counts = tally(last_changes(session, before=period.end), security_catalog())
    per_control: dict[str, list[int]] = {}
    per_host: dict[str, list[int]] = {}
    for (asset, control), (p, f) in counts.items():
        for key, book in ((control, per_control), (asset, per_host)):
            total = book.setdefault(key, [0, 0])
            total[0] += p
            total[1] += f
    per_control = {c: v for c, v in per_control.items() if sum(v)}
    per_host = {a: v for a, v in per_host.items() if sum(v)}
    opened, closed = _findings(store, period)
    return {
        "controls": [{"control": c, "zh": CONTROLS.get(c, {}).get("zh", c), "en": CONTROLS.get(c, {}).get("en", c),
                      "passed": p, "failed": f, "score": p / (p + f)} for c, (p, f) in sorted(per_control.items())],
        "hosts": [{"asset": a, "passed": p, "failed": f, "score": p / (p + f)}
                  for a, (p, f) in sorted(per_host.items(), key=lambda kv: (kv[1][0] / sum(kv[1]), kv[0]))],
        "findings_opened": opened,
        "findings_closed": closed,
    }


def _findings(store: Store, period: Period) -> tuple[int, int]:
    """(findings opened in the period, of which resolved in it). A finding is a check turning from pass
    to fail, resolved when it passes again; as opsmon.collector.inputs.security judges it, an error or not-applicable
    run in between changes nothing. Every check counts, not only those whose policy opens an incident."""
    from opsmon.collector.inputs.security import DECIDED, turn
    from opsmon.collector.store.models import BaselineChange

    with store.session() as session:
        rows = session.execute(select(BaselineChange.asset_id, BaselineChange.check_id, BaselineChange.status,
                                      BaselineChange.since)
                               .where(BaselineChange.status.in_(DECIDED), BaselineChange.since < period.end)
                               .order_by(BaselineChange.asset_id, BaselineChange.check_id, BaselineChange.id)).all()
    opened = closed = 0
    before: tuple[str, str, str] | None = None
    open_since_start = False
    for asset, check, status, since in rows:
        same = before is not None and before[:2] == (asset, check)
        change = turn(before[2] if same and before else None, status)
        if change == "failed" and since >= period.start:
            opened += 1
            open_since_start = True
        elif change == "passed" and open_since_start:
            closed += 1
            open_since_start = False
        elif not same:
            open_since_start = False
        before = (asset, check, status)
    return opened, closed
