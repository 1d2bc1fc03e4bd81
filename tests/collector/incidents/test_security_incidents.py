"""Security incidents (issue 23 item 1): each source opens an incident of kind `security`, one per source and
cause, with the security response limit of rules/targets.yaml, routed and escalated like the others, and never
touching the asset's availability.

The evidence comes from the real thing where it is cheap: a real sshd's log of seven failed logins read by
the agent's own AuthWatcher, real files watched by the agent's own Fim, the collector's own ConfigBackup over
the migrated store. The host key side runs against an sshd posing as a device in
tests/collector/inputs/test_ssh.py; here its finding meets the engine and the timeline.
"""
from __future__ import annotations

import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest

from opsmon.agent.baseline.authlog import AuthWatcher
from opsmon.agent.baseline.fim import Fim
from opsmon.collector.core.messages import Event, Message, SecurityFinding, Written
from opsmon.collector.core.states import DOWN, UNKNOWN, UP, Observation
from opsmon.collector.incidents.read import list_incidents
from opsmon.collector.inputs.security import BaselineIn, CheckInfo, SecurityBook, SecurityIn
from opsmon.collector.inputs.ssh.backup import ConfigBackup
from opsmon.collector.outputs.metrics import CollectorMetrics
from opsmon.collector.sla.engine import evaluate
from opsmon.collector.sla.periods import containing
from opsmon.collector.sla.targets import load_targets
from opsmon.collector.store import Store
from opsmon.collector.store.models import Asset
from opsmon.collector.store.writer import StoreWriter
from opsmon.collector.timeline.engine import CheckConf
from tests.collector.incidents.test_incidents import T0, World, info
from tests.conftest import ROOT
from tests.peers import missing_peer
from tests.peers.sshd import Sshd, available

CHECK = CheckInfo("8.1.4.1", "No empty passwords", "无空口令账户", "critical", incident=True)


class Security:
    """A SecurityBook whose findings go to the World's engine, as service.py routes them; events kept."""

    def __init__(self, world: World, store: Store, critical: tuple[str, ...]) -> None:
        self.world = world
        self.events: list[Event] = []
        self.book = SecurityBook(store, self.publish, lambda _p, _c: CHECK, critical)

    def publish(self, msg: Message) -> None:
        if isinstance(msg, SecurityFinding):
            self.world.engine.on_security(msg.asset_id, msg.key, msg.failing, msg.at, msg.cause, msg.severity)
        elif isinstance(msg, Event):
            self.events.append(msg)

    def report(self, asset: str, security: dict[str, Any]) -> None:
        self.book.accept(asset, SecurityIn.model_validate(security), 0.0, self.world.clock.now)


def seven_failed_logins(folder: Path) -> list[str]:
    """A real sshd refuses root seven times (a key it does not know); its log lines, stamped as rsyslog writes
    them to auth.log (sshd -e prints the bare message)."""
    why = available()
    if why:
        missing_peer(why)
    with Sshd(folder) as sshd:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "stranger")], check=True)
        args = sshd.ssh_args()
        args[args.index("-i") + 1] = str(folder / "stranger")
        for _ in range(7):
            subprocess.run(["ssh", *args, "root@127.0.0.1", "true"], capture_output=True, timeout=10)
        deadline = time.monotonic() + 5
        while sshd.log.read_text().count("Failed publickey") < 7 and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = sshd.log.read_text().splitlines()
    stamp = time.strftime("%b %e %H:%M:%S")
    return [f"{stamp} web1 sshd[{4000 + i}]: {line}\n" for i, line in enumerate(lines)]


