"""`opsmon flows top|sites` read without SQLAlchemy (store/flows.py's SQL strings on store/dbapi.py's Reader, issue 25
item 2) and give what the ORM's rows give, on SQLite and on the real PostgreSQL peer. The same strings run on the
plain driver (PlainStore) and on the collector's pooled connection (Store.reader(): GET /api/v1/flows/top and
/sites); both are checked against the flow_top, assets and asset_absences rows read through the ORM and placed in
Python (_orm_sites), and against the figures below, worked out by hand. The CLI prints the same bytes on both.

The estate (T0 = 2026-12-06 00:00 UTC; 5-minute intervals; the period [T0, T0+10min): the intervals at 0 and 5 min):
  assets: wan-1 喀什专线一 (site 喀什); wan-2 和田专线 (和田); wan-3 旧专线 (喀什, removed at T0+5min); wan-4 空地州
    (site ""); wan-5 复专线 (和田, absent [T0+5min, T0+10min), then restored). `ghost` is no asset.
  flow_top (link, interval, src -> dst:port/proto, bytes, packets, flows; `other` rows have port and proto -1):
    r1 wan-1 0  10.1.0.5 -> 10.9.0.1:443/6  1000 2 1        r7  wan-2 0  10.3.0.1 -> 10.9.0.1:443/6  700 1 1
    r2 wan-1 0  other                        100 1 1        r8  wan-4 0  10.4.0.1 -> 10.9.0.1:53/17   20 1 1
    r3 wan-1 5  10.1.0.5 -> 10.9.0.1:443/6  3000 3 1        r9  ghost 5  10.5.0.1 -> 10.9.0.1:443/6   50 1 1
    r4 wan-1 5  10.1.0.6 -> 10.9.0.1:22/6     40 1 1        r10 wan-5 0  10.6.0.1 -> 10.9.0.1:443/6  200 2 1
    r5 wan-3 0  10.1.0.5 -> 10.9.0.1:443/6   500 1 1        r11 wan-5 5  10.6.0.1 -> 10.9.0.1:443/6  300 3 1
    r6 wan-3 5  10.1.0.7 -> 10.9.0.1:80/6     70 1 1        r12 wan-1 10 10.1.0.5 -> 10.9.0.1:443/6 9999 9 9
  Placed: r5 starts before wan-3's removal (喀什), r6 at it (unknown); r8 has an empty site, r9 no asset (unknown);
  r10's interval is not inside wan-5's absence (和田), r11's is wholly inside it (unknown); r12 starts at the
  period's end (left out).
  喀什 = r1-r5: 1000+100+3000+40+500 = 4640 bytes, 2+1+3+1+1 = 8 packets, 5 flows, intervals {0, 5} = 2; its links
    wan-1 1000+100+3000+40 = 4140, wan-3 500. 和田 = r7, r10: 900 bytes, 3 packets, 2 flows, 1 interval; wan-2 700,
    wan-5 200. unknown = r6, r8, r9, r11: 70+20+50+300 = 440 bytes, 1+1+1+3 = 6 packets, 4 flows, intervals {0, 5}
    = 2; wan-5 300, wan-3 70, ghost 50, wan-4 20. Of 4640+900+440 = 5980 bytes: 77.6 %, 15.1 % (15.05..), 7.4 %.
  top --site 喀什: 10.1.0.5:443 1000+3000+500 = 4500 bytes 6 packets 3 flows, 10.1.0.6:22 40 1 1, other (r2) 100 1 1.
  top --link wan-1 --limit 1: 10.1.0.5:443 4000 5 2, then other = r2 100 1 1 + the :22 row 40 1 1 = 140 2 2; total
    4140 7 4, 2 intervals.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsmon.collector.core.messages import FlowRow
from opsmon.collector.store import Store, open_store
from opsmon.collector.store import models as m
from opsmon.collector.store.dbapi import Readable
from opsmon.collector.store.flows import SiteTotal, site_totals, top_talkers
from tests.collector.store.plain_pair import cli_outputs, plain_store, postgres_estate, sqlite_estate
from tests.conftest import write_config

T0 = datetime(2026, 12, 6, tzinfo=UTC)
FIVE = timedelta(minutes=5)
KASHGAR, HOTAN = "喀什", "和田"
SPAN = "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-06T00:10:00Z"
ARGVS = (("flows", "sites", *SPAN), ("flows", "sites", *SPAN, "--format", "json"),
         ("flows", "top", "--site", KASHGAR, *SPAN), ("flows", "top", "--link", "wan-1", "--limit", "1", *SPAN),
         ("flows", "top", "--site", "unknown", *SPAN, "--format", "json"), ("flows", "top", "--link", "nope", *SPAN))
ROWS = (("wan-1", 0, "10.1.0.5", "10.9.0.1", 443, 6, 1000, 2, 1), ("wan-1", 0, "other", "other", -1, -1, 100, 1, 1),
        ("wan-1", 1, "10.1.0.5", "10.9.0.1", 443, 6, 3000, 3, 1), ("wan-1", 1, "10.1.0.6", "10.9.0.1", 22, 6, 40, 1, 1),
        ("wan-3", 0, "10.1.0.5", "10.9.0.1", 443, 6, 500, 1, 1), ("wan-3", 1, "10.1.0.7", "10.9.0.1", 80, 6, 70, 1, 1),
        ("wan-2", 0, "10.3.0.1", "10.9.0.1", 443, 6, 700, 1, 1), ("wan-4", 0, "10.4.0.1", "10.9.0.1", 53, 17, 20, 1, 1),
        ("ghost", 1, "10.5.0.1", "10.9.0.1", 443, 6, 50, 1, 1), ("wan-5", 0, "10.6.0.1", "10.9.0.1", 443, 6, 200, 2, 1),
        ("wan-5", 1, "10.6.0.1", "10.9.0.1", 443, 6, 300, 3, 1),
        ("wan-1", 2, "10.1.0.5", "10.9.0.1", 443, 6, 9999, 9, 9))
SITES = [(KASHGAR, 4640, 8, 5, 2, [("wan-1", "喀什专线一", 4140), ("wan-3", "旧专线", 500)]),
         (HOTAN, 900, 3, 2, 1, [("wan-2", "和田专线", 700), ("wan-5", "复专线", 200)]),
         ("unknown", 440, 6, 4, 2, [("wan-5", "复专线", 300), ("wan-3", "旧专线", 70), ("ghost", "ghost", 50),
                                    ("wan-4", "空地州", 20)])]


def asset(aid: str, name: str, site: str, removed: datetime | None = None) -> m.Asset:
    return m.Asset(id=aid, name=name, category="link", site=site, criticality="high", address=None, tags=[],
                   parent_id=None, checks=[], created_at=T0 - 10 * FIVE, updated_at=T0 - 10 * FIVE, removed_at=removed)


def _populate(store: Store) -> None:
    with store.session.begin() as session:
        session.add_all([asset("wan-1", "喀什专线一", KASHGAR), asset("wan-2", "和田专线", HOTAN),
                         asset("wan-3", "旧专线", KASHGAR, T0 + FIVE), asset("wan-4", "空地州", ""),
                         asset("wan-5", "复专线", HOTAN),
                         m.AssetAbsence(asset_id="wan-5", start_ts=T0 + FIVE, end_ts=T0 + 2 * FIVE)])
        session.add_all([m.FlowTopRow(link=link, start_ts=T0 + n * FIVE, end_ts=T0 + (n + 1) * FIVE, src=src, dst=dst,
                                      dst_port=port, protocol=proto, bytes=octets, packets=packets, flows=flows)
                         for link, n, src, dst, port, proto, octets, packets, flows in ROWS])


def _orm_sites(full: Store, start: datetime, end: datetime) -> list[tuple[str, str, str, tuple[Any, ...]]]:
    """Each stored row of the intervals starting in [start, end), read through the ORM and placed in Python by the
    rule of store/flows.py's docstring: (link, site, name, (start, src, dst, port, proto, bytes, packets, flows))."""
    with full.session() as session:
        assets = {a.id: a for a in session.scalars(select(m.Asset))}
        absences = list(session.scalars(select(m.AssetAbsence)))
        rows = list(session.scalars(select(m.FlowTopRow).where(m.FlowTopRow.start_ts >= start,
                                                                m.FlowTopRow.start_ts < end)))
    out = []
    for r in rows:
        a = assets.get(r.link)
        gone = a is not None and a.removed_at is not None and r.start_ts >= a.removed_at
        absent = any(x.asset_id == r.link and x.start_ts <= r.start_ts and r.end_ts <= x.end_ts for x in absences)
        site = "unknown" if gone or absent or a is None or not a.site else a.site
        out.append((r.link, site, a.name if a else r.link,
                    (r.start_ts, r.src, r.dst, r.dst_port, r.protocol, r.bytes, r.packets, r.flows)))
    return out


