"""A site poller's SNMP traps (issue 22 item 1, traps): a real collector, a real `opsmon poller` with its trap port,
traps sent by net-snmp's snmptrap (v2c and v3 authPriv) from the prefecture's devices, and a WAN cut between the
poller and the collector (the relay tests/peers/wan.py on 127.0.0.2). One collector start.

The prefecture `hotan`: the switches sw-1 (127.0.0.3, v2c), sw-2 (127.0.0.4, v3 engine 8000000001020304) and noisy
(127.0.0.5) send their traps to the poller p-hotan (its trap port on 127.0.0.1; snmptrap's --clientaddr gives each
its source address). 127.0.0.6 is no asset; 127.0.0.7 is yutian's gw (another site's asset).
"""
from __future__ import annotations

import re
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import OPSMON, ROOT
from tests.peers.collector import wait_for
from tests.peers.snmp import COMMUNITY, V3_USERS, free_udp_port
from tests.peers.wan import WanPath

ENGINE_ID = "8000000001020304"
FAN_FAIL = "1.3.6.1.4.1.2011.5.25.219.2.6.3"  # hwFanFail (bundled huawei-entity map): hardware, major
FAN_RESUME = "1.3.6.1.4.1.2011.5.25.219.2.6.4"  # hwFanFailResume: clears hwFanFail of the same component
ENT_NAME = "1.3.6.1.2.1.47.1.1.1.1.7"  # entPhysicalName: the component
COLD_START = "1.3.6.1.6.3.1.1.5.1"
VENDOR = "1.3.6.1.4.1.9999.0.1"  # no map names it: event "1.3.6.1.4.1.9999.0.1", info
FLOOD = 20
BURST = 5


def snmptrap(port: int, source: str, *args: str, v3: str | None = None, community: str = COMMUNITY) -> None:
    """One trap to the poller's port from `source`; v3: its auth key (authPriv, user opsha256)."""
    if v3 is not None:
        _a, _akey, _p, pkey, _n = V3_USERS["opsha256"]
        auth = ["-v", "3", "-e", "0x" + ENGINE_ID, "-u", "opsha256", "-l", "authPriv", "-a", "SHA-256", "-A", v3,
                "-x", "AES-256", "-X", pkey]
    else:
        auth = ["-v", "2c", "-c", community]
    subprocess.run(["snmptrap", *auth, f"--clientaddr={source}", f"127.0.0.1:{port}", "", *args], check=True,
                   capture_output=True, timeout=10, env={"MIBS": "", "PATH": "/usr/bin:/bin"})


def _ts(dt: datetime) -> float:
    return dt.replace(tzinfo=UTC).timestamp() if dt.tzinfo is None else dt.timestamp()


def _rows(c: Any, what: str) -> list[Any]:
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import Event, Incident

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        if what == "events":
            rows = [(r.asset_id, r.name, _ts(r.ts), r.source, r.details) for r in s.scalars(
                select(Event).where(Event.kind == "trap").order_by(Event.ts))]
        else:
            rows = [(r.asset_id, r.kind, r.fault_ts and _ts(r.fault_ts), r.resolved_ts and _ts(r.resolved_ts),
                     r.status) for r in s.scalars(select(Incident).where(Incident.kind == "hardware"))]
    store.close()
    return rows


