"""Every time a CLI command prints is in the configured zone with its offset (issue 21, item 6; issue 25's mends:
maintenance and on-call).

One store, every row's every timestamp column set to one known instant, 2026-12-06 12:55:00 UTC; the config
says Asia/Shanghai (UTC+8, no daylight saving), so the wall clock a person must read is 2026-12-06 20:55
with "+08:00". Each listing command runs in-process (`opsmon.collector.cli.main`, no process to start) and
must show that text and never "12:55" (the UTC wall clock, in any format: "12:55:00Z", "T12:55", "12:55+00:00").

The same store also serves the check that a read command imports nothing heavy (issue 25 item 2): they run
in one fresh interpreter, which reports the heavy packages in sys.modules after each command; no timing.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from opsmon.collector.cli import main
from opsmon.collector.core.durations import say_duration
from opsmon.collector.store import models
from opsmon.collector.store.types import UTCMillis
from tests.conftest import ROOT, write_config

KNOWN = datetime(2026, 12, 6, 12, 55, tzinfo=UTC)
LOCAL = "2026-12-06 20:55"  # 12:55 UTC + 8 h
# (command, what it prints at KNOWN): each command's own listing, the time in the minutes or seconds it shows.
COMMANDS = (
    (("status",), None),  # the heartbeat line: "collector not running since 2026-12-06 20:55:00+08:00"
    (("audit",), f"{LOCAL}:00+08:00"),
    (("events",), f"{LOCAL}:00+08:00"),
    (("incidents", "list"), f"{LOCAL}:00+08:00"),
    (("incidents", "show", "inc-1"), f"{LOCAL}:00+08:00"),
    (("incidents", "list", "--format", "json"), "2026-12-06T20:55:00+08:00"),  # --format json: ISO with offset
    (("events", "--format", "json"), "2026-12-06T20:55:00+08:00"),
    (("tokens", "list"), f"{LOCAL}+08:00"),
    (("agents", "list"), f"{LOCAL}+08:00"),
    (("users", "list"), f"{LOCAL}+08:00"),
    (("history", "show", "sw-1", "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-07T00:00:00Z"),
     f"{LOCAL}:00+08:00"),
    # the period's bounds (2026-12-06T00:00Z + 8 h), in the table's heading and in JSON
    (("flows", "top", "--link", "sw-1", "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-07T00:00:00Z"),
     "2026-12-06T08:00:00+08:00"),
    (("flows", "top", "--link", "sw-1", "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-07T00:00:00Z",
      "--format", "json"), "2026-12-06T08:00:00+08:00"),
    (("flows", "sites", "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-07T00:00:00Z"),
     "2026-12-06T08:00:00+08:00"),
    (("flows", "top", "--site", "urumqi", "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-07T00:00:00Z",
      "--format", "json"), "2026-12-06T08:00:00+08:00"),
    # a stored window [KNOWN, KNOWN + 1 h): 12:55-13:55 UTC is 20:55-21:55 in Shanghai; its JSON was UTC text
    (("maintenance", "list"), f"{LOCAL}+08:00 → 2026-12-06 21:55+08:00"),
    (("maintenance", "list", "--format", "json"), '"start": "2026-12-06T20:55:00+08:00"'),
    # the rotation starts at KNOWN with 1-day shifts: at KNOWN li.wei is on until KNOWN + 1 d, 2026-12-07 12:55
    # UTC = 20:55 in Shanghai, when wang.fang follows; the text showed "2026-12-07T20:55" with no offset
    (("oncall", "now", "--at", "2026-12-06T12:55:00Z"), "li.wei  李伟  2026-12-07 20:55+08:00"),
    (("oncall", "next", "--at", "2026-12-06T12:55:00Z"), "wang.fang  王芳  2026-12-07 20:55+08:00"),
    (("oncall", "now", "--at", "2026-12-06T12:55:00Z", "--format", "json"), '"until": "2026-12-07T20:55:00+08:00"'),
    # the stored override [2036-12-06 12:55, 2036-12-07 12:55) UTC, far enough ahead to be listed as to come
    (("oncall", "list"), "2036-12-06 20:55+08:00  2036-12-07 20:55+08:00"),
)
ONCALL_YAML = ("people:\n  li.wei: {name: 李伟}\n  wang.fang: {name: 王芳}\n"
               "schedules:\n  ops:\n    rotation: {people: [li.wei, wang.fang], shift: 1d, "
               "start: '2026-12-06T12:55:00Z'}\n"
               "policies:\n  default:\n    levels:\n      - {after: 0s, notify: [schedule:ops], channels: [hook]}\n"
               "routes:\n  - {policy: default}\n")


def _populate(db: Path) -> None:
    """One row per table a command lists, then every time column that is set, in every table, set to KNOWN."""
    from opsmon.collector.store import open_store

    store = open_store(f"sqlite:///{db}")
    with store.session.begin() as s:
        s.add(models.Asset(id="sw-1", name="核心交换机", category="network", site=None, address=None, tags=[],
                           criticality="high", parent_id=None, checks=[], created_at=KNOWN, updated_at=KNOWN))
        s.add(models.StateInterval(asset_id="sw-1", state="down", start_ts=KNOWN, end_ts=None, reason="no answer"))
        s.add(models.Heartbeat(id=1, ts=KNOWN, started_ts=KNOWN, pid=1))
        s.add(models.Event(ts=KNOWN, asset_id="sw-1", source="127.0.0.1", kind="trap", name="linkDown",
                           severity="major", summary="port 1 down"))
        s.add(models.Incident(id="inc-1", asset_id="sw-1", kind="outage", severity="major", opened_ts=KNOWN,
                              status="open", cause="no answer"))
        s.add(models.IncidentEvent(incident_id="inc-1", ts=KNOWN, actor="opsmon", action="opened"))
        s.add(models.AuditEntry(ts=KNOWN, actor="cli:test", action="token.create", target="alice"))
        s.add(models.ApiToken(name="alice", role="viewer", token_hash="h1", created_at=KNOWN))
        s.add(models.ConsoleUser(name="bob", role="viewer", password_hash="x", created_at=KNOWN))
        s.add(models.AgentRow(name="pc-1", asset_id="sw-1", token_hash="h2", created_at=KNOWN))
        for n in (1, 2):  # two versions of sw-1's running configuration, for configs show and diff
            s.add(models.ConfigVersion(asset_id="sw-1", name="running", version=n, fetched_at=KNOWN, last_seen=KNOWN,
                                       sha256=f"{n}" * 64, raw_sha256="0" * 64, size=10, command="show run",
                                       content=f"hostname sw-{n}\n"))
    with store.session.begin() as s:
        for mapper in models.Base.registry.mappers:
            cls = mapper.class_
            for c in mapper.columns:  # only times that are set: a removed_at set would remove the asset
                if isinstance(c.type, UTCMillis) and c.key:
                    s.execute(update(cls).where(c.isnot(None)).values({c.key: KNOWN}))
    with store.session.begin() as s:  # the window's times are in its JSON spec, the override's after the update
        s.add(models.MaintenanceWindow(id="w-1", spec={"id": "w-1", "assets": ["sw-1"], "reason": "换电源",
                                                       "start": "2026-12-06T12:55:00Z", "end": "2026-12-06T13:55:00Z"},
                                       created_by="cli:test", created_at=KNOWN))
        s.add(models.OncallOverride(schedule="ops", person="wang.fang", start_ts=KNOWN.replace(year=2036),
                                    end_ts=KNOWN.replace(year=2036, day=7), reason="调休", created_by="cli:test",
                                    created_at=KNOWN))
    store.close()


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the module: the commands only read it."""
    folder = tmp_path_factory.mktemp("cli-local-time")
    db = folder / "opsmon.db"
    _populate(db)
    (folder / "oncall.yaml").write_text(ONCALL_YAML, encoding="utf-8")
    return write_config(folder, f"timezone: Asia/Shanghai\ndatabase:\n  path: {db}\n"
                                "incidents:\n  oncall_file: oncall.yaml\n"  # its policy's channel, never used here:
                                "notify:\n  channels:\n    hook: {type: webhook, url: 'http://127.0.0.1:9/h', "
                                "secret: s3cret-hook}\n")


