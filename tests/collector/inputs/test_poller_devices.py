"""A site poller's SNMP and SSH checks (issue 22 item 1): a real collector, a real `opsmon poller`, real snmpsim and
real sshd on loopback, and a WAN cut between the poller and the collector.

The prefecture `hotan`: its poller `p-hotan` reaches the collector through the relay tests/peers/wan.py on
127.0.0.2 (cut for a few seconds), and polls, at the prefecture, a UPS and a switch (snmpsim, each its own
community), a server over SSH (sshd, key login, its host key in the poller's known_hosts), and a printer whose
credential the poller lacks. The collector has no `snmp:` or `ssh:` section at all: the share names credentials by
id (`pollers.snmp_credentials`, `pollers.ssh_credentials`: names only), the secrets are only in the poller's
credentials file (one of them read from the environment).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from tests.collector.inputs.test_site_poller import _results, _stream_position, _ts, start_poller
from tests.collector.inputs.test_snmp_devices import ups
from tests.peers.collector import wait_for
from tests.peers.snmp import start_snmpsim, stop_snmpsim, switch_recording
from tests.peers.sshd import Sshd, available
from tests.peers.wan import WanPath

CUT = 4.0  # seconds the poller's path to the collector is down


def test_the_poller_runs_its_sites_snmp_and_ssh_checks_and_the_centre_none(collector_factory, tmp_path: Path) -> None:
    """Checks every 1 s (SNMP, timeout 0.9 s) and 2 s (SSH, timeout 1.8 s); down after 2 results, up after 1.

    Hand-computed expectations:

    - ups (snmpsim, the UPS recording of test_snmp_devices: upsOutputSource battery(5), upsBatteryStatus low(3),
      alarms on battery and low battery): each poll answers, so its `snmp` check is up and the asset up; each
      answered poll finds two faults, `hw:UPS power input` and `hw:UPS battery`, so the collector stores exactly
      2 hardware rows per up result of ups's snmp check (a fault rides the report of its poll or the next one,
      through the same spool: none lost, none twice), and as many as the poller says it found (`faults=N`).
    - sw (snmpsim, a 2-port switch: both ports ifOperStatus up(1), ifAdminStatus up(1)): up. The link wan-hotan's
      `snmp_interface` check on sw's GigabitEthernet0/1 is fed by the poller's polls of sw (the share's
      `uplinks`): one result per poll of sw, dated at the poll's end, up, observer p-hotan; so as many as sw's
      answered polls.
    - srv (sshd): `echo opsmon-ok` printing opsmon-ok is up; `ls /nonexistent-opsmon` exits with status 2:
      down with "exited with status 2". srv is degraded: one check of two down, the other up (docs/timeline.md).
    - printer: its credential `gone` is not in the poller's file: unknown, the reason Chinese first naming the
      credential and the file, logged once by the poller however many times the check runs.
    - srv-mitm: the same sshd through another port, for which the poller's known_hosts holds another key (the
      client's public key): every session is refused, the check unknown ("has CHANGED", never down: the device
      answered); the poller's hub says it once per offered key, so the collector stores one event
      `ssh_host_key_changed` (critical, observer p-hotan) and opens one critical security incident for srv-mitm
      (the finding), as if its own SSH hub had seen it.
    - ups-yutian: at a site without a poller, so the centre's, whose credential only the pollers hold: the centre
      cannot run it, and says so (unknown, Chinese first, naming the credential and the site), no secret needed.
    - The centre runs none of hotan's: every stored result of these checks has the observer p-hotan (the collector
      has no SNMP or SSH section: it could not have run them); its own results of them: 0.
    - The cut (CUT s): the reports are spooled and replayed in order; the collector stores each result once
      (distinct times per check) and as many as the poller says its checks gave (`poller stopped results=N`,
      spooled=0, waiting=0), and its position on the poller's stream is the last report number.
    """
    if (why := available()) is not None:
        import pytest

        pytest.skip(why)
    sim = start_snmpsim({"ups-c": ups(), "sw-c": switch_recording("sw-1", ports=2)})
    sshd = Sshd(tmp_path / "sshd").__enter__()
    wan = WanPath("127.0.0.2")
    mitm = WanPath("127.0.0.1")  # another port to the same sshd, which the poller's known_hosts gives another key
    try:
        c = collector_factory(f"""
