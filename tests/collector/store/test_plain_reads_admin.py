"""The administration listings read without SQLAlchemy (store/dbapi.py, issue 25 item 2) give what the ORM gave,
on SQLite and on the real PostgreSQL peer: tokens, console accounts, agents, stored device configurations (listed,
one shown, two compared), HJ 212 exemptions and on-call overrides. The same SQL runs on the plain driver
(PlainStore) and on the collector's pooled connection (Store.reader(): the API's configs and exemptions endpoints,
the HJ 212 report, the running roster);
both are checked against the mapped classes read through the ORM, as main read them, and against hand-listed
answers. The CLI prints the same bytes on both databases, and never a token's or a password's hash.

The estate (T0 = 2026-12-06 00:00 UTC, 08:00 in Shanghai), in the order the rows are added (ids 1, 2, 3):
  api_tokens: alice viewer made T0-2d; bob#revoked-2 operator made T0-1d, revoked T0-1h; carol admin made T0-30min.
    Listed by id: alice, bob#revoked-2, carol.
  console_users: zhang operator (an argon2 hash) zh T0-3d; li.ops operator (no hash: "ldap") en T0-1d; a.admin admin
    (a hash) zh T0-2h. Listed by name: a.admin (local), li.ops (ldap), zhang (local).
  agents: srv-2 agent T0-2d; pc-1 agent T0-1d revoked T0-2h; poller-s1 poller T0-3h. By name: pc-1, poller-s1, srv-2.
  config_versions: sw-1 running v1 (fetched T0-2d, seen T0-1d), v2 (T0-1d, T0-1h); sw-1 startup v1 (T0-3d, T0-3d);
    rt-9 running v1 (T0-5h, T0-10min). Per asset and name: rt-9 running 1 seen T0-10min; sw-1 running 2 seen T0-1h
    (the later of T0-1d and T0-1h); sw-1 startup 1 seen T0-3d. sw-1 running's versions newest first: 2, 1.
    Each version's content: "hostname <asset>", then "! v<n>".
  hj212_exemptions: x1 dau-1 p1 [T0-1d, T0) stopped; x2 dau-1 (every point) [T0-2d, T0-1d) maintenance, removed
    T0-3h by cli:root; x3 dau-2 p2 a01 [T0-1d, T0+1d) equipment_stopped. In force, by start then id: x1, x3 (same
    start, x1 entered first); all: x2, x1, x3.
  oncall_overrides: o1 ops wang.fang [F, F+1d) 调休; o2 ops li.wei [F+1d, F+2d) removed T0-1h; o3 ops li.wei
    [F+3d, F+4d) with no reason, where F = 2036-12-06 00:00 UTC (ahead of any run of this test: `oncall list` shows
    what is in force or to come). Not removed, oldest first: o1, o3.
  survey: one invitation for 2026Q4 (research department, 王五, wang@example.org) sent T0-1d, delivered, answered
    satisfied at T0-2h.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from opsmon.collector.cli import main
from opsmon.collector.core.errors import InvalidInput, NotFound
from opsmon.collector.store import Store
from opsmon.collector.store import models as m
from opsmon.collector.store.agents import AgentLine, list_agents
from opsmon.collector.store.config_versions import SUMMARY, diff, list_assets, list_versions, show, version_of
from opsmon.collector.store.dbapi import PlainStore
from opsmon.collector.store.hj212_exemptions import ExemptionRow, StoredExemption, list_exemptions
from opsmon.collector.store.oncall import StoredOverride, live_overrides
from opsmon.collector.store.tokens import TokenLine, list_tokens
from opsmon.collector.store.users import UserLine, list_users
from tests.collector.store.plain_pair import cli_outputs, plain_store, postgres_estate, sqlite_estate
from tests.conftest import write_config

T0 = datetime(2026, 12, 6, tzinfo=UTC)
F = datetime(2036, 12, 6, tzinfo=UTC)
D, H, MIN = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"  # shaped as one; never printed
# sw-1 running v1 to v2 (each "hostname sw-1", then "! v1" or "! v2"): one line changed, in a hunk of both lines.
DIFF = "--- sw-1 running v1\n+++ sw-1 running v2\n@@ -1,2 +1,2 @@\n hostname sw-1\n-! v1\n+! v2\n"
ONCALL_YAML = ("people:\n  li.wei: {name: 李伟}\n  wang.fang: {name: 王芳}\n"
               "schedules:\n  ops:\n    rotation: {people: [li.wei, wang.fang], shift: 1d, "
               "start: '2026-12-01T00:00:00Z'}\n"
               "    overrides:\n      - {person: li.wei, start: '2036-12-08T00:00:00Z', end: '2036-12-08T12:00:00Z'}\n"
               "policies:\n  default:\n    levels:\n      - {after: 0s, notify: [schedule:ops], channels: [hook]}\n"
               "routes:\n  - {policy: default}\n")
CONFIG = ("timezone: Asia/Shanghai\nincidents:\n  oncall_file: oncall.yaml\n"
          "notify:\n  channels:\n    hook: {type: webhook, url: 'http://127.0.0.1:9/h', secret: s3cret-hook}\n")
# The listings the CLI prints, each run on both databases (bytes compared).
ARGVS = (("tokens", "list"), ("users", "list"), ("agents", "list"), ("configs", "list"), ("configs", "list", "sw-1"),
         ("configs", "list", "sw-1", "--name", "startup"), ("hj212", "exempt", "list"),
         ("hj212", "exempt", "list", "--all", "--format", "json"), ("oncall", "now", "--at", "2026-12-06T00:00:00Z"),
         ("oncall", "next", "--at", "2036-12-06T00:00:00Z", "--format", "json"), ("oncall", "list"),
         ("survey", "list", "--period", "2026Q4"), ("survey", "list", "--period", "2026Q4", "--format", "json"),
         ("configs", "show", "sw-1"), ("configs", "show", "sw-1", "1", "--name", "startup"),
         ("configs", "diff", "sw-1"))


def _populate(store: Store) -> None:
    def version(asset: str, name: str, n: int, fetched: datetime, seen: datetime) -> m.ConfigVersion:
        return m.ConfigVersion(asset_id=asset, name=name, version=n, fetched_at=fetched, last_seen=seen,
                               sha256=f"{asset}{name}{n}".ljust(64, "0"), raw_sha256="0" * 64, size=100 * n,
                               command="show running-config", content=f"hostname {asset}\n! v{n}\n")

    def exemption(asset: str, point: str | None, factor: str | None, start: datetime, end: datetime, kind: str,
                  entered: datetime, **removed: Any) -> m.Hj212Exemption:
        return m.Hj212Exemption(asset_id=asset, point=point, factor=factor, start_ts=start, end_ts=end, kind=kind,
                                reason=f"{kind} 停产", proof="环保局备案 2026-118", entered_by="cli:wang",
                                entered_at=entered, **removed)

    with store.session.begin() as s:
        s.add_all([m.ApiToken(name="alice", role="viewer", token_hash="h-alice", created_at=T0 - 2 * D),
                   m.ApiToken(name="bob#revoked-2", role="operator", token_hash="h-bob", created_at=T0 - D,
                              revoked_at=T0 - H),
                   m.ApiToken(name="carol", role="admin", token_hash="h-carol", created_at=T0 - 30 * MIN)])
        s.add_all([m.ConsoleUser(name="zhang", role="operator", password_hash=HASH, lang="zh", created_at=T0 - 3 * D),
                   m.ConsoleUser(name="li.ops", role="operator", password_hash="ldap", lang="en", created_at=T0 - D),
                   m.ConsoleUser(name="a.admin", role="admin", password_hash=HASH + "2", lang="zh",
                                 created_at=T0 - 2 * H)])
        s.add_all([m.AgentRow(name="srv-2", asset_id="srv-2", token_hash="a-srv", created_at=T0 - 2 * D),
                   m.AgentRow(name="pc-1", asset_id="pc-1", token_hash="a-pc", created_at=T0 - D,
                              revoked_at=T0 - 2 * H),
                   m.AgentRow(name="poller-s1", asset_id="poller-s1", token_hash="a-poll", created_at=T0 - 3 * H,
                              role="poller")])
        s.add_all([version("sw-1", "running", 1, T0 - 2 * D, T0 - D), version("sw-1", "running", 2, T0 - D, T0 - H),
                   version("sw-1", "startup", 1, T0 - 3 * D, T0 - 3 * D),
                   version("rt-9", "running", 1, T0 - 5 * H, T0 - 10 * MIN)])
        s.add_all([exemption("dau-1", "p1", None, T0 - D, T0, "stopped", T0 - D + H),
                   exemption("dau-1", None, None, T0 - 2 * D, T0 - D, "maintenance", T0 - 2 * D,
                             removed_at=T0 - 3 * H, removed_by="cli:root"),
                   exemption("dau-2", "p2", "a01", T0 - D, T0 + D, "equipment_stopped", T0 - D + 2 * H)])
        s.add_all([m.OncallOverride(schedule="ops", person="wang.fang", start_ts=F, end_ts=F + D, reason="调休",
                                    created_by="cli:test", created_at=T0 - D),
                   m.OncallOverride(schedule="ops", person="li.wei", start_ts=F + D, end_ts=F + 2 * D, reason="x",
                                    created_by="cli:test", created_at=T0 - D, removed_at=T0 - H),
                   m.OncallOverride(schedule="ops", person="li.wei", start_ts=F + 3 * D, end_ts=F + 4 * D, reason="",
                                    created_by="api:ops", created_at=T0 - D)])
        q4 = (datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC))  # 2026Q4 in Shanghai
        s.add(m.SurveyInvitation(nonce="n1", period="2026Q4", period_start=q4[0], period_end=q4[1],
                                 department="research", contact="王五", email="wang@example.org", sent_ts=T0 - D,
                                 expires_ts=T0 + 30 * D, delivered=True, error=None))
        s.add(m.SurveyAnswer(period="2026Q4", period_start=q4[0], period_end=q4[1], department="research",
                             email="wang@example.org", score="satisfied", comment="响应及时", answered_ts=T0 - 2 * H,
                             nonce="n1"))


def _orm(full: Store) -> dict[str, Any]:
    """The listings as main read them through the ORM."""
    with full.session() as s:
        series = s.execute(select(m.ConfigVersion.asset_id, m.ConfigVersion.name, func.max(m.ConfigVersion.version),
                                  func.max(m.ConfigVersion.last_seen))
                           .group_by(m.ConfigVersion.asset_id, m.ConfigVersion.name)
                           .order_by(m.ConfigVersion.asset_id, m.ConfigVersion.name)).all()
        return {
            "tokens": [TokenLine(t.name, t.role, t.created_at, t.revoked_at)
                       for t in s.scalars(select(m.ApiToken).order_by(m.ApiToken.id))],
            "users": [UserLine(u.name, u.role, "ldap" if u.password_hash == "ldap" else "local", u.lang, u.created_at)
                      for u in s.scalars(select(m.ConsoleUser).order_by(m.ConsoleUser.name))],
            "agents": [AgentLine(a.name, a.role, a.asset_id, a.created_at, a.revoked_at)
                       for a in s.scalars(select(m.AgentRow).order_by(m.AgentRow.name))],
            "series": [{"asset_id": a, "name": n, "versions": v, "last_seen": seen} for a, n, v, seen in series],
            "versions": [{k: getattr(r, k) for k in ("asset_id", "name", "version", "fetched_at", "last_seen",
                                                       "sha256", "size", "command")}
                         for r in s.scalars(select(m.ConfigVersion).where(m.ConfigVersion.asset_id == "sw-1",
                                                                          m.ConfigVersion.name == "running")
                                            .order_by(m.ConfigVersion.version.desc()))],
            "shown": [{**{k: getattr(r, k) for k in SUMMARY}, "content": r.content} for r in s.scalars(
                select(m.ConfigVersion).where(m.ConfigVersion.asset_id == "sw-1").order_by(m.ConfigVersion.name,
                                                                                           m.ConfigVersion.version))],
            "exemptions": [ExemptionRow.of(x) for x in s.scalars(select(m.Hj212Exemption).order_by(
                m.Hj212Exemption.start_ts, m.Hj212Exemption.id))],
            "overrides": [StoredOverride(o.id, o.schedule, o.person, o.start_ts, o.end_ts, o.reason)
                          for o in s.scalars(select(m.OncallOverride).where(m.OncallOverride.removed_at.is_(None))
                                             .order_by(m.OncallOverride.id))],
        }


def _check(full: Store, plain: PlainStore) -> None:
    """Both stores give what the ORM gives and what the docstring lists."""
    orm = _orm(full)
    assert [(t.name, t.revoked_at) for t in orm["tokens"]] == [("alice", None), ("bob#revoked-2", T0 - H),
                                                                ("carol", None)]
    assert [(u.name, u.login) for u in orm["users"]] == [("a.admin", "local"), ("li.ops", "ldap"), ("zhang", "local")]
    assert [(a.name, a.role) for a in orm["agents"]] == [("pc-1", "agent"), ("poller-s1", "poller"), ("srv-2", "agent")]
    assert [(r["asset_id"], r["name"], r["versions"], r["last_seen"]) for r in orm["series"]] == [
        ("rt-9", "running", 1, T0 - 10 * MIN), ("sw-1", "running", 2, T0 - H), ("sw-1", "startup", 1, T0 - 3 * D)]
    assert [(r["version"], r["fetched_at"]) for r in orm["versions"]] == [(2, T0 - D), (1, T0 - 2 * D)]
    assert [(x.id, x.removed_at) for x in orm["exemptions"]] == [(2, (T0 - 3 * H).isoformat()), (1, None), (3, None)]
    assert [(o.id, o.start, o.reason) for o in orm["overrides"]] == [(1, F, "调休"), (3, F + 3 * D, "")]
    for store in (plain, full):
        assert list_tokens(store) == orm["tokens"]
        assert list_users(store) == orm["users"]
        assert list_agents(store) == orm["agents"]
        assert list_assets(store) == orm["series"]
        assert list_versions(store, "sw-1") == orm["versions"]
        assert [v["version"] for v in list_versions(store, "sw-1", "startup")] == [1]
        # show and diff: running v1, v2, then startup v1 in orm["shown"]; previous is v1, latest v2
        assert [show(store, "sw-1", v) for v in (1, "latest")] == [show(store, "sw-1", "previous"), orm["shown"][1]]
        assert show(store, "sw-1", 1) == orm["shown"][0] and show(store, "sw-1", name="startup") == orm["shown"][2]
        assert diff(store, "sw-1") == DIFF and diff(store, "sw-1", 2, "2") == ""
        with pytest.raises(NotFound, match="asset 'sw-1' has no startup configuration version previous"):
            show(store, "sw-1", "previous", "startup")
        with pytest.raises(InvalidInput, match="version '²': give a number from 1"):
            diff(store, "sw-1", version_of("²"))
        with pytest.raises(NotFound, match="no stored running configuration for asset 'nope'"):
            list_versions(store, "nope")
        every = list_exemptions(store, include_removed=True)
        assert all(isinstance(x, StoredExemption) for x in every)
        assert [ExemptionRow.of(x) for x in every] == orm["exemptions"]  # every field, as the API answers it
        assert [ExemptionRow.of(x) for x in list_exemptions(store)] == [orm["exemptions"][1], orm["exemptions"][2]]
        assert live_overrides(store) == orm["overrides"]


def _config(folder: Path) -> str:
    (folder / "oncall.yaml").write_text(ONCALL_YAML, encoding="utf-8")
    return CONFIG


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    yield from sqlite_estate(tmp_path_factory, "plain-reads-admin", _populate, _config)


def test_plain_admin_reads_on_sqlite_give_what_the_orm_gave(sqlite_store: tuple[Store, Path]) -> None:
    full, _ = sqlite_store
    with plain_store(full, "sqlite") as plain:
        _check(full, plain)


def test_the_admin_listings_print_the_estate(sqlite_store: tuple[Store, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Times in Shanghai (UTC+8): T0-1d is 2026-12-05 08:00+08:00, T0-1h 2026-12-06 07:00, T0-2h 06:00."""
    out = dict(zip(ARGVS, cli_outputs(sqlite_store[1], capsys, ARGVS), strict=True))
    printed = "".join(out.values())
    assert "h-alice" not in printed and "a-srv" not in printed and "$argon2id$" not in printed  # no hash, ever
    tokens = out[("tokens", "list")].splitlines()
    assert [line.split()[0] for line in tokens] == ["NAME", "alice", "bob#revoked-2", "carol"]
    assert tokens[2].split() == ["bob#revoked-2", "operator", "2026-12-05", "08:00+08:00", "2026-12-06", "07:00+08:00"]
    assert [line.split()[:3] for line in out[("users", "list")].splitlines()] == [
        ["NAME", "ROLE", "LOGIN"], ["a.admin", "admin", "local"], ["li.ops", "operator", "ldap"],
        ["zhang", "operator", "local"]]
    assert out[("agents", "list")].splitlines()[1].split() == ["pc-1", "agent", "pc-1", "2026-12-05", "08:00+08:00",
                                                                "2026-12-06", "06:00+08:00"]
    assert [line.split()[:3] for line in out[("configs", "list")].splitlines()] == [
        ["ASSET", "NAME", "VERSIONS"], ["rt-9", "running", "1"], ["sw-1", "running", "2"], ["sw-1", "startup", "1"]]
    assert [line.split()[0] for line in out[("configs", "list", "sw-1")].splitlines()] == ["VERSION", "2", "1"]
    assert out[("configs", "show", "sw-1")] == "hostname sw-1\n! v2\n"
    assert out[("configs", "show", "sw-1", "1", "--name", "startup")] == "hostname sw-1\n! v1\n"
    assert out[("configs", "diff", "sw-1")] == DIFF
    # a digit that is not ASCII: a sentence and exit 2 (main's int('²') ended in a traceback)
    assert main(["--config", str(sqlite_store[1]), "configs", "show", "sw-1", "²"]) == 2
    assert capsys.readouterr().err == "opsmon: version '²': give a number from 1, 'latest' or 'previous'\n"
    assert [line.split()[0] for line in out[("hj212", "exempt", "list")].splitlines()] == ["ID", "1", "3"]
    assert '"removed_at": "2026-12-06T05:00:00+08:00"' in out[("hj212", "exempt", "list", "--all", "--format", "json")]
    # the rotation from 2026-12-01 in 1-day turns: T0 is turn 5, wang.fang's, until T0+1d (2026-12-07 08:00+08:00)
    assert out[("oncall", "now", "--at", "2026-12-06T00:00:00Z")].splitlines()[1].split() == [
        "ops", "wang.fang", "王芳", "2026-12-07", "08:00+08:00"]
    # at F wang.fang is on by o1 until F+1d, then by her own turn until F+2d (from 2026-12-01 to F: 3650 days and
    # the leap days of 2028, 2032 and 2036, then 5: 3658 turns, so F+1d starts turn 3659, odd: wang.fang's), when the
    # file's override puts li.wei on: F+2d = 2036-12-08 00:00 UTC, 08:00 in Shanghai
    assert '"person": "li.wei",\n    "name": "李伟",\n    "from": "2036-12-08T08:00:00+08:00"' in out[
        ("oncall", "next", "--at", "2036-12-06T00:00:00Z", "--format", "json")]
    # the file's override (2036-12-08 00:00-12:00 UTC) first, then the stored o1 and o3; not the removed o2
    assert [line.split()[0] for line in out[("oncall", "list")].splitlines()] == ["ID", "file", "1", "3"]
    assert out[("survey", "list", "--period", "2026Q4")].splitlines()[1].split() == [
        "2026Q4", "research", "王五", "wang@example.org", "yes", "satisfied", "响应及时"]


def test_plain_admin_reads_on_postgresql_give_what_the_orm_and_sqlite_gave(
        postgres_url: str, sqlite_store: tuple[Store, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same estate on the real PostgreSQL peer: the same answers, and the CLI prints the same bytes as on
    SQLite (psycopg through the plain driver)."""
    with postgres_estate(postgres_url, "plain_reads_admin", _populate) as (full, url):
        with plain_store(full, "postgresql") as plain:
            _check(full, plain)
        config = write_config(tmp_path, f"{_config(tmp_path)}database:\n  url: {url}\n")
        assert cli_outputs(config, capsys, ARGVS) == cli_outputs(sqlite_store[1], capsys, ARGVS)
