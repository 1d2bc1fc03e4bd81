"""Traffic to destinations outside the allowed networks (issue 23 item 5): one event per (link, source,
destination network) and interval with its counts, never one per flow; optionally a security incident; the
events in the report's security section under 8.1.3.1 边界防护; config errors naming file, line, key, reason.

Every figure is summed by hand in the docstrings and comments.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsmon.collector.config.load import load_config
from opsmon.collector.core.errors import ConfigError
from opsmon.collector.core.messages import Event, FlowTop, SecurityFinding
from opsmon.collector.inputs.flows.aggregate import Aggregator
from opsmon.collector.inputs.flows.boundary import Boundary
from opsmon.collector.store.db import Store
from tests.conftest import write_config

T0 = 1_800_000_000.0  # a multiple of 300
TCP, UDP = 6, 17
START = datetime.fromtimestamp(T0, UTC)
END = START + timedelta(seconds=300)


def test_outside_flows_are_one_event_per_source_and_network_with_counts() -> None:
    """Allowed: 10.0.0.0/8 everywhere, and 203.0.113.0/24 for wan-a only.
    wan-a, one interval:
    - 10.1.0.5 -> 10.2.0.9 (allowed, 10/8): no event
    - 10.1.0.5 -> 203.0.113.7 (allowed for wan-a): no event
    - 10.1.0.5 -> 198.51.100.1:443 twice (100 + 300 bytes, 1 + 3 packets) and 198.51.100.2:22 (50 bytes, 1
      packet): one group (10.1.0.5, 198.51.100.0/24): 450 bytes, 5 packets, 3 flows
    - 10.1.0.6 -> 198.51.100.9:53 (20 bytes, 1 packet): another source, its own group: 20 bytes, 1, 1
    - 10.1.0.5 -> 2001:db8:1:2::1 (60 bytes, 1 packet): IPv6 grouped by /48: 2001:db8:1::/48
    wan-b (only 10/8): 10.1.0.5 -> 203.0.113.7 (1000 bytes, 2 packets): outside there, 203.0.113.0/24.
    max_keys 4 on wan-a: the 5th and 6th keys (198.51.100.9 and the IPv6 one) are not held but still judged
    per flow. So: wan-a 3 events (450 > 60 > 20 by bytes), wan-b 1; with incident on, a finding after each."""
    boundary = Boundary(["10.0.0.0/8"], {"wan-a": ["203.0.113.0/24"]}, incident=True)
    agg = Aggregator(interval=300, top=10, max_keys=4, boundary=boundary)
    agg.add("wan-a", [("10.1.0.5", "10.2.0.9", 443, TCP, 5000, 5), ("10.1.0.5", "203.0.113.7", 443, TCP, 700, 1),
                      ("10.1.0.5", "198.51.100.1", 443, TCP, 100, 1), ("10.1.0.5", "198.51.100.1", 443, TCP, 300, 3),
                      ("10.1.0.5", "198.51.100.2", 22, TCP, 50, 1), ("10.1.0.6", "198.51.100.9", 53, UDP, 20, 1),
                      ("10.1.0.5", "2001:db8:1:2::1", 443, TCP, 60, 1)], T0 + 1)
    agg.add("wan-b", [("10.1.0.5", "203.0.113.7", 443, TCP, 1000, 2)], T0 + 2)
    closed = agg.due(T0 + 300)
    tops = [m for m in closed if isinstance(m, FlowTop)]
    events = [m for m in closed if isinstance(m, Event)]
    findings = [m for m in closed if isinstance(m, SecurityFinding)]
    assert [t.link for t in tops] == ["wan-a", "wan-b"]
    got = [(e.asset_id, e.details["src"], e.details["network"], e.details["bytes"], e.details["packets"],
            e.details["flows"]) for e in events]
    assert got == [("wan-a", "10.1.0.5", "198.51.100.0/24", 450, 5, 3),
                   ("wan-a", "10.1.0.5", "2001:db8:1::/48", 60, 1, 1),
                   ("wan-a", "10.1.0.6", "198.51.100.0/24", 20, 1, 1),
                   ("wan-b", "10.1.0.5", "203.0.113.0/24", 1000, 2, 1)]
    first = events[0]
    assert (first.ts, first.kind, first.name, first.source, first.details["control"]) == (
        END, "security", "flow_outside_allowed", "flows", "boundary_protection")
    assert first.summary.startswith("wan-a: 10.1.0.5 → 198.51.100.0/24 不在允许的目的网络内（3 条流，450 字节）/ ")
    assert [(f.asset_id, f.key, f.failing) for f in findings] == [
        ("wan-a", "flow_outside:10.1.0.5->198.51.100.0/24", True),
        ("wan-a", "flow_outside:10.1.0.5->2001:db8:1::/48", True),
        ("wan-a", "flow_outside:10.1.0.6->198.51.100.0/24", True),
        ("wan-b", "flow_outside:10.1.0.5->203.0.113.0/24", True)]


def test_event_count_is_bounded_per_link_and_interval() -> None:
    """A scan: 10.1.0.5 to 200 outside /24s (1 flow of 10 bytes each), max_events 3, no incident: 3 events
    of 10 bytes (ties ranked by network: 100.0.0.0/24, 100.0.1.0/24, 100.0.10.0/24 as text) and one of source
    other for the 197 others: 197 x 10 = 1970 bytes, 197 flows. 4 events, not 200; no finding."""
    boundary = Boundary(["10.0.0.0/8"], {}, max_groups=3)
    agg = Aggregator(interval=300, top=5, max_keys=1000, boundary=boundary)
    agg.add("wan-a", [("10.1.0.5", f"100.0.{n}.1", 80, TCP, 10, 1) for n in range(200)], T0)
    events = [m for m in agg.flush() if isinstance(m, Event)]
    assert len(events) == 4 and not any(isinstance(m, SecurityFinding) for m in events)
    assert [e.details["network"] for e in events[:3]] == ["100.0.0.0/24", "100.0.1.0/24", "100.0.10.0/24"]
    assert (events[3].details["src"], events[3].details["network"], events[3].details["bytes"],
            events[3].details["flows"]) == ("other", "197 networks", 1970, 197)


def test_no_list_means_no_check() -> None:
    """Without any allowed network, or on a link with none, nothing is judged: only the FlowTop."""
    agg = Aggregator(interval=300, top=5, max_keys=10, boundary=Boundary([], {"wan-a": ["10.0.0.0/8"]}))
    agg.add("wan-b", [("10.1.0.5", "8.8.8.8", 53, UDP, 10, 1)], T0)
    assert [type(m) for m in agg.flush()] == [FlowTop]


def test_a_bad_network_names_file_line_key_and_reason(tmp_path: Path) -> None:
    """Line 7 holds `10.0.0.0/33` (no IPv4 prefix of 33 bits): the error names the file, line 7, the key path
    and why."""
    path = write_config(tmp_path, """\
        database:
          path: x.db
        flows:
          enabled: true
          allowed_destinations:
            networks:
              - 10.0.0.0/33
        """)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert str(path) in text and ":7" in text
    assert "flows.allowed_destinations.networks" in err.value.keypath
    assert "'10.0.0.0/33' is not a network in CIDR form" in err.value.reason


def test_outside_events_are_listed_and_counted_in_the_reports_security_section(store: Store) -> None:
    """The two events of one interval (wan-a: 10.1.0.5 -> 198.51.100.0/24 and 10.1.0.6 -> 8.8.8.0/24),
    stored by the store writer: read back as the events CLI and API read them (newest first, same ts, so by
    id descending), and in January 2027's security section: 2 events of (security, flow_outside_allowed), both
    on host wan-a, both under control point 8.1.3.1 边界防护, which sorts before 8.1.4.x."""
    from opsmon.collector.outputs.report.security import security_events
    from opsmon.collector.sla.periods import parse_period
    from opsmon.collector.store.events import read_events
    from opsmon.collector.store.writer import StoreWriter

    boundary = Boundary(["10.0.0.0/8"], {})
    agg = Aggregator(interval=300, top=5, max_keys=10, boundary=boundary)
    agg.add("wan-a", [("10.1.0.5", "198.51.100.1", 443, TCP, 900, 3), ("10.1.0.6", "8.8.8.8", 53, UDP, 80, 1)], T0)
    writer = StoreWriter(store, START)
    writer.start()
    for message in agg.flush():
        writer.put(message)
    assert writer.stop()
    listed = read_events(store, name="flow_outside_allowed")
    assert [(e["asset"], e["kind"], e["details"]["src"], e["details"]["bytes"]) for e in listed] == [
        ("wan-a", "security", "10.1.0.6", 80), ("wan-a", "security", "10.1.0.5", 900)]
    sec = security_events(store, parse_period("2027-01", "UTC"))  # T0 is 2027-01-15 08:00 UTC
    assert sec["events_total"] == 2
    assert [(e["kind"], e["name"], e["count"]) for e in sec["events_by_kind"]] == [
        ("security", "flow_outside_allowed", 2)]
    assert [(e["clause"], e["zh"], e["count"]) for e in sec["events_by_control"]] == [("8.1.3.1", "边界防护", 2)]