assets:
  - {{id: wan-hotan, category: link, site: hotan, address: 127.0.0.2,
      checks: [{{type: snmp_interface, device: sw, interface: GigabitEthernet0/1}}]}}
  - {{id: ups, category: peripheral, site: hotan, address: 127.0.0.1,
      checks: [{{type: snmp, credential: ups-v2, port: {sim.port}}}]}}
  - {{id: sw, category: network, site: hotan, address: 127.0.0.1,
      checks: [{{type: snmp, credential: sw-v2, port: {sim.port}}}]}}
  - {{id: printer, category: peripheral, site: hotan, address: 127.0.0.1,
      checks: [{{type: snmp, credential: gone, port: {sim.port}}}]}}
  - {{id: ups-yutian, category: peripheral, site: yutian, address: 127.0.0.1,
      checks: [{{type: snmp, credential: ups-v2, port: {sim.port}}}]}}
  - {{id: srv-mitm, category: server, site: hotan, address: 127.0.0.1,
      checks: [{{type: ssh, credential: dev, port: {mitm.port}, command: echo opsmon-ok, interval: 2s,
                 timeout: 1.8s}}]}}
  - {{id: srv, category: server, site: hotan, address: 127.0.0.1,
      checks: [{{type: ssh, credential: dev, port: {sshd.port}, command: echo opsmon-ok, expect: opsmon-ok,
                 interval: 2s, timeout: 1.8s}},
               {{type: ssh, credential: dev, port: {sshd.port}, command: ls /nonexistent-opsmon,
                 interval: 2s, timeout: 1.8s}}]}}
""", extra="agents:\n  interval: 1s\npollers:\n  snmp_credentials: [ups-v2, sw-v2, gone]\n"
                  "  ssh_credentials: [dev]\n")
        wan.target = ("127.0.0.1", c.port)
        mitm.target = ("127.0.0.1", sshd.port)
        token = c.cli("agents", "enroll", "p-hotan", "--site", "hotan", "--poller").stdout.strip()
        c.start()
        c.token = c.cli("tokens", "create", "t", "--role", "viewer").stdout.strip()
        known = tmp_path / "poller_known_hosts"
        shutil.copy(sshd.known_hosts, known)
        other = sshd.client_key.with_suffix(".pub").read_text().split()  # an ed25519 key, not the server's
        with open(known, "a") as hosts:
            hosts.write(f"[127.0.0.1]:{mitm.port} {other[0]} {other[1]}\n")
        creds = tmp_path / "poller-credentials.yaml"
        creds.write_text(f"""snmp:
  credentials:
    ups-v2: {{version: '2c', community_env: OPSMON_TEST_UPS_COMMUNITY}}
    sw-v2: {{version: '2c', community: sw-c}}
ssh:
  known_hosts: {known}
  credentials:
    dev: {{user: root, private_key_file: {sshd.client_key}}}