def test_a_poller_forwards_its_sites_traps_through_a_wan_cut(collector_factory, tmp_path: Path) -> None:
    """Hand-computed expectations (the poller's bucket: burst 5, rate 0.01 a second, per source):

    - sw-1's hwFanFail (v2c, entPhysicalName "FAN 1"), sent at F (between f0 and f1, the snmptrap call): one event
      hwFanFail of sw-1 dated in [f0, f1] (the poller's receive time; its clock is this machine's, offset 0),
      source 127.0.0.3, details poller=p-hotan; one hardware incident of sw-1, its fault time that same time.
      (The poller dates a trap when its event loop reads the datagram: after the send, and within 1 s of
      snmptrap's return unless that loop stalls for a second; the millisecond store keeps it to 1 ms.)
    - sw-2's coldStart, v3 authPriv with its engine ID: one event coldStart of sw-2. The same with a wrong auth
      key: refused at the poller (auth_key:1); a v2c trap with a wrong community from sw-1: community:1.
    - 127.0.0.6 (no asset) and 127.0.0.7 (yutian's gw, not this site's): refused at the poller, unknown_source:2;
      nothing of them stored.
    - The WAN cut: sw-1's hwFanFailResume sent at R, inside the cut (r0..r1): the poller cannot report (its
      reports are spooled); after the restore (at B, two reports after the first spooled) the spool replays and
      the centre stores one hwFanFailResume dated in [r0, min(r1 + 1 s, B)]: inside the cut, not when it arrived;
      the incident is resolved at that same time.
    - The flood: 20 identical vendor traps from noisy in a row. Its bucket holds 5 and refills 0.01 a second: the
      20 are sent within far less than 100 s, so at most 5 + 0.01 x 100 < 6 tokens: 5 pass, 15 are refused (rate)
      before decoding. The 5 are one storm at the centre (same source, OID and varbinds, within the 60 s window
      in their own times): one event, count 5.
    - Nothing lost, nothing twice: 4 trap events stored, each once; the poller's stop line: traps=8 (1 + 1 + 1 +
      5 forwarded), packets 27 (1 + 2 v3 + 2 strangers + 1 wrong community + 1 in the cut + 20), refused
      auth_key:1, community:1, rate:15, unknown_source:2 (1 + 1 + 15 + 2 + 8 = 27).
    """
    wan = WanPath("127.0.0.2")
    trap_port = free_udp_port()
    c = collector_factory("""
assets:
  - {id: sw-1, category: network, site: hotan, address: 127.0.0.3}
  - {id: sw-2, category: network, site: hotan, address: 127.0.0.4}
  - {id: noisy, category: network, site: hotan, address: 127.0.0.5}
  - {id: gw, category: network, site: yutian, address: 127.0.0.7}
""", extra="agents:\n  interval: 1s\napi:\n  public_read: true\n")
    wan.target = ("127.0.0.1", c.port)
    token = c.cli("agents", "enroll", "p-hotan", "--site", "hotan", "--poller").stdout.strip()
    c.start()
    akey = V3_USERS["opsha256"][1]
    _a, _ak, _p, pkey, _n = V3_USERS["opsha256"]
    conf = tmp_path / "poller.toml"
    conf.write_text(f'collector_url = "{wan.url}"\ntoken = "{token}"\ninterval = 1\ntimeout = 2\n'
                    f'spool_dir = "{tmp_path / "spool"}"\n\n'
                    f'[traps]\nenabled = true\nhost = "127.0.0.1"\nport = {trap_port}\nrate = 0.01\nburst = {BURST}\n'
                    f'credentials = ["v2", "v3"]\nengine_ids = {{sw-2 = "{ENGINE_ID}"}}\n')
    conf.chmod(0o600)
    # The trap credentials by name, from the poller's credentials file (docs/poller.md, "Traps"), secrets from env.
    creds = tmp_path / "poller-credentials.yaml"
    creds.write_text("snmp:\n  credentials:\n    v2: {version: '2c', community_env: TEST_TRAP_COMMUNITY}\n"
                     "    v3: {version: '3', user: opsha256, auth_protocol: SHA256, auth_key_env: TEST_TRAP_AUTH,\n"
                     "         priv_protocol: AES256, priv_key_env: TEST_TRAP_PRIV}\n")
    creds.chmod(0o600)
    log = tmp_path / "poller.log"
    env = {"PATH": "/usr/bin:/bin", "TEST_TRAP_COMMUNITY": COMMUNITY, "TEST_TRAP_AUTH": akey, "TEST_TRAP_PRIV": pkey}
    with open(log, "w") as err:
        poller = subprocess.Popen([*OPSMON, "poller", str(conf), "--credentials", str(creds)], cwd=ROOT, stdout=err,
                                  stderr=err, env=env)
    try:
        wait_for(lambda: "checks of the site" in log.read_text(), 30, "the poller's share")
        f0 = time.time()
        snmptrap(trap_port, "127.0.0.3", FAN_FAIL, f"{ENT_NAME}.5", "s", "FAN 1")
        f1 = time.time()
        snmptrap(trap_port, "127.0.0.4", COLD_START, v3=akey)
        snmptrap(trap_port, "127.0.0.4", COLD_START, v3="wrong-auth-key")
        snmptrap(trap_port, "127.0.0.6", COLD_START)
        snmptrap(trap_port, "127.0.0.7", COLD_START)
        snmptrap(trap_port, "127.0.0.3", COLD_START, community="wrong-community")
        wait_for(lambda: len(_rows(c, "incidents")) == 1 and len(_rows(c, "events")) == 2, 20,
                 "the fan's incident and two events")

        wan.cut()
        r0 = time.time()
        snmptrap(trap_port, "127.0.0.3", FAN_RESUME, f"{ENT_NAME}.5", "s", "FAN 1")
        r1 = time.time()
        wait_for(lambda: "collector unreachable; spooling reports" in log.read_text(), 20, "the poller spooling")
        time.sleep(2)  # two more reports spooled
        during = _rows(c, "incidents")
        back = time.time()
        wan.restore()
        wait_for(lambda: _rows(c, "incidents")[0][4] == "resolved", 30, "the replayed clearing trap")

        for _ in range(FLOOD):
            snmptrap(trap_port, "127.0.0.5", VENDOR, "1.3.6.1.4.1.9999.1.1.0", "s", "loop detected")
        wait_for(lambda: any(e[0] == "noisy" and e[4].get("count") == BURST for e in _rows(c, "events")), 20,
                 "the flood's one event with its count")
        metrics = c.get("/metrics").text
    finally:
        poller.send_signal(signal.SIGTERM)
        poller.wait(timeout=30)
        wan.close()
    events, incidents = _rows(c, "events"), _rows(c, "incidents")
    c.stop()
    text = log.read_text()
    stopped = re.findall(r"opsmon\.poller: poller stopped (.*)", text)
    assert len(stopped) == 1, text[-3000:]
    assert "deprecated" not in text  # the credentials by name: not the old inline form's warning
    counts = dict(pair.split("=", 1) for pair in stopped[0].split())
    assert (counts["traps"], counts["traps_packets"]) == ("8", "27"), counts
    assert counts["traps_refused"] == "auth_key:1,community:1,rate:15,unknown_source:2", counts
    assert (counts["spooled"], counts["waiting"]) == ("0", "0")
    replayed = re.findall(r"collector reachable again spooled=(\d+)", text)
    assert len(replayed) == 1 and int(replayed[0]) >= 2, text[-3000:]  # the cut's reports, the trap's among them
    for secret in (COMMUNITY, akey, pkey):  # never logged
        assert secret not in text

    # four events, each once, each saying the poller received it
    assert [(a, n, s) for a, n, _t, s, _d in events] == [
        ("sw-1", "hwFanFail", "127.0.0.3"), ("sw-2", "coldStart", "127.0.0.4"),
        ("sw-1", "hwFanFailResume", "127.0.0.3"), ("noisy", VENDOR, "127.0.0.5")], events
    assert {d.get("poller") for *_x, d in events} == {"p-hotan"}
    fail, _cold, resume, flood = events
    assert f0 <= fail[2] <= f1 + 1.0 and r0 <= resume[2] <= min(r1 + 1.0, back), (fail[2] - f0, resume[2] - r0)
    assert fail[4][f"{ENT_NAME}.5"] == "FAN 1"
    assert flood[4]["count"] == BURST

    # the incident: opened from the forwarded trap at its time, still open during the cut, resolved at the time
    # the clearing trap was received in the cut (not when its report arrived)
    assert during == [("sw-1", "hardware", fail[2], None, during[0][4])] and during[0][4] != "resolved", during
    # /metrics: the 8 the poller forwarded, taken (the flood's 5 in one event), none refused at the centre
    assert 'opsmon_poller_traps_total{poller="p-hotan"} 8.0' in metrics
    assert "opsmon_poller_traps_refused_total{" not in metrics
    assert incidents == [("sw-1", "hardware", fail[2], resume[2], "resolved")], incidents
