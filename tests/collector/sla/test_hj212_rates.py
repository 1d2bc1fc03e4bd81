"""The HJ 212 effective transmission rate against days computed by hand (issue 17, item 2).

The day measured is 2026-11-02 in Asia/Shanghai: [2026-11-01T16:00Z, 2026-11-02T16:00Z), 24 hours; hour k is
[16:00Z + k h). The correction deadline of every November hour is the end of 2026-12-10, local time:
2026-12-11T00:00+08:00 = 2026-12-10T16:00Z (exclusive).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from opsmon.collector.core.errors import InvalidInput
from opsmon.collector.sla.engine import measure
from opsmon.collector.sla.hj212_rates import (
    HOUR_MS,
    Counts,
    Exemption,
    HourValue,
    RateRules,
    Series,
    correction_deadline_ms,
    count,
    groups,
)
from opsmon.collector.sla.periods import parse_period, range_period
from opsmon.collector.sla.targets import TargetTable, load_targets
from opsmon.collector.store import Store
from opsmon.collector.store.hj212_exemptions import add_exemption, list_exemptions, remove_exemption
from opsmon.collector.store.models import Asset, AuditEntry, Hj212Datum
from opsmon.collector.store.types import to_ms
from tests.conftest import ROOT, utc

DAY = utc(2026, 11, 1, 16)
T0 = to_ms(DAY)
END = T0 + 24 * HOUR_MS
DEADLINE = to_ms(utc(2026, 12, 10, 16))
NOW = DEADLINE + 86_400_000  # judged after the deadline: nothing is pending
AFTER = utc(2026, 12, 11, 16)  # NOW as a datetime
A = Series("d1", "乌鲁木齐", "E1", "p1", "w01018")


def h(k: int) -> int:
    return T0 + k * HOUR_MS


def day_of_a(flags: dict[int, str | None], received: int | None = None) -> list[HourValue]:
    return [HourValue("d1", "p1", "w01018", h(k), f, received if received is not None else h(k + 1) + 60_000)
            for k, f in flags.items()]


# Hours 0-19 arrive: 16 N, M at 16 and 17, D at 18, no flag at 19; hours 20-23 never arrive.
FLAGS: dict[int, str | None] = {**{k: "N" for k in range(16)}, 16: "M", 17: "M", 18: "D", 19: None}


def test_deadline_is_the_end_of_the_10th_of_the_next_month_local() -> None:
    rules = RateRules()
    assert correction_deadline_ms(h(0), rules) == DEADLINE
    # December's hours: the 10th of January 2027; the last hour of 2026-12-31 local (15:00Z) too.
    assert correction_deadline_ms(to_ms(utc(2026, 12, 31, 15)), rules) == to_ms(utc(2027, 1, 10, 16))
    # 2026-11-30T16:30Z is already December 1st in Shanghai: its deadline is January's.
    assert correction_deadline_ms(to_ms(utc(2026, 11, 30, 16, 30)), rules) == to_ms(utc(2027, 1, 10, 16))


def test_one_day_of_one_factor() -> None:
    c = count([A], day_of_a(FLAGS), [], T0, END, NOW, RateRules())[A]
    # 应传 24, 实传 20 (hours 0-19), 有效 16 N + 1 unflagged (effective by default) = 17.
    assert (c.should, c.transmitted, c.effective, c.exempt, c.late) == (24, 20, 17, 0, 0)
    assert c.transmission_rate() == pytest.approx(20 / 24)  # 83.33 %
    assert c.effective_rate() == pytest.approx(17 / 20)  # 85 %
    assert c.rate() == pytest.approx(17 / 24)  # 70.83 % = 83.33 % x 85 %
    # The other reading of 有效率 (有效 / 应传): 17/24, and the product 20/24 x 17/24 = 59.03 %.
    assert c.effective_rate("should") == pytest.approx(17 / 24)
    assert c.rate("should") == pytest.approx(20 / 24 * 17 / 24)
    # A value without a flag not effective: 有效 16, rate 16/24.
    c2 = count([A], day_of_a(FLAGS), [], T0, END, NOW, RateRules(unflagged="not_effective"))[A]
    assert (c2.effective, c2.rate()) == (16, pytest.approx(16 / 24))
    # M counted effective too (a centre whose assessment corrects maintenance hours): 19 effective.
    c3 = count([A], day_of_a(FLAGS), [], T0, END, NOW, RateRules(effective_flags=frozenset({"N", "M"})))[A]
    assert c3.effective == 19


def test_resends_and_the_period_edges_count_once_and_inside() -> None:
    values = day_of_a(FLAGS)
    values += day_of_a({0: "N", 5: "D"}, received=h(3))  # hour 0 and 5 sent again (a history pull): once each
    values += [HourValue("d1", "p1", "w01018", h(-1), "N", h(0)),   # 2026-11-01 23:00 local: the day before
               HourValue("d1", "p1", "w01018", END, "N", END + HOUR_MS),  # 2026-11-03 00:00: the day after
               HourValue("d1", "p1", "w01018", h(20) + 1_800_000, "N", h(21))]  # DataTime 20:30: hour 20
    c = count([A], values, [], T0, END, NOW, RateRules())[A]
    # Hours 0-20 transmitted (21); hour 5's resend came first (received h(3) < h(6)+1 min) with flag D, so the
    # first copy stands: 有效 = 17 - 1 (hour 5 now D) + 1 (hour 20, N) = 17.
    assert (c.should, c.transmitted, c.effective) == (24, 21, 17)


def test_a_running_day_counts_only_its_complete_hours() -> None:
    as_of = h(10) + 1_800_000  # 10:30 into the day: hours 0-9 are due, hour 10 is not
    c = count([A], day_of_a(FLAGS), [], T0, as_of, as_of, RateRules())[A]
    # Hour k's value arrives at the end of hour k + 1 min: by 10:30, hours 0-9 have arrived (9's at 10:01).
    assert (c.should, c.transmitted, c.effective) == (10, 10, 10)


def test_late_values_and_late_exemptions_do_not_count() -> None:
    values = day_of_a(FLAGS)
    values += [HourValue("d1", "p1", "w01018", h(20), "N", DEADLINE - 1),  # 1 ms before the cut: counts
               HourValue("d1", "p1", "w01018", h(21), "N", DEADLINE)]  # at the cut: late
    c = count([A], values, [], T0, END, NOW, RateRules())[A]
    assert (c.should, c.transmitted, c.effective, c.late) == (24, 21, 18, 1)
    # Judged before the deadline (2026-12-01), the value for hour 20 had not arrived yet: 20 transmitted.
    early = count([A], values, [], T0, END, to_ms(utc(2026, 11, 30, 16)), RateRules())[A]
    assert (early.transmitted, early.late) == (20, 0)

    # 停产 for hours 20-23, filed in time: 应传 20, all 20 transmitted, 17 effective: 85 %.
    stopped = Exemption("d1", "p1", None, h(20), END, entered_ms=DEADLINE - 1)
    c = count([A], day_of_a(FLAGS), [stopped], T0, END, NOW, RateRules())[A]
    assert (c.should, c.transmitted, c.effective, c.exempt) == (20, 20, 17, 4)
    assert c.rate() == pytest.approx(17 / 20)
    # The same exemption filed at the cut changes nothing: 24 due, 70.83 %.
    late = Exemption("d1", "p1", None, h(20), END, entered_ms=DEADLINE)
    assert count([A], day_of_a(FLAGS), [late], T0, END, NOW, RateRules())[A].should == 24
    # An exemption of another factor, or another point, leaves this series alone.
    other = Exemption("d1", "p1", "w21003", h(0), END, entered_ms=T0)
    assert count([A], day_of_a(FLAGS), [other], T0, END, NOW, RateRules())[A].should == 24
    # An hour exempted that did send a value is out of both counts: 实传 never exceeds 应传.
    early_stop = Exemption("d1", None, None, h(0), h(2), entered_ms=T0)
    c = count([A], day_of_a(FLAGS), [early_stop], T0, END, NOW, RateRules())[A]
    assert (c.should, c.transmitted, c.effective, c.exempt) == (22, 18, 15, 2)


def test_a_dau_added_mid_day_counts_from_its_hour() -> None:
    added = h(5) + 20 * 60_000  # added at 05:20: hour 5 counts whole, hours 0-4 do not
    c = count([A], day_of_a(FLAGS), [], T0, END, NOW, RateRules(), life={"d1": (added, None)})[A]
    # 应传 hours 5-23 = 19; 实传 5-19 = 15; 有效: N at 5-15 (11) + unflagged 19 = 12.
    assert (c.should, c.transmitted, c.effective) == (19, 15, 12)
    removed = h(12)  # removed at 12:00: hours 5-11 due (7), all transmitted, all N
    c = count([A], day_of_a(FLAGS), [], T0, END, NOW, RateRules(), life={"d1": (added, removed)})[A]
    assert (c.should, c.transmitted, c.effective) == (7, 7, 7)


def test_enterprises_prefectures_and_the_region() -> None:
    b1, b2 = Series("d2", "乌鲁木齐", "E2", "p1", "a21026"), Series("d2", "乌鲁木齐", "E2", "p1", "a21002")
    c1 = Series("d3", "克拉玛依", "E3", "p9", "w01018")
    full = [HourValue(s.asset_id, s.point, s.factor, h(k), "N", h(k + 1)) for s in (b1, b2) for k in range(24)]
    counts = count([A, b1, b2, c1], day_of_a(FLAGS) + full, [], T0, END, NOW, RateRules())
    # E1: 17/24 = 70.83 %; E2: 48/48 = 100 %; E3 (nothing sent): 0/24 = 0 %.
    firms = {g.key: g.rate for g in groups(counts, "enterprise", RateRules())}
    assert firms == {("乌鲁木齐", "E1"): pytest.approx(17 / 24), ("乌鲁木齐", "E2"): 1.0, ("克拉玛依", "E3"): 0.0}
    # Pooled: 乌鲁木齐 (17 + 48) / 72 = 90.28 %; 克拉玛依 0; region (17 + 48) / 96 = 67.71 %.
    sites = {g.key: (g.rate, g.members) for g in groups(counts, "site", RateRules())}
    assert sites == {("乌鲁木齐",): (pytest.approx(65 / 72), 2), ("克拉玛依",): (0.0, 1)}
    assert groups(counts, "region", RateRules())[0].rate == pytest.approx(65 / 96)
    # Mean of the enterprises' rates: 乌鲁木齐 (70.83 + 100) / 2 = 85.42 %; region (70.83 + 100 + 0) / 3 = 56.94 %.
    mean = RateRules(aggregation="mean")
    assert {g.key: g.rate for g in groups(counts, "site", mean)} == {
        ("乌鲁木齐",): pytest.approx((17 / 24 + 1) / 2), ("克拉玛依",): 0.0}
    assert groups(counts, "region", mean)[0].rate == pytest.approx((17 / 24 + 1 + 0) / 3)
    assert Counts().rate() is None  # nothing due: no rate, never 0 or 100 %


def test_a_point_with_no_hour_due_has_no_rate_and_leaves_the_others_alone() -> None:
    """Point p2 of d1 is exempted (停产) for the whole day: 应传 0, so its rate is no data, not 0 or 100 %; its
    enterprise E1 pools p1 alone: 17/24 (hours 0-15 N and the unflagged 19 effective; 16-18 M/D; 20-23 never
    came). Under `aggregation: mean` an enterprise whose every point has no hour due is left out of the mean:
    E9 (only a fully exempted point) does not pull the region's mean of E1 (17/24) down."""
    p2 = Series("d1", "乌鲁木齐", "E1", "p2", "w21003")
    e9 = Series("d9", "乌鲁木齐", "E9", "p1", "w01018")
    stopped = [Exemption("d1", "p2", None, T0, END, entered_ms=T0), Exemption("d9", None, None, T0, END, entered_ms=T0)]
    counts = count([A, p2, e9], day_of_a(FLAGS), stopped, T0, END, NOW, RateRules())
    assert (counts[p2].should, counts[p2].transmitted, counts[p2].exempt, counts[p2].rate()) == (0, 0, 24, None)
    points = {g.key[3]: g.rate for g in groups(counts, "point", RateRules()) if g.key[2] == "d1"}
    assert points == {"p1": pytest.approx(17 / 24), "p2": None}
    firms = {g.key[1]: g.rate for g in groups(counts, "enterprise", RateRules())}
    assert firms == {"E1": pytest.approx(17 / 24), "E9": None}
    assert groups(counts, "region", RateRules(aggregation="mean"))[0].rate == pytest.approx(17 / 24)


