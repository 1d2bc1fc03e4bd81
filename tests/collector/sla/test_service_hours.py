"""Service hours and the Chinese working-day calendar, and hardware faults as down time, against
scenarios computed by hand (issue 21, items 4 and 3).

Service hours 08:30-18:00 Asia/Shanghai = 00:30-10:00Z, 9.5 h = 34 200 s a working day. The office PC
is on 08:00-18:30 local on the days it works and off (down) the rest of the time, nights and holidays.

Working days counted by hand from the State Council's plans (2026: 国办发明电〔2025〕7号, as carried by
chinese-calendar 1.11):
- February 2026: Monday to Friday are 2-6, 9-13, 16-20, 23-27 (20 days); 春节 16-20 and 23 off (-6);
  adjusted working Saturdays (调休) 14 and 28 (+2): 16 working days = 547 200 s.
- October 2026: weekdays 1-2, 5-9, 12-16, 19-23, 26-30 (22); 国庆节 1, 2, 5, 6, 7 off (-5); Saturday 10
  worked (+1): 18 working days = 615 600 s.
2027 is not in the library: the operator's file below (written for this test the way an operator copies
the notice; not the official 2027 plan) gives 春节 2027-02-06..12 and 调休 Saturday 2027-02-20, 国庆节
2027-10-01..07 with 调休 Sunday 2027-09-26 and Saturday 2027-10-09.
- February 2027 (1 Feb is a Monday): weekdays 1-5, 8-12, 15-19, 22-26 (20); 8-12 off (-5); Saturday 20
  (+1): 16 working days = 547 200 s.
- October 2027 (1 Oct is a Friday): weekdays 1, 4-8, 11-15, 18-22, 25-29 (21); 1, 4-7 off (-5);
  Saturday 9 (+1): 17 working days = 581 400 s.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsmon.collector.core.errors import ConfigError, InvalidInput
from opsmon.collector.core.workdays import CalendarGap, load_calendar
from opsmon.collector.sla.engine import measure
from opsmon.collector.sla.periods import parse_period
from opsmon.collector.sla.targets import TargetTable, load_targets
from opsmon.collector.store import Store, open_store
from opsmon.collector.store.models import Asset, Incident, StateInterval

TZ = ZoneInfo("Asia/Shanghai")
HOURS = {"hours": ["08:30-18:00"], "days": "workdays"}
SLOT = 34_200.0  # 08:30-18:00

CALENDAR_2027 = """\
# 2027 as an operator would copy it from the notice (test data)
holidays:
  - 2027-02-06..2027-02-12   # 春节
  - 2027-10-01..2027-10-07   # 国庆节
workdays: [2027-02-20, 2027-09-26, 2027-10-09]   # 调休
"""

TARGETS = """\
calendar: calendar.yaml
service_hours:
  computer: {hours: ["08:30-18:00"], days: workdays}
targets:
  - {id: computers_ok, name_zh: 计算机, name_en: Computers, measure: availability,
     scope: {categories: [computer]}, comparator: ">=", threshold: 0.9}
  - {id: computers_all_hours, name_zh: 计算机, name_en: Computers (every hour), measure: availability,
     scope: {categories: [computer]}, comparator: ">=", threshold: 0.9,
     service_hours: {hours: ["00:00-24:00"], days: every_day}}
