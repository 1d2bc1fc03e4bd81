"""SNMP end to end: a real `opsmon serve` polling a real snmpd, receiving traps sent by net-snmp's
snmptrap, and a WAN link whose state follows an interface taken down in a test namespace."""
from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsmon.collector.config.checks import SnmpSpec
from opsmon.collector.config.schema import SnmpConfig
from opsmon.collector.core.messages import Event, Message
from opsmon.collector.inputs.snmp.hub import SnmpHub
from opsmon.collector.inputs.snmp.traps import TrapReceiver
from tests.peers.collector import wait_for
from tests.peers.snmp import COMMUNITY, V3_USERS, UdpRelay, credentials_yaml, free_udp_port, start_snmpd, stop_snmpd

ENGINE_ID = "8000000001020304"
# The generic traps (SNMPv2-MIB snmpTraps) as the bundled map (collector/config/trap-maps/standard.yaml) names
# them: name, severity, summary (zh / en).
COLD_START = ("1.3.6.1.6.3.1.1.5.1", "coldStart", "warning", "设备重启（冷启动） / device restarted (coldStart)")
WARM_START = ("1.3.6.1.6.3.1.1.5.2", "warmStart", "warning",
              "SNMP 代理重启（热启动） / SNMP agent restarted (warmStart)")
AUTH_FAILURE = ("1.3.6.1.6.3.1.1.5.5", "authenticationFailure", "warning",
                "SNMP 请求团体名或用户错误 / SNMP request with a wrong community or user")


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
    # the names on one info series per port (issue 25), the counters typed as snmp_exporter names them
    lo = re.search(r'opsmon_snmp_if_info\{asset="sw-core",ifIndex="(\d+)",ifName="lo",ifAlias="",ifDescr="lo",'
                   r'ifType="\d+"\} 1\n', metrics)
    assert lo is not None, metrics[:3000]
    if_index = lo.group(1)
    assert re.search(rf'\nifHCInOctets\{{asset="sw-core",ifIndex="{if_index}"\}} \d+\n', metrics)
    assert "# TYPE ifHCInOctets counter\n" in metrics
    assert f'ifOperStatus{{asset="sw-core",ifIndex="{if_index}"}} 1\n' in metrics
    assert 'opsmon_snmp_up{asset="sw-core"} 1\n' in metrics
    interfaces = c.get("/api/v1/assets/sw-core/interfaces").json()
    assert any(row["ifName"] == "lo" for row in interfaces["interfaces"])

    # A linkDown trap acts on the uplink at once (the next poll is 30 s away).
    snmptrap(trap_port, "1.3.6.1.6.3.1.1.5.3", f"1.3.6.1.2.1.2.2.1.1.{if_index}", "i", if_index,
             f"1.3.6.1.2.1.2.2.1.8.{if_index}", "i", "2")
    wait_for(lambda: c.states()["wan-01"]["state"] == "down", 15, "the linkDown trap to take the link down")
    assert "linkDown trap" in c.states()["wan-01"]["reason"]
    snmptrap(trap_port, "1.3.6.1.6.3.1.1.5.4", f"1.3.6.1.2.1.2.2.1.1.{if_index}", "i", if_index, v3=True)
    wait_for(lambda: c.states()["wan-01"]["state"] == "up", 15, "the v3 linkUp trap to bring it back")
    # One with a wrong community (dropped, never stored), a vendor trap, and the generic traps: coldStart and
    # authenticationFailure as v2c, warmStart as v3.
    subprocess.run(["snmptrap", "-v", "2c", "-c", "wrong-community", f"127.0.0.1:{trap_port}", "",
                    COLD_START[0], "1.3.6.1.4.1.9999.1.2.0", "s", "wrong community"],
                   check=True, capture_output=True, env={"MIBS": ""})
    snmptrap(trap_port, "1.3.6.1.4.1.9999.0.1", "1.3.6.1.4.1.9999.1.1.0", "s", "fan tray 2 removed")
    snmptrap(trap_port, COLD_START[0])
    snmptrap(trap_port, WARM_START[0], v3=True)
    snmptrap(trap_port, AUTH_FAILURE[0])
    events = wait_for(lambda: (lambda e: e if len(e) >= 6 else None)(
        c.get("/api/v1/events?asset=sw-core").json()), 15, "six events stored")
    names = [e["name"] for e in reversed(events)]
    assert names == ["linkDown", "linkUp", "1.3.6.1.4.1.9999.0.1", "coldStart", "warmStart", "authenticationFailure"]
    by_name = {e["name"]: e for e in events}
    assert by_name["1.3.6.1.4.1.9999.0.1"]["details"]["1.3.6.1.4.1.9999.1.1.0"] == "fan tray 2 removed"
    assert (by_name["1.3.6.1.4.1.9999.0.1"]["severity"], by_name["1.3.6.1.4.1.9999.0.1"]["summary"]) == \
        ("info", "未知陷阱 / vendor trap")
    for _oid, name, severity, summary in (COLD_START, WARM_START, AUTH_FAILURE):
        assert (by_name[name]["severity"], by_name[name]["summary"]) == (severity, summary), by_name[name]
    assert all(e["source"] == "127.0.0.1" and e["kind"] == "trap" for e in events)
    everything = c.get("/api/v1/events").json()
    assert [e["name"] for e in everything if e["name"] == "coldStart"] == ["coldStart"]  # the wrong community's: none
    assert not any("1.3.6.1.4.1.9999.1.2.0" in e["details"] for e in everything)
    assert [e["name"] for e in c.get("/api/v1/events?name=warmStart").json()] == ["warmStart"]
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
    # The state answers from memory; the intervals come from the store through its writer: wait for them.
    history = wait_for(lambda: (h := c.get("/api/v1/assets/wan-prefecture-07/history").json())
                       and [i["state"] for i in h["intervals"]][-1:] == ["up"] and h, 10, "the last up interval stored")
    assert [i["state"] for i in history["intervals"]][-3:] == ["up", "down", "up"], history["intervals"]
    assert history["seconds"]["down"] > 0