@pytest.mark.parametrize(("argv", "shown"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_every_listed_time_is_local_with_its_offset(cli: Path, argv: tuple[str, ...], shown: str | None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(cli), *argv]) == 0
    out = capsys.readouterr().out
    assert "12:55" not in out, out
    if shown is not None:
        assert shown in out, out
    assert "+08:00" in out, out


def test_status_names_the_asset_and_says_durations_in_the_configured_language(
        cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Down since KNOWN, heartbeat at KNOWN: `status` measures up to the heartbeat, 0 s; the name from the
    inventory stands beside the id (status, assets, incidents, events). Chinese by default (`lang:` unset
    means zh), English with --lang en."""
    assert main(["--config", str(cli), "status"]) == 0
    out = capsys.readouterr().out
    assert "核心交换机" in out and "0秒" in out, out
    assert main(["--config", str(cli), "--lang", "en", "status"]) == 0
    assert "0s" in capsys.readouterr().out
    for argv in (("incidents", "list"), ("events",)):  # the asset as sw-1 (核心交换机)
        assert main(["--config", str(cli), *argv]) == 0
        assert "sw-1 (核心交换机)" in capsys.readouterr().out, argv
    assert main(["--config", str(cli), "assets", "list"]) == 0
    assert "核心交换机" in capsys.readouterr().out


def test_durations_in_chinese_units() -> None:
    """3 d 19 h 58 min = 3*86400 + 19*3600 + 58*60 = 259200 + 68400 + 3480 = 331080 s; 59.6 s rounds to 60 s,
    1分; 0 is 0秒 / 0s."""
    assert say_duration(331080, "zh") == "3天19小时58分"
    assert say_duration(331080, "en") == "3d19h58m"
    assert say_duration(59.6, "zh") == "1分"
    assert say_duration(0, "zh") == "0秒" and say_duration(0, "en") == "0s"
    assert say_duration(3725, "zh") == "1小时2分5秒"


# What no read command may import (docs/operations.md, "The command line"): the SNMP, SSH and LDAP clients, the
# scheduler, the web stack, the report renderers, the metrics library, password hashing and crypto. Each is
# imported where its command or the collector needs it (serve, report, users add, ...). Nor the migrations
# (alembic: an up-to-date store is not migrated), the PostgreSQL driver for a SQLite store, the YAML linters,
# the SNMP profiles and trap maps (only the running collector parses them: config/load.py's parsed_files), or
# the collector's service, timeline and notifications.
HEAVY = ("pysnmp", "paramiko", "asyncssh", "apscheduler", "httpx", "uvicorn", "starlette", "fastapi", "jinja2",
         "cryptography", "argon2", "ldap3", "prometheus_client", "docx", "openpyxl", "weasyprint", "matplotlib",
         "alembic", "psycopg", "ruamel", "yamllint", "opsmon.collector.config.snmp_profiles",
         "opsmon.collector.config.trap_maps", "opsmon.collector.service", "opsmon.collector.timeline",
         "opsmon.collector.notify")
READS = (*(argv for argv, _ in COMMANDS), ("assets", "list"), ("sla", "--period", "2026Q4"),
         ("sla", "--period", "2026Q4", "--format", "json"), ("exclusions", "list"), ("configs", "list"),
         ("compliance",), ("hj212", "exempt", "list"), ("hj212", "rates", "--period", "2026Q4"), ("survey", "list"))
# Runs each read command in turn in this one interpreter; after each, the heavy packages loaded so far.
_WRAPPER = """
import json, sys
from opsmon.collector.cli import main
config, heavy, out, reads = sys.argv[1], sys.argv[2].split(","), sys.argv[3], json.loads(sys.argv[4])
seen = []
for argv in reads:
    code = main(["--config", config, *argv])
    seen.append([argv, code, [m for m in heavy if m in sys.modules]])
open(out, "w").write(json.dumps(seen))
"""


# What the fastest reads (`status`, `incidents list` and `show`, `sla`, `survey results`, `hj212 rates`, the listings
# of assets, history, audit, events, maintenance, exclusions, compliance, the administration listings, and
# `configs show|diff`, `flows top|sites`) may not import either: SQLAlchemy, the
# store's engine and mapped classes, and the whole config schema's models (they read on the plain driver and validate
# only the sections they use: store/dbapi.py, config/basics.py; issue 25 item 2), nor the collector's messages
# (core/messages.py's thirty-odd dataclasses, about 10 ms: the flow reads' rows are core/flow_rows.py's). `sla`
# measures the bundled table: every measure's reads (availability with its lives and exclusions, responses, count,
# manual, HJ 212, survey).
FAST_READS = (("status",), ("incidents", "list"), ("incidents", "list", "--format", "json"),
              ("incidents", "list", "--status", "active"), ("sla", "--period", "2026Q4"),
              ("sla", "--period", "2026Q4", "--format", "json"), ("assets", "list"),
              ("assets", "list", "--all", "--format", "json"),
              ("history", "show", "sw-1", "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-07T00:00:00Z"),
              ("history", "show", "sw-1", "--format", "json"), ("audit",), ("events",), ("events", "--format", "json"),
              ("maintenance", "list"), ("maintenance", "list", "--format", "json"), ("exclusions", "list"),
              ("exclusions", "list", "--removed", "--format", "json"), ("compliance",),
              ("compliance", "--format", "json"), ("oncall", "now", "--at", "2026-12-06T12:55:00Z"),
              ("oncall", "next", "--at", "2026-12-06T12:55:00Z", "--format", "json"), ("oncall", "list"),
              ("agents", "list"), ("tokens", "list"), ("users", "list"), ("configs", "list"),
              ("hj212", "exempt", "list"), ("hj212", "exempt", "list", "--all", "--format", "json"),
              ("survey", "list"), ("incidents", "show", "inc-1"), ("incidents", "show", "inc-1", "--format", "json"),
              ("survey", "results", "--period", "2026Q4"),
              ("survey", "results", "--period", "2026Q4", "--format", "json"), ("hj212", "rates", "--period", "2026Q4"),
              ("configs", "show", "sw-1"), ("configs", "diff", "sw-1"),
              ("flows", "top", "--link", "sw-1", "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-07T00:00:00Z"),
              ("flows", "top", "--site", "urumqi", "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-07T00:00:00Z",
               "--format", "json"),
              ("flows", "sites", "--from", "2026-12-06T00:00:00Z", "--to", "2026-12-07T00:00:00Z"))
NOT_FOR_FAST_READS = ("sqlalchemy", "opsmon.collector.store.db", "opsmon.collector.store.models",
                      "opsmon.collector.config.schema", "opsmon.collector.config.load",
                      "opsmon.collector.core.messages")


def test_no_read_command_imports_anything_heavy_and_the_fastest_no_sqlalchemy(cli: Path, tmp_path: Path) -> None:
    """Every read command (READS and FAST_READS) exits 0 and, at its end, none of HEAVY is in sys.modules; after each
    of FAST_READS, none of NOT_FOR_FAST_READS either. All run in one fresh interpreter, FAST_READS first: sys.modules
    only grows, so the first command to list a package is the one that imported it, and a read that may load
    SQLAlchemy (none of READS does today) runs after every one that may not. (It was two tests, two interpreters that
    both ran the 27 commands READS and FAST_READS share.)
    On main before the first of FAST_READS moved, the first command already loaded all five of NOT_FOR_FAST_READS; at
    2e76a62, before the SLA engine's reads moved to the plain driver, `sla` loaded the first three; at 8e6ade8, `assets
    list` (the first of the listings moved since) loaded all five, and at 78572eb `oncall now` (the first
    administration listing); at 1cb6d7f, `incidents show` (and after it `survey results`, `hj212 rates` and `configs
    show|diff`) loaded all five; at c3cd335, `flows top` loaded all five, and at e1bcd6c still the
    messages (opsmon.collector.core.messages)."""
    others = tuple(argv for argv in READS if argv not in FAST_READS)
    assert len(READS) == 30  # the 21 listings above and 9 more
    out = tmp_path / "seen.json"
    done = subprocess.run([sys.executable, "-c", _WRAPPER, str(cli), ",".join(NOT_FOR_FAST_READS + HEAVY), str(out),
                           json.dumps(FAST_READS + others)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(out.read_text())
    assert [(argv, code) for argv, code, _ in seen] == [(list(argv), 0) for argv in FAST_READS + others]
    assert [(argv, loaded) for argv, _, loaded in seen[:len(FAST_READS)] if loaded] == []
    assert [(argv, [m for m in loaded if m in HEAVY]) for argv, _, loaded in seen[len(FAST_READS):]
            if set(loaded) & set(HEAVY)] == []

