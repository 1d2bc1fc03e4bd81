"""A breach is recorded once and survives restarts (issue 18 item 4).

Before, the set of breached incidents lived in memory only: every restart of a collector holding an incident
past its deadline recorded the breach again (five `breached` rows for one breach after four restarts), the
counter counted it again and the quarterly report printed every row.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from opsmon.collector.incidents.read import list_incidents, show_incident
from opsmon.collector.store import Store
from tests.collector.incidents.test_incidents import T0, World, fail, info

D = T0 + timedelta(seconds=20)  # opened; the deadline is D + 1 h


def test_a_breach_is_recorded_once_across_restarts(store: Store) -> None:
    """Opened at D, unacknowledged; breached at D+1 h+1 s. Then four restarts, each taking the incident up
    again and ticking at D+2 h: one `breached` row, at D+1 h+1 s; each new process counts 0 breaches."""
    w = World(store, {"srv": info(criticality="high")})
    w.advance(fail(w, "srv", T0))
    [inc] = list_incidents(store)
    w.advance(D + timedelta(hours=1, seconds=1))
    assert w.engine.breaches == 1
    for _ in range(4):
        again = World(store, {"srv": info(criticality="high")})
        again.engine.load()
        again.advance(D + timedelta(hours=2))
        assert again.engine.breaches == 0
    trail = [e for e in show_incident(store, inc["id"])["trail"] if e["action"] == "breached"]
    assert [(e["ts"], e["detail"]) for e in trail] == [
        ((D + timedelta(hours=1, seconds=1)).isoformat(), {"deadline": (D + timedelta(hours=1)).isoformat()})]
    assert show_incident(store, inc["id"])["breached_at"] == (D + timedelta(hours=1, seconds=1)).isoformat()


def test_the_report_prints_a_breach_once_even_from_a_store_that_recorded_it_five_times(store: Store,
                                                                                      tmp_path: Path) -> None:
    """A database written before this change holds the breach of INC-AV-1 five times (four restarts): the
    report's trail shows the first only; the other steps stay as they were."""
    from opsmon.collector.outputs.report import build_report
    from opsmon.collector.store.models import IncidentEvent
    from tests.collector.outputs.test_report import AFTER, PERIOD, config, seed_quarter

    seed_quarter(store)
    with store.session() as s:
        first = s.query(IncidentEvent).filter_by(incident_id="INC-AV-1", action="opened").one().ts
        for k in range(5):
            s.add(IncidentEvent(incident_id="INC-AV-1", ts=first + timedelta(hours=1, minutes=k), actor="opsmon",
                                action="breached", detail={"deadline": "x"}))
        s.commit()
    data = build_report(store, config(tmp_path), PERIOD, "en", AFTER)
    [inc] = [i for i in data.incidents if i.id == "INC-AV-1"]
    actions = [e.action for e in inc.trail]
    assert actions.count("breached") == 1
    assert [a for a in actions if a != "breached"] == ["opened", "escalated", "acknowledged"]
