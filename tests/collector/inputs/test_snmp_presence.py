"""Office PCs without an agent, seen in the switches' forwarding and ARP tables (issue 21, item 5).

Two recorded switches served by snmpsim: sw1 (Q-BRIDGE-MIB and IP-MIB ipNetToPhysicalTable, behind a UDP
relay that counts requests and can go silent) and sw2 (an older one: BRIDGE-MIB dot1dTpFdbTable and
ipNetToMediaTable only); sw3 is a community snmpsim does not serve, so it times out. Every MAC is a
locally administered 02:00:00:00:xx:yy; the tables' facts are from the MIBs (RFC 4188 BRIDGE-MIB, RFC 4363
Q-BRIDGE-MIB, RFC 4293 IP-MIB): FDB status learned(3)/self(4), ARP type dynamic(3)/static(4).
"""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsmon.collector.config.checks import PresenceSpec, canonical_mac
from opsmon.collector.config.inventory import AssetSpec
from opsmon.collector.config.schema import SnmpConfig
from opsmon.collector.core.maintenance import MaintenanceBook
from opsmon.collector.core.states import DOWN, UNKNOWN, UP, Observation
from opsmon.collector.core.workdays import WorkCalendar
from opsmon.collector.inputs.checks import CheckContext
from opsmon.collector.inputs.checks.pinger import Pinger
from opsmon.collector.inputs.checks.presence import PresenceCheck
from opsmon.collector.inputs.snmp.hub import SnmpHub
from opsmon.collector.inputs.snmp.presence import PresenceHub, Sighting, Walk, date_ageless
from opsmon.collector.sla.availability import AssetTime, asset_figures
from opsmon.collector.sla.service_hours import Inside, ServiceHours
from opsmon.collector.store.types import to_ms
from opsmon.collector.timeline.engine import CheckConf, Timeline
from tests.conftest import MemorySink, utc
from tests.peers.snmp import Recording, Snmpsim, UdpRelay, start_snmpsim, stop_snmpsim

PC_A, PC_B, PC_C = "02:00:00:00:0a:01", "02:00:00:00:0b:01", "02:00:00:00:0c:01"
PC_D, PC_E, PC_F, PC_G = "02:00:00:00:0d:01", "02:00:00:00:0e:01", "02:00:00:00:0f:01", "02:00:00:00:10:01"
SELF, ROUTER, NOBODY = "02:00:00:00:5e:01", "02:00:00:00:ff:01", "02:00:00:00:99:01"
QB, BR = "1.3.6.1.2.1.17.7.1.2.2.1", "1.3.6.1.2.1.17.4.3.1"
PHYS, MEDIA = "1.3.6.1.2.1.4.35.1", "1.3.6.1.2.1.4.22.1"


def dec(mac: str) -> str:
    return ".".join(str(int(b, 16)) for b in mac.split(":"))


def hexmac(mac: str) -> str:
    return mac.replace(":", "")


def sw1(moved: bool = False) -> Recording:
    """sysUpTime fixed at 100000 ticks (1,000 s), so ARP ages are exact. Bridge port p is ifIndex 100+p.

    Q-BRIDGE (FDB id . MAC): PC_A VLAN 10 port 5 (port 7 once `moved`); PC_C VLAN 20 port 3 (gone once
    `moved`); the router in VLANs 10 and 20 on port 8; the switch's own MAC, status self(4), in VLAN 1.
    ARP (ifIndex 110 . ipv4(1) . 4 . address): PC_B 10.0.10.12 updated at 80000 -> age (100000-80000)/100 =
    200 s <= 300 s: counts; PC_D 10.0.10.14 updated at 50000 -> age 500 s > 300 s: stale; PC_E 10.0.10.15
    static(4): never counts.
    """
    r = Recording().system("sw1").put("1.3.6.1.2.1.1.3.0", 67, 100000)
    for p in range(1, 9):
        r.put(f"1.3.6.1.2.1.17.1.4.1.2.{p}", 2, 100 + p)
    fdb = [(10, PC_A, 7 if moved else 5, 3), (10, ROUTER, 8, 3), (20, ROUTER, 8, 3), (1, SELF, 0, 4)]
    if not moved:
        fdb.append((20, PC_C, 3, 3))
    for vlan, mac, port, status in fdb:
        r.put(f"{QB}.2.{vlan}.{dec(mac)}", 2, port).put(f"{QB}.3.{vlan}.{dec(mac)}", 2, status)
    for ip, mac, updated, kind in (("10.0.10.12", PC_B, 80000, 3), ("10.0.10.14", PC_D, 50000, 3),
                                   ("10.0.10.15", PC_E, 90000, 4)):
        idx = f"110.1.4.{ip}"
        r.put(f"{PHYS}.4.{idx}", "4x", hexmac(mac)).put(f"{PHYS}.5.{idx}", 67, updated).put(f"{PHYS}.6.{idx}", 2, kind)
    return r


