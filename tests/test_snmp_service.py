"""SNMP end to end: a real `opsmon serve` polling a real snmpd, receiving traps sent by net-snmp's
snmptrap, and a WAN link whose state follows an interface taken down in a test namespace."""
from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest

from tests.peers.collector import wait_for
from tests.peers.snmp import COMMUNITY, V3_USERS, UdpRelay, credentials_yaml, free_udp_port, start_snmpd, stop_snmpd

ENGINE_ID = "8000000001020304"


def snmp_extra(trap_port: int) -> str:
    user = V3_USERS["opsha256"]
    return (
        "api:\n  public_read: true\n"
        "snmp:\n  timeout: 0.5s\n  retries: 1\n  credentials:\n" + credentials_yaml("    ") + "\n"
        f"  traps:\n    enabled: true\n    host: 127.0.0.1\n    port: {trap_port}\n"
        f"    credentials: [v2, opsha256]\n    engine_ids: {{sw-core: '{ENGINE_ID}'}}\n"
    ), user


def snmptrap(port: int, *args: str, v3: bool = False) -> None:
    if v3:
        _a, akey, _p, pkey, _n = V3_USERS["opsha256"]
        auth = ["-v", "3", "-e", "0x" + ENGINE_ID, "-u", "opsha256", "-l", "authPriv", "-a", "SHA-256", "-A", akey,
                "-x", "AES-256", "-X", pkey]
    else:
        auth = ["-v", "2c", "-c", COMMUNITY]
    subprocess.run(["snmptrap", *auth, f"127.0.0.1:{port}", "", *args], check=True, capture_output=True,
                   timeout=10, env={"MIBS": "", "PATH": "/usr/bin:/bin"})


def test_collector_polls_exports_and_takes_traps(snmpd, collector_factory) -> None:
    trap_port = free_udp_port()
    extra, _user = snmp_extra(trap_port)
    c = collector_factory(f"""
assets:
  - id: sw-core
    category: network
    address: 127.0.0.1
    checks:
      - {{type: snmp, credential: opsha256, port: {snmpd.port}, interval: 30s}}
  - id: wan-01
    category: link
    site: prefecture-01
    parent: sw-core
    checks:
      - {{type: snmp_interface, device: sw-core, interface: lo, interval: 30s}}
""", extra=extra)
    c.start()
    wait_for(lambda: c.states().get("wan-01", {}).get("state") == "up", 20, "the uplink to be up")
    assert c.states()["sw-core"]["state"] == "up"
    metrics = c.get("/metrics").text
    lo = re.search(r'ifHCInOctets\{asset="sw-core",ifAlias="[^"]*",ifDescr="lo",ifIndex="(\d+)",ifName="lo"\} (\S+)',
                   metrics)
    assert lo is not None, metrics[:3000]
    if_index = lo.group(1)
    assert f'ifOperStatus{{asset="sw-core",ifAlias="",ifDescr="lo",ifIndex="{if_index}",ifName="lo"}} 1.0' in metrics
    assert 'opsmon_snmp_up{asset="sw-core"} 1.0' in metrics
    interfaces = c.get("/api/v1/assets/sw-core/interfaces").json()
    assert any(row["ifName"] == "lo" for row in interfaces["interfaces"])

    # A linkDown trap acts on the uplink at once (the next poll is 30 s away).
    snmptrap(trap_port, "1.3.6.1.6.3.1.1.5.3", f"1.3.6.1.2.1.2.2.1.1.{if_index}", "i", if_index,
             f"1.3.6.1.2.1.2.2.1.8.{if_index}", "i", "2")
    wait_for(lambda: c.states()["wan-01"]["state"] == "down", 5, "the linkDown trap to take the link down")
    assert "linkDown trap" in c.states()["wan-01"]["reason"]
    snmptrap(trap_port, "1.3.6.1.6.3.1.1.5.4", f"1.3.6.1.2.1.2.2.1.1.{if_index}", "i", if_index, v3=True)
    wait_for(lambda: c.states()["wan-01"]["state"] == "up", 5, "the v3 linkUp trap to bring it back")
    # A vendor trap from the same device, and one with a wrong community (dropped, never stored).
    snmptrap(trap_port, "1.3.6.1.4.1.9999.0.1", "1.3.6.1.4.1.9999.1.1.0", "s", "fan tray 2 removed")
    subprocess.run(["snmptrap", "-v", "2c", "-c", "wrong-community", f"127.0.0.1:{trap_port}", "",
                    "1.3.6.1.6.3.1.1.5.1"], check=True, capture_output=True, env={"MIBS": ""})
    events = wait_for(lambda: (lambda e: e if len(e) >= 3 else None)(
        c.get("/api/v1/events?asset=sw-core").json()), 5, "three events stored")
    names = [e["name"] for e in reversed(events)]
    assert names == ["linkDown", "linkUp", "1.3.6.1.4.1.9999.0.1"]
    assert events[0]["details"]["1.3.6.1.4.1.9999.1.1.0"] == "fan tray 2 removed"
    assert all(e["source"] == "127.0.0.1" and e["kind"] == "trap" for e in events)
    assert not any(e["name"] == "coldStart" for e in c.get("/api/v1/events").json())
    out = c.cli("events", "--asset", "sw-core")
    assert out.returncode == 0 and "linkDown" in out.stdout
    _rc, _out, _err = c.stop()
    for secret in (COMMUNITY, V3_USERS["opsha256"][1], V3_USERS["opsha256"][3]):
        assert secret not in c.log()