def test_each_source_opens_one_security_incident_per_source_and_cause(store: Store, tmp_path: Path) -> None:
    """Brute force (real sshd log), a change to a critical watched file (real files), an unexpected device
    configuration change and a baseline check turning from pass to fail: four incidents of kind security, each
    with the security limit (30 min, not the 1 h of every fault), routed to the on-call person like any other.

    The same source or cause again while open updates the incident (no second one); a non-critical file's
    change is an event only."""
    w = World(store, {"web1": info(criticality="medium"), "sw1": info(category="network")})
    passwd, hosts = tmp_path / "etc" / "passwd", tmp_path / "etc" / "hosts"
    passwd.parent.mkdir()
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    hosts.write_text("127.0.0.1 localhost\n")
    sec = Security(w, store, (str(passwd), str(tmp_path / "etc" / "sudoers.d")))
    # -- brute force: the agent's watcher over the real sshd's log (threshold 5 in 300 s: 7 is more)
    log = tmp_path / "auth.log"
    log.write_text("")
    watcher = AuthWatcher(tmp_path / "auth-state.json", str(log), threshold=5, window=300)
    assert watcher.collect() is None  # starts at the end of the log
    log.write_text("".join(seven_failed_logins(tmp_path / "sshd")))
    auth = watcher.collect()
    assert auth is not None and auth["bruteforce"] == [{"source": "127.0.0.1", "count": 7, "window_s": 300}]
    assert auth["failures"] == [{"source": "127.0.0.1", "user": "root", "count": 7}]
    sec.report("web1", {"auth": auth})
    # -- file integrity: the agent's Fim over real files; /etc/passwd is critical, /etc/hosts is not
    fim = Fim([str(passwd), str(hosts)], tmp_path / "fim-state.json")
    assert fim.scan() == []  # the first scan is the baseline
    passwd.write_text(passwd.read_text() + "intruder:x:0:0::/root:/bin/bash\n")
    hosts.write_text(hosts.read_text() + "10.0.0.9 update.example\n")
    changes = fim.scan()
    assert sorted((c["path"], c["change"]) for c in changes) == [(str(hosts), "modified"), (str(passwd), "modified")]
    w.clock.now = T0 + timedelta(seconds=10)
    sec.report("web1", {"fim": changes})
    # -- an unexpected configuration change of a device (no maintenance window), as the SSH backup finds it
    backup = ConfigBackup(store, sec.publish, lambda _a, _s, _u: None)
    backup.record("sw1", "hostname sw1\ninterface Gi0/1\n switchport mode trunk\n", T0, "show run", "running", (),
                  True)
    w.clock.now = T0 + timedelta(seconds=20)
    backup.record("sw1", "hostname sw1\ninterface Gi0/1\n switchport access vlan 666\n", w.clock.now, "show run",
                  "running", (), True)
    # -- a critical baseline check turns from pass to fail
    for minute, status in ((0, "pass"), (1, "fail")):
        sec.book._baseline("web1", BaselineIn(policy="p", ran_at=0, results=[
            {"id": "ia.no-empty-passwords", "status": status, "evidence": "user guest has no password"}]),
            T0 + timedelta(minutes=minute))
    w.clock.now = T0 + timedelta(minutes=1)
    w.advance(w.clock.now)
    incs = {i["cause"].split(":")[0]: i for i in list_incidents(store)}
    assert set(incs) == {"brute force", "file integrity", "unexpected change of the running configuration outside "
                                                          "any maintenance window", "No empty passwords"}
    assert {i["kind"] for i in incs.values()} == {"security"}
    assert [i["asset"] for i in incs.values()].count("sw1") == 1
    assert incs["brute force"]["severity"] == "critical"  # the agent's own word for brute force
    assert incs["No empty passwords"]["severity"] == "critical"  # the check's severity in its policy
    assert incs["file integrity"]["severity"] == "major"
    for inc in incs.values():  # security_incident_response_time: 1800 s after its opening
        assert inc["deadline"] == (datetime.fromisoformat(inc["opened_at"]) + timedelta(seconds=1800)).isoformat()
    # routed like any incident: on call on 2026-07-01 10:00 +08:00 is wang (the override), level 1
    assert sorted(s[1:4] for s in w.sent) == [("opened", 1, ["wang"])] * 4
    assert [e.name for e in sec.events].count("modified") == 2  # both file changes are events; one incident
    # -- de-duplicated per source and cause: the same brute-force source, the same file again
    w.clock.now = T0 + timedelta(minutes=2)
    sec.report("web1", {"auth": {"bruteforce": [{"source": "127.0.0.1", "count": 9, "window_s": 300}]},
                        "fim": [{"path": str(passwd), "change": "mode", "ts": w.clock.now.timestamp()}]})
    assert len(list_incidents(store)) == 4
    # a second source is another cause: its own incident
    sec.report("web1", {"auth": {"bruteforce": [{"source": "198.51.100.7", "count": 30, "window_s": 300}]}})
    assert len(list_incidents(store)) == 5
    # what the security alert rules read (rules/prometheus/alerts.yml, opsmon-security): per asset and cause
    metrics = CollectorMetrics()
    metrics.watch_incidents(w.engine)
    active = sorted(line for line in generate_latest(metrics.registry).decode().splitlines()
                    if line.startswith("opsmon_security_incidents_active{"))
    assert active == ['opsmon_security_incidents_active{asset="sw1",cause="config"} 1.0',
                      'opsmon_security_incidents_active{asset="web1",cause="baseline"} 1.0',
                      'opsmon_security_incidents_active{asset="web1",cause="bruteforce"} 2.0',
                      'opsmon_security_incidents_active{asset="web1",cause="fim"} 1.0']
    # -- escalated like the others: level 2 (lead) 30 min after the opening; then the response and its figure
    w.advance(T0 + timedelta(minutes=31))
    assert ("escalated", 2, ["lead"]) in [s[1:4] for s in w.sent]
    brute = incs["brute force"]
    w.engine.acknowledge(brute["id"], "li.wei", at=T0 + timedelta(minutes=12))
    result = evaluate(store, load_targets(ROOT / "rules" / "targets.yaml"), containing("quarter", T0, "Asia/Shanghai"),
                      T0 + timedelta(hours=2))
    figure = next(t for t in result["targets"] if t["id"] == "security_incident_response_time")
    # 5 incidents judged at T0+2h, 1 acknowledged after 12 min = 720 s (within 1800 s); 4 still open count until
    # then: the file change opened at T0+10 s -> 7190 s, the longest (the configuration and the baseline check at
    # T0+20 s -> 7180 s, the second source at T0+2 min -> 7080 s)
    assert (figure["value"], figure["pass"]) == (7190.0, False)
    assert (figure["detail"]["incidents"], figure["detail"]["within_limit"]) == (5, 1)
    assert sorted(x["response_seconds"] for x in figure["worst"]) == [720.0, 7080.0, 7180.0, 7180.0, 7190.0]