def sw2() -> Recording:
    """An older switch: BRIDGE-MIB only (PC_F learned on bridge port 2) and ipNetToMediaTable (PC_G 10.0.20.7,
    dynamic, on ifIndex 2)."""
    r = Recording().system("sw2")
    r.put(f"{BR}.1.{dec(PC_F)}", "4x", hexmac(PC_F)).put(f"{BR}.2.{dec(PC_F)}", 2, 2).put(f"{BR}.3.{dec(PC_F)}", 2, 3)
    r.put(f"{MEDIA}.1.2.10.0.20.7", 2, 2).put(f"{MEDIA}.2.2.10.0.20.7", "4x", hexmac(PC_G))
    r.put(f"{MEDIA}.3.2.10.0.20.7", 64, "10.0.20.7").put(f"{MEDIA}.4.2.10.0.20.7", 2, 3)
    return r


@pytest.fixture(scope="module")
def sim() -> Iterator[Snmpsim]:
    s = start_snmpsim({"sw1": sw1(), "sw2": sw2()})
    yield s
    stop_snmpsim(s)


def record(sim: Snmpsim, name: str, rec: Recording) -> None:
    """Change a recording under the running snmpsim: it re-indexes a data file whose mtime moved on and is newer
    than its index (so the mtime is set ahead of the clock)."""
    path = sim.root / "data" / f"{name}.snmprec"
    stamp = max(os.stat(path).st_mtime, time.time()) + 100
    path.write_text(rec.text())
    os.utime(path, (stamp, stamp))


class Rig:
    """The SNMP hub, the presence hub and a check context, all on one fake clock."""

    def __init__(self, sim: Snmpsim, tmp_path: Path, start: datetime) -> None:
        self.now = start
        self.relay = UdpRelay(("127.0.0.1", sim.port))
        cfg = SnmpConfig.model_validate({"credentials": {"sw1": {"version": "2c", "community": "sw1"},
                                                         "sw2": {"version": "2c", "community": "sw2"},
                                                         "sw3": {"version": "2c", "community": "sw3-silent"}},
                                         "timeout": 0.5, "retries": 0})
        self.snmp = SnmpHub(cfg, tmp_path, "collector.yaml", lambda _m: None)
        self.hub = PresenceHub(self.snmp, clock=lambda: self.now.timestamp())
        self.ctx = CheckContext(clock=lambda: self.now, pinger=Pinger(), snmp=self.snmp, presence=self.hub)
        self.hub.set_assets({a.id: a for a in (
            switch("sw1", self.relay.port), switch("sw2", sim.port), switch("sw3", sim.port))})

    def check(self, asset: str, mac: str, switches: tuple[str, ...], address: str | None = None,
              **more: Any) -> PresenceCheck:
        spec = PresenceSpec(type="presence", mac=mac, switches=switches, icmp=address is not None, **more)
        return PresenceCheck(asset, address, spec, 10.0, self.ctx)

    def run(self, runner: asyncio.Runner, checks: list[PresenceCheck]) -> dict[str, tuple[str, str]]:
        done = runner.run(together(checks))
        return {o.asset_id: (o.status, o.reason) for o in done}

    def close(self) -> None:
        self.relay.close()
        self.snmp.close()
        self.ctx.pinger.close()


