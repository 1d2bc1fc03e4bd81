"""The reads of `assets list`, `history show`, `audit`, `events`, `maintenance list`, `exclusions list` and
`compliance`, now plain SQL on store/dbapi.py's Reader (issue 25 item 2), give what the ORM gave, on SQLite and
on the real PostgreSQL peer, on the plain driver (PlainStore) and on the collector's pooled connection
(Store.reader(): the API and the console run the same functions); and the CLI prints the same bytes on both.

The estate (T0 = 2026-12-06 00:00 UTC = 08:00 in Shanghai; H an hour, MIN a minute):
  assets, by id: a1 network at s1 (tags core, wan; 10.0.0.1; an icmp check), live; a2 server without a site,
    parent a1, a tcp:443 check (of 127.0.0.1), joined at T0-20h, live; a3 server at s1, removed at T0,
    facts {os: linux}.
  intervals: a1 down [T0-2h, T0-1h) "x", up [T0-1h, open) "ok"; a2 down [T0-30min, open) "timeout";
    a3 up [T0-5h, T0). Heartbeat at T0.
  audit, by id: 1 T0-3h cli:root assets.upsert "a1,a2"; 2 T0-2h ui:wang.fang maintenance.add "w_1";
    3 T0-1h api:ci exclusion.request "1"; 4 T0-30min ui:li.wei incident.acknowledged "INC-2026-1" {note: 50%}.
  events, by id: 1 T0-2h a1 trap linkDown major; 2 T0-1h a2 trap coldStart minor; 3 T0-1h (no asset) auth
    brute_force critical. Newest first is ts descending, then id descending: 3, 2, 1.
  maintenance windows: w_0 cron '0 2 * * sun' 2h on site s1 (cli:test), w_1 a1 [T0+1h, T0+2h) (ui:wang.fang),
    w_9 removed at T0-1h. Live, by id: w_0, w_1. The config file adds cfg-1 (a2, [T0+3h, T0+4h)).
  exclusions, by id: 1 incident INC-1, requested by ui:wang.fang at T0-1h, approved by ui:li.wei at T0-50min;
    2 a2 [T0-30min, T0-10min) planned, requested by cli:root at T0-5min, pending; 3 a1 [T0-2h, T0-1h), removed by
    ui:li.wei at T0-1min. Not removed: 1, 2.
  baseline results (policy opsmon-debian, ran at T0-1h, since T0-2h): srv-1 ia.passwd-shadowed pass,
    ia.no-empty-passwords fail "guest", ri.suid-dumpable fail; srv-2 ac.ssh-root-login pass.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import or_, select

from opsmon.collector.config.inventory import asset_document
from opsmon.collector.outputs.compliance import compliance
from opsmon.collector.store import Store, audit
from opsmon.collector.store import models as m
from opsmon.collector.store.assets import count_assets, list_assets
from opsmon.collector.store.events import read_events
from opsmon.collector.store.exclusions import doc, list_exclusions
from opsmon.collector.store.history import Span, asset_exists, asset_history
from opsmon.collector.store.windows import live_windows
from tests.collector.store.plain_pair import cli_outputs, plain_store, postgres_estate, sqlite_estate
from tests.conftest import write_config

T0 = datetime(2026, 12, 6, tzinfo=UTC)
H, MIN = timedelta(hours=1), timedelta(minutes=1)
CONFIG = ("timezone: Asia/Shanghai\nmaintenance:\n  - {id: cfg-1, assets: [a2], reason: 换盘, "
          "start: '2026-12-06T03:00:00Z', end: '2026-12-06T04:00:00Z'}\n")
# The commands whose bytes must match on both stores (every read of the module's docstring, table and JSON).
COMMANDS = (("assets", "list"), ("assets", "list", "--all", "--format", "json"),
            ("history", "show", "a1", "--from", "2026-12-05T22:30:00Z", "--to", "2026-12-06T00:30:00Z"),
            ("history", "show", "a3", "--from", "2026-12-05T18:00:00Z", "--to", "2026-12-06T01:00:00Z",
             "--format", "json"),
            ("audit",), ("audit", "--limit", "2"), ("events",), ("events", "--asset", "a1", "--format", "json"),
            ("maintenance", "list"), ("maintenance", "list", "--format", "json"), ("exclusions", "list"),
            ("exclusions", "list", "--removed", "--format", "json"), ("compliance",), ("compliance", "--host", "srv-1"),
            ("compliance", "--format", "json"))


def _populate(store: Store) -> None:
    def asset(aid: str, category: str, site: str | None, **more: Any) -> m.Asset:
        return m.Asset(id=aid, name=f"{category} {aid}", category=category, site=site, criticality="high",
                       created_at=T0 - 10 * H, updated_at=T0 - 10 * H, **{"address": None, "tags": [],
                                                                            "parent_id": None, "checks": []} | more)

    def window(wid: str, spec: dict[str, Any], by: str, removed: datetime | None = None) -> m.MaintenanceWindow:
        return m.MaintenanceWindow(id=wid, spec={"id": wid, **spec}, created_by=by, created_at=T0 - 2 * H,
                                   removed_at=removed)

    with store.session.begin() as s:
        s.add_all([asset("a1", "network", "s1", tags=["core", "wan"], address="10.0.0.1", checks=[{"type": "icmp"}]),
                   asset("a2", "server", None, parent_id="a1", joined_at=T0 - 20 * H,
                         checks=[{"type": "tcp", "port": 443, "host": "127.0.0.1"}]),
                   asset("a3", "server", "s1", removed_at=T0, facts={"os": "linux"})])
        s.add_all([m.StateInterval(asset_id="a1", state="down", start_ts=T0 - 2 * H, end_ts=T0 - H, reason="x"),
                   m.StateInterval(asset_id="a1", state="up", start_ts=T0 - H, end_ts=None, reason="ok"),
                   m.StateInterval(asset_id="a2", state="down", start_ts=T0 - 30 * MIN, end_ts=None, reason="timeout"),
                   m.StateInterval(asset_id="a3", state="up", start_ts=T0 - 5 * H, end_ts=T0, reason="")])
        s.add(m.Heartbeat(id=1, ts=T0, started_ts=T0 - 10 * H, pid=1))
        s.add_all([m.AuditEntry(ts=T0 - 3 * H, actor="cli:root", action="assets.upsert", target="a1,a2",
                                detail={"created": ["a1", "a2"]}),
                   m.AuditEntry(ts=T0 - 2 * H, actor="ui:wang.fang", action="maintenance.add", target="w_1",
                                detail={"id": "w_1"}),
                   m.AuditEntry(ts=T0 - H, actor="api:ci", action="exclusion.request", target="1", detail={}),
                   m.AuditEntry(ts=T0 - 30 * MIN, actor="ui:li.wei", action="incident.acknowledged",
                                target="INC-2026-1", detail={"note": "50%"})])
        s.add_all([m.Event(ts=T0 - 2 * H, asset_id="a1", source="127.0.0.1", kind="trap", name="linkDown",
                           severity="major", summary="port 1 down", details={"ifIndex": 1}),
                   m.Event(ts=T0 - H, asset_id="a2", source="127.0.0.2", kind="trap", name="coldStart",
                           severity="minor", summary="restarted", details={}),
                   m.Event(ts=T0 - H, asset_id=None, source="127.0.0.3", kind="auth", name="brute_force",
                           severity="critical", summary="10 failures from 192.0.2.7", details={"from": "192.0.2.7"})])
        s.add_all([window("w_0", {"sites": ["s1"], "cron": "0 2 * * sun", "duration": 7200.0, "reason": "例行"},
                          "cli:test"),
                   window("w_1", {"assets": ["a1"], "start": "2026-12-06T01:00:00Z", "end": "2026-12-06T02:00:00Z"},
                          "ui:wang.fang"),
                   window("w_9", {"assets": ["a3"], "start": "2026-12-05T01:00:00Z", "end": "2026-12-05T02:00:00Z"},
                          "cli:test", removed=T0 - H)])
        s.add_all([m.Exclusion(incident_id="INC-1", reason="停电", requested_by="ui:wang.fang",
                               requested_at=T0 - H, approved_by="ui:li.wei", approved_at=T0 - 50 * MIN),
                   m.Exclusion(asset_id="a2", start_ts=T0 - 30 * MIN, end_ts=T0 - 10 * MIN, planned=True,
                               reason="计划内", requested_by="cli:root", requested_at=T0 - 5 * MIN),
                   m.Exclusion(asset_id="a1", start_ts=T0 - 2 * H, end_ts=T0 - H, reason="误报",
                               requested_by="cli:root", requested_at=T0 - 3 * MIN, removed_by="ui:li.wei",
                               removed_at=T0 - MIN)])
        for host, check, status, evidence in (("srv-1", "ia.passwd-shadowed", "pass", ""),
                                              ("srv-1", "ia.no-empty-passwords", "fail", "guest"),
                                              ("srv-1", "ri.suid-dumpable", "fail", "fs.suid_dumpable=2"),
                                              ("srv-2", "ac.ssh-root-login", "pass", "")):
            s.add(m.BaselineResult(asset_id=host, check_id=check, policy="opsmon-debian", status=status,
                                   evidence=evidence, ran_at=T0 - H, since=T0 - 2 * H))


def _orm(full: Store) -> dict[str, Any]:
    """The ORM's answers, as main's functions read them (mapped classes, SQLAlchemy's JSON and UTCMillis)."""
    with full.session() as s:
        assets = {a.id: asset_document(a) for a in s.scalars(select(m.Asset))}
        audit_log = [(e.id, e.ts, e.actor, e.action, e.target, e.detail)
                     for e in s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id.desc()))]
        events = [{"id": e.id, "ts": e.ts.isoformat(), "asset": e.asset_id, "source": e.source, "kind": e.kind,
                   "name": e.name, "severity": e.severity, "summary": e.summary, "details": e.details}
                  for e in s.scalars(select(m.Event).order_by(m.Event.ts.desc(), m.Event.id.desc()))]
        windows = [(w.id, w.spec, w.created_by, w.created_at) for w in s.scalars(
            select(m.MaintenanceWindow).where(m.MaintenanceWindow.removed_at.is_(None))
            .order_by(m.MaintenanceWindow.id))]
        exclusions = [doc(x) for x in s.scalars(select(m.Exclusion).order_by(m.Exclusion.id))]
        a1 = [(r.state, r.start_ts, r.end_ts, r.reason) for r in s.scalars(
            select(m.StateInterval).where(m.StateInterval.asset_id == "a1", m.StateInterval.start_ts < T0 + H,
                                          or_(m.StateInterval.end_ts.is_(None), m.StateInterval.end_ts > T0 - 3 * H))
            .order_by(m.StateInterval.start_ts, m.StateInterval.id))]
    return {"assets": assets, "audit": audit_log, "events": events, "windows": windows, "exclusions": exclusions,
            "a1": a1}