# -- the target table, over the store -------------------------------------------------------------------

def dau(asset_id: str, site: str, enterprise: str, points: dict[str, list[str]], created: datetime) -> Asset:
    check = {"type": "hj212", "id": "hj212", "mn": "MN" + asset_id, "credential": "c", "enterprise": enterprise,
             "points": {p: {"factors": {f: {} for f in fs}} for p, fs in points.items()}}
    return Asset(id=asset_id, name=asset_id, category="dau", site=site, address=None, tags=[], criticality="high",
                 parent_id=None, checks=[check], created_at=created, updated_at=created, removed_at=None)


def datum(asset_id: str, point: str, factor: str, hour: int, flag: str | None, received: datetime) -> Hj212Datum:
    return Hj212Datum(asset_id=asset_id, mn="MN" + asset_id, cn="2061", data_time=DAY + timedelta(hours=hour),
                      point=point, factor=factor, avg="1.0", flag=flag, crc="ok", received=received)


def test_the_target_is_measured_from_the_stored_hours(store: Store) -> None:
    table = load_targets(ROOT / "rules" / "targets.yaml")
    target = next(t for t in table.targets if t.id == "data_transmission_effective_rate")
    assert target.measure == "hj212_rate"
    with store.session.begin() as s:
        s.add(dau("d1", "乌鲁木齐", "E1", {"p1": ["w01018"]}, DAY - timedelta(days=30)))
        s.add(dau("d2", "乌鲁木齐", "E2", {"p1": ["a21026", "a21002"]}, DAY - timedelta(days=30)))
        for k, f in FLAGS.items():
            s.add(datum("d1", "p1", "w01018", k, f, DAY + timedelta(hours=k + 1)))
        for f in ("a21026", "a21002"):
            for k in range(24):
                s.add(datum("d2", "p1", f, k, "N", DAY + timedelta(hours=k + 1)))
        s.add(datum("d2", "p1", "a99999", 3, "N", DAY))  # a factor not assessed there: not counted
        s.add(Hj212Datum(asset_id="d2", mn="MNd2", cn="2051", data_time=DAY, point="p1", factor="a21026",
                         avg="1", flag="D", crc="ok", received=DAY))  # minute data: not what is counted
    period = range_period("2026-11-02T00:00:00+08:00", "2026-11-03T00:00:00+08:00", "Asia/Shanghai")
    result = next(r for r in measure(store, TargetTable(targets=(target,)), period,
                                     AFTER).targets)
    # 应传 24 + 48 = 72, 实传 20 + 48 = 68, 有效 17 + 48 = 65: 68/72 x 65/68 = 65/72 = 90.28 % >= 90 %: pass.
    assert result.value == pytest.approx(65 / 72) and result.status == "pass"
    d = result.detail
    assert (d.points, d.series, d.should, d.transmitted, d.effective) == (2, 3, 72, 68, 65)
    assert (d.points_below_90, d.points_below_60, d.points_at_0, d.manual_value) == (1, 0, 0, None)
    assert [(w.asset, w.point, round(w.value, 4)) for w in result.worst] == [("d1", "p1", 0.7083), ("d2", "p1", 1.0)]
    doc = result.as_document()
    assert doc["detail"]["should"] == 72 and doc["worst"][0]["enterprise"] == "E1"

    # 停产 at d1 for hours 20-23, filed with its proof: 应传 68, 实传 68, 有效 65: 95.59 %.
    now = AFTER
    with pytest.raises(InvalidInput, match=r"proof is required.*; DAU 'd1' has no point 'p7' \(points: p1\)"):
        add_exemption(store, asset_id="d1", point="p7", factor=None, start=DAY, end=DAY + timedelta(hours=1),
                      kind="stopped", reason="检修", proof="", actor="op", now=now)
    entered = DAY + timedelta(days=3)
    xid = add_exemption(store, asset_id="d1", point="p1", factor=None, start=DAY + timedelta(hours=20),
                        end=DAY + timedelta(hours=24), kind="stopped", reason="停产检修",
                        proof="乌环函〔2026〕12号", actor="op", now=entered)
    result = next(r for r in measure(store, TargetTable(targets=(target,)), period, now).targets)
    assert result.value == pytest.approx(65 / 68) and result.detail.exempt == 4
    with store.session() as s:
        assert [a.action for a in s.query(AuditEntry).order_by(AuditEntry.id)] == ["hj212.exemption.add"]
    remove_exemption(store, xid, "op", now)
    assert list_exemptions(store) == []
    result = next(r for r in measure(store, TargetTable(targets=(target,)), period, now).targets)
    assert result.value == pytest.approx(65 / 72)


def test_no_dau_is_no_data(store: Store) -> None:
    table = load_targets(ROOT / "rules" / "targets.yaml")
    target = next(t for t in table.targets if t.id == "data_transmission_effective_rate")
    result = measure(store, TargetTable(targets=(target,)), parse_period("2026-11-H1", "Asia/Shanghai"),
                     utc(2026, 12, 20)).targets[0]
    assert (result.value, result.status, result.passed) == (None, "no_data", False)


def test_half_months() -> None:
    h1, h2 = parse_period("2026-11-H1", "Asia/Shanghai"), parse_period("2026-11-h2", "Asia/Shanghai")
    assert (h1.start, h1.end, h1.kind) == (utc(2026, 10, 31, 16), utc(2026, 11, 15, 16), "half")
    assert (h2.start, h2.end, h2.label) == (utc(2026, 11, 15, 16), utc(2026, 11, 30, 16), "2026-11-H2")
    assert parse_period("2026-12-H2", "Asia/Shanghai").end == utc(2026, 12, 31, 16)
    with pytest.raises(InvalidInput, match="half-month"):
        parse_period("2026-11-H3", "Asia/Shanghai")