async def together(checks: list[PresenceCheck]) -> list[Observation]:
    return list(await asyncio.gather(*(c.run() for c in checks)))


def switch(name: str, port: int) -> AssetSpec:
    return AssetSpec.model_validate({"id": name, "category": "network", "address": "127.0.0.1", "checks": [
        {"type": "snmp", "credential": name, "port": port, "profiles": ["auto"]}]})


@pytest.fixture
def rig(sim: Snmpsim, tmp_path: Path) -> Iterator[Rig]:
    r = Rig(sim, tmp_path, utc(2026, 12, 3, 0, 0, 0))
    yield r
    r.close()
    record(sim, "sw1", sw1())


def test_mac_notations() -> None:
    """Cisco dotted, dashes, bare and upper case all become the one colon form; a short one is refused."""
    assert {canonical_mac(m) for m in ("0200.0000.0A01", "02-00-00-00-0a-01", "020000000a01")} == {PC_A}
    with pytest.raises(ValueError, match="not a MAC"):
        canonical_mac("02:00:00:0a:01")


def test_tables_shared_walks_and_the_rules(rig: Rig, sim: Snmpsim) -> None:
    """Twelve PCs, one cycle: each rule of the decision table, and one walk per switch.

    - pc-a: Q-BRIDGE, VLAN 10, bridge port 5 -> up. pc-a2 lists the silent sw3 first: still up (either seen).
    - pc-b: ARP age 200 s <= fresh 300 s -> up; pc-b-noarp (arp: false) -> down.
    - pc-d: ARP age 500 s > 300 s -> down; pc-e: static ARP -> down; pc-x: the switch's own MAC (self) -> down.
    - pc-f: sw2's BRIDGE-MIB (no Q-BRIDGE rows, the fallback) -> up; pc-g: sw2's ipNetToMediaTable only, no
      age, there at the first walk -> unknown (it may be hours old), never up.
    - pc-h: in no table of sw1, sw3 silent -> unknown, never down.
    - pc-ping: in no table, but 127.0.0.1 answers ICMP -> up.
    - pc-lost: lists sw9, not a polled asset -> unknown, no packet sent.
    Walks: sw1, sw2, sw3, sw9 = 4, not 12 (each PC would otherwise walk its switches: 13 walks).
    """
    checks = [rig.check("pc-a", "0200.0000.0A01", ("sw1",)), rig.check("pc-a2", PC_A, ("sw3", "sw1")),
              rig.check("pc-b", PC_B, ("sw1",)), rig.check("pc-b-noarp", PC_B, ("sw1",), arp=False),
              rig.check("pc-d", PC_D, ("sw1",)), rig.check("pc-e", PC_E, ("sw1",)),
              rig.check("pc-x", SELF, ("sw1",)), rig.check("pc-f", PC_F, ("sw2",)), rig.check("pc-g", PC_G, ("sw2",)),
              rig.check("pc-h", NOBODY, ("sw1", "sw3")), rig.check("pc-ping", NOBODY, ("sw1",), address="127.0.0.1"),
              rig.check("pc-lost", PC_A, ("sw9",))]
    with asyncio.Runner() as runner:
        got = rig.run(runner, checks)
        silent = "sw3: no SNMP answer after 1 tries of 0.5s (device down, or wrong community)"
        assert got == {
            "pc-a": (UP, "seen: sw1 port 5 VLAN 10"),
            "pc-a2": (UP, "seen: sw1 port 5 VLAN 10"),
            "pc-b": (UP, "seen: sw1 ARP 10.0.10.12 on ifIndex 110"),
            "pc-b-noarp": (DOWN, f"{PC_B} not in the tables of sw1"),
            "pc-d": (DOWN, f"{PC_D} not in the tables of sw1"),
            "pc-e": (DOWN, f"{PC_E} not in the tables of sw1"),
            "pc-x": (DOWN, f"{SELF} not in the tables of sw1"),
            "pc-f": (UP, "seen: sw2 port 2"),
            "pc-g": (UNKNOWN, f"{PC_G} 仍在 ARP 表中，但表项时长未知 / {PC_G} still in ARP entries of unknown age "
                              "(no age from the agent): sw2 ARP 10.0.20.7 on ifIndex 2 (there since the first walk)"),
            "pc-h": (UNKNOWN, f"{silent}; {NOBODY} not in the tables of sw1"),
            "pc-ping": (UP, f"echo reply from 127.0.0.1; {NOBODY} not in the tables of sw1"),
            "pc-lost": (UNKNOWN, "sw9 is not an asset with an address and an snmp check"),
        }
        assert rig.hub.walked == 4
        one_walk = rig.relay.requests  # sw1's requests for the whole cycle of 12 PCs
        assert one_walk > 0
        rig.now += timedelta(seconds=53)  # < 0.9 x 60 s: the walks are shared, nothing is asked again
        rig.run(runner, checks)
        assert (rig.hub.walked, rig.relay.requests) == (4, one_walk)
        rig.now += timedelta(seconds=1)  # 54 s = 0.9 x 60 s: a new walk, as many requests for 1 PC as for 12
        assert rig.run(runner, checks[:1]) == {"pc-a": (UP, "seen: sw1 port 5 VLAN 10")}
        assert (rig.hub.walked, rig.relay.requests) == (5, 2 * one_walk)


