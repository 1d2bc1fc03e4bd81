"""The SLA engine against scenarios computed by hand.

Quarter 2026Q3 in Asia/Shanghai is [2026-06-30T16:00Z, 2026-09-30T16:00Z): 92 days.
Every expected figure below is worked out in the comment next to it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from opsmon.collector.sla.engine import evaluate
from opsmon.collector.sla.entries import record_event, set_value
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.targets import TargetTable
from opsmon.collector.store import Store
from opsmon.collector.store.models import Asset, Incident, StateInterval
from tests.conftest import utc

D = 86400.0
H = 3600.0
S = utc(2026, 6, 30, 16)  # 2026Q3 start in Asia/Shanghai
E = utc(2026, 9, 30, 16)  # 2026Q3 end
Q = 92 * D
AFTER = E + timedelta(days=30)  # "now" for a finished quarter

TABLE = TargetTable.model_validate({"coverage_floor": 0.9, "targets": [
    {"id": "servers", "name_zh": "服务器", "name_en": "Servers", "measure": "availability",
     "scope": {"categories": ["server"]}, "comparator": ">=", "threshold": 0.95},
    {"id": "servers_strict", "name_zh": "服务器", "name_en": "Servers (unreachable and degraded count)",
     "measure": "availability", "scope": {"categories": ["server"]}, "comparator": ">=", "threshold": 0.95,
     "unreachable_as": "down", "degraded_as": "down"},
    {"id": "servers_lenient", "name_zh": "服务器", "name_en": "Servers (degraded is up)", "measure": "availability",
     "scope": {"categories": ["server"]}, "comparator": ">=", "threshold": 0.95, "degraded_as": "up"},
    {"id": "links", "name_zh": "连通率", "name_en": "Connectivity", "measure": "availability",
     "scope": {"categories": ["link"]}, "comparator": ">=", "threshold": 0.90},
    {"id": "hw", "name_zh": "硬件响应", "name_en": "HW response", "measure": "response_time",
     "scope": {"kinds": ["hardware"]}, "comparator": "<=", "threshold": 3600, "unit": "seconds"},
    {"id": "rate", "name_zh": "响应率", "name_en": "Response rate", "measure": "response_rate", "limit": "1h",
     "comparator": ">=", "threshold": 1.0},
    {"id": "reports", "name_zh": "报告", "name_en": "Reports", "measure": "count", "comparator": ">=",
     "threshold": 24, "unit": "count"},
    {"id": "survey", "name_zh": "满意度", "name_en": "Satisfaction", "measure": "manual", "comparator": ">=",
     "threshold": 0.95},
]})


def seed(store: Store, assets: list[tuple[str, str, datetime, datetime | None]],
         intervals: list[tuple[str, str, datetime, datetime | None]],
         incidents: list[tuple[str, str, str, datetime, datetime | None]] = ()) -> None:
    with store.session.begin() as s:
        for asset_id, category, created, removed in assets:
            s.add(Asset(id=asset_id, name=asset_id, category=category, site=None, address=None, tags=[],
                        criticality="medium", parent_id=None, checks=[], created_at=created, updated_at=created,
                        removed_at=removed))
        for asset_id, state, start, end in intervals:
            s.add(StateInterval(asset_id=asset_id, state=state, start_ts=start, end_ts=end, reason=""))
        for inc_id, asset_id, kind, opened, acked in incidents:
            s.add(Incident(id=inc_id, asset_id=asset_id, kind=kind, opened_ts=opened, acknowledged_ts=acked,
                           source="test"))


def run(store: Store, period: str = "2026Q3", now: datetime = AFTER, tz: str = "Asia/Shanghai") -> dict[str, Any]:
    result = evaluate(store, TABLE, parse_period(period, tz), now)
    return {t["id"]: t for t in result["targets"]}


def up_all(asset: str, start: datetime = S - timedelta(days=10), end: datetime | None = E + timedelta(days=10)):
    return (asset, "up", start, end)


# 1
def test_up_all_quarter(store: Store) -> None:
    seed(store, [("s1", "server", S - timedelta(days=100), None)], [up_all("s1")])
    t = run(store)["servers"]
    assert t["value"] == 1.0 and t["coverage"] == 1.0 and t["status"] == "pass"
    assert t["budget_left_seconds"] == pytest.approx(0.05 * Q)  # 397,440 s may still be lost... in hindsight


# 2
def test_one_day_down(store: Store) -> None:
    down_at = utc(2026, 8, 1)
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - D * timedelta(seconds=1), down_at), ("s1", "down", down_at, down_at + timedelta(days=1)),
          ("s1", "up", down_at + timedelta(days=1), None)])
    t = run(store)["servers"]
    assert t["value"] == pytest.approx(91 / 92)  # 0.98913
    assert t["budget_left_seconds"] == pytest.approx(91 * D - 0.95 * Q)  # 3.6 days = 311,040 s
    assert t["worst"] == [{"asset": "s1", "value": pytest.approx(91 / 92), "down_seconds": D}]


# 3
def test_interval_crossing_the_period_start_is_clipped(store: Store) -> None:
    """Down 2026-06-30 00:00Z .. 07-01 00:00Z: only the 8 h after 06-30 16:00Z are in Q3."""
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "down", utc(2026, 6, 30), utc(2026, 7, 1)), ("s1", "up", utc(2026, 7, 1), None)])
    t = run(store)["servers"]
    assert t["detail"]["down_seconds"] == 8 * H
    assert t["value"] == pytest.approx(1 - 8 * H / Q)


# 4
def test_interval_crossing_the_period_end_is_clipped(store: Store) -> None:
    """Down from 09-30 10:00Z to 10-01 10:00Z: 6 h inside Q3 (until 16:00Z)."""
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - timedelta(days=1), utc(2026, 9, 30, 10)),
          ("s1", "down", utc(2026, 9, 30, 10), utc(2026, 10, 1, 10)), ("s1", "up", utc(2026, 10, 1, 10), None)])
    t = run(store)["servers"]
    assert t["detail"]["down_seconds"] == 6 * H and t["detail"]["observed_seconds"] == Q


# 5
@pytest.mark.parametrize("tz, inside", [("Asia/Shanghai", 1 * H), ("UTC", 0.0)])
def test_the_time_zone_decides_where_the_quarter_starts(store: Store, tz: str, inside: float) -> None:
    """Down 06-30 15:00Z..17:00Z: Shanghai's Q3 starts at 16:00Z (1 h inside), UTC's at 07-01 00:00Z (none)."""
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - timedelta(days=5), utc(2026, 6, 30, 15)), ("s1", "down", utc(2026, 6, 30, 15),
                                                                      utc(2026, 6, 30, 17)),
          ("s1", "up", utc(2026, 6, 30, 17), None)])
    assert run(store, tz=tz)["servers"]["detail"]["down_seconds"] == inside


# 6
def test_maintenance_over_down_time_is_left_out(store: Store) -> None:
    """A 10 h fault of which 4 h fall in a window: down 6 h, maintenance 4 h.

    value = up / (up + down) = (92 d - 10 h) / (92 d - 4 h)."""
    t0 = utc(2026, 8, 1)
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - D * timedelta(seconds=1), t0), ("s1", "down", t0, t0 + timedelta(hours=6)),
          ("s1", "maintenance", t0 + timedelta(hours=6), t0 + timedelta(hours=10)),
          ("s1", "up", t0 + timedelta(hours=10), None)])
    t = run(store)["servers"]
    assert t["value"] == pytest.approx((Q - 10 * H) / (Q - 4 * H))
    assert t["detail"]["maintenance_seconds"] == 4 * H
    assert t["coverage"] == 1.0  # maintenance is not missing data


# 7
def test_unknown_time_is_excluded_and_reported_as_coverage(store: Store) -> None:
    t0 = utc(2026, 8, 1)
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - D * timedelta(seconds=1), t0), ("s1", "unknown", t0, t0 + timedelta(days=2)),
          ("s1", "up", t0 + timedelta(days=2), None)])
    t = run(store)["servers"]
    assert t["value"] == 1.0 and t["coverage"] == pytest.approx(90 / 92)
    assert t["detail"]["unknown_seconds"] == 2 * D and t["status"] == "pass"


# 8
def test_low_coverage_is_flagged_never_passed(store: Store) -> None:
    t0 = utc(2026, 8, 1)
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - D * timedelta(seconds=1), t0), ("s1", "unknown", t0, t0 + timedelta(days=20)),
          ("s1", "up", t0 + timedelta(days=20), None)])
    t = run(store)["servers"]
    assert t["value"] == 1.0 and t["coverage"] == pytest.approx(72 / 92)  # 0.783 < 0.9
    assert (t["status"], t["pass"]) == ("low_coverage", False)


# 9
def test_asset_added_mid_quarter_counts_only_while_it_existed(store: Store) -> None:
    """New server from 2026-08-16 00:00+08:00 (46 days, all up); old one 1 day down of 92.

    fleet = (91 + 46) / (92 + 46) = 137/138."""
    added = utc(2026, 8, 15, 16)
    down_at = utc(2026, 7, 10)
    seed(store, [("old", "server", S - timedelta(days=100), None), ("new", "server", added, None)],
         [("old", "up", S - timedelta(days=1), down_at), ("old", "down", down_at, down_at + timedelta(days=1)),
          ("old", "up", down_at + timedelta(days=1), None), ("new", "up", added, None)])
    t = run(store)["servers"]
    assert t["value"] == pytest.approx(137 / 138)
    assert t["detail"]["observed_seconds"] == 138 * D and t["coverage"] == 1.0


# 10
def test_existing_time_without_intervals_is_unknown(store: Store) -> None:
    """Created 08-15 16:00Z but tracked only from 08-20 16:00Z: 5 of 46 days have no data."""
    added = utc(2026, 8, 15, 16)
    seed(store, [("new", "server", added, None)], [("new", "up", added + timedelta(days=5), None)])
    t = run(store)["servers"]
    assert t["coverage"] == pytest.approx(41 / 46) and t["detail"]["unknown_seconds"] == 5 * D


# 11
def test_unreachable_time_is_charged_to_the_parent_by_default(store: Store) -> None:
    t0 = utc(2026, 8, 1)
    seed(store, [("link", "link", S - timedelta(days=100), None), ("srv", "server", S - timedelta(days=100), None)],
         [("link", "up", S - timedelta(days=1), t0), ("link", "down", t0, t0 + timedelta(days=1)),
          ("link", "up", t0 + timedelta(days=1), None),
          ("srv", "up", S - timedelta(days=1), t0), ("srv", "unreachable", t0, t0 + timedelta(days=1)),
          ("srv", "up", t0 + timedelta(days=1), None)])
    t = run(store)
    assert t["links"]["value"] == pytest.approx(91 / 92)
    assert t["servers"]["value"] == 1.0 and t["servers"]["detail"]["unreachable_excluded_seconds"] == D
    assert t["servers"]["coverage"] == 1.0  # unreachable time is known time, only charged elsewhere
    assert t["servers_strict"]["value"] == pytest.approx(91 / 92)


# 12
def test_degraded_counts_as_down_unless_the_target_says_up(store: Store) -> None:
    t0 = utc(2026, 9, 1)
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - timedelta(days=1), t0), ("s1", "degraded", t0, t0 + timedelta(days=2)),
          ("s1", "up", t0 + timedelta(days=2), None)])
    t = run(store)
    assert t["servers"]["value"] == pytest.approx(90 / 92)
    assert t["servers_lenient"]["value"] == 1.0


# 13
def test_removed_asset_counts_until_its_removal(store: Store) -> None:
    """Removed 2026-08-01 00:00+08:00 (07-31 16:00Z): 31 days in Q3, 1 of them down."""
    removed = utc(2026, 7, 31, 16)
    t0 = utc(2026, 7, 10)
    seed(store, [("gone", "server", S - timedelta(days=100), removed)],
         [("gone", "up", S - timedelta(days=1), t0), ("gone", "down", t0, t0 + timedelta(days=1)),
          ("gone", "up", t0 + timedelta(days=1), removed)])
    t = run(store)["servers"]
    assert t["value"] == pytest.approx(30 / 31) and t["coverage"] == 1.0
    assert t["budget_left_seconds"] == pytest.approx(30 * D - 0.95 * 31 * D)


# 14
def test_quarter_to_date_with_an_open_interval_and_the_budget_ahead(store: Store) -> None:
    """now = 08-15 16:00Z: 46 days observed (1 down); 46 days still to come, assumed up.

    budget = (good + R) - 0.95 (observed + R) = (45 + 46) - 0.95 * 92 = 3.6 days."""
    now = utc(2026, 8, 15, 16)
    t0 = utc(2026, 7, 10)
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - timedelta(days=1), t0), ("s1", "down", t0, t0 + timedelta(days=1)),
          ("s1", "up", t0 + timedelta(days=1), None)])
    result = evaluate(store, TABLE, parse_period("2026Q3", "Asia/Shanghai"), now)
    t = {x["id"]: x for x in result["targets"]}["servers"]
    assert result["period"]["complete"] is False
    assert t["value"] == pytest.approx(45 / 46)
    assert t["budget_left_seconds"] == pytest.approx((45 + 46) * D - 0.95 * 92 * D)


# 15, 16
@pytest.mark.parametrize("ack_after, hw_value, hw_pass, rate", [
    (3600, 3600, True, 1.0),   # acknowledged exactly at 60:00 -> within the hour
    (3601, 3601, False, 0.0),  # 60:01 -> a miss
])
def test_acknowledged_at_60_00_and_60_01(store: Store, ack_after: int, hw_value: float, hw_pass: bool,
                                         rate: float) -> None:
    opened = utc(2026, 8, 3, 2)
    seed(store, [("s1", "server", S - timedelta(days=100), None)], [up_all("s1")],
         [("INC-1", "s1", "hardware", opened, opened + timedelta(seconds=ack_after))])
    t = run(store)
    assert (t["hw"]["value"], t["hw"]["pass"]) == (hw_value, hw_pass)
    assert t["rate"]["value"] == rate and t["rate"]["pass"] is hw_pass


# 17
@pytest.mark.parametrize("now_after_end, status, rate", [
    (timedelta(minutes=10), "no_data", None),  # 40 min elapsed, still within its hour: pending, nothing judged
    (timedelta(hours=2), "fail", 0.0),      # 2.5 h and no acknowledgement: a miss
])
def test_unacknowledged_at_the_period_end(store: Store, now_after_end: timedelta, status: str,
                                          rate: float | None) -> None:
    opened = E - timedelta(minutes=30)
    seed(store, [("s1", "server", S - timedelta(days=100), None)], [up_all("s1")],
         [("INC-1", "s1", "hardware", opened, None)])
    t = run(store, now=E + now_after_end)
    assert t["rate"]["status"] == status and t["rate"]["value"] == rate
    assert t["hw"]["status"] == status



# 17b
@pytest.mark.parametrize("opened_before_end, figure", [
    (timedelta(minutes=30), 3600.0),   # deadline 30 min after the end: the lower bound is the limit itself
    (timedelta(hours=2), 7200.0),      # deadline passed 1 h before the end: the time elapsed at the end
])
def test_unacknowledged_miss_is_the_same_whenever_regenerated(store: Store, opened_before_end: timedelta,
                                                              figure: float) -> None:
    seed(store, [("s1", "server", S - timedelta(days=100), None)], [up_all("s1")],
         [("INC-1", "s1", "hardware", E - opened_before_end, None)])
    runs = [run(store, now=E + later) for later in (timedelta(hours=2), timedelta(days=40), timedelta(days=400))]
    for t in runs:
        assert (t["hw"]["value"], t["hw"]["status"], t["hw"]["pass"]) == (figure, "fail", False)
        assert t["hw"]["worst"] == [{"incident": "INC-1", "asset": "s1", "kind": "hardware",
                                     "response_seconds": figure, "acknowledged": False}]
        assert (t["rate"]["value"], t["rate"]["detail"]["unacknowledged_misses"]) == (0.0, 1)
    assert runs[0] == runs[1] == runs[2]


# 17c
def test_unacknowledged_miss_while_the_period_runs_is_timed_to_now(store: Store) -> None:
    """Mid-quarter (Aug 3 04:00Z), an incident opened at 01:00Z and never acknowledged: 3 h so far, not
    the time to the quarter's end, which has not come."""
    opened = utc(2026, 8, 3, 1)
    seed(store, [("s1", "server", S - timedelta(days=100), None)], [up_all("s1")],
         [("INC-1", "s1", "hardware", opened, None)])
    t = run(store, now=utc(2026, 8, 3, 4))
    assert (t["hw"]["value"], t["hw"]["status"]) == (3 * 3600.0, "fail")
    assert t["hw"]["worst"][0]["response_seconds"] == 3 * 3600.0