def test_a_changed_host_key_is_a_security_incident_and_never_availability(store: Store) -> None:
    """The SSH check of a device whose host key changed answers unknown (refused, not found down: the check's
    answer in tests/collector/inputs/test_ssh.py), the hub's finding opens a security incident, and the
    network-device availability figure is not charged. sw-old is fed what the check answered before (down).

    Both tracked from T0 (check every 10 s, down after 3 strikes, dated from the first); up at T0, the refused
    polls at T0+10 s .. T0+60 s, up again at T0+70 s (the trusted key: the finding clears) and T0+100 s, the
    figure taken at T0+100 s:
    - sw1: up [T0, T0+10) + [T0+70, T0+100) = 40 s, unknown [T0+10, T0+70) = 60 s (not counted), down 0:
      40 / 40 = 1.0;
    - sw-old: up 40 s, down [T0+10, T0+70) = 60 s: 40 / 100 = 0.4 (the defect: a security event charged as an
      outage);
    - network_security_devices_ok over both: (40 + 40) / (40 + 40 + 60) = 80 / 140."""
    with store.session.begin() as s:
        for asset in ("sw1", "sw-old"):
            s.add(Asset(id=asset, name=asset, category="network", site=None, address=None, tags=[],
                        criticality="medium", parent_id=None, checks=[], created_at=T0 - timedelta(days=1),
                        updated_at=T0 - timedelta(days=1), removed_at=None))
    w = World(store, {})
    writer = StoreWriter(store, T0)
    writer.start()
    to_engine = w.timeline.publish

    def publish(msg: Message) -> None:  # as the service wires it: the engine hears transitions, the store all
        to_engine(msg)
        if isinstance(msg, Written):
            writer.put(msg)

    w.timeline.publish = publish
    for asset in ("sw1", "sw-old"):
        w.assets[asset] = info(category="network")
        w.timeline.upsert_asset(asset, None, "urumqi", (), [CheckConf("icmp", 10, 3, 1)], T0)
        w.result(asset, UP, T0)
    key = "ssh_host_key:127.0.0.1:22"
    for k in range(1, 7):
        w.clock.now = T0 + timedelta(seconds=10 * k)
        w.timeline.observe(Observation("sw1", "icmp", w.clock.now, UNKNOWN, "host key of 127.0.0.1:22 has CHANGED"))
        w.timeline.observe(Observation("sw-old", "icmp", w.clock.now, DOWN, "host key of 127.0.0.1:22 has CHANGED"))
        if k == 1:
            w.engine.on_security("sw1", key, True, w.clock.now, "host key of 127.0.0.1:22 has CHANGED", "critical")
    assert w.timeline.tracks["sw1"].state == UNKNOWN
    for seconds in (70, 100):
        w.clock.now = T0 + timedelta(seconds=seconds)
        for asset in ("sw1", "sw-old"):
            w.result(asset, UP, w.clock.now)
        if seconds == 70:
            w.engine.on_security("sw1", key, False, w.clock.now, "127.0.0.1:22 offers its trusted host key again")
    assert writer.flush() and writer.stop()
    incidents = {i["asset"]: i for i in list_incidents(store)}
    assert (incidents["sw1"]["kind"], incidents["sw1"]["severity"], incidents["sw1"]["status"]) == (
        "security", "critical", "resolved")
    assert incidents["sw1"]["deadline"] == (T0 + timedelta(seconds=10 + 1800)).isoformat()
    assert incidents["sw-old"]["kind"] == "availability"  # what a changed key used to open
    result = evaluate(store, load_targets(ROOT / "rules" / "targets.yaml"), containing("quarter", T0, "Asia/Shanghai"),
                      T0 + timedelta(seconds=100))
    figure = next(t for t in result["targets"] if t["id"] == "network_security_devices_ok")
    assert [(a["asset"], a["value"], a["down_seconds"]) for a in figure["worst"]] == [("sw-old", 0.4, 60.0),
                                                                                     ("sw1", 1.0, 0.0)]
    assert (figure["detail"]["up_seconds"], figure["detail"]["down_seconds"]) == (80.0, 60.0)
    assert figure["value"] == 80 / 140