def test_a_day_of_one_pc_moves_disappears_and_goes_unknown_with_its_availability(rig: Rig, sim: Snmpsim) -> None:
    """PC pc-c (PC_C behind sw1, no ICMP), Thursday 2026-12-03 (a working day), service hours 08:30-18:00
    Asia/Shanghai = 00:30-10:00 UTC; checks every 60 s, down after 3 results, up after 1 (times below UTC).

    - 23:00 (07:00 local), 23:01, 23:02 on the 2nd: sw1's tables without PC_C (and PC_A moved to port 7)
      -> down from 23:00 (07:00 local, outside service hours: not counted).
    - 00:20 (08:20 local): PC_C in VLAN 20 port 3 -> up from 00:20.
    - 04:00, 04:01, 04:02: sw1 silent (the relay drops its answers) -> unknown from 04:00, never down.
    - 04:30: sw1 answers, PC_C there -> up from 04:30.
    - 09:00, 09:01, 09:02: PC_C gone (switched off at 17:00 local) -> down from 09:00; the day ends at 10:30.
    Inside 00:30-10:00 (570 min): up 00:30-04:00 = 210 + 04:30-09:00 = 270 -> 480 min; unknown 30 min (out of
    both sides); down 09:00-10:00 = 60 min. Availability = 480 / (480 + 60) = 88.89 %. Without service hours
    the whole day would count: up 00:20-04:00 = 220 + 270 = 490 min, down 23:00-00:20 = 80 + 09:00-10:30 =
    90 = 170 min: 490 / 660 = 74.24 %.
    """
    sink = MemorySink()
    tl = Timeline(sink, MaintenanceBook([], "Asia/Shanghai"))
    start = utc(2026, 12, 2, 22, 59)
    tl.upsert_asset("pc-c", None, None, (), [CheckConf("presence", 60, 3, 1)], start)
    pc = rig.check("pc-c", PC_C, ("sw1",))
    walking = rig.check("pc-a", PC_A, ("sw1",))

    def step(runner: asyncio.Runner, hh: int, mm: int, day: int = 3) -> dict[str, tuple[str, str]]:
        rig.now = utc(2026, 12, day, hh, mm)
        done = runner.run(together([pc, walking]))  # one walk of sw1 for both
        tl.observe(done[0])
        return {o.asset_id: (o.status, o.reason) for o in done}

    with asyncio.Runner() as runner:
        record(sim, "sw1", sw1(moved=True))
        for mm in (0, 1, 2):
            got = step(runner, 23, mm, day=2)
        assert got == {"pc-c": (DOWN, f"{PC_C} not in the tables of sw1"), "pc-a": (UP, "seen: sw1 port 7 VLAN 10")}
        assert rig.hub.where(PC_A)[0].port == "7"  # it moved ports: only the new one is seen
        record(sim, "sw1", sw1())
        assert step(runner, 0, 20)["pc-c"] == (UP, "seen: sw1 port 3 VLAN 20")
        rig.relay.answer_limit = rig.relay.answered
        for mm in (0, 1, 2):
            got = step(runner, 4, mm)
        assert got["pc-c"] == (UNKNOWN, "sw1: no SNMP answer after 1 tries of 0.5s (device down, or wrong community)")
        rig.relay.answer_limit = None
        step(runner, 4, 30)
        record(sim, "sw1", sw1(moved=True))
        for mm in (0, 1, 2):
            step(runner, 9, mm)
    end = utc(2026, 12, 3, 10, 30)
    states = [(s, a, b or end) for s, a, b in sink.states("pc-c")]
    assert states == [(UNKNOWN, start, utc(2026, 12, 2, 23, 0)),
                      (DOWN, utc(2026, 12, 2, 23, 0), utc(2026, 12, 3, 0, 20)),
                      (UP, utc(2026, 12, 3, 0, 20), utc(2026, 12, 3, 4, 0)),
                      (UNKNOWN, utc(2026, 12, 3, 4, 0), utc(2026, 12, 3, 4, 30)),
                      (UP, utc(2026, 12, 3, 4, 30), utc(2026, 12, 3, 9, 0)), (DOWN, utc(2026, 12, 3, 9, 0), end)]
    day = (utc(2026, 12, 2, 16), utc(2026, 12, 3, 16))  # the local day 2026-12-03
    inside = Inside(ServiceHours(hours=("08:30-18:00",)).windows(WorkCalendar(), "Asia/Shanghai", *day))
    by_state: dict[str, float] = {}
    for s, a, b in states[1:]:  # from the first result on (the asset's life)
        by_state[s] = by_state.get(s, 0.0) + inside.within(to_ms(a), to_ms(b)) / 1000
    assert by_state == {DOWN: 3600.0, UP: 480 * 60.0, UNKNOWN: 1800.0}
    figures = asset_figures(AssetTime("pc-c", inside.total_ms / 1000, by_state))
    assert figures.value is not None and round(figures.value * 100, 2) == 88.89
    whole = {s: sum((b - a).total_seconds() for t, a, b in states[1:] if t == s) for s in (UP, DOWN)}
    assert round(whole[UP] / (whole[UP] + whole[DOWN]) * 100, 2) == 74.24