@pytest.fixture
def switch_in_netns(netns: str) -> Iterator[tuple[str, int]]:
    """snmpd inside a test namespace with a veth pair: veth0 is the 'WAN uplink'; relayed to the host's loopback."""
    def ns(*cmd: str) -> None:
        subprocess.run(["ip", "netns", "exec", netns, *cmd], check=True, capture_output=True)

    ns("ip", "link", "set", "lo", "up")
    ns("ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
    ns("ip", "link", "set", "veth0", "up")
    ns("ip", "link", "set", "veth1", "up")
    peer = start_snmpd(port=free_udp_port(), netns=netns)
    relay = UdpRelay(("127.0.0.1", peer.port), upstream_netns=netns)
    try:
        yield netns, relay.port
    finally:
        relay.close()
        stop_snmpd(peer)


def test_link_state_follows_the_uplink_interface(switch_in_netns, collector_factory) -> None:
    netns, port = switch_in_netns
    c = collector_factory(f"""
assets:
  - id: router-hq
    category: network
    address: 127.0.0.1
    checks:
      - {{type: snmp, credential: v2, port: {port}, interval: 1s, profiles: [system, interfaces]}}
  - id: wan-prefecture-07
    category: link
    site: prefecture-07
    checks:
      - {{type: snmp_interface, device: router-hq, interface: veth0, interval: 1s}}
""", extra="api:\n  public_read: true\nsnmp:\n  credentials:\n" + credentials_yaml("    ") + "\n")
    c.start()
    wait_for(lambda: c.states().get("wan-prefecture-07", {}).get("state") == "up", 20, "the WAN link to be up")
    subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "veth1", "down"], check=True)
    # snmpd caches the interface table for a few seconds
    wait_for(lambda: c.states()["wan-prefecture-07"]["state"] == "down", 15, "the WAN link to go down")
    reason = c.states()["wan-prefecture-07"]["reason"]
    assert "router-hq veth0: ifOperStatus" in reason, reason
    assert c.states()["router-hq"]["state"] == "up"  # the router still answers
    subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "veth1", "up"], check=True)
    wait_for(lambda: c.states()["wan-prefecture-07"]["state"] == "up", 15, "the WAN link to come back")
    history = c.get("/api/v1/assets/wan-prefecture-07/history").json()
    assert [i["state"] for i in history["intervals"]][-3:] == ["up", "down", "up"]
    assert history["seconds"]["down"] > 0