def _check(full: Store, plain: Any) -> None:
    """Both stores give what the ORM gives and what the docstring lists."""
    orm = _orm(full)
    assert [e[0] for e in orm["audit"]] == [4, 3, 2, 1] and [e["id"] for e in orm["events"]] == [3, 2, 1]
    assert orm["a1"] == [("down", T0 - 2 * H, T0 - H, "x"), ("up", T0 - H, None, "ok")]
    assert [x["status"] for x in orm["exclusions"]] == ["approved", "pending", "removed"]  # the ORM's, once
    for store in (plain, full):
        # assets list: live by id; --all with a3; by site (the console's page): a2 has none, first on SQLite and
        # last on PostgreSQL (each database's order of NULL, as the ORM's query had it)
        assert [a.id for a in list_assets(store)] == ["a1", "a2"]
        rows = list_assets(store, include_removed=True)
        assert [asset_document(a) for a in rows] == [orm["assets"][i] for i in ("a1", "a2", "a3")]
        assert rows[0].tags == ["core", "wan"] and rows[2].facts == {"os": "linux"} and rows[1].site is None
        assert rows[0].checks == [{"type": "icmp"}] and rows[1].joined_at == T0 - 20 * H and rows[2].removed_at == T0
        by_site = [a.id for a in list_assets(store, include_removed=True, by_site=True)]
        assert by_site == (["a2", "a1", "a3"] if full.dialect == "sqlite" else ["a1", "a3", "a2"])
        assert [a.id for a in list_assets(store, True, category="server", site="s1")] == ["a3"]
        # the console's count of a page's assets: live ones only (a1 network s1, a2 no site; a3 removed)
        assert (count_assets(store), count_assets(store, site="s1"), count_assets(store, "server", "s1")) == (2, 1, 0)
        assert [a.id for a in list_assets(store, True, asset_id="a3")] == ["a3"]
        assert [a.id for a in list_assets(store, True, limit=1, offset=1)] == ["a2"]
        # an offset without a limit: the rest of the listing (SQLite's LIMIT -1, PostgreSQL's OFFSET alone)
        assert [a.id for a in list_assets(store, True, offset=1)] == ["a2", "a3"]
        assert [a.id for a in list_assets(store, offset=1)] == ["a2"] and list_assets(store, offset=2) == []
        assert [a.id for a in list_assets(store, True, by_site=True, offset=2)] == by_site[2:]
        # history: a1 over [T0-90min, T0+30min) at now = T0+10min: down 30 min (clipped at T0-90min), up 70 min,
        # open; with the heartbeat at T0 as live_until, up ends at T0 (60 min) and 10 min are unknown
        spans, totals = asset_history(store, "a1", T0 - 90 * MIN, T0 + 30 * MIN, now=T0 + 10 * MIN)
        assert spans == [Span("down", T0 - 90 * MIN, T0 - H, "x"), Span("up", T0 - H, None, "ok")]
        assert (totals["down"], totals["up"]) == (1800.0, 4200.0)
        spans, totals = asset_history(store, "a1", T0 - 90 * MIN, T0 + 30 * MIN, T0 + 10 * MIN, live_until=T0)
        assert spans[1:] == [Span("up", T0 - H, T0, "ok"), Span("unknown", T0, None, "collector not running")]
        assert (totals["up"], totals["unknown"]) == (3600.0, 600.0)
        assert asset_history(store, "a3", T0 - 6 * H, T0 + H, now=T0 + H)[1]["up"] == 5 * 3600.0
        assert asset_exists(store, "a3") and not asset_exists(store, "a4")
        # audit: newest first; a part of a name, its _ and % taken literally ("_1" is w_1's, not INC-2026-1's "-1")
        assert [tuple(e) for e in audit.read(store)] == orm["audit"]
        assert [e.id for e in audit.read(store, 2)] == [4, 3]
        assert [e.id for e in audit.read(store, since=T0 - 2 * H)] == [4, 3, 2]
        assert [e.id for e in audit.read(store, until=T0 - H)] == [2, 1]
        assert [e.id for e in audit.read(store, actor="wang")] == [2]
        assert [e.id for e in audit.read(store, action="maintenance")] == [2]
        assert [e.id for e in audit.read(store, target="_1")] == [2]
        assert audit.read(store, actor="%") == []
        # events: newest first, the same instant by id
        assert read_events(store) == orm["events"]
        assert [e["id"] for e in read_events(store, asset="a1")] == [1]
        assert [e["id"] for e in read_events(store, since=T0 - H)] == [3, 2]
        assert [e["id"] for e in read_events(store, until=T0 - H)] == [1]
        assert [e["id"] for e in read_events(store, kind="trap")] == [2, 1]
        assert [e["id"] for e in read_events(store, name="coldStart", limit=1)] == [2]
        assert [e["id"] for e in read_events(store, limit=1)] == [3]
        # maintenance: the live windows by id
        assert [tuple(w) for w in live_windows(store)] == orm["windows"]
        assert [w.id for w in live_windows(store)] == ["w_0", "w_1"]
        # exclusions: not removed ones, or all
        assert list_exclusions(store, include_removed=True) == orm["exclusions"]
        assert [(x["id"], x["status"], x["planned"]) for x in list_exclusions(store)] == [
            (1, "approved", False), (2, "pending", True)]
        # compliance: srv-1 8.1.4.1 1 passed 1 failed (50 %), 8.1.4.10 0 and 1; srv-2 8.1.4.2 1 and 0
        rows = compliance(store)
        assert [(r["asset"], r["clause"], r["passed"], r["failed"], r["score"]) for r in rows] == [
            ("srv-1", "8.1.4.1", 1, 1, 0.5), ("srv-1", "8.1.4.10", 0, 1, 0.0), ("srv-2", "8.1.4.2", 1, 0, 1.0)]
        assert rows[0]["ran_at"] == "2026-12-05T23:00:00+00:00"
        assert [(f["check"], f["evidence"], f["since"]) for f in rows[0]["failing"]] == [
            ("ia.no-empty-passwords", "guest", "2026-12-05T22:00:00+00:00")]
        assert compliance(store, "srv-2") == rows[2:]


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    yield from sqlite_estate(tmp_path_factory, "plain-reads-more", _populate, lambda _: CONFIG)