def test_the_service_hands_the_switches_to_the_presence_hub(tmp_path: Path) -> None:
    """In-process, no peer: after an inventory load the hub knows the polled switches (sw1, with its address and
    snmp check; not the PC, which has no snmp check) and the PC's presence check is scheduled at its 60 s."""
    from opsmon.collector.config import load_config
    from opsmon.collector.config.inventory import upsert_assets
    from opsmon.collector.service.service import Service
    from tests.conftest import write_config

    config = load_config(str(write_config(tmp_path, f"""
        database: {{path: {tmp_path / 'c.db'}}}
        listen: {{host: 127.0.0.1, port: 0}}
        snmp: {{credentials: {{sw1: {{version: '2c', community: sw1}}}}}}
    """)))
    service = Service(config)
    try:
        pc = AssetSpec.model_validate({"id": "pc-a", "category": "computer", "checks": [
            {"type": "presence", "mac": PC_A, "switches": ["sw1"]}]})
        upsert_assets(service.store, [switch("sw1", 161), pc], "cli:test")
        assert service.reload_inventory(force=True)
        assert list(service.ctx.presence.switches) == ["sw1"]
        assert service.ctx.presence.switches["sw1"][0] == "127.0.0.1"
        check, interval, _fp = service.scheduler._jobs["pc-a/presence"]
        assert (check.type_name, interval) == ("presence", 60.0)
    finally:
        service.ctx.pinger.close()
        service.snmp.close()
        service.store.close()