""")
        creds.chmod(0o600)
        poller, log = start_poller(tmp_path, wan.url, token, "--credentials", str(creds),
                                   env={**os.environ, "OPSMON_TEST_UPS_COMMUNITY": "ups-c"})
        try:
            mine = ("ups", "sw", "srv", "printer", "wan-hotan", "ups-yutian", "srv-mitm")
            wait_for(lambda: {k: v["state"] for k, v in c.states().items() if k in mine} == {
                "ups": "up", "sw": "up", "srv": "degraded", "printer": "unknown", "wan-hotan": "up",
                "ups-yutian": "unknown", "srv-mitm": "unknown"}, 40,
                "the site's SNMP and SSH checks judged")
            states = c.states()
            rss_kb = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{poller.pid}/status").read_text())[1])
            print(f"poller RSS with SNMP and SSH checks: {rss_kb / 1024:.1f} MB; load {os.getloadavg()}")
            time.sleep(1)
            cut_at = time.time()
            wan.cut()
            time.sleep(CUT)
            back_at = time.time()
            wan.restore()
            time.sleep(3)
            wait_for(lambda: (r := _results(c, "ups")) and _ts(r[-1][0]) > back_at + 2, 30, "the poller's replay")
        finally:
            poller.send_signal(signal.SIGTERM)
            poller.wait(timeout=30)
            wan.close()
            mitm.close()
        c.stop()
    finally:
        sshd.__exit__(None, None, None)
        stop_snmpsim(sim)

    poller_log = log.read_text()
    stopped = re.findall(r"opsmon\.poller: poller stopped (.*)", poller_log)
    assert len(stopped) == 1, poller_log[-3000:]
    produced = dict(pair.split("=", 1) for pair in stopped[0].split())
    assert (produced["spooled"], produced["waiting"]) == ("0", "0"), produced
    assert "collector unreachable; spooling reports" in poller_log and "collector reachable again" in poller_log

    # the missing credential: unknown, Chinese first, said once
    reason = states["printer"]["reason"]
    assert reason.startswith("站点轮询器没有凭据 'gone'") and "the site poller has no SNMP credential 'gone'" in reason
    assert str(creds) in reason, reason
    assert poller_log.count("a check's credential is missing at the poller") == 1, poller_log[-3000:]
    assert "ups-c" not in poller_log and "sw-c" not in poller_log  # no community in the log

    assert states["ups-yutian"]["reason"] == (
        "凭据 'ups-v2' 只在站点轮询器上，站点 yutian 没有登记的轮询器 / SNMP credential 'ups-v2' is held by the site "
        "pollers only, and site yutian has no enrolled poller (opsmon agents enroll NAME --site yutian --poller)")

    assert "has CHANGED" in states["srv-mitm"]["reason"], states["srv-mitm"]
    assert _events(c, "srv-mitm") == [("ssh", "security", "ssh_host_key_changed", "critical", "p-hotan")]
    assert _incidents(c, "srv-mitm") == [("security", "critical")]
    assert int(produced["events"]) == 2  # the event and its finding

    rows = _all(c)  # (asset, check, ts, observer, status, reason, kind)
    checks = [r for r in rows if r[6] == "check" and r[0] in ("ups", "sw", "srv", "printer", "wan-hotan", "srv-mitm")]
    # the centre ran none of them
    assert Counter(r[3] for r in checks) == Counter({"p-hotan": len(checks)}), Counter(r[3] for r in checks)
    # each result stored once, and all the poller gave
    assert len({(a, k, t) for a, k, t, *_ in checks}) == len(checks)
    assert len(checks) == int(produced["results"]), (len(checks), produced)
    assert _stream_position(c, "p-hotan", produced["stream"]) == int(produced["seq"])
    by_check = Counter((a, k, s) for a, k, _t, _o, s, _r, _kind in checks)
    ups_up = by_check[("ups", "snmp", "up")]
    sw_up = by_check[("sw", "snmp", "up")]
    assert ups_up >= 5 and sw_up >= 5, by_check
    assert {(a, k) for a, k, _s in by_check} == {
        ("ups", "snmp"), ("sw", "snmp"), ("printer", "snmp"), ("wan-hotan", "if:sw:GigabitEthernet0/1"),
        ("srv", "ssh:echo opsmon-ok"), ("srv", "ssh:ls /nonexistent-opsmon"),
        ("srv-mitm", "ssh:echo opsmon-ok")}, by_check
    assert {s for a, k, s in by_check if a not in ("srv", "printer", "srv-mitm")} == {"up"}, by_check
    assert {s for a, k, s in by_check if a == "srv-mitm"} == {"unknown"}, by_check
    assert by_check[("wan-hotan", "if:sw:GigabitEthernet0/1", "up")] == sw_up, by_check
    assert {s for a, k, s in by_check if (a, k) == ("srv", "ssh:echo opsmon-ok")} == {"up"}, by_check
    assert {s for a, k, s in by_check if k == "ssh:ls /nonexistent-opsmon"} == {"down"}, by_check
    assert all("exited with status 2" in r[5] for r in checks if r[1] == "ssh:ls /nonexistent-opsmon")
    assert {s for a, k, s in by_check if a == "printer"} == {"unknown"}, by_check
    # results inside the cut: spooled and replayed (the scheduler's 1 s grid: at least half the cut's points)
    inside = [t for a, k, t, *_ in checks if (a, k) == ("ups", "snmp") and cut_at < _ts(t) < back_at]
    assert len(inside) >= CUT / 2, (len(inside), back_at - cut_at)
    # the UPS's two faults, once per answered poll
    hardware = Counter(k for a, k, _t, _o, s, _r, kind in rows if kind == "hardware" and a == "ups" and s == "down")
    assert hardware == {"hw:UPS power input": ups_up, "hw:UPS battery": ups_up}, (hardware, ups_up)
    assert sum(hardware.values()) == int(produced["faults"]), (hardware, produced)  # all the poller found, once


def _events(c, asset: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import Event as EventRow

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = [(e.source, e.kind, e.name, e.severity, (e.details or {}).get("observer"))
                for e in s.scalars(select(EventRow).where(EventRow.asset_id == asset).order_by(EventRow.ts))]
    store.close()
    return rows


def _incidents(c, asset: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import Incident

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = [(i.kind, i.severity) for i in s.scalars(select(Incident).where(Incident.asset_id == asset))]
    store.close()
    return rows


def _all(c) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    from opsmon.collector.store import open_store
    from opsmon.collector.store.models import Observation

    store = open_store(f"sqlite:///{c.db}", migrate=False)
    with store.session() as s:
        rows = [tuple(r) for r in s.execute(select(
            Observation.asset_id, Observation.check_id, Observation.ts, Observation.observer, Observation.status,
            Observation.reason, Observation.kind).order_by(Observation.ts))]
    store.close()
    return rows