# 17d
def test_one_unacknowledged_miss_fails_a_rate_target_only_below_its_threshold(store: Store) -> None:
    """Ten hardware faults, nine acknowledged within the hour and one never: the rate is 0.9. A rate
    target at 90 % holds; the 100 % one and the 1-hour response-time target fail."""
    table = TargetTable.model_validate({"coverage_floor": 0.9, "targets": [
        {"id": "rate90", "name_zh": "响应率", "name_en": "Response rate 90", "measure": "response_rate",
         "limit": "1h", "comparator": ">=", "threshold": 0.9},
        {"id": "rate100", "name_zh": "响应率", "name_en": "Response rate 100", "measure": "response_rate",
         "limit": "1h", "comparator": ">=", "threshold": 1.0},
        {"id": "hw", "name_zh": "硬件响应", "name_en": "HW response", "measure": "response_time",
         "scope": {"kinds": ["hardware"]}, "comparator": "<=", "threshold": 3600, "unit": "seconds"}]})
    base = utc(2026, 8, 1)
    incidents = [(f"INC-{n}", "s1", "hardware", base + timedelta(days=n), base + timedelta(days=n, minutes=30))
                 for n in range(9)] + [("INC-9", "s1", "hardware", base + timedelta(days=9), None)]
    seed(store, [("s1", "server", S - timedelta(days=100), None)], [up_all("s1")], incidents)
    t = {x["id"]: x for x in evaluate(store, table, parse_period("2026Q3", "Asia/Shanghai"), AFTER)["targets"]}
    assert (t["rate90"]["value"], t["rate90"]["status"]) == (0.9, "pass")
    assert (t["rate100"]["value"], t["rate100"]["status"]) == (0.9, "fail")
    assert t["hw"]["status"] == "fail" and t["hw"]["detail"]["unacknowledged_misses"] == 1