def test_counters_exist_from_zero(store: Store) -> None:
    """Every host's counters from 0 before its first event (issue 23 item 2): an enrolled host shows 0 at
    once; a host first heard of in a report that already carries 3 FIM changes and 2 failures shows 0 in the
    next scrape and its counts in the one after, so increase() over the two samples sees 3 and 2."""
    w = World(store, {})
    sec = Security(w, store, ())
    sec.book.enrolled("db1")
    assert sec.book.counters() == {"db1": (0, 0, 0)}
    sec.report("web9", {"fim": [{"path": f"/etc/f{i}", "change": "modified", "ts": 0} for i in range(3)],
                        "auth": {"failures": [{"source": "192.0.2.1", "user": "root", "count": 2}]}})
    assert sec.book.counters() == {"db1": (0, 0, 0), "web9": (0, 0, 0)}
    assert sec.book.counters() == {"db1": (0, 0, 0), "web9": (2, 0, 3)}
    sec.report("db1", {"fim": [{"path": "/etc/x", "change": "added", "ts": 0}]})  # enrolled: counts at once
    assert sec.book.counters()["db1"] == (0, 0, 1)


def test_incidents_a_trap_opened_are_counted_for_the_trap_alert(store: Store) -> None:
    """opsmon_trap_incidents_active{asset,kind} (what OpsmonTrapIncident reads): sw1's fan fault raised by a
    trap (hardware, source trap) and a trap mapped security on fw1 count, one each; a polled fault of sw2 and a
    brute force on fw1 are not a trap's. The recovery trap resolves sw1's fault: its series goes."""
    from opsmon.collector.incidents.engine import SYSTEM

    w = World(store, {"sw1": info(category="network"), "sw2": info(category="network"),
                      "fw1": info(category="security")})
    w.engine.on_hardware("sw1", "FAN 2", T0, "风扇故障 / fan failed: FAN 2", source="trap")
    w.engine.on_hardware("sw2", "PSU 1", T0, "power supply failed", source=SYSTEM)
    w.engine.on_security("fw1", "trap:hwSecStatAttack:eth0", True, T0, "攻击告警 / attack detected")
    w.engine.on_security("fw1", "bruteforce:198.51.100.7", True, T0, "brute force")

    def trap_series() -> list[str]:
        metrics = CollectorMetrics()
        metrics.watch_incidents(w.engine)
        return sorted(line for line in generate_latest(metrics.registry).decode().splitlines()
                      if line.startswith("opsmon_trap_incidents_active{"))

    assert trap_series() == ['opsmon_trap_incidents_active{asset="fw1",kind="security"} 1.0',
                             'opsmon_trap_incidents_active{asset="sw1",kind="hardware"} 1.0']
    w.engine.on_hardware("sw1", "FAN 2", T0 + timedelta(minutes=5), "风扇故障恢复 / fan recovered: FAN 2",
                         cleared=True, source="trap")
    assert trap_series() == ['opsmon_trap_incidents_active{asset="fw1",kind="security"} 1.0']
