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


def test_snmp_and_ssh_checks_go_to_the_poller_and_ssh_config_stays_central() -> None:
    """The switch sw-hotan at hotan: its `snmp` poll and an `ssh` command are the poller's; `ssh_config` (the
    configuration backup writes to the collector's store) and `presence` (the collector's shared walks) stay central."""
    sw = AssetSpec.model_validate({"id": "sw-hotan", "category": "network", "site": "hotan", "address": "10.8.0.2",
                                   "checks": [{"type": "snmp", "credential": "core"},
                                              {"type": "ssh", "credential": "ops", "command": "show version",
                                               "expect": "VRP"},
                                              {"type": "ssh_config", "credential": "ops"}]})
    assert [owner(sw, {"sw-hotan": "p-hotan"}, check) for check in sw.checks] == ["p-hotan", "p-hotan", None]


def test_a_credential_missing_at_the_poller_is_unknown_with_its_reason_said_once(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """The poller's credentials file defines the SNMP credential `core` only (its community from the environment,
    OPSMON_TEST_CORE). A share with sw's poll (`core`), a printer's (`lost`, not in the file) and an SSH command
    (`ops`: the file has no ssh section): sw's check runs as it is; the two others are unknown, each reason Chinese
    first and naming the credential (or the missing section) and the file; built twice (a share refreshed), the
    printer's reason is logged once. No file at all: every SNMP check unknown, naming the file. The community never
    appears in the log."""
    import asyncio
    import logging

    from opsmon.collector.inputs.checks import CheckContext
    from opsmon.collector.inputs.poller.devices import PollerDevices, Unresolved
    from opsmon.collector.inputs.poller.runner import build_jobs

    creds = tmp_path / "poller-credentials.yaml"
    creds.write_text("snmp:\n  credentials:\n    core: {version: '2c', community_env: OPSMON_TEST_CORE}\n")
    share = {"checks": [{"asset": a, "address": "127.0.0.1", "interval": 60, "timeout": 5, "spec": spec}
                        for a, spec in (("sw", {"type": "snmp", "credential": "core"}),
                                        ("printer", {"type": "snmp", "credential": "lost"}),
                                        ("srv", {"type": "ssh", "credential": "ops", "command": "uptime"}))]}
    import os

    os.environ["OPSMON_TEST_CORE"] = "s3cret-community"
    try:
        ctx = CheckContext()
        devices = PollerDevices(str(creds), ctx, lambda obs: None, lambda field, item: None)
        with caplog.at_level(logging.INFO, logger="opsmon.poller"):
            for _ in range(2):
                devices.prepare(share)
                jobs = build_jobs(share, ctx, None, devices.check)
    finally:
        del os.environ["OPSMON_TEST_CORE"]
    assert not isinstance(jobs["sw/snmp"][0], Unresolved)
    printer = asyncio.run(jobs["printer/snmp"][0].run())
    assert (printer.status, printer.reason) == ("unknown", (
        f"站点轮询器没有凭据 'lost'（在 {creds} 的 snmp.credentials 中定义） / the site poller has no SNMP credential "
        f"'lost' (define it under snmp.credentials in {creds})"))
    srv = asyncio.run(jobs["srv/ssh:uptime"][0].run())
    assert srv.status == "unknown" and srv.reason.startswith("站点轮询器无法使用凭据文件 / the site poller cannot "
                                                             "use its credentials file"), srv.reason
    assert "ssh.credentials" in srv.reason and str(creds) in srv.reason
    assert caplog.text.count("a check's credential is missing at the poller") == 2  # printer once, srv once
    assert "s3cret-community" not in caplog.text
    devices.close()

    gone = PollerDevices(str(tmp_path / "none.yaml"), CheckContext(), lambda obs: None, lambda field, item: None)
    gone.prepare(share)
    sw = asyncio.run(build_jobs(share, gone.ctx, None, gone.check)["sw/snmp"][0].run())
    assert sw.status == "unknown" and str(tmp_path / "none.yaml") in sw.reason and sw.reason.startswith("站点轮询器")