# 18, 19
def test_incidents_count_in_the_period_they_opened_and_by_kind(store: Store) -> None:
    seed(store, [("s1", "server", S - timedelta(days=100), None)], [up_all("s1")], [
        ("OLD", "s1", "hardware", S - timedelta(hours=3), S + timedelta(hours=1)),  # opened in Q2: not counted
        ("AV", "s1", "availability", utc(2026, 8, 1), utc(2026, 8, 1, 2)),          # 2 h: rate miss, not hardware
        ("HW", "s1", "hardware", utc(2026, 8, 2), utc(2026, 8, 2, 0, 30)),          # 30 min
    ])
    t = run(store)
    assert t["hw"]["value"] == 1800 and t["hw"]["detail"]["incidents"] == 1
    assert t["rate"]["value"] == 0.5 and t["rate"]["detail"]["incidents"] == 2
    assert [w["incident"] for w in t["rate"]["worst"]] == ["AV", "HW"]


def test_withdrawn_and_merged_incidents_are_no_faults_of_their_own(store: Store) -> None:
    """A withdrawn incident (a replay proved the asset up) and a merged one count in no response figure: the
    two unacknowledged misses below would otherwise make the rate 1/3."""
    from opsmon.collector.store.models import Incident

    seed(store, [("s1", "server", S - timedelta(days=100), None)], [up_all("s1")], [
        ("AV", "s1", "availability", utc(2026, 8, 1), utc(2026, 8, 1, 0, 10)),  # 10 min: within
        ("WD", "s1", "availability", utc(2026, 8, 2), None),                    # withdrawn, never acknowledged
        ("MG", "s1", "hardware", utc(2026, 8, 3), None),                        # merged into a parent's
    ])
    with store.session.begin() as s:
        s.get(Incident, "WD").status = "withdrawn"
        s.get(Incident, "MG").status = "merged"
    t = run(store)
    assert (t["rate"]["value"], t["rate"]["detail"]["incidents"]) == (1.0, 1)