def test_plain_reads_on_sqlite_give_what_the_orm_gave(sqlite_store: tuple[Store, Path]) -> None:
    full, _ = sqlite_store
    with plain_store(full, "sqlite") as plain:
        _check(full, plain)


def test_the_commands_print_the_estate(sqlite_store: tuple[Store, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Some lines by hand (times in Shanghai, T0 = 08:00+08:00): the history of a1 from 06:30 to 08:30 (--to is
    in the past, so its open interval is shown up to --to, the heartbeat not applying); the audit log oldest
    first; the config's window before the stored ones; the exclusions not removed."""
    out = dict(zip(COMMANDS, cli_outputs(sqlite_store[1], capsys, COMMANDS), strict=True))
    assert [line.split()[0] for line in out[("assets", "list")].splitlines()] == ["ID", "a1", "a2"]
    history = out[COMMANDS[2]].splitlines()
    assert history[1].split() == ["2026-12-06", "06:30:00+08:00", "2026-12-06", "07:00:00+08:00", "down", "30分", "x"]
    assert history[2].split() == ["2026-12-06", "07:00:00+08:00", "2026-12-06", "08:30:00+08:00", "up", "1小时30分",
                                  "ok"]
    assert history[3:] == ["totals: up 1小时30分, down 30分"]
    assert [line.split()[4] for line in out[("audit",)].splitlines()] == ["a1,a2", "w_1", "1", "INC-2026-1"]
    assert out[("audit", "--limit", "2")].splitlines()[0].startswith("2026-12-06 07:00:00+08:00 api:ci")
    assert [line.split()[0] for line in out[("maintenance", "list")].splitlines()] == ["ID", "cfg-1", "w_0", "w_1"]
    assert [line.split()[0] for line in out[("exclusions", "list")].splitlines()] == ["ID", "1", "2"]


def test_plain_reads_on_postgresql_give_what_the_orm_and_sqlite_gave(
        postgres_url: str, sqlite_store: tuple[Store, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same estate on the real PostgreSQL peer: the same answers, and every command prints the same bytes as
    on SQLite (psycopg through the plain driver)."""
    with postgres_estate(postgres_url, "plain_reads_more", _populate) as (full, url):
        with plain_store(full, "postgresql") as plain:
            _check(full, plain)
        config = write_config(tmp_path, f"{CONFIG}database:\n  url: {url}\n")
        assert cli_outputs(config, capsys, COMMANDS) == cli_outputs(sqlite_store[1], capsys, COMMANDS)


@pytest.mark.parametrize(("windows", "said"), [
    ("  - {id: w, assets: [a1], start: '2026-12-06T03:00:00Z', end: '2026-12-06T04:00:00Z'}\n"
     "  - {id: w, assets: [a2], cron: '0 2 * * sun', duration: 2h}\n", "maintenance window id 'w' is used twice"),
    ("  - {id: w, assets: [a1], cron: '0 2 * * 0', duration: 2h}\n", "write the day-of-week field with names"),
])
def test_maintenance_list_refuses_a_bad_window_in_the_whole_schemas_words(
        tmp_path: Path, windows: str, said: str) -> None:
    """`maintenance list` validates the file's windows with config/basics_windows.py, not the whole schema: the
    same ConfigError text (file, line, key, reason) as load_config's, for an id used twice and for a cron whose
    day of week is a number."""
    from opsmon.collector.config import load_config
    from opsmon.collector.config.basics import load_basics
    from opsmon.collector.config.basics_windows import WindowsBasics
    from opsmon.collector.core.errors import ConfigError

    config = write_config(tmp_path, f"database:\n  path: {tmp_path / 'opsmon.db'}\nmaintenance:\n{windows}")
    with pytest.raises(ConfigError) as whole:
        load_config(config, parsed_files=False)
    with pytest.raises(ConfigError) as read:
        load_basics(config, WindowsBasics)
    assert str(read.value) == str(whole.value) and said in str(read.value)
