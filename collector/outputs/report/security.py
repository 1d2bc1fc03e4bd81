"""The report's security section: baseline compliance per control point (in the standard's order, with the
period's trend) and host, findings opened and closed, and the period's security events and incidents (issue 23)."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select

from opsmon.collector.inputs.security_catalog import standard_order
from opsmon.collector.sla.periods import Period
from opsmon.collector.store import Store


def security_section(store: Store, period: Period, excluded: Collection[str] = ()) -> dict[str, Any]:
    """Baseline compliance per control point and per host as it stood at the period's end (or now, for
    a period still running), and the security findings opened and closed in the period. `excluded`: the
    incidents approved exclusions take out (the report's, as the SLA engine's: sla/responses.judge)."""
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
    at_start = _per_control(store, period.start)
    return {
        "controls": [{"control": c, "clause": CONTROLS.get(c, {}).get("mlps", ""),
                      "zh": CONTROLS.get(c, {}).get("zh", c), "en": CONTROLS.get(c, {}).get("en", c),
                      "passed": p, "failed": f, "score": p / (p + f), "score_at_start": at_start.get(c)}
                     for c, (p, f) in sorted(per_control.items(), key=lambda kv: standard_order(kv[0]))],
        "hosts": [{"asset": a, "passed": p, "failed": f, "score": p / (p + f)}
                  for a, (p, f) in sorted(per_host.items(), key=lambda kv: (kv[1][0] / sum(kv[1]), kv[0]))],
        "findings_opened": opened,
        "findings_closed": closed,
        **security_events(store, period, excluded),
    }


def _per_control(store: Store, at: datetime) -> dict[str, float]:
    """Compliance per control point over every host as the baseline stood just before `at` (the trend's start);
    a control point with nothing passed or failed then is left out."""
    from opsmon.collector.inputs.security import last_changes, security_catalog, tally

    with store.session() as session:
        counts = tally(last_changes(session, before=at), security_catalog())
    totals: dict[str, list[int]] = {}
    for (_asset, control), (p, f) in counts.items():
        t = totals.setdefault(control, [0, 0])
        t[0] += p
        t[1] += f
    return {c: p / (p + f) for c, (p, f) in totals.items() if p + f}


# The control point each security event bears on (GB/T 22239-2019 8.1.4): a brute force on 身份鉴别 (8.1.4.1 a,
# login failure handling), a changed host key on 入侵防范 (8.1.4.4 f, detecting intrusion into important nodes),
# a changed watched file or device configuration on 数据完整性 (8.1.4.7 b: 鉴别数据 and 重要配置数据 kept by
# check digests). A failed baseline check carries its own control point.
EVENT_CONTROLS = {("auth", "bruteforce"): "identity_authentication", ("security", "ssh_host_key_changed"):
                  "intrusion_prevention", ("security", "ssh_host_key_trusted"): "intrusion_prevention",
                  ("security", "config_change"): "data_integrity", ("fim", ""): "data_integrity"}
SECURITY_EVENT_KINDS = ("security", "fim", "auth")


def event_control(kind: str, name: str, details: dict[str, Any] | None) -> str:
    control = (details or {}).get("control") if kind == "security" else None
    return str(control or EVENT_CONTROLS.get((kind, name)) or EVENT_CONTROLS.get((kind, ""), "unknown"))


def _within(acknowledged: datetime | None, deadline: datetime | None) -> bool | None:
    """Responded before the deadline; False when never acknowledged; None when it had no deadline."""
    from opsmon.collector.core.deadlines import in_time

    if acknowledged is None:
        return False
    return None if deadline is None else in_time(acknowledged, deadline)


def security_events(store: Store, period: Period, excluded: Collection[str] = ()) -> dict[str, Any]:
    """The period's security events counted by kind and name, by host and by control point (the standard's
    order), and the security incidents opened in it with their responses (within the deadline or not). An
    incident in `excluded` (an approved exclusion, a reclassification as planned among them) is listed, not
    judged: within_deadline None and not_counted "excluded", as the security response row leaves it out."""
    from opsmon.agent.baseline.catalog import CONTROLS
    from opsmon.collector.core.deadlines import response_seconds
    from opsmon.collector.core.incidents import NOT_FAULTS, SECURITY
    from opsmon.collector.store.models import Event, Incident

    with store.session() as session:
        events = session.execute(select(Event.asset_id, Event.kind, Event.name, Event.details).where(
            Event.kind.in_(SECURITY_EVENT_KINDS), Event.ts >= period.start, Event.ts < period.end)).all()
        incidents = list(session.scalars(select(Incident).where(
            Incident.kind == SECURITY, Incident.opened_ts >= period.start, Incident.opened_ts < period.end,
            Incident.status.not_in(NOT_FAULTS)).order_by(Incident.opened_ts, Incident.id)))
    by_kind: dict[tuple[str, str], int] = {}
    by_host: dict[str, int] = {}
    by_control: dict[str, int] = {}
    for asset, kind, name, details in events:
        by_kind[(kind, name)] = by_kind.get((kind, name), 0) + 1
        by_host[asset or "-"] = by_host.get(asset or "-", 0) + 1
        control = event_control(kind, name, details)
        by_control[control] = by_control.get(control, 0) + 1
    rows = []
    for inc in incidents:
        response = response_seconds(inc.opened_ts, inc.acknowledged_ts) if inc.acknowledged_ts else None
        rows.append({"id": inc.id, "asset": inc.asset_id, "severity": inc.severity, "cause": inc.cause,
                     "status": inc.status, "opened": inc.opened_ts.isoformat(),
                     "acknowledged": inc.acknowledged_ts.isoformat() if inc.acknowledged_ts else None,
                     "acknowledged_by": inc.acknowledged_by, "response_seconds": response,
                     "within_deadline": None if inc.id in excluded else _within(inc.acknowledged_ts, inc.deadline_ts),
                     "not_counted": "excluded" if inc.id in excluded else None})
    return {
        "events_total": len(events),
        "events_by_kind": [{"kind": k, "name": n, "count": c} for (k, n), c in sorted(by_kind.items())],
        "events_by_host": [{"asset": a, "count": c}
                           for a, c in sorted(by_host.items(), key=lambda kv: (-kv[1], kv[0]))],
        "events_by_control": [{"control": c, "clause": CONTROLS.get(c, {}).get("mlps", ""),
                               "zh": CONTROLS.get(c, {}).get("zh", c), "en": CONTROLS.get(c, {}).get("en", c),
                               "count": n}
                              for c, n in sorted(by_control.items(), key=lambda kv: standard_order(kv[0]))],
        "incidents": rows,
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
