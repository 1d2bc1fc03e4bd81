"""Which checks a site poller is given (collector/inputs/poller/share.py `owner`), in process."""
from __future__ import annotations

from opsmon.collector.config.inventory import AssetSpec
from opsmon.collector.inputs.poller.share import owner


def test_a_check_naming_a_file_of_the_collectors_host_stays_at_the_centre() -> None:
    """The prefecture hotan has the poller p-hotan. Its server's checks: icmp, tcp:443, an https check against the
    public CAs and one verified against a private CA (`ca_file`, a path on the collector's host, which the poller's
    host does not have: handed over, that check would fail there every run). The first three go to p-hotan; the
    one with a ca_file stays central (None), as does every check of a site without a poller."""
    srv = AssetSpec.model_validate({"id": "srv", "category": "server", "site": "hotan", "address": "10.8.0.5",
                                    "checks": [{"type": "icmp"}, {"type": "tcp", "port": 443},
                                               {"type": "http", "url": "https://srv.hotan/"},
                                               {"type": "http", "url": "https://srv.hotan/api", "id": "api",
                                                "ca_file": "/etc/opsmon/hotan-ca.pem"}]})
    owners = {"srv": "p-hotan"}  # asset -> its poller (poller/group.py)
    assert [owner(srv, owners, check) for check in srv.checks] == ["p-hotan", "p-hotan", "p-hotan", None]
    assert [owner(srv, {}, check) for check in srv.checks] == [None, None, None, None]


def test_fetching_the_share_over_http_needs_no_ca(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A poller whose collectors are plain http (a loopback or a VPN) with a ca_file that is not there (a config built
    past agent.toml's checks): no TLS context is built, the closed port is unreachable like a cut link -> None,
    never an error that names no file."""
    from opsmon.agent.config import AgentConfig
    from opsmon.collector.inputs.poller.runner import fetch_share
    from tests.conftest import closed_port

    base = f"http://127.0.0.1:{closed_port()}"
    cfg = AgentConfig(collector_url=base, collector_urls=(base,), token="opsmon_agent_x",
                      ca_file=str(tmp_path / "gone.pem"), timeout=2.0)
    assert fetch_share(cfg) is None


def test_a_links_far_end_check_is_the_pollers_and_probes_the_centre() -> None:
    """The link wan-hotan (address 10.65.1.1, the prefecture's router as the centre reaches it) has the centre's
    icmp and a far-end tcp check (`from_site`): the icmp stays central (None), the far end goes to the poller the
    site's group gave the link, p-hotan (none without a poller). In the poller, the far-end check without a host
    probes the centre's host it was given (the host of its collector URL), not the link's address; a far-end check
    with a host of its own keeps it."""
    from opsmon.collector.inputs.checks import CheckContext
    from opsmon.collector.inputs.poller.runner import build_jobs

    link = AssetSpec.model_validate({"id": "wan-hotan", "category": "link", "site": "hotan", "address": "10.65.1.1",
                                     "checks": [{"type": "icmp"},
                                                {"type": "tcp", "port": 8470, "id": "from-site", "from_site": True},
                                                {"type": "tcp", "port": 8470, "id": "via-dr", "from_site": True,
                                                 "host": "10.0.9.9"}]})
    # owners: asset id -> the poller group.py gave it (the link is pollable for its far-end checks alone)
    assert [owner(link, {"wan-hotan": "p-hotan"}, check) for check in link.checks] == [None, "p-hotan", "p-hotan"]
    assert [owner(link, {}, check) for check in link.checks] == [None, None, None]
    share = {"checks": [{"asset": "wan-hotan", "address": "10.65.1.1", "interval": 5, "timeout": 2,
                         "spec": check.model_dump(mode="json")} for check in link.checks[1:]]}
    jobs = build_jobs(share, CheckContext(), "c1.example")
    probes = {key: (check.spec.host or check.address) for key, (check, _, _) in jobs.items()}
    assert probes == {"wan-hotan/from-site": "c1.example", "wan-hotan/via-dr": "10.0.9.9"}