# 20
def test_count_target_is_prorated_and_cut_in_local_time(store: Store) -> None:
    seed(store, [], [])
    inside = [utc(2026, 6, 30, 17), *[utc(2026, 8, d) for d in (1, 2, 3, 4, 5)]]  # Jul 1 01:00 local is Q3
    for at in inside:
        record_event(store, "reports", at, 1, "", "test")
    record_event(store, "reports", E, 1, "", "test")  # Oct 1 00:00 local: Q4
    t = run(store)["reports"]
    assert (t["value"], t["threshold"], t["pass"]) == (6.0, 6.0, True)  # 24 a year -> 6 a quarter
    t = run(store, period="2026-08")["reports"]
    assert (t["value"], t["threshold"], t["pass"]) == (5.0, 2.0, True)


# 21
def test_manual_value_most_specific_period_wins(store: Store) -> None:
    seed(store, [], [])
    set_value(store, "survey", parse_period("2026", "Asia/Shanghai"), 0.96, "annual survey", "test")
    assert run(store)["survey"]["value"] == 0.96 and run(store)["survey"]["pass"] is True
    set_value(store, "survey", parse_period("2026Q3", "Asia/Shanghai"), 0.93, "Q3 survey", "test")
    assert run(store)["survey"]["value"] == 0.93 and run(store)["survey"]["pass"] is False
    assert run(store, period="2026-08")["survey"]["value"] == 0.93  # a month inside Q3 uses Q3's value
    assert run(store, period="2026Q2")["survey"]["value"] == 0.96


