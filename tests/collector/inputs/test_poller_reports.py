"""The poller's reports (collector/inputs/poller/runner.py): how many results one report carries; and what the
poller process imports (its memory)."""
from __future__ import annotations

import json
from collections import deque
from datetime import UTC, datetime

from opsmon.collector.core.states import DOWN, Observation
from opsmon.collector.inputs.agents.ingest import MAX_BYTES
from opsmon.collector.inputs.poller.runner import Forwarder

TS = datetime(2026, 12, 6, 8, 0, 0, 123000, tzinfo=UTC)  # "ts":1796544000.123 in the JSON


def _report(reason: str, waiting: int = 3000) -> tuple[Forwarder, list[object], int]:
    """A forwarder with `waiting` results of this reason, and the observations and JSON size of its next report,
    serialised as the agent's transport does (json.dumps, ensure_ascii, no spaces)."""
    forwarder = Forwarder.__new__(Forwarder)  # only its queue: no spool, no transport
    forwarder._results = deque(Observation("srv", f"tcp:{i % 10:05d}", TS, DOWN, reason) for i in range(waiting))
    forwarder._extras = {}
    doc: dict[str, object] = {}
    forwarder.extend(doc)
    return forwarder, doc["observations"], len(json.dumps(doc, separators=(",", ":")))  # type: ignore[return-value]


def test_a_pollers_report_stays_inside_the_collectors_bound() -> None:
    """Each result is counted as its JSON on the wire plus its comma. One result's JSON without its reason:
    {"asset":"srv",  "check":"tcp:00000",  "ts":1796544000.123,  "status":"down",  "reason":"",
    "latency_ms":null} = 15 + 20 + 20 + 16 + 12 + 18 = 101 bytes. A report takes results while the count is under
    700,000.

    - ASCII: 600 "x" (cut to 500): 601 bytes, counted 602; 1,162 x 602 = 699,524 lets a 1,163rd in (700,126
      stops it). The report's JSON: {"observations":[ ]} = 19 + 1,163 x 601 + 1,162 commas = 700,144 bytes.
    - CJK and quotes, as the agent's json.dumps writes them (ensure_ascii): 600 characters "拒\\"" (cut to 500:
      250 pairs); 拒 is \\u62d2, 6 bytes, the quote \\", 2: 2,000 bytes of reason, 2,101 a result, counted 2,102;
      332 x 2,102 = 697,864, 333 x 2,102 = 699,966 lets a 334th in (702,068 stops it). The JSON: 19 + 334 x 2,101
      + 333 = 702,086 bytes, under the door's 1 MiB (1,048,576). Counted as UTF-8 bytes (3 for 拒, 1 for the
      quote: 150 + 3 + 9 + 1,000 = 1,162 each) the report took 603 results: 1,267,524 bytes, refused (413).
    """
    forwarder, out, size = _report("x" * 600)
    assert (len(out), size, forwarder.waiting) == (1163, 700_144, 3000 - 1163)
    forwarder, out, size = _report('拒"' * 300)
    assert (len(out), size, forwarder.waiting) == (334, 702_086, 3000 - 334)
    assert size < MAX_BYTES


def test_the_result_size_docs_poller_md_gives() -> None:
    """docs/poller.md's "about 100 bytes": {"asset":"srv-01","check":"tcp:443","ts":1796544000.123,"status":"up",
    "reason":"","latency_ms":1.234} = 18 + 18 + 20 + 14 + 12 + 19 = 101 bytes; down with "connection refused"
    (18 characters) and no latency ("latency_ms":null, 18): 101 + 2 ("down") + 18 - 1 = 120."""
    from opsmon.agent.runner import wire

    for status, reason, latency, size in (("up", "", 1.234, 101), (DOWN, "connection refused", None, 120)):
        forwarder = Forwarder.__new__(Forwarder)
        forwarder._results = deque([Observation("srv-01", "tcp:443", TS, status, reason, latency)])
        forwarder._extras = {}
        doc: dict[str, object] = {}
        forwarder.extend(doc)
        assert len(wire(doc["observations"][0])) == size  # type: ignore[index]


_POLLER_MODULES = """
import sys
from opsmon.collector.cli.parser import build_parser
build_parser(["poller"])
from opsmon.agent.__main__ import configured
from opsmon.collector.inputs.poller.runner import Poller
print(*[m for m in sys.argv[1:] if m in sys.modules])
"""
# What `opsmon poller` must not load (docs/poller.md "Cost"): the store and web stacks, collector.yaml's models and
# its YAML reader, httpx (until an HTTP check runs) and cryptography (until an HTTPS check reads a certificate), and
# the agent's security baseline (never on in a poller).
_NOT_IN_A_POLLER = ("sqlalchemy", "fastapi", "uvicorn", "yaml", "opsmon.collector.config.schema",
                    "opsmon.collector.config.load", "httpx", "cryptography", "opsmon.agent.baseline.monitor")