def _orm_totals(placed: list[tuple[str, str, str, tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    """site_totals' figures from _orm_sites' rows: per site its sums, its interval starts and its links' bytes."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    starts: dict[str, set[datetime]] = defaultdict(set)
    links: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for link, site, name, (start, *_, octets, packets, flows) in placed:
        sums[site] = [sums[site][0] + octets, sums[site][1] + packets, sums[site][2] + flows]
        starts[site].add(start)
        links[site][(link, name)] += octets
    return sorted(((site, *sums[site], len(starts[site]),
                    sorted(((k[0], k[1], v) for k, v in links[site].items()), key=lambda x: (-x[2], x[0])))
                   for site in sums), key=lambda t: (-t[1], t[0]))


def _as_tuples(totals: list[SiteTotal]) -> list[tuple[Any, ...]]:
    return [(t.site, t.bytes, t.packets, t.flows, t.intervals, t.links) for t in totals]


def _check(full: Store, plain: Readable) -> None:
    start, end = T0, T0 + 2 * FIVE
    placed = _orm_sites(full, start, end)
    assert len(placed) == 11  # r12 starts at the period's end
    assert _orm_totals(placed) == SITES
    for store in (plain, full):  # the CLI's driver, and the API's pooled connection
        assert _as_tuples(site_totals(store, start, end)) == SITES
        # PostgreSQL's SUM of a BIGINT is a numeric (Decimal), equal to the int above: the reads make ints of it
        assert {type(v) for t in site_totals(store, start, end)
                for v in (t.bytes, t.packets, t.flows, t.intervals, *(octets for *_, octets in t.links))} == {int}
        _, top_total, top_intervals = top_talkers(store, None, start, end, site=KASHGAR)
        assert {type(v) for v in (top_total.bytes, top_total.packets, top_total.flows, top_intervals)} == {int}
        assert site_totals(store, start - FIVE, start) == []
        rows, total, intervals = top_talkers(store, None, start, end, site=KASHGAR)
        assert rows == [FlowRow("10.1.0.5", "10.9.0.1", 443, 6, 4500, 6, 3),
                        FlowRow("10.1.0.6", "10.9.0.1", 22, 6, 40, 1, 1), FlowRow("other", "other", -1, -1, 100, 1, 1)]
        assert (total, intervals) == (FlowRow("*", "*", -1, -1, 4640, 8, 5), 2)
        assert top_talkers(store, "wan-1", start, end, 1) == (
            [FlowRow("10.1.0.5", "10.9.0.1", 443, 6, 4000, 5, 2), FlowRow("other", "other", -1, -1, 140, 2, 2)],
            FlowRow("*", "*", -1, -1, 4140, 7, 4), 2)
        unknown = top_talkers(store, None, start, end, site="unknown")
        assert [(r.src, r.bytes) for r in unknown[0]] == [("10.6.0.1", 300), ("10.1.0.7", 70), ("10.5.0.1", 50),
                                                           ("10.4.0.1", 20)]
        assert unknown[1:] == (FlowRow("*", "*", -1, -1, 440, 6, 4), 2)
        assert top_talkers(store, "nope", start, end) == ([], FlowRow("*", "*", -1, -1, 0, 0, 0), 0)
        # every site's top, summed, is the ORM's rows of that site
        for site, octets, packets, flows, n, _ in SITES:
            assert top_talkers(store, None, start, end, 10_000, site=site)[1:] == (
                FlowRow("*", "*", -1, -1, octets, packets, flows), n)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    yield from sqlite_estate(tmp_path_factory, "plain-reads-flows", _populate, lambda _: "timezone: Asia/Shanghai\n")


def test_plain_flow_reads_on_sqlite_give_what_the_orm_gave(sqlite_store: tuple[Store, Path]) -> None:
    full, _ = sqlite_store
    with plain_store(full, "sqlite") as plain:
        _check(full, plain)


def test_the_flow_reads_print_the_estate(sqlite_store: tuple[Store, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The period's bounds in Shanghai (UTC+8): T0 is 2026-12-06T08:00:00+08:00, T0+10min 08:10."""
    out = dict(zip(ARGVS, cli_outputs(sqlite_store[1], capsys, ARGVS), strict=True))
    sites = out[ARGVS[0]].splitlines()
    assert sites[0] == ("统计周期 / period: 2026-12-06T00:00:00Z/2026-12-06T00:10:00Z "  # the range as given
                        "[2026-12-06T08:00:00+08:00 .. 2026-12-06T08:10:00+08:00) Asia/Shanghai")
    assert [line.split()[:7] for line in sites[2:]] == [
        [KASHGAR, "4640", "8", "5", "2", "77.6%", "喀什专线一"], [HOTAN, "900", "3", "2", "1", "15.1%", "和田专线"],
        ["unknown", "440", "6", "4", "2", "7.4%", "复专线"]]
    assert sites[2].endswith("喀什专线一 (wan-1), 旧专线 (wan-3)") and sites[4].endswith("ghost, 空地州 (wan-4)")
    top = out[ARGVS[3]].splitlines()
    assert top[0].endswith("Asia/Shanghai  区间 / intervals: 2")
    assert [line.split() for line in top[2:]] == [["10.1.0.5", "10.9.0.1", "443", "tcp", "4000", "5", "2", "96.6%"],
                                                  ["other", "other", "-", "-", "140", "2", "2", "3.4%"],
                                                  ["合计", "TOTAL", "4140", "7", "4", "100.0%"]]
    assert '"intervals": 2' in out[ARGVS[4]] and '"dst_port": 53' in out[ARGVS[4]]
    assert out[ARGVS[5]].splitlines()[1] == ("该周期没有流量记录 / no flow intervals stored for this link or site in "
                                             "the period")


def test_plain_flow_reads_on_postgresql_give_what_the_orm_and_sqlite_gave(
        postgres_url: str, sqlite_store: tuple[Store, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same checks on the real PostgreSQL (its SUM of a BIGINT is a numeric: the reads make ints of it), and the
    CLI's bytes there equal SQLite's."""
    with postgres_estate(postgres_url, "plain_reads_flows", _populate) as (full, url):
        with plain_store(full, "postgresql") as plain:
            _check(full, plain)
        on_sqlite = cli_outputs(sqlite_store[1], capsys, ARGVS)
        config = write_config(tmp_path, f"timezone: Asia/Shanghai\ndatabase:\n  url: {url}\n")
        assert cli_outputs(config, capsys, ARGVS) == on_sqlite


# The placing's edges that the estate above leaves out, in a store of their own (T0 and FIVE as above; the period
# [T0, T0+10min)): e-1 (site 喀什) is absent [T0, T0+5min) and has two intervals starting at T0, one of 5 minutes
# (wholly inside the absence: unknown) and one of 10 (the interval length changed: not wholly inside, so 喀什):
# where a row counts depends on its own interval's end too. e-2's site is named `unknown` (its rows count there,
# as the receiver counts them); e-3's site is '' (unknown; `top --site ''` is no site's figures); e-4 (和田) was
# removed at T0+2.5min, inside its first interval (which stays under 和田) and before its second (unknown).
#   s1 e-1 [T0, +5min)   10.0.0.1 -> 10.9.0.1:443/6   100 1 1 -> unknown
#   s2 e-1 [T0, +10min)  10.0.0.1 -> 10.9.0.1:443/6  1000 2 1 -> 喀什
#   s3 e-1 [T0, +10min)  other                         10 1 1 -> 喀什
#   s4 e-2 [+5, +10min)  10.0.0.2 -> 10.9.0.1:80/6     40 1 1 -> unknown
#   s5 e-3 [T0, +5min)   10.0.0.3 -> 10.9.0.1:53/17     7 1 1 -> unknown
#   s6 e-4 [T0, +5min)   10.0.0.4 -> 10.9.0.1:22/6      5 1 1 -> 和田 (removed during it)
#   s7 e-4 [+5, +10min)  10.0.0.4 -> 10.9.0.1:22/6      3 1 1 -> unknown (removed before it)
# 喀什 = s2+s3: 1010 bytes, 3 packets, 2 flows, intervals {T0} = 1, e-1 1010. unknown = s1+s4+s5+s7: 100+40+7+3 =
# 150 bytes, 4 packets, 4 flows, intervals {T0, T0+5min} = 2; e-1 100, e-2 40, e-3 7, e-4 3. 和田 = s6: 5 bytes, 1
# packet, 1 flow, intervals {T0} = 1; e-4 5.
EDGE_ROWS = (("e-1", 0, 1, "10.0.0.1", 443, 6, 100, 1, 1), ("e-1", 0, 2, "10.0.0.1", 443, 6, 1000, 2, 1),
             ("e-1", 0, 2, "other", -1, -1, 10, 1, 1), ("e-2", 1, 2, "10.0.0.2", 80, 6, 40, 1, 1),
             ("e-3", 0, 1, "10.0.0.3", 53, 17, 7, 1, 1), ("e-4", 0, 1, "10.0.0.4", 22, 6, 5, 1, 1),
             ("e-4", 1, 2, "10.0.0.4", 22, 6, 3, 1, 1))
EDGE_SITES = [(KASHGAR, 1010, 3, 2, 1, [("e-1", "边一", 1010)]),
              ("unknown", 150, 4, 4, 2, [("e-1", "边一", 100), ("e-2", "名为未知", 40), ("e-3", "无地州", 7),
                                         ("e-4", "边四", 3)]),
              ("和田", 5, 1, 1, 1, [("e-4", "边四", 5)])]


def _populate_edges(store: Store) -> None:
    with store.session.begin() as session:
        session.add_all([asset("e-1", "边一", KASHGAR), asset("e-2", "名为未知", "unknown"), asset("e-3", "无地州", ""),
                         asset("e-4", "边四", "和田", removed=T0 + FIVE / 2),
                         m.AssetAbsence(asset_id="e-1", start_ts=T0, end_ts=T0 + FIVE)])
        session.add_all([m.FlowTopRow(link=link, start_ts=T0 + n * FIVE, end_ts=T0 + e * FIVE, src=src,
                                      dst="other" if src == "other" else "10.9.0.1", dst_port=port, protocol=proto,
                                      bytes=octets, packets=packets, flows=flows)
                         for link, n, e, src, port, proto, octets, packets, flows in EDGE_ROWS])


def _check_edges(full: Store, plain: Readable) -> None:
    start, end = T0, T0 + 2 * FIVE
    assert _orm_totals(_orm_sites(full, start, end)) == EDGE_SITES
    for store in (plain, full):
        assert _as_tuples(site_totals(store, start, end)) == EDGE_SITES
        assert top_talkers(store, None, start, end, site=KASHGAR) == (
            [FlowRow("10.0.0.1", "10.9.0.1", 443, 6, 1000, 2, 1), FlowRow("other", "other", -1, -1, 10, 1, 1)],
            FlowRow("*", "*", -1, -1, 1010, 3, 2), 1)
        assert top_talkers(store, None, start, end, site="unknown") == (
            [FlowRow("10.0.0.1", "10.9.0.1", 443, 6, 100, 1, 1), FlowRow("10.0.0.2", "10.9.0.1", 80, 6, 40, 1, 1),
             FlowRow("10.0.0.3", "10.9.0.1", 53, 17, 7, 1, 1), FlowRow("10.0.0.4", "10.9.0.1", 22, 6, 3, 1, 1)],
            FlowRow("*", "*", -1, -1, 150, 4, 4), 2)
        assert top_talkers(store, None, start, end, site="和田") == (
            [FlowRow("10.0.0.4", "10.9.0.1", 22, 6, 5, 1, 1)], FlowRow("*", "*", -1, -1, 5, 1, 1), 1)
        for nobody in ("", "阿勒泰"):
            assert top_talkers(store, None, start, end, site=nobody) == ([], FlowRow("*", "*", -1, -1, 0, 0, 0), 0)


def test_a_link_interval_is_placed_by_its_own_bounds_on_sqlite(tmp_path: Path) -> None:
    full = open_store(f"sqlite:///{tmp_path / 'opsmon.db'}")
    try:
        _populate_edges(full)
        with plain_store(full, "sqlite") as plain:
            _check_edges(full, plain)
    finally:
        full.close()


def test_a_link_interval_is_placed_by_its_own_bounds_on_postgresql(postgres_url: str) -> None:
    with postgres_estate(postgres_url, "plain_reads_flow_edges", _populate_edges) as (full, _):
        with plain_store(full, "postgresql") as plain:
            _check_edges(full, plain)
