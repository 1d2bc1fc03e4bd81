"""Approved exclusions where they meet an asset's life and its hardware faults (a review of the merged engine found
each of these counted wrong). Quarter 2026Q3 in Asia/Shanghai: S = 2026-06-30T16:00Z, 92 days; every asset below is
up from before S to after the quarter in one interval, unless said otherwise. Figures in days, by hand.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from opsmon.collector.config.inventory import AssetSpec, remove_asset, upsert_assets
from opsmon.collector.core.signing import LinkRefused, Signer, _b64
from opsmon.collector.sla.engine import measure
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.targets import TargetTable
from opsmon.collector.store import Store
from opsmon.collector.store.exclusions import ExclusionRequest, approve_exclusion, request_exclusion
from opsmon.collector.store.models import Incident
from tests.collector.sla.test_sla_scenarios import AFTER, D, E, S, seed
from tests.conftest import utc

P = parse_period("2026Q3", "Asia/Shanghai")
TABLE = TargetTable.model_validate({"coverage_floor": 0.9, "targets": [
    {"id": "servers", "name_zh": "s", "name_en": "s", "measure": "availability",
     "scope": {"categories": ["server"]}, "comparator": ">=", "threshold": 0.95},
    {"id": "servers_hw", "name_zh": "s", "name_en": "s", "measure": "availability",
     "scope": {"categories": ["server"]}, "comparator": ">=", "threshold": 0.95, "hardware_faults_as": "down"},
]})
UP_ALL = ("srv", "up", S - timedelta(days=1), E + timedelta(days=1))


def exclude(store: Store, start, end) -> None:
    doc = request_exclusion(store, ExclusionRequest("carrier cut", asset="srv", start=start, end=end), "cli:a", AFTER)
    approve_exclusion(store, int(str(doc["id"])), "cli:b", AFTER)


def days(t, tid: str = "servers") -> tuple[float, ...]:
    r = t.target(tid)
    a = r.availability
    return (round(a.up_seconds / D, 3), round(a.down_seconds / D, 3), round(a.unknown_seconds / D, 3),
            round(a.expected_seconds / D, 3), round(a.exclusion_seconds / D, 3), r.coverage, r.value)


def test_an_exclusion_across_a_back_dated_removal_takes_out_only_the_life(store: Store) -> None:
    """Removed as of 08-20T00:00Z (told 08-25): life S..08-20 = 50 d 8 h = 50.333 d. Exclusion 08-15..08-25: only
    08-15..08-20 = 5 d is the asset's. Up 45.333, expected 45.333, taken out 5, coverage 1. Before the fix the
    whole 10 d of up time was subtracted: up 40.333 and 5 d unknown, coverage 0.89 (low_coverage)."""
    seed(store, [("srv", "server", S - timedelta(days=100), None)], [UP_ALL])
    remove_asset(store, "srv", "tester", now=utc(2026, 8, 25), at=utc(2026, 8, 20))
    exclude(store, utc(2026, 8, 15), utc(2026, 8, 25))
    assert days(measure(store, TABLE, P, AFTER)) == (45.333, 0.0, 0.0, 45.333, 5.0, 1.0, 1.0)


def test_an_exclusion_across_a_restored_absence_takes_out_only_the_life(store: Store) -> None:
    """Removed 08-01, restored 08-11: absent 10 d, life 82 d. Exclusion 07-30..08-13: 2 d before the absence and
    2 d after it are the asset's, 4 d. Up 78, expected 78, coverage 1 (before the fix: up 68, coverage 0.87)."""
    seed(store, [("srv", "server", S - timedelta(days=100), None)], [UP_ALL])
    remove_asset(store, "srv", "tester", now=utc(2026, 8, 5), at=utc(2026, 8, 1))
    upsert_assets(store, [AssetSpec(id="srv", category="server")], "tester", now=utc(2026, 8, 11))
    exclude(store, utc(2026, 7, 30), utc(2026, 8, 13))
    assert days(measure(store, TABLE, P, AFTER)) == (78.0, 0.0, 0.0, 78.0, 4.0, 1.0, 1.0)


def test_hardware_faults_keep_the_exclusion_and_none_counts_inside_it(store: Store) -> None:
    """Exclusion 08-01..08-11 (10 d); a major hardware fault 09-01..09-02 (1 d, outside it) and one 08-02..08-04
    (inside it). With hardware_faults_as: down only the first moves up time to down: up 92 - 10 - 1 = 81, down 1,
    expected 82, taken out 10, value 81/82 = 0.98780. Before the fix the exclusion was dropped (10 d unknown,
    coverage 0.891) and the fault inside it counted 2 d down."""
    seed(store, [("srv", "server", S - timedelta(days=100), None)], [UP_ALL])
    with store.session.begin() as s:
        s.add(Incident(id="HW1", asset_id="srv", kind="hardware", severity="major", opened_ts=utc(2026, 9, 1),
                       resolved_ts=utc(2026, 9, 2), source="test"))
        s.add(Incident(id="HW2", asset_id="srv", kind="hardware", severity="major", opened_ts=utc(2026, 8, 2),
                       resolved_ts=utc(2026, 8, 4), source="test"))
    exclude(store, utc(2026, 8, 1), utc(2026, 8, 11))
    result = measure(store, TABLE, P, AFTER)
    assert days(result) == (82.0, 0.0, 0.0, 82.0, 10.0, 1.0, 1.0)
    up, down, unknown, expected, taken, coverage, value = days(result, "servers_hw")
    assert (up, down, unknown, expected, taken, coverage) == (81.0, 1.0, 0.0, 82.0, 10.0, 1.0)
    assert value == pytest.approx(81 / 82)


def test_an_exclusion_past_the_life_never_lifts_a_figure_above_one(store: Store) -> None:
    """Up until 08-20, down after (still polled); removal back-dated to 08-20; exclusion 08-19..08-23, of which
    08-19..08-20 (1 d) is the asset's. Life 50.333 d: up 49.333, down 0, expected 49.333. Before the fix the 3 d of
    down time after the removal were subtracted as well: down -3 d and a value of 1.065."""
    seed(store, [("srv", "server", S - timedelta(days=100), None)],
         [("srv", "up", S - timedelta(days=1), utc(2026, 8, 20)),
          ("srv", "down", utc(2026, 8, 20), E + timedelta(days=1))])
    remove_asset(store, "srv", "tester", now=utc(2026, 8, 25), at=utc(2026, 8, 20))
    exclude(store, utc(2026, 8, 19), utc(2026, 8, 23))
    assert days(measure(store, TABLE, P, AFTER)) == (49.333, 0.0, 0.0, 49.333, 1.0, 1.0, 1.0)


@pytest.mark.parametrize("body", ["INC-1|alice", "INC-1", "", "a|b|99999999999999999999|n"])
def test_a_well_signed_body_of_the_wrong_shape_is_refused_not_a_crash(body: str) -> None:
    """A public page opens any token: a body with too few fields, or an expiry no clock holds, is a forged link
    (403), never an IndexError or OverflowError (a 500). The MAC is right, so only the shape is wrong."""
    signer = Signer(b"k" * 32, expiry_at=2)
    token = f"{_b64(body.encode())}.{signer._mac(_b64(body.encode()))}"
    with pytest.raises(LinkRefused) as err:
        signer.open(token, AFTER, 3)
    assert err.value.status == 403
