"""Traffic to destinations outside a link's allowed networks: one event per (link, source, destination
network) and interval, with its count, never one per flow (issue 23 item 5).

The check is made where it is cheap: at an interval's close, once per distinct key the aggregator held
(`Aggregator._close`), and per flow only for the flows of keys beyond `max_keys` (which the aggregator does
not keep). A destination's verdict is cached (bounded), so a busy interval costs a dict look-up per key.

Destinations are grouped into networks of `prefix_v4` / `prefix_v6` bits (default /24 and /48): a host that
scans a whole outside /24 is one event, not 254. An event beyond `max_groups` per link and interval is summed
into one whose source is `other`. Each event is an `Event` of kind `security` (control point 8.1.3.1 边界防护,
"对内部用户非授权联到外部网络的行为进行检查"), so it is listed with the other events and counted in the
report's security section; with `incident`, each also raises a `SecurityFinding` keyed by (source, network),
which the incident engine de-duplicates per source and cause.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from datetime import datetime

from opsmon.collector.core.incidents import MAJOR
from opsmon.collector.core.messages import Event, Message, SecurityFinding

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SOURCE = "flows"
NAME = "flow_outside_allowed"
CONTROL = "boundary_protection"
CACHE = 50_000  # destination verdicts kept; the cache is emptied when full


class Boundary:
    """The allowed networks per link (global + the link's own) and the verdict per destination."""

    def __init__(self, allowed: Iterable[str], by_link: Mapping[str, Iterable[str]], prefix_v4: int = 24,
                 prefix_v6: int = 48, max_groups: int = 100, incident: bool = False) -> None:
        common = [ipaddress.ip_network(n) for n in allowed]
        self.allowed: dict[str, tuple[Network, ...]] = {
            link: tuple(common + [ipaddress.ip_network(n) for n in nets]) for link, nets in by_link.items()}
        self.common = tuple(common)
        self.prefix = {4: prefix_v4, 6: prefix_v6}
        self.max_groups = max_groups
        self.incident = incident
        self.cache: dict[tuple[str, str], str | None] = {}

    def watches(self, link: str) -> bool:
        """Whether the link has any allowed network (no list: nothing is checked)."""
        return bool(self.allowed.get(link, self.common))

    def outside(self, link: str, dst: str) -> str | None:
        """The destination's network (of `prefix` bits) when it is outside the link's allowed networks, else None.
        A destination that is no address (the `other` row, a malformed record) is not judged."""
        key = (link, dst)
        if key in self.cache:
            return self.cache[key]
        try:
            address = ipaddress.ip_address(dst)
        except ValueError:
            verdict = None
        else:
            nets = self.allowed.get(link, self.common)
            if any(address in net for net in nets):
                verdict = None
            else:
                verdict = str(ipaddress.ip_network(f"{address}/{self.prefix[address.version]}", strict=False))
        if len(self.cache) >= CACHE:
            self.cache.clear()
        self.cache[key] = verdict
        return verdict

    def events(self, link: str, start: datetime, end: datetime,
               groups: Mapping[tuple[str, str], list[int]]) -> list[Message]:
        """The interval's events (and findings) from its groups: (source, network) -> [bytes, packets, flows],
        the largest by bytes first; beyond `max_groups`, one event of source `other`."""
        ranked = sorted(groups.items(), key=lambda item: (-item[1][0], item[0]))
        kept = [(src, net, *totals) for (src, net), totals in ranked[:self.max_groups]]
        rest = ranked[self.max_groups:]
        if rest:
            kept.append(("other", f"{len(rest)} networks", sum(t[0] for _, t in rest), sum(t[1] for _, t in rest),
                         sum(t[2] for _, t in rest)))
        out: list[Message] = []
        for src, net, octets, packets, flows in kept:
            summary = (f"{link}: {src} → {net} 不在允许的目的网络内（{flows} 条流，{octets} 字节）/ "
                       f"traffic to {net} outside the allowed networks ({flows} flows, {octets} bytes)")
            out.append(Event(link, end, SOURCE, "security", NAME, "warning", summary, {
                "link": link, "src": src, "network": net, "flows": flows, "bytes": octets, "packets": packets,
                "interval_start": start.isoformat(), "interval_end": end.isoformat(), "control": CONTROL}))
            if self.incident:
                out.append(SecurityFinding(link, f"flow_outside:{src}->{net}", True, end, summary, MAJOR))
        return out