# 22
def test_month_and_year_periods(store: Store) -> None:
    """August in Shanghai: [07-31 16:00Z, 08-31 16:00Z). A 1-day fault on 08-10 is in it; Q3 and 2026 see it too."""
    t0 = utc(2026, 8, 10)
    seed(store, [("s1", "server", utc(2025, 1, 1), None)],
         [("s1", "up", utc(2025, 1, 1), t0), ("s1", "down", t0, t0 + timedelta(days=1)),
          ("s1", "up", t0 + timedelta(days=1), None)])
    assert run(store, period="2026-08")["servers"]["value"] == pytest.approx(30 / 31)
    assert run(store, period="2026", now=utc(2027, 1, 15))["servers"]["value"] == pytest.approx(364 / 365)
    # Before the year is over it is measured to date: 2026-01-01 local .. 10-31 00:00 local = 303 days.
    assert run(store, period="2026")["servers"]["value"] == pytest.approx(302 / 303)


# 23
def test_no_assets_means_no_data_not_a_pass(store: Store) -> None:
    t = run(store)
    assert (t["servers"]["status"], t["servers"]["pass"], t["servers"]["value"]) == ("no_data", False, None)
    # No fault judged: "no data" like an availability target, not "pass -" (issue 19 item 8)
    assert (t["hw"]["status"], t["hw"]["pass"], t["hw"]["detail"]["incidents"]) == ("no_data", False, 0)
    assert t["survey"]["status"] == "no_data"