def test_an_arp_entry_without_an_age_is_dated_by_the_walks_or_unknown() -> None:
    """A hand-built router table (ipNetToMediaTable: no ages), walked at t = 0, 60, 120 and 400 s; fresh 300 s.

    - PC_G 10.0.20.7: there at the first walk -> unknown age at every walk (it may be 4 h old) -> the check's
      result is unknown, never up; with arp: false it is not evidence at all -> down.
    - PC_B 10.0.20.8: absent at t = 0, there at 60 -> made between the walks: age <= 60 s; at 120: <= 60 + 60 =
      120 s <= 300 -> up; at 400: <= 120 + 280 = 400 s > 300, so it may be 400 s old or refreshed a second ago:
      its age is unknown, yet the entry is still in the table -> unknown, never down (down would say the MAC is
      in no table, which the walk at 400 contradicts).
    - PC_D 10.0.20.9: the agent's own age 500 s (ipNetToPhysicalLastUpdated) is kept as it is, not re-dated.
    - After a failed walk nothing can be said of an entry's appearance: PC_C there -> unknown age.
    """
    def arp(ip: str, age: float | None = None) -> Sighting:
        return Sighting("r1", "arp", "ifIndex 2", ip=ip, age=age, agent_age=age is not None)

    def walk(at: float, *macs: tuple[str, str]) -> Walk:
        w = Walk("r1", at)
        for mac, ip in macs:
            w.seen[mac] = [arp(ip)]
        return w

    w0 = walk(0, (PC_G, "10.0.20.7"))
    date_ageless(None, w0)  # the first walk: nothing to compare with
    w60 = walk(60, (PC_G, "10.0.20.7"), (PC_B, "10.0.20.8"))
    w60.seen[PC_D] = [arp("10.0.20.9", 500.0)]
    date_ageless(w0, w60)
    assert [w60.seen[m][0].age for m in (PC_G, PC_B, PC_D)] == [None, 60.0, 500.0]
    w120 = walk(120, (PC_G, "10.0.20.7"), (PC_B, "10.0.20.8"))
    date_ageless(w60, w120)
    assert [w120.seen[m][0].age for m in (PC_G, PC_B)] == [None, 120.0]
    w400 = walk(400, (PC_G, "10.0.20.7"), (PC_B, "10.0.20.8"))
    date_ageless(w120, w400)
    assert w400.seen[PC_B][0].age == 400.0
    after_failure = walk(460, (PC_C, "10.0.20.10"))
    date_ageless(Walk("r1", 400, error="r1: no SNMP answer"), after_failure)
    assert after_failure.seen[PC_C][0].age is None

    now = {"t": 120.0}
    hub = PresenceHub(None, clock=lambda: now["t"])  # no SNMP: the walks below are the latest, so none is made
    ctx = CheckContext(clock=lambda: utc(2026, 12, 3, 0, 0, 0), presence=hub)

    def result(mac: str, **more: Any) -> tuple[str, str]:
        spec = PresenceSpec(type="presence", mac=mac, switches=("r1",), icmp=False, fresh=300, **more)
        o = asyncio.run(PresenceCheck("pc", None, spec, 10.0, ctx).run())
        return o.status, o.reason

    hub.walks["r1"] = w120
    assert result(PC_B) == (UP, "seen: r1 ARP 10.0.20.8 on ifIndex 2")
    assert result(PC_G) == (UNKNOWN, f"{PC_G} 仍在 ARP 表中，但表项时长未知 / {PC_G} still in ARP entries of "
                                     "unknown age (no age from the agent): r1 ARP 10.0.20.7 on ifIndex 2 (there "
                                     "since the first walk)")
    assert result(PC_G, arp=False) == (DOWN, f"{PC_G} not in the tables of r1")
    now["t"], hub.walks["r1"] = 400.0, w400
    # PC_B at t = 400: its entry is in w400 with the walks' bound 400 s (120 at t = 120, plus 400 - 120 = 280 s
    # between the walks), which is beyond fresh 300: not evidence of up, but the entry is there -> unknown.
    assert result(PC_B) == (UNKNOWN, f"{PC_B} 仍在 ARP 表中，但表项时长未知 / {PC_B} still in ARP entries of "
                                     "unknown age (no age from the agent): r1 ARP 10.0.20.8 on ifIndex 2 (made at "
                                     "most 400s ago, beyond fresh 300s)")
    assert result(PC_B, arp=False) == (DOWN, f"{PC_B} not in the tables of r1")
    assert hub.walked == 0