def test_restart_traps_make_the_next_poll_reread_static_columns(snmpd, tmp_path: Path) -> None:
    """coldStart (v2c) and warmStart (v3) sent by snmptrap to a real TrapReceiver: each is stored and makes
    the device's next poll read the static columns again (names, speeds); authenticationFailure is only
    stored. Counters need nothing from the trap: a reboot shows as sysUpTime going back (test_snmp_rates)."""
    trap_port = free_udp_port()
    user = V3_USERS["opsha256"]
    cfg = SnmpConfig.model_validate({
        "credentials": {"v2": {"version": "2c", "community": COMMUNITY},
                        "opsha256": {"version": "3", "user": "opsha256", "auth_protocol": user[4][0],
                                     "auth_key": user[1], "priv_protocol": user[4][1], "priv_key": user[3]}},
        "timeout": 1, "retries": 1,
        "traps": {"enabled": True, "host": "127.0.0.1", "port": trap_port, "credentials": ["v2", "opsha256"],
                  "engine_ids": {"sw": ENGINE_ID}}})
    ops: list[Message] = []
    hub = SnmpHub(cfg, tmp_path, "collector.yaml", ops.append)
    receiver = TrapReceiver(cfg.traps, hub.credentials, ops.append, {"127.0.0.1": "sw"}.get, hub)
    spec = SnmpSpec(type="snmp", credential="v2", port=snmpd.port, profiles=("system", "interfaces"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", trap_port))

    async def trap(oid: str, v3: bool = False) -> tuple:
        before = len(ops)
        await asyncio.to_thread(snmptrap, trap_port, oid, v3=v3)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            events = [o for o in ops[before:] if isinstance(o, Event)]
            if events:
                e = events[0]
                return e.asset_id or "", (e.source, e.kind, e.name, e.severity, e.summary)
            await asyncio.sleep(0.05)
        raise AssertionError(f"trap {oid} not received within 15 s")

    async def scenario() -> None:
        receiver.start(sock)
        assert (await hub.poll("sw", "127.0.0.1", spec)).status == "up"
        state = hub.devices["sw"]
        for oid, name, severity, summary, v3 in ((*COLD_START, False), (*WARM_START, True)):
            assert (await hub.poll("sw", "127.0.0.1", spec)).status == "up"
            refreshed_at, poll_only = state.static_at, state.last.varbinds  # this poll read the poll columns only
            assert refreshed_at is not None
            assert await trap(oid, v3) == ("sw", ("127.0.0.1", "trap", name, severity, summary))
            assert state.static_at is None  # the next poll re-reads the static columns
            assert (await hub.poll("sw", "127.0.0.1", spec)).status == "up"
            assert state.static_at > refreshed_at and state.last.varbinds > poll_only  # names, speeds, aliases too
            lo = next(idx for idx, row in state.last.tables["if"].items() if row.get("ifDescr") == "lo")
            assert state.last.tables["if"][lo]["ifName"] == "lo"
        assert (await hub.poll("sw", "127.0.0.1", spec)).status == "up"
        refreshed_at = state.static_at
        assert await trap(AUTH_FAILURE[0]) == ("sw", ("127.0.0.1", "trap", *AUTH_FAILURE[1:]))
        assert state.static_at == refreshed_at  # not a restart: nothing to re-read

    try:
        asyncio.run(scenario())
    finally:
        receiver.close()
        hub.close()
        sock.close()