# 24
def test_fleet_is_time_weighted_and_worst_first(store: Store) -> None:
    half = S + timedelta(days=46)
    seed(store, [("a", "server", S - timedelta(days=1), None), ("b", "server", S - timedelta(days=1), None)],
         [("a", "up", S - timedelta(days=1), half), ("a", "down", half, None), up_all("b")])
    t = run(store)["servers"]
    assert t["value"] == pytest.approx(0.75)
    assert [w["asset"] for w in t["worst"]] == ["a", "b"] and t["worst"][0]["down_seconds"] == 46 * D


# 25
def test_nothing_after_now_is_counted(store: Store) -> None:
    """Clock skew: an interval stamped after 'now' and a closed one running past it are cut at now."""
    now = utc(2026, 8, 15, 16)
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - timedelta(days=1), now + timedelta(days=1)),
          ("s1", "down", now + timedelta(days=1), None)])
    result = evaluate(store, TABLE, parse_period("2026Q3", "Asia/Shanghai"), now)
    t = {x["id"]: x for x in result["targets"]}["servers"]
    assert t["value"] == 1.0 and t["detail"]["observed_seconds"] == 46 * D


@pytest.mark.parametrize("body, key, reason", [
    ("targets:\n  - {id: x, name_zh: a, name_en: a, measure: availability, comparator: '>=', threshold: 95}\n",
     "targets[0]", "between 0 and 1"),
    ("targets:\n  - {id: x, name_zh: a, name_en: a, measure: uptime, comparator: '>=', threshold: 0.9}\n",
     "targets[0].measure", "Input should be"),
    ("targets:\n  - {id: x, name_zh: a, name_en: a, measure: response_rate, comparator: '>=', threshold: 1}\n",
     "targets[0]", "needs a limit"),
    ("targets:\n  - {id: x, name_zh: a, name_en: a, measure: availability, comparator: '=>', threshold: 0.9}\n",
     "targets[0].comparator", "Input should be"),
    ("targets:\n  - {id: x, name_zh: a, name_en: a, measure: availability, comparator: '>=', threshold: 0.9,"
     " scope: {categories: [toaster]}}\n", "targets[0].scope.categories[0]", "Input should be"),
    ("coverage_floor: 2\ntargets: []\n", "coverage_floor", "less than or equal to 1"),
])
def test_target_table_errors_name_the_key(tmp_path, body: str, key: str, reason: str) -> None:
    from opsmon.collector.core.errors import ConfigError
    from opsmon.collector.sla.targets import load_targets
    from tests.conftest import write_config

    path = write_config(tmp_path, body, "targets.yaml")
    with pytest.raises(ConfigError) as err:
        load_targets(path)
    assert err.value.keypath == key and reason in err.value.reason, str(err.value)
    assert "targets.yaml:" in err.value.file