"""

FEB_2026 = [date(2026, 2, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 24, 25, 26, 27, 28)]
OCT_2026 = [date(2026, 10, d) for d in (8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 26, 27, 28, 29, 30)]
FEB_2027 = [date(2027, 2, d) for d in (1, 2, 3, 4, 5, 15, 16, 17, 18, 19, 20, 22, 23, 24, 25, 26)]
OCT_2027 = [date(2027, 10, d) for d in (8, 9, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29)]


def local(d: date, h: int, m: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, tzinfo=TZ).astimezone(ZoneInfo("UTC"))


def office_pc(store: Store, asset: str, start: datetime, end: datetime, on_days: list[date]) -> None:
    """Up 08:00-18:30 local on `on_days`, down (switched off) the rest of [start, end)."""
    with store.session.begin() as s:
        s.add(Asset(id=asset, name=asset, category="computer", site=None, address=None, tags=[],
                    criticality="medium", parent_id=None, checks=[], created_at=start, updated_at=start))
        t = start
        for d in on_days:
            s.add(StateInterval(asset_id=asset, state="down", start_ts=t, end_ts=local(d, 8), reason="off"))
            s.add(StateInterval(asset_id=asset, state="up", start_ts=local(d, 8), end_ts=local(d, 18, 30), reason=""))
            t = local(d, 18, 30)
        s.add(StateInterval(asset_id=asset, state="down", start_ts=t, end_ts=end, reason="off"))


@pytest.fixture
def table(tmp_path: Path) -> TargetTable:
    (tmp_path / "calendar.yaml").write_text(CALENDAR_2027, encoding="utf-8")
    (tmp_path / "targets.yaml").write_text(TARGETS, encoding="utf-8")
    return load_targets(tmp_path / "targets.yaml")


@pytest.mark.parametrize("month, days, skipped", [
    ("2026-02", FEB_2026, date(2026, 2, 14)),   # 春节 2026, adjusted working Saturday 14
    ("2026-10", OCT_2026, date(2026, 10, 10)),  # 国庆节 2026, adjusted working Saturday 10
    ("2027-02", FEB_2027, date(2027, 2, 20)),   # 春节 2027 from the operator's file
    ("2027-10", OCT_2027, date(2027, 10, 9)),   # 国庆节 2027 from the operator's file
])
def test_office_pc_over_the_holidays(store: Store, table: TargetTable, month: str, days: list[date],
                                     skipped: date) -> None:
    """pc-1 works every working day and is off every night, weekend and holiday: 100 % inside service
    hours (before: off 14.5 h a working day and all of every holiday, far under 90 %).

    pc-2 is also off on the adjusted working day `skipped`: that day's 34 200 s count down. With N working
    days: pc-2 = (N - 1) / N; the fleet = (2N - 1) / 2N. February 2026, N = 16: pc-2 15/16 = 93.75 %,
    fleet 31/32 = 96.875 %.
    Outside hours counts on neither side nor as expected time: expected = N x 34 200 s per PC, so coverage is
    100 %, and outside_hours_seconds = 2 x (month's seconds - N x 34 200 s).
    """
    period = parse_period(month, "Asia/Shanghai")
    office_pc(store, "pc-1", period.start, period.end, days)
    office_pc(store, "pc-2", period.start, period.end, [d for d in days if d != skipped])
    n = len(days)
    windows = table.hours_for(table.get("computers_ok"), "computer").windows(  # type: ignore[union-attr]
        table.workdays, "Asia/Shanghai", period.start, period.end)
    assert [datetime.fromtimestamp(s / 1000, TZ).date() for s, _ in windows] == days
    assert all(e - s == SLOT * 1000 for s, e in windows)
    result = measure(store, table, period, period.end + timedelta(days=1))
    ok = result.target("computers_ok")
    assert ok.detail.up_seconds == (2 * n - 1) * SLOT
    assert ok.detail.down_seconds == SLOT
    assert ok.detail.expected_seconds == 2 * n * SLOT
    assert ok.value == pytest.approx((2 * n - 1) / (2 * n))
    assert ok.coverage == 1.0
    assert ok.detail.outside_hours_seconds == 2 * (period.seconds - n * SLOT)
    assert [(w.asset, w.value) for w in ok.worst] == [("pc-2", pytest.approx((n - 1) / n)), ("pc-1", 1.0)]
    # Every hour of every day counted (the old figure): up 10.5 h on each day worked, out of the month.
    every = result.target("computers_all_hours")
    assert every.detail.up_seconds == (2 * n - 1) * 10.5 * 3600
    assert every.detail.observed_seconds == 2 * period.seconds
    assert every.detail.outside_hours_seconds == 0


def seed_pc3(store: Store, asset: str) -> None:
    period = parse_period("2026-02", "Asia/Shanghai")
    with store.session.begin() as s:
        s.add(Asset(id=asset, name=asset, category="computer", site=None, address=None, tags=[],
                    criticality="medium", parent_id=None, checks=[], created_at=period.start,
                    updated_at=period.start))
        s.add(StateInterval(asset_id=asset, state="up", start_ts=period.start, end_ts=local(date(2026, 2, 13), 8),
                            reason=""))
        s.add(StateInterval(asset_id=asset, state="down", start_ts=local(date(2026, 2, 13), 12),
                            end_ts=local(date(2026, 2, 24), 9), reason=""))
        s.add(StateInterval(asset_id=asset, state="up", start_ts=local(date(2026, 2, 24), 9), end_ts=None,
                            reason=""))


def check_pc3(store: Store, table: TargetTable, target: str) -> None:
    """An interval crossing several days and a UTC midnight, open at the end: the SQL lookup by UTC day
    must give what the windows give. pc-3 is up to 2026-02-13 08:00 local, down from 12:00 (04:00Z,
    inside Friday's slot) to 2026-02-24 09:00 local, up after (open): down inside = Fri 13 12:00-18:00
    (21 600) + Sat 14 (34 200) + Tue 24 08:30-09:00 (1 800) = 57 600 s; up = working days 2-6, 9-12 (9 x
    34 200 = 307 800) + 24th 09:00-18:00 (32 400) + 25, 26, 27, 28 (136 800) = 477 000 s; the 13th
    08:30-12:00 has no interval: 12 600 s unknown. 57 600 + 477 000 + 12 600 = 547 200 = 16 x 34 200."""
    period = parse_period("2026-02", "Asia/Shanghai")
    ok = measure(store, table, period, period.end + timedelta(days=1)).target(target)
    assert (ok.detail.up_seconds, ok.detail.down_seconds) == (477_000.0, 57_600.0)
    assert ok.detail.unknown_seconds == 12_600.0
    assert ok.value == pytest.approx(477_000 / 534_600)


def test_sql_sums_match_the_arithmetic(store: Store, table: TargetTable) -> None:
    seed_pc3(store, "pc-3")
    check_pc3(store, table, "computers_ok")


def test_the_same_sums_on_postgresql(postgres_url: str) -> None:
    """The query's VALUES tables, integer division and LEAST/GREATEST on PostgreSQL give the same seconds
    (check_pc3), and so do the hardware faults (the jammed printer's quarter). The session's database is
    shared: this run's own asset ids, and targets scoped to them."""
    run = uuid.uuid4().hex[:8]
    pg = open_store(postgres_url)
    try:
        seed_pc3(pg, f"pc3-{run}")
        check_pc3(pg, TargetTable.model_validate({"targets": [
            {"id": "pc", "name_zh": "计算机", "name_en": "PC", "measure": "availability", "comparator": ">=",
             "threshold": 0.9, "scope": {"assets": [f"pc3-{run}"]}, "service_hours": HOURS}]}), "pc")
        seed_printer(pg, f"prn-{run}")
        check_printer(pg, TargetTable.model_validate({"targets": [
            {**t, "scope": {"assets": [f"prn-{run}"]}} for t in FAULT_TARGETS]}))
    finally:
        pg.close()


def test_a_year_nobody_knows_is_refused(tmp_path: Path) -> None:
    """2028 is neither in chinese-calendar 1.11 nor in the file: refused with the file and what to add."""
    (tmp_path / "calendar.yaml").write_text(CALENDAR_2027, encoding="utf-8")
    calendar = load_calendar(tmp_path / "calendar.yaml")
    assert calendar.is_workday(date(2027, 2, 20)) and not calendar.is_workday(date(2027, 2, 8))
    assert calendar.is_workday(date(2027, 3, 1)) and not calendar.is_workday(date(2027, 3, 6))  # weekday rule
    assert calendar.is_workday(date(2026, 2, 14)) and not calendar.is_workday(date(2026, 2, 16))  # the library
    with pytest.raises(CalendarGap) as err:
        calendar.is_workday(date(2028, 1, 3))
    assert str(tmp_path / "calendar.yaml") in str(err.value) and "2028" in str(err.value)
    assert isinstance(err.value, InvalidInput)  # the API answers 422 with the reason (ERRORS), never a 500


def test_override_file_is_strict(tmp_path: Path) -> None:
    """Every problem at once, each with file:line and key."""
    bad = tmp_path / "calendar.yaml"
    bad.write_text("holidays:\n  - 2027-02-06..2027-02-08\n  - 2027-13-01\n  - 2027-03-02..2027-03-01\n"
                   "workdays:\n  - 2027-02-07\nholiday: [2027-01-01]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_calendar(bad)
    assert [str(p) for p in err.value.each()] == [
        f"{bad}:3: holidays[1]: '2027-13-01' is not a date YYYY-MM-DD or a range FIRST..LAST",
        f"{bad}:4: holidays[2]: '2027-03-02..2027-03-01': the range ends before it starts",
        f"{bad}:7: holiday: unknown key; expected holidays or workdays",
        f"{bad}:6: workdays[0]: 2027-02-07 is listed both as a holiday and as a working day",
    ]


FAULT_TARGETS = [
    {"id": "peripherals_ok", "name_zh": "周边设备", "name_en": "Peripherals", "measure": "availability",
     "scope": {"categories": ["peripheral"]}, "comparator": ">=", "threshold": 0.95, "hardware_faults_as": "down"},
    {"id": "peripherals_state", "name_zh": "周边设备", "name_en": "Peripherals (state only)",
     "measure": "availability", "scope": {"categories": ["peripheral"]}, "comparator": ">=", "threshold": 0.95},
]
FAULT_TABLE = TargetTable.model_validate({"targets": FAULT_TARGETS})


def test_jammed_printer_quarter(store: Store) -> None:
    """2026Q3 (92 days = 7 948 800 s). The printer answers SNMP all quarter (up) but for one hour,
    2026-08-02 10:00-11:00 local (down, 3 600 s). Hardware incidents:
    - jam, major, 2026-08-01 00:00 to 2026-08-03 00:00 local (172 800 s; the down hour lies inside);
    - toner low, minor, 2026-08-10 09:00-10:00: not a fault that stops it (ignored);
    - jam, critical, opened 2026-09-30 12:00 local, still open at the quarter's end (43 200 s);
    - a merged duplicate of the first jam: not a fault of its own (ignored).
    State only: (7 948 800 - 3 600) / 7 948 800 = 99.9547 %.
    Faults as down: bad = 172 800 (169 200 moved from up + the hour already down, not counted twice)
    + 43 200 = 216 000 s = 5/184 of the quarter: 179/184 = 97.2826 %; hardware_fault_seconds 212 400.
    """
    seed_printer(store, "prn-1")
    check_printer(store, FAULT_TABLE)


def seed_printer(store: Store, asset: str) -> None:
    q3 = parse_period("2026Q3", "Asia/Shanghai")
    with store.session.begin() as s:
        s.add(Asset(id=asset, name=asset, category="peripheral", site=None, address=None, tags=[],
                    criticality="medium", parent_id=None, checks=[], created_at=q3.start, updated_at=q3.start))
        down_at, up_at = local(date(2026, 8, 2), 10), local(date(2026, 8, 2), 11)
        s.add(StateInterval(asset_id=asset, state="up", start_ts=q3.start, end_ts=down_at, reason=""))
        s.add(StateInterval(asset_id=asset, state="down", start_ts=down_at, end_ts=up_at, reason=""))
        s.add(StateInterval(asset_id=asset, state="up", start_ts=up_at, end_ts=None, reason=""))
        for inc_id, severity, opened, resolved, status in (
                ("jam-1", "major", local(date(2026, 8, 1), 0), local(date(2026, 8, 3), 0), "closed"),
                ("toner", "minor", local(date(2026, 8, 10), 9), local(date(2026, 8, 10), 10), "closed"),
                ("jam-2", "critical", local(date(2026, 9, 30), 12), None, "open"),
                ("jam-1b", "major", local(date(2026, 8, 1), 0), local(date(2026, 8, 3), 0), "merged")):
            s.add(Incident(id=f"{asset}-{inc_id}", asset_id=asset, kind="hardware", severity=severity, opened_ts=opened,
                           resolved_ts=resolved, status=status, source="test"))


def check_printer(store: Store, table: TargetTable) -> None:
    q3 = parse_period("2026Q3", "Asia/Shanghai")
    result = measure(store, table, q3, q3.end + timedelta(days=1))
    plain, ok = result.target("peripherals_state"), result.target("peripherals_ok")
    assert plain.value == pytest.approx((7_948_800 - 3_600) / 7_948_800)
    assert (ok.detail.up_seconds, ok.detail.down_seconds) == (7_948_800 - 216_000, 216_000)
    assert ok.value == pytest.approx(179 / 184)
    assert ok.detail.hardware_fault_seconds == 212_400
    assert ok.passed  # 97.28 % >= 95 %