def test_the_poller_process_does_not_import_what_it_does_not_run() -> None:
    """Memory on a small box (issue 22): these took the poller's imports from 58.7 MB to 38.8 MB resident when
    they stopped being loaded. A fresh interpreter imports what `opsmon poller` imports before it runs (the CLI's
    parser, the agent's config loader, the poller) and prints which of them are loaded: none."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _POLLER_MODULES, *_NOT_IN_A_POLLER], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split() == []


_POLLER_SHARES = """
import sys, tempfile
from opsmon.agent.config import AgentConfig
from opsmon.collector.inputs.poller.runner import Poller
spool = tempfile.mkdtemp()
poller = Poller(AgentConfig(collector_url="http://127.0.0.1:1", token="opsmon_agent_x", spool_dir=spool),
                credentials=sys.argv[1])
def share(spec):
    return {"checks": [{"asset": "a", "address": "127.0.0.1", "interval": 60, "timeout": 5, "spec": spec}]}
heavy = sys.argv[2:]
poller._use(share({"type": "tcp", "port": 22}))
print(*[m for m in heavy if m in sys.modules], sep=",", end=";")
poller._use(share({"type": "snmp", "credential": "c"}))
print(*[m for m in heavy if m in sys.modules], sep=",", end=";")
poller._use(share({"type": "ssh", "credential": "s", "command": "uptime"}))
print(*[m for m in heavy if m in sys.modules], sep=",")
"""


def test_the_snmp_and_ssh_code_loads_only_with_such_a_check_in_the_share(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """docs/poller.md "SNMP and SSH credentials stay at the prefecture": a share of TCP checks loads none of the SNMP
    hub, the profiles' YAML reader or paramiko; a share with an SNMP check loads the hub (and the YAML reader: its
    credentials file and the profiles), not paramiko; one with an SSH check then loads paramiko too. Never
    SQLAlchemy (the SSH hub's configuration backup needs a store, which a poller has not)."""
    import subprocess
    import sys

    creds = tmp_path / "poller-credentials.yaml"
    creds.write_text("snmp:\n  credentials:\n    c: {version: '2c', community: x}\n"
                     "ssh:\n  credentials:\n    s: {user: u, password: p}\n")
    heavy = ("opsmon.collector.inputs.snmp.hub", "yaml", "paramiko", "sqlalchemy")
    out = subprocess.run([sys.executable, "-c", _POLLER_SHARES, str(creds), *heavy], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip().split(";") == ["", "opsmon.collector.inputs.snmp.hub,yaml",
                                             "opsmon.collector.inputs.snmp.hub,yaml,paramiko"], out.stderr[-2000:]


def _forwarder(tmp_path) -> Forwarder:  # type: ignore[no-untyped-def]
    """A forwarder as the poller makes it, its collector a closed loopback port (every report spooled)."""
    from opsmon.agent.config import AgentConfig

    return Forwarder(AgentConfig(collector_url="http://127.0.0.1:1", token="opsmon_agent_x",
                                 spool_dir=str(tmp_path / "spool"), timeout=2.0))


def _event(i: int, **details: object) -> dict[str, object]:
    return {"asset": f"h{i}", "check": "ssh", "ts": 1.0, "name": "ssh_host_key_trusted", "severity": "info",
            "summary": "x", "details": {"host": f"h{i}:22", **details}}


def test_a_report_carries_no_more_events_than_the_collector_takes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A site of 1,200 SSH hosts at its first start: 1,200 host-key-trusted events and one result queued. Before,
    results and extras shared 2,000 places, so the report carried all 1,200 events and the collector's
    AgentReport (polled_events at most 1,000) refused it: 422, a report the poller drops with its result.
    Now at most MAX_EXTRAS["polled_events"] = 1,000 ride a report; the other 200 wait for the next. Bytes do not
    bind: {"asset":"h999","check":"ssh","ts":1.0,"name":"ssh_host_key_trusted","severity":"info","summary":"x",
    "details":{"host":"h999:22"}} is 16 + 14 + 9 + 30 + 18 + 14 + 29 = 130 bytes, 1,000 of them at most 130,000
    < 700,000. The door's bound is the
    same constant: 1,001 events are refused, 1,000 taken."""
    from pydantic import ValidationError

    from opsmon.collector.inputs.agents.ingest import AgentReport
    from opsmon.collector.inputs.poller.share import MAX_EXTRAS

    forwarder = _forwarder(tmp_path)
    forwarder.take(Observation("srv", "tcp:22", TS, "up", ""))
    for i in range(1200):
        forwarder.take_extra("polled_events", _event(i))
    _seq, body = forwarder.make_report()
    doc = json.loads(body)
    assert (len(doc["observations"]), len(doc["polled_events"]), forwarder.extras_waiting) == (1, 1000, 200)
    assert doc["polled_events"][-1]["asset"] == "h999" and len(json.dumps(doc["polled_events"][-1],
                                                                          separators=(",", ":"))) == 130
    AgentReport.model_validate(doc)  # the collector takes it
    assert MAX_EXTRAS["polled_events"] == 1000
    doc["polled_events"].append(_event(1000))
    try:
        AgentReport.model_validate(doc)
        raise AssertionError("1,001 events taken")
    except ValidationError as exc:
        assert exc.errors()[0]["loc"] == ("polled_events",)


def test_an_extra_queued_while_a_report_is_built_does_not_break_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The event loop's SSH hub queues its first host key event while the report thread is taking the SNMP
    polls' faults. Before, the first item of a field made its queue then, in the dict the report thread was
    walking: RuntimeError, the report not built, the fault already taken lost. Reproduced at that instant (the
    report thread serialising the fault): the report now carries the fault and the event, 1 each."""
    import opsmon.collector.inputs.poller.runner as runner

    forwarder = _forwarder(tmp_path)
    forwarder.take_extra("polled_hardware", {"asset": "sw", "check": "snmp", "ts": 1.0, "component": "fan",
                                             "problem": "x"})
    real = runner.wire

    def wire(item):  # type: ignore[no-untyped-def]
        if "component" in item and not forwarder.extras["polled_events"]:
            forwarder.take_extra("polled_events", _event(0))  # the event loop's thread, at this instant
        return real(item)

    monkeypatch.setattr(runner, "wire", wire)
    doc: dict[str, object] = {}
    forwarder.extend(doc)
    assert (len(doc["polled_hardware"]), len(doc["polled_events"]), forwarder.extras_waiting) == (1, 1, 0)  # type: ignore[arg-type]


def test_a_report_that_cannot_be_built_loses_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A report whose building fails after it took items off every queue: 2 traps, 3 results, 2 faults, then an
    event whose details cannot be serialised (a set: json.dumps raises TypeError). Before, the traps, results
    and faults taken were in a report that was never built: lost, and its sequence number used. Now every item
    is back at the head of its queue in its order (traps 2, results 3, faults 2, events 1), the sequence number
    as before (0), and once the bad event is gone the next report carries them all, seq 1."""
    from collections import deque as queue_of

    forwarder = _forwarder(tmp_path)
    forwarder.traps = queue_of([{"asset": "sw", "n": 1}, {"asset": "sw", "n": 2}])
    for i in range(3):
        forwarder.take(Observation("srv", f"tcp:{i}", TS, "up", ""))
    for c in ("fan", "psu"):
        forwarder.take_extra("polled_hardware", {"asset": "sw", "check": "snmp", "ts": 1.0, "component": c,
                                                 "problem": "x"})
    forwarder.take_extra("polled_events", _event(0, bad={1}))
    seq = forwarder.seq
    try:
        forwarder.make_report()
        raise AssertionError("built")
    except TypeError:
        pass
    assert forwarder.seq == seq == 0
    assert [t["n"] for t in forwarder.traps] == [1, 2]
    assert [o.check_id for o in forwarder._results] == ["tcp:0", "tcp:1", "tcp:2"]
    assert [f["component"] for f in forwarder._extras["polled_hardware"]] == ["fan", "psu"]
    assert forwarder.extras_waiting == 3
    forwarder._extras["polled_events"][0]["details"].pop("bad")
    seq, body = forwarder.make_report()
    doc = json.loads(body)
    assert (seq, len(doc["traps"]), len(doc["observations"]), len(doc["polled_hardware"]),
            len(doc["polled_events"])) == (1, 2, 3, 2, 1)


def test_a_clean_stop_sends_or_spools_everything_queued(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """5,000 results queued and the poller stopped (collector: a closed port, every report spooled). A report
    holds 2,000 results at most (REPORT_RESULTS; 2,000 x about 100 bytes is under the 700,000-byte bound):
    whether the report thread built one before the stop or not, the reports are 2,000 + 2,000 + 1,000 = 3
    spooled, nothing waiting. Before, the stop built one report: 1,000 or 3,000 results left and dropped. The
    stop line says waiting, extras_waiting and traps_waiting: 0 each."""
    import asyncio
    import logging

    from opsmon.agent.config import AgentConfig
    from opsmon.collector.inputs.poller.runner import Poller

    poller = Poller(AgentConfig(collector_url="http://127.0.0.1:1", token="opsmon_agent_x",
                                spool_dir=str(tmp_path / "spool"), timeout=2.0),
                    credentials=str(tmp_path / "none.yaml"))
    for i in range(5000):
        poller.forwarder.take(Observation("srv", f"tcp:{i}", TS, "up", ""))
    stop = asyncio.Event()
    stop.set()
    with caplog.at_level(logging.INFO, logger="opsmon.poller"):
        asyncio.run(poller.run(stop))
    spooled = [json.loads(body) for _path, body in poller.forwarder.spool.oldest(100)]
    assert [len(doc["observations"]) for doc in spooled] == [2000, 2000, 1000]
    line = next(r for r in caplog.records if r.getMessage() == "poller stopped")
    assert (line.waiting, line.extras_waiting, line.traps_waiting) == (0, 0, 0)  # type: ignore[attr-defined]