def test_bundled_target_table_holds_the_budget_targets() -> None:
    from opsmon.collector.sla.targets import bundled_targets_path, load_targets

    table = load_targets(bundled_targets_path())
    want = {"hardware_fault_response_time": ("<=", 3600), "security_incident_response_time": ("<=", 1800),
            "fault_response_rate": (">=", 1.0),
            "monitoring_analysis_reports": (">=", 24), "servers_ok": (">=", 0.95), "computers_ok": (">=", 0.90),
            "network_security_devices_ok": (">=", 0.95), "network_connectivity": (">=", 0.90),
            "system_availability": (">=", 0.95), "satisfaction": (">=", 0.95),
            "data_transmission_effective_rate": (">=", 0.90), "self_monitoring_publication_rate": (">=", 0.95)}
    assert {t.id: (t.comparator, t.threshold) for t in table.targets} == want


def test_imported_history_before_creation_counts_from_its_first_interval(store: Store) -> None:
    """Created in opsmon on 09-01 (its migration day), with history imported from 07-10 to 08-10.

    It existed from 07-10: 07-10..08-10 up (31 d), 08-10..09-01 no data (22 d), then up (29 d 16 h
    to 09-30 16:00Z). Coverage = (31 + 29 2/3) / (31 + 22 + 29 2/3)."""
    created = utc(2026, 9, 1)
    seed(store, [("mig", "server", created, None)],
         [("mig", "up", utc(2026, 7, 10), utc(2026, 8, 10)), ("mig", "up", created, None)])
    t = run(store)["servers"]
    observed = 31 * D + (E - created).total_seconds()
    assert t["detail"]["observed_seconds"] == observed
    assert t["coverage"] == pytest.approx(observed / (observed + 22 * D))


