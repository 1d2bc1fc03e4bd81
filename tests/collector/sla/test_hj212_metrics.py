"""/metrics' opsmon_hj212_*_hourly_values and rates (issue 17 item 2): the SLA worker's figures, off an exposition.

In process, with a fixed `now`: one DAU (MN DXCBZ000000005, 昌吉回族自治州, 某污水处理有限公司) added to the
inventory at 2026-11-30 12:00 Asia/Shanghai, points ww1 (w01018, w21003) and ww2 (w01018). Each hourly value
arrives an hour after its DataTime (long before the correction deadline of 2027-01-10).

- ww1 w01018: a value for every hour 11-30 12:00 .. 12-01 03:00 (16 hours), flag N but D at 12-01 02:00;
- ww1 w21003: values for 11-30 12:00 .. 12-01 01:00 (14 hours, N); 02:00 and 03:00 missing;
- ww2 w01018: nothing ever came.

At now = 12-01 04:30 local the half-month (12-01 00:00 on) has 4 complete hours (00, 01, 02, 03); the 12 hours
of 11-30 before it are the previous half-month's and count nowhere here:

    half-month      应传 实传 有效  传输率   有效率         传输有效率
    ww1 w01018       4    4    3   4/4=1    3/4=0.75       0.75
    ww1 w21003       4    2    2   2/4=0.5  2/2=1          0.5
    ww2 w01018       4    0    0   0/4=0    (0/0: absent)  0 (a point at 0)

At now = 12-01 00:20 local the half-month has no complete hour: every hour count is there at 0 and no rate (0/0).
On 11-30 at 23:30 the first half of November counts the DAU from its addition, 11-30 12:00 .. 23:00: 11 complete
hours, all sent and N for ww1 w01018.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from opsmon.collector.outputs.metrics import CollectorMetrics
from opsmon.collector.sla.hj212_live import hj212_figures
from opsmon.collector.sla.targets import bundled_targets_path
from opsmon.collector.store import open_store
from opsmon.collector.store.models import Asset, Hj212Datum

CST = ZoneInfo("Asia/Shanghai")
ADDED = datetime(2026, 11, 30, 12, tzinfo=CST)
CHECK = {"type": "hj212", "mn": "DXCBZ000000005", "credential": "dxcbz", "enterprise": "某污水处理有限公司",
         "points": {"ww1": {"factors": {"w01018": {}, "w21003": {}}}, "ww2": {"factors": {"w01018": {}}}}}
KEY = {"asset": "dau-dxcbz", "mn": "DXCBZ000000005", "site": "昌吉回族自治州", "enterprise": "某污水处理有限公司"}


def _samples(store, now: datetime) -> dict[tuple[str, ...], float]:
    """(metric, point, factor) -> value, from the text /metrics would serve; the half-month's start as (metric,)."""
    metrics = CollectorMetrics()
    figures = hj212_figures(store, bundled_targets_path(), "Asia/Shanghai", now)
    metrics.watch_hj212_rates(lambda: figures)
    out = {}
    for fam in text_string_to_metric_families(generate_latest(metrics.registry).decode()):
        for s in fam.samples:
            if s.name.startswith("opsmon_hj212_") and "point" in s.labels:
                assert {k: s.labels[k] for k in KEY} == KEY
                out[(s.name, s.labels["point"], s.labels["factor"])] = s.value
            elif s.name == "opsmon_hj212_period_start_timestamp_seconds":
                out[(s.name,)] = s.value
    return out


def test_hours_and_rates_per_point_and_factor(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    with store.session.begin() as s:
        s.add(Asset(id="dau-dxcbz", name="某污水处理厂数采仪", category="dau", site="昌吉回族自治州", tags=[],
                    criticality="medium", checks=[CHECK], created_at=ADDED, updated_at=ADDED))
        for k in range(16):
            hour = ADDED + timedelta(hours=k)
            sent = [("w01018", "D" if k == 14 else "N")] + ([("w21003", "N")] if k < 14 else [])
            for factor, flag in sent:
                s.add(Hj212Datum(asset_id="dau-dxcbz", mn="DXCBZ000000005", cn="2061", point="ww1", factor=factor,
                                 data_time=hour, avg="1.0", flag=flag, crc="ok", received=hour + timedelta(hours=1)))
    try:
        got = _samples(store, datetime(2026, 12, 1, 4, 30, tzinfo=CST))
        hours = {(p, f): tuple(got[(f"opsmon_hj212_{k}_hourly_values", p, f)] for k in
                               ("should", "transmitted", "effective"))
                 for p, f in (("ww1", "w01018"), ("ww1", "w21003"), ("ww2", "w01018"))}
        assert hours == {("ww1", "w01018"): (4, 4, 3), ("ww1", "w21003"): (4, 2, 2), ("ww2", "w01018"): (4, 0, 0)}
        rates = {k[0].removeprefix("opsmon_hj212_"): v for k, v in got.items() if k[0].endswith("_ratio")
                 and k[1:] == ("ww1", "w01018")}
        assert rates == {"transmission_ratio": 1.0, "effective_ratio": 0.75, "effective_transmission_ratio": 0.75}
        assert got[("opsmon_hj212_transmission_ratio", "ww1", "w21003")] == 0.5
        assert got[("opsmon_hj212_effective_ratio", "ww1", "w21003")] == 1.0
        assert got[("opsmon_hj212_effective_transmission_ratio", "ww1", "w21003")] == 0.5
        # ww2 sent nothing: at 0, and its effective rate (0/0) absent
        assert got[("opsmon_hj212_effective_transmission_ratio", "ww2", "w01018")] == 0.0
        assert got[("opsmon_hj212_transmission_ratio", "ww2", "w01018")] == 0.0
        assert ("opsmon_hj212_effective_ratio", "ww2", "w01018") not in got
        assert got[("opsmon_hj212_period_start_timestamp_seconds",)] == datetime(2026, 12, 1, tzinfo=CST).timestamp()

        early = _samples(store, datetime(2026, 12, 1, 0, 20, tzinfo=CST))
        counts = {k: v for k, v in early.items() if k[0].endswith("_hourly_values")}
        assert len(counts) == 9 and set(counts.values()) == {0.0}  # 3 counts x 3 series, all there at 0
        assert not [k for k in early if k[0].endswith("_ratio")]

        before = _samples(store, datetime(2026, 11, 30, 23, 30, tzinfo=CST))
        assert [before[(f"opsmon_hj212_{k}_hourly_values", "ww1", "w01018")]
                for k in ("should", "transmitted", "effective")] == [11, 11, 11]
        assert before[("opsmon_hj212_period_start_timestamp_seconds",)] == \
            datetime(2026, 11, 16, tzinfo=CST).timestamp()
    finally:
        store.close()


def test_no_dau_no_series_but_the_period_start(tmp_path: Path) -> None:
    """An estate without DAUs: no per-point series (nothing to count), the half-month's start all the same."""
    store = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    try:
        got = _samples(store, datetime(2026, 12, 16, 9, tzinfo=CST))
        assert got == {("opsmon_hj212_period_start_timestamp_seconds",): datetime(2026, 12, 16, tzinfo=CST).timestamp()}
    finally:
        store.close()
