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
