"""A centre and its prefectures in network namespaces the test makes, joined by veth links it can cut.

`topology` builds, for sites ("a", "b", ...): a namespace for the centre and one per prefecture, each joined to
the centre by a veth pair, and always tears it all down (the processes it started, then the namespaces, which
takes their veths with them). Cutting a site's link is what a real cut is: `ip link set <veth> down` in the
prefecture's namespace; its routes to the centre go, the centre's probes through it time out.

Addresses are 127.x only (the project's rule: no packet to an address outside 127.0.0.0/8), inside namespaces
no other process sees:

- site i's link: the centre's end 127.1.i.1/30 (veth `to-<site>` in the centre), the prefecture's end 127.1.i.2/30
  (veth `to-centre` in the prefecture's namespace);
- site i's hosts: 127.1.(10+i).(10+j)/32 on the prefecture's `lo`. The prefecture's poller reaches them locally;
  the centre does not (a packet sourced from a `lo` address is not routed out of a veth), and needs not: the
  poller owns their checks.

Loopback addresses off `lo` need `net.ipv4.conf.*.route_localnet=1` (else the kernel drops them as martians),
and each namespace's `lo` gets 127.0.0.1/32 instead of the usual /8, whose local route would swallow the
neighbours' 127.1.x addresses. IPv6 is off in these namespaces, so the veths send no neighbour discovery to
link-local addresses. A process runs inside one with `ip netns exec`; a socket is made inside one with
`in_netns` (it keeps its namespace): the test's own threads serve the hosts.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest

from tests.peers import in_netns, missing_peer, terminate

T = TypeVar("T")
SYSCTLS = ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
           "net.ipv4.conf.all.route_localnet=1", "net.ipv4.conf.default.route_localnet=1")


@dataclass
class Site:
    """One prefecture: its namespace, its end of the link, its hosts' addresses."""

    name: str
    netns: str
    centre_end: str  # the centre's address on this link (what the prefecture's poller reports to)
    site_end: str  # the prefecture's address on it (what the centre probes)
    hosts: list[str]


@dataclass
class Topology:
    centre: str  # the centre's namespace
    sites: dict[str, Site]
    _procs: list[subprocess.Popen[Any]] = field(default_factory=list)

    def cut(self, site: str) -> None:
        """The link down at the prefecture's end."""
        _ip("-n", self.sites[site].netns, "link", "set", "to-centre", "down")

    def restore(self, site: str) -> None:
        _ip("-n", self.sites[site].netns, "link", "set", "to-centre", "up")

    def inside(self, netns: str, make: Callable[[], T]) -> T:
        """`make()` run inside namespace `netns`: a socket it creates (a listener, a client's) lives there."""
        return in_netns(netns, make)

    def popen(self, netns: str, argv: Sequence[str], out: IO[Any], cwd: Path) -> subprocess.Popen[Any]:
        """A process inside `netns` (its output to `out`), stopped at the teardown if the test has not."""
        proc = subprocess.Popen(["ip", "netns", "exec", netns, *argv], cwd=cwd, stdout=out, stderr=out)
        self._procs.append(proc)
        return proc


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _namespace(name: str) -> None:
    _ip("netns", "add", name)
    subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", *SYSCTLS], check=True, capture_output=True)
    _ip("-n", name, "link", "set", "lo", "up")
    _ip("-n", name, "addr", "del", "127.0.0.1/8", "dev", "lo")
    _ip("-n", name, "addr", "add", "127.0.0.1/32", "dev", "lo")


def build(topo: Topology, sites: Sequence[str], hosts: int = 2) -> None:
    """Fill `topo` (named `opsmon-<pid>-centre`, unique per test process) with sites `opsmon-<pid>-<site>`,
    linked as above. Each site enters `topo` before its namespace is made, so `teardown` deletes all that was
    made also when this fails half-way."""
    prefix = topo.centre.removesuffix("-centre")
    _namespace(topo.centre)
    for i, name in enumerate(sites, 1):
        site = Site(name, f"{prefix}-{name}", f"127.1.{i}.1", f"127.1.{i}.2",
                    [f"127.1.{10 + i}.{10 + j}" for j in range(hosts)])
        topo.sites[name] = site
        _namespace(site.netns)
        _ip("link", "add", f"to-{name}", "netns", topo.centre, "type", "veth", "peer", "name", "to-centre",
            "netns", site.netns)
        _ip("-n", topo.centre, "addr", "add", f"{site.centre_end}/30", "dev", f"to-{name}")
        _ip("-n", site.netns, "addr", "add", f"{site.site_end}/30", "dev", "to-centre")
        for host in site.hosts:
            _ip("-n", site.netns, "addr", "add", f"{host}/32", "dev", "lo")
        _ip("-n", topo.centre, "link", "set", f"to-{name}", "up")
        _ip("-n", site.netns, "link", "set", "to-centre", "up")


def teardown(topo: Topology) -> None:
    for proc in topo._procs:
        terminate(proc)
    for name in [topo.centre, *(s.netns for s in topo.sites.values())]:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


@pytest.fixture
def topology() -> Iterator[Callable[..., Topology]]:
    """Call it with the sites' names (and hosts per site); the namespaces go at the teardown."""
    made: list[Topology] = []
    if shutil.which("ip") is None or shutil.which("sysctl") is None:
        missing_peer("needs iproute2 and sysctl (network namespaces)")

    def make(sites: Sequence[str], hosts: int = 2) -> Topology:
        topo = Topology(f"opsmon-{os.getpid()}-centre", {})
        made.append(topo)
        try:
            build(topo, sites, hosts)
        except (subprocess.CalledProcessError, OSError) as exc:
            stderr = getattr(exc, "stderr", b"") or b""
            missing_peer(f"needs the right to create network namespaces and veths (root): {exc} "
                         f"{stderr.decode(errors='replace').strip()}")
        return topo

    yield make
    for topo in made:
        teardown(topo)