def test_open_intervals_end_at_the_last_heartbeat_when_no_collector_runs(store: Store) -> None:
    """Down since 08-01 and the collector crashed at 08-02 (last heartbeat): only 1 day is down."""
    from opsmon.collector.store.models import Heartbeat

    t0 = utc(2026, 8, 1)
    seed(store, [("s1", "server", S - timedelta(days=100), None)],
         [("s1", "up", S - timedelta(days=1), t0), ("s1", "down", t0, None)])
    with store.session.begin() as s:
        s.add(Heartbeat(id=1, ts=t0 + timedelta(days=1), started_ts=S, pid=1))
    t = run(store)["servers"]
    assert t["detail"]["down_seconds"] == D
    assert t["detail"]["unknown_seconds"] == (E - t0).total_seconds() - D  # the rest: no data


def test_the_worker_process_gives_the_figures_computed_in_process(store: Store) -> None:
    """/metrics' figures come from a separate process (no GIL against the event loop): the same figures."""
    import asyncio

    from opsmon.collector.sla.targets import bundled_targets_path
    from opsmon.collector.sla.worker import SlaWorker, quarter_figures

    down_at = utc(2026, 8, 1)
    seed(store, [("s1", "server", S - timedelta(days=100), None), ("l1", "link", S + timedelta(days=3), None)],
         [("s1", "up", S - D * timedelta(seconds=1), down_at), ("s1", "down", down_at, down_at + timedelta(hours=5)),
          ("s1", "up", down_at + timedelta(hours=5), None), ("l1", "up", S + timedelta(days=3), None)],
         [("i1", "s1", "hardware", down_at, down_at + timedelta(minutes=20))])
    now = utc(2026, 8, 20)
    worker = SlaWorker(store)
    assert worker.url is not None  # a file database: the worker path, not the thread fallback
    try:
        remote = asyncio.run(worker.figures(bundled_targets_path(), "Asia/Shanghai", now))
    finally:
        worker.close()
    local = quarter_figures(store, bundled_targets_path(), "Asia/Shanghai", now)
    assert remote == local
    assert {t["id"]: t["value"] for t in remote["targets"]}["servers_ok"] == pytest.approx(
        1 - 5 * H / (now - S).total_seconds())


@pytest.mark.parametrize("period", ["9999", "9999Q4", "9999-12", "0000", "0001"])
def test_a_period_beyond_the_years_datetime_holds_is_refused(period: str) -> None:
    """The end of 9999 is year 10000, and 0001-01-01 in +08:00 is before year 1 in UTC: refused with the
    reason (the API answered 500), never an OverflowError or ValueError from datetime."""
    from opsmon.collector.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="outside the years"):
        parse_period(period, "Asia/Shanghai")


def test_a_range_that_cannot_be_shown_in_the_zone_is_refused() -> None:
    from opsmon.collector.core.errors import InvalidInput
    from opsmon.collector.sla.periods import range_period

    with pytest.raises(InvalidInput, match="range's end"):
        range_period("2026-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "Asia/Shanghai")
    with pytest.raises(InvalidInput, match="outside the years 1 to 9999 in UTC"):
        range_period("0001-01-01T00:00:00+14:00", "2026-01-01T00:00:00Z", "UTC")
    assert range_period("0001-01-02T00:00:00Z", "9999-12-30T00:00:00Z", "Asia/Shanghai").kind == "range"
