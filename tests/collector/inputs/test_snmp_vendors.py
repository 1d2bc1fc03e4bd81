"""The vendor packs (Huawei VRP, USG and UPS, H3C Comware, Ruijie, ZTE, Hillstone) against recordings built here
from each vendor's published MIB (the object, its OID and its values are cited beside every line; no
device recording of another project is used), and the USG's HA state from the standard VRRP-MIB (RFC 2787).
One snmpsim serves them all under one community each.

Each recording holds normal parts and failed parts, and parts the MIB reports as absent: a failed fan or
power supply must come out as one hardware fault (one component, so one incident with its 1-hour clock),
an absent or normal one as none. A sysObjectID that only starts with a vendor's digits (20110 is not 2011)
picks no vendor pack. A firewall of a vendor with no published MIB (Sangfor, Topsec, Venustech, DPtech,
NSFOCUS) is named by its enterprise number and read through the standard MIBs it answers, nothing guessed."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from opsmon.collector.config.checks import SnmpSpec
from opsmon.collector.config.schema import IncidentsConfig, SnmpConfig
from opsmon.collector.config.snmp_profiles import Table, load_profiles
from opsmon.collector.config.trap_maps import load_trap_maps
from opsmon.collector.core.messages import HardwareSignal, Message
from opsmon.collector.core.states import UP
from opsmon.collector.incidents.engine import AssetInfo, IncidentEngine
from opsmon.collector.incidents.read import list_incidents
from opsmon.collector.inputs.snmp.exposition import SnmpExposition
from opsmon.collector.inputs.snmp.hub import SnmpHub
from opsmon.collector.inputs.snmp.poller import Poll, evaluate_faults
from opsmon.collector.inputs.snmp.traps import TrapReceiver
from opsmon.collector.store import Store
from tests.conftest import utc
from tests.peers.snmp import Recording, Snmpsim, start_snmpsim, stop_snmpsim

T0 = utc(2026, 7, 1, 2)
ENT_NAME = "1.3.6.1.2.1.47.1.1.1.1.7"  # ENTITY-MIB entPhysicalName, indexed by entPhysicalIndex


def huawei_switch() -> Recording:
    r = Recording().system("hw-s5735", "1.3.6.1.4.1.2011.2.23.467")  # under Huawei's enterprise 2011
    st = "1.3.6.1.4.1.2011.5.25.31.1.1.1.1"  # HUAWEI-ENTITY-EXTENT-MIB hwEntityStateEntry, index entPhysicalIndex
    for idx, name, cpu, mem, temp in ((67108867, "MPU Board 0", 23, 61, 41), (67108873, "LPU Board 1", 7, 35, 38)):
        r.put(f"{ENT_NAME}.{idx}", 4, name)
        r.put(f"{st}.5.{idx}", 2, cpu).put(f"{st}.7.{idx}", 2, mem).put(f"{st}.11.{idx}", 2, temp)  # Cpu/MemUsage, °C
    fan = "1.3.6.1.4.1.2011.5.25.31.1.1.10.1"  # hwFanStatusEntry, index hwEntityFanSlot.hwEntityFanSn
    # (slot.sn, hwEntityFanSpeed %, hwEntityFanPresent 1 present/2 absent, hwEntityFanState 1 normal/2 abnormal);
    # the index columns hwEntityFanSlot .1 and hwEntityFanSn .2 are read-only, so the agent answers them too
    for sn, speed, present, state in (("0.0", 45, 1, 1), ("0.1", 0, 1, 2), ("0.2", 0, 2, 2)):
        slot, number = sn.split(".")
        r.put(f"{fan}.1.{sn}", 2, int(slot)).put(f"{fan}.2.{sn}", 2, int(number))
        r.put(f"{fan}.5.{sn}", 2, speed).put(f"{fan}.6.{sn}", 2, present).put(f"{fan}.7.{sn}", 2, state)
    pwr = "1.3.6.1.4.1.2011.5.25.31.1.1.18.1"  # hwPwrStatusEntry, index hwEntityPwrSlot.hwEntityPwrSn
    # (slot.sn, hwEntityPwrPresent 1 present, hwEntityPwrState 1 supply/2 notSupply); hwEntityPwrSlot .1, Sn .2
    for sn, present, state in (("0.0", 1, 1), ("0.1", 1, 2)):
        slot, number = sn.split(".")
        r.put(f"{pwr}.1.{sn}", 2, int(slot)).put(f"{pwr}.2.{sn}", 2, int(number))
        r.put(f"{pwr}.5.{sn}", 2, present).put(f"{pwr}.6.{sn}", 2, state)
    return r


def huawei_usg() -> Recording:
    r = Recording().system("hw-usg6555", "1.3.6.1.4.1.2011.2.239.30")
    flow = "1.3.6.1.4.1.2011.6.122.15.1.2.1"  # HUAWEI-SECURITY-STAT-MIB hwSecStatMonitorGlobalSessFlow
    r.put(f"{flow}.1.0", 70, 9_876_543)  # hwSecStatMonTotalBootConnNum, Counter64
    r.put(f"{flow}.4.0", 70, 12_345)  # hwSecStatMonTotalSess, Counter64 in the MIB: sessions now
    # Hot standby (HRP) over VRRP: VRRP-MIB (RFC 2787) vrrpOperEntry 1.3.6.1.2.1.68.1.3.1, index ifIndex.vrrpOperVrId:
    # vrrpOperState .3 (1 initialize, 2 backup, 3 master), vrrpOperAdminState .4 (1 up), vrrpOperPriority .5. The
    # active firewall of the pair: both groups (inside on ifIndex 5, outside on ifIndex 6) master, as VGMP keeps them.
    for idx, priority in (("5.1", 120), ("6.2", 120)):
        r.put(f"1.3.6.1.2.1.68.1.3.1.3.{idx}", 2, 3).put(f"1.3.6.1.2.1.68.1.3.1.4.{idx}", 2, 1)
        r.put(f"1.3.6.1.2.1.68.1.3.1.5.{idx}", 2, priority)
    return r


def h3c_switch() -> Recording:
    r = Recording().system("h3c-s5560", "1.3.6.1.4.1.25506.1.1017")  # under H3C's enterprise 25506
    ext = "1.3.6.1.4.1.25506.2.6.1.1.1.1"  # HH3C-ENTITY-EXT-MIB hh3cEntityExtStateEntry, index entPhysicalIndex
    # (index, name, CpuUsage .6, MemUsage .8, Temperature .12, ErrorStatus .19: 2 normal, 4 entityAbsent,
    #  41 fanError, 51 psuError, 91 hardwareFaulty)
    for idx, name, cpu, mem, temp, err in ((2, "Board 1", 12, 40, 38, 2), (3, "Board 2", 0, 0, 0, 91),
                                           (40, "Fan 1", 0, 0, 0, 41), (41, "Fan 2", 0, 0, 0, 2),
                                           (50, "PSU 1", 0, 0, 0, 51), (51, "PSU 2", 0, 0, 0, 4)):
        r.put(f"{ENT_NAME}.{idx}", 4, name)
        r.put(f"{ext}.6.{idx}", 2, cpu).put(f"{ext}.8.{idx}", 2, mem).put(f"{ext}.12.{idx}", 2, temp)
        r.put(f"{ext}.19.{idx}", 2, err)
    return r


def ruijie_switch() -> Recording:
    r = Recording().system("rg-s5750", "1.3.6.1.4.1.4881.1.1.10.1.200")  # under Ruijie's enterprise 4881
    mgmt = "1.3.6.1.4.1.4881.1.1.10.2"  # RUIJIE-SMI ruijieMgmt
    r.put(f"{mgmt}.36.1.1.2.0", 2, 17)  # RUIJIE-PROCESS-MIB ruijieCPUUtilization1Min (ruijieMgmt 36 .1.1.2)
    r.put(f"{mgmt}.1.1.16.0", 2, 45)  # RUIJIE-SYSTEM-MIB ruijieSystemTemperature (ruijieSystemMIBObjects 16)
    # RUIJIE-MEMORY-MIB ruijieMemoryPoolUtilizationEntry (ruijieMgmt 35 .1.1.1): Name .2, CurrentUtilization .3
    r.put(f"{mgmt}.35.1.1.1.2.1", 4, "dram").put(f"{mgmt}.35.1.1.1.3.1", 2, 55)
    # ruijieSystemElectricalSourceIsNormalEntry (objects 18.1) and ruijieSystemFanIsNormalEntry (objects 21.1):
    # IsNormal .2 (1 noexist, 2 existnopower, 4 normal, 5 powerbutabnormal), Name .3
    for idx, name, state in ((1, "Power1", 4), (2, "Power2", 2)):
        r.put(f"{mgmt}.1.1.18.1.2.{idx}", 2, state).put(f"{mgmt}.1.1.18.1.3.{idx}", 4, name)
    for idx, name, state in ((1, "Fan1", 4), (2, "Fan2", 1), (3, "Fan3", 5)):
        r.put(f"{mgmt}.1.1.21.1.2.{idx}", 2, state).put(f"{mgmt}.1.1.21.1.3.{idx}", 4, name)
    return r


def zte_switch() -> Recording:
    r = Recording().system("zte-5960", "1.3.6.1.4.1.3902.3.100.1")  # under ZTE's enterprise 3902
    unit = "1.3.6.1.4.1.3902.3.3.1.1"  # ZXR10-MIB zxr10SystemUnitEntry (zxr10-statistics 1.1), index UnitIndex
    # zxr10SystemMemSize .3 and zxr10SystemMemUsed .4 (bytes, "described by Octets"), zxr10SystemCpuUtility5m .12
    r.put(f"{unit}.3.1", 2, 536_870_912).put(f"{unit}.4.1", 2, 178_956_970).put(f"{unit}.12.1", 2, 9)
    # zxr10slotEntry (zxr10rack 3.1), index zxr10RackNo.zxr10ShelfNo.zxr10PosInRack: AvailStatus .6 (1 in, 0 out),
    # OperStatus .7 (1 up, 0 down = error), Temperature .10
    slot = "1.3.6.1.4.1.3902.3.2.3.1"
    for idx, avail, oper, temp in (("1.1.1", 1, 1, 44), ("1.1.2", 1, 0, 51), ("1.1.3", 0, 0, 0)):
        r.put(f"{slot}.6.{idx}", 2, avail).put(f"{slot}.7.{idx}", 2, oper).put(f"{slot}.10.{idx}", 2, temp)
    return r


def hillstone_fw() -> Recording:
    r = Recording().system("hs-sg6000", "1.3.6.1.4.1.28557.1.83")  # under Hillstone's enterprise 28557
    sysm = "1.3.6.1.4.1.28557.2.2.1"  # HILLSTONE-SYSTEM-MIB hillstoneSysMibObjects
    r.put(f"{sysm}.3.0", 2, 31).put(f"{sysm}.4.0", 66, 4_096_000).put(f"{sysm}.5.0", 66, 1_024_000)  # CPU, memory
    r.put(f"{sysm}.7.0", 66, 5321).put(f"{sysm}.8.0", 2, 4)  # sysCurSession, sysHAStatus master(4)
    # HILLSTONE-FAN-MIB HillstoneFanEntry (hillstoneFan 1.2.1): Descr .2, State .5 (0 fine, 3 fail)
    for idx, name, state in ((1, "FAN1", 0), (2, "FAN2", 3)):
        r.put(f"1.3.6.1.4.1.28557.2.26.1.2.1.2.{idx}", 4, name).put(f"1.3.6.1.4.1.28557.2.26.1.2.1.5.{idx}", 2, state)
    # HILLSTONE-POWER-MIB HillstonePowerEntry (hillstonePower 1.2.1): Descr .2, State .3 (0 fine, 1 absent)
    for idx, name, state in ((1, "PWR1", 0), (2, "PWR2", 1)):
        r.put(f"1.3.6.1.4.1.28557.2.27.1.2.1.2.{idx}", 4, name).put(f"1.3.6.1.4.1.28557.2.27.1.2.1.3.{idx}", 2, state)
    # HILLSTONE-TEMPERATURE-MIB HillstoneTemperatureEntry (hillstoneTemperature 1.2.1): Descr .2, Value .3
    r.put("1.3.6.1.4.1.28557.2.28.1.2.1.2.1", 4, "CPU").put("1.3.6.1.4.1.28557.2.28.1.2.1.3.1", 2, 52)
    return r


def huawei_ups() -> Recording:
    """A Huawei UPS2000 on battery: HUAWEI-UPS-MIB V1.01 (hwUpsMIB 1.3.6.1.4.1.2011.6.174), both tables indexed
    by hwUpsDeviceId (the MIB's DESCRIPTION of hwUpsDeviceId names them). The sysObjectID is any OID under
    Huawei's arc (the MIB does not publish the UPS card's own), so the `huawei` pack applies too and finds
    none of its tables."""
    r = Recording().system("hw-ups2000", "1.3.6.1.4.1.2011.6.174")
    oper = "1.3.6.1.4.1.2011.6.174.1.2.101.1"  # hwUpsDeviceOperInfoEntry
    # rack 1: hwUpsDevicePowerSupplyMethod battery(4), hwUpsDeviceBatteryState discharge(6), 41.5 °C as 415
    r.put(f"{oper}.1.1", 2, 4).put(f"{oper}.3.1", 2, 6).put(f"{oper}.4.1", 66, 415)
    batt = "1.3.6.1.4.1.2011.6.174.1.6.100.1"  # hwUpsBatteryEntry: CapacityLeft .3 (%), BackupTime .4 (s)
    r.put(f"{batt}.3.1", 66, 62).put(f"{batt}.4.1", 66, 1260)
    return r


def huawei_ups_both_mibs(on_battery: bool) -> Recording:
    """A Huawei UPS2000 whose card answers HUAWEI-UPS-MIB (as huawei_ups above) and RFC 1628 UPS-MIB (upsMIB
    1.3.6.1.2.1.33, upsObjects .1; the objects and their numbers as the RFC's MIB module defines them), on battery
    or, with `on_battery` False, back on mains. On battery, four objects say it: hwUpsDevicePowerSupplyMethod
    battery(4), upsOutputSource battery(5), and the alarm table's rows upsAlarmOnBattery and upsAlarmInputBad."""
    r = Recording().system("hw-ups2000-dual", "1.3.6.1.4.1.2011.6.174")
    oper = "1.3.6.1.4.1.2011.6.174.1.2.101.1"  # hwUpsDeviceOperInfoEntry, index hwUpsDeviceId (rack 1)
    # PowerSupplyMethod .1: battery(4) / normal(3); BatteryState .3: discharge(6) / floatCharge(4); 41.5 °C as 415
    r.put(f"{oper}.1.1", 2, 4 if on_battery else 3).put(f"{oper}.3.1", 2, 6 if on_battery else 4)
    r.put(f"{oper}.4.1", 66, 415)
    batt = "1.3.6.1.4.1.2011.6.174.1.6.100.1"  # hwUpsBatteryEntry: CapacityLeft .3 (%), BackupTime .4 (s)
    r.put(f"{batt}.3.1", 66, 62).put(f"{batt}.4.1", 66, 1260)
    ups = "1.3.6.1.2.1.33.1"  # UPS-MIB upsObjects
    r.put(f"{ups}.1.1.0", 4, "Huawei").put(f"{ups}.1.2.0", 4, "UPS2000-G-6KRTL")  # upsIdentManufacturer, Model
    # upsBattery .2: upsBatteryStatus .1 batteryNormal(2); upsSecondsOnBattery .2 (0 on mains);
    # upsEstimatedMinutesRemaining .3 (1260 s = 21 min); upsEstimatedChargeRemaining .4 (%), as HUAWEI-UPS-MIB's
    r.put(f"{ups}.2.1.0", 2, 2).put(f"{ups}.2.2.0", 2, 95 if on_battery else 0)
    r.put(f"{ups}.2.3.0", 2, 21).put(f"{ups}.2.4.0", 2, 62)
    r.put(f"{ups}.4.1.0", 2, 5 if on_battery else 3)  # upsOutput .4: upsOutputSource battery(5) / normal(3)
    # upsAlarm .6: upsAlarmsPresent .1 (Gauge32); upsAlarmEntry .2.1, index upsAlarmId: upsAlarmDescr .2 (one of
    # upsWellKnownAlarms .6.3: upsAlarmOnBattery .2, upsAlarmInputBad .6), upsAlarmTime .3 (TimeStamp)
    r.put(f"{ups}.6.1.0", 66, 2 if on_battery else 0)
    if on_battery:
        for alarm_id, well_known in ((1, 2), (2, 6)):
            r.put(f"{ups}.6.2.1.2.{alarm_id}", 6, f"{ups}.6.3.{well_known}").put(f"{ups}.6.2.1.3.{alarm_id}", 67, 900)
    return r


def no_mib_firewall(name: str, sys_object_id: str, host: bool) -> Recording:
    """A firewall of a vendor without a published MIB, under its IANA enterprise number. With `host`, its
    net-snmp agent answers HOST-RESOURCES-MIB (one CPU at 37 %, hrDeviceStatus running(2)) and UCD-SNMP-MIB
    (UCD-SNMP-MIB.txt of net-snmp: ssCpuIdle 1.3.6.1.4.1.2021.11.11.0 = 63 % idle, memTotalReal .4.5.0 =
    8 GiB = 8_388_608 kB, memAvailReal .4.6.0, memBuffer .4.14.0, memCached .4.15.0, all kB)."""
    r = Recording().system(name, sys_object_id)
    if host:
        r.put("1.3.6.1.4.1.2021.11.11.0", 2, 63).put("1.3.6.1.4.1.2021.4.5.0", 2, 8_388_608)
        r.put("1.3.6.1.4.1.2021.4.6.0", 2, 2_097_152).put("1.3.6.1.4.1.2021.4.14.0", 2, 131_072)
        r.put("1.3.6.1.4.1.2021.4.15.0", 2, 1_048_576)
        dev = "1.3.6.1.2.1.25.3.2.1"  # HOST-RESOURCES-MIB hrDeviceEntry: Type .2, Descr .3, Status .5
        r.put(f"{dev}.2.196608", 6, "1.3.6.1.2.1.25.3.1.3").put(f"{dev}.3.196608", 4, "CPU 0")
        r.put(f"{dev}.5.196608", 2, 2)
        r.put("1.3.6.1.2.1.25.3.3.1.2.196608", 2, 37)  # hrProcessorLoad
    return r


RECORDINGS = {"huawei": huawei_switch, "usg": huawei_usg, "h3c": h3c_switch, "ruijie": ruijie_switch,
              "zte": zte_switch, "hillstone": hillstone_fw, "hwups": huawei_ups,
              "ups2000-battery": lambda: huawei_ups_both_mibs(True),
              "ups2000-mains": lambda: huawei_ups_both_mibs(False),
              # sysObjectIDs under each vendor's IANA enterprise number (/usr/share/misc/enterprise-numbers)
              "sangfor": lambda: no_mib_firewall("sangfor-af", "1.3.6.1.4.1.35047.1.2", host=True),
              "topsec": lambda: no_mib_firewall("topsec-ngfw", "1.3.6.1.4.1.14331.1", host=False),
              "venustech": lambda: no_mib_firewall("venus-usg", "1.3.6.1.4.1.15227.1", host=False),
              "dptech": lambda: no_mib_firewall("dptech-fw", "1.3.6.1.4.1.31648.1", host=False),
              "nsfocus": lambda: no_mib_firewall("nsfocus-nf", "1.3.6.1.4.1.19849.1", host=False),
              # sysObjectID 1.3.6.1.4.1.20110...: starts with Huawei's digits, is not under Huawei's arc
              "lookalike": lambda: Recording().system("lookalike", "1.3.6.1.4.1.20110.5")}


@pytest.fixture(scope="module")
def sim() -> Iterator[Snmpsim]:
    s = start_snmpsim({name: make() for name, make in RECORDINGS.items()})
    yield s
    stop_snmpsim(s)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[SnmpHub, list[Message], asyncio.Runner]]:
    cfg = SnmpConfig.model_validate({"credentials": {name: {"version": "2c", "community": name}
                                                     for name in RECORDINGS}, "timeout": 2, "retries": 1})
    ops: list[Message] = []
    with asyncio.Runner() as runner:
        h = SnmpHub(cfg, tmp_path, "collector.yaml", ops.append)
        yield h, ops, runner
        h.close()


def poll(hub: tuple[SnmpHub, list[Message], asyncio.Runner], sim: Snmpsim, name: str, asset: str | None = None) -> Any:
    """The recording `name` polled as the asset `asset` (default the same name): two recordings polled as one
    asset are one device whose answers changed."""
    h, _ops, runner = hub
    spec = SnmpSpec(type="snmp", credential=name, port=sim.port)
    assert runner.run(asyncio.wait_for(h.poll(asset or name, "127.0.0.1", spec), 60)).status == UP
    return h.devices[asset or name]


def faults(ops: list[Message], asset: str) -> dict[str, str]:
    return {o.component: o.problem for o in ops if isinstance(o, HardwareSignal) and o.asset_id == asset}


def open_incidents(store: Store, ops: list[Message], asset: str, info: AssetInfo) -> list[dict[str, Any]]:
    """The incidents the engine opens at T0 from the asset's hardware signals (the 1-hour response clock)."""
    engine = IncidentEngine(store, lambda: T0, {asset: info}.get, IncidentsConfig(), lambda _kind: 3600.0)
    for o in ops:
        if isinstance(o, HardwareSignal) and o.asset_id == asset:
            engine.on_hardware(o.asset_id, o.component, T0, o.problem)
    engine.flush()
    return list_incidents(store)


def packs(state: Any) -> set[str]:
    return {p.name for p in state.profiles} - {"system", "interfaces"}


def test_huawei_vrp_boards_fans_power_and_one_incident_per_failed_part(sim: Snmpsim, hub, store: Store) -> None:
    state = poll(hub, sim, "huawei")
    _h, ops, _r = hub
    assert packs(state) == {"huawei"}  # not huawei-usg: no session statistics answer on a switch
    assert state.last.tables["huawei_entity"] == {
        "67108867": {"entPhysicalName": "MPU Board 0", "hwEntityCpuUsage": 23, "hwEntityMemUsage": 61,
                     "hwEntityTemperature": 41},
        "67108873": {"entPhysicalName": "LPU Board 1", "hwEntityCpuUsage": 7, "hwEntityMemUsage": 35,
                     "hwEntityTemperature": 38}}
    assert state.last.tables["huawei_fan"]["0.0"] == {"hwEntityFanSlot": 0, "hwEntityFanSn": 0,
                                                      "hwEntityFanPresent": 1, "hwEntityFanState": 1,
                                                      "hwEntityFanSpeed": 45}
    # fan 0.1 present and abnormal: a fault; fan 0.2 abnormal but absent: none; power 0.1 notSupply: a fault. Each
    # is the device's `fan` / `power supply` (device_index 0: the entity traps name them otherwise), the problem
    # saying which slot.number.
    assert faults(ops, "huawei") == {"fan": "fan 0.1 failed (hwEntityFanState abnormal)",
                                     "power supply": "power supply 0.1 not supplying (hwEntityPwrState notSupply)"}
    assert {c: zh for c, _en, zh in state.faults}["fan"] == "风扇 0.1 故障（hwEntityFanState 异常）"
    # First poll (static due): 5 system scalars + 2 boards x 4 columns + 3 fans x 5 + 2 supplies x 4 = 36.
    assert state.last.varbinds == 5 + 8 + 15 + 8
    state = poll(hub, sim, "huawei")
    # Second poll: sysUpTime only of the scalars, entPhysicalName and the fans' and supplies' slot and number
    # (static) not read: 1 + 2 x 3 + 3 x 3 + 2 x 2 = 20.
    assert state.last.varbinds == 1 + 6 + 9 + 4
    assert state.last.tables["huawei_entity"]["67108867"]["entPhysicalName"] == "MPU Board 0"  # carried over
    # /metrics: under the MIB's object names, labelled with the asset, the index and the board's name
    text = SnmpExposition(hub[0]).render().decode()
    assert ('hwEntityCpuUsage{asset="huawei",entPhysicalIndex="67108867",entPhysicalName="MPU Board 0"} 23\n'
            in text)
    assert 'hwEntityFanState{asset="huawei",hwFanIndex="0.1"} 2\n' in text

    # Through the incident engine: each failed part is one hardware incident (major: hardware is at least
    # major) with the hardware_fault_response_time deadline, 1 hour after it opened; the second poll's
    # signals for the same parts add nothing.
    incidents = open_incidents(store, ops, "huawei", AssetInfo("core switch", "network", None, "medium", None))
    assert sorted(i["cause"] for i in incidents) == [
        "fan: fan 0.1 failed (hwEntityFanState abnormal)",
        "power supply: power supply 0.1 not supplying (hwEntityPwrState notSupply)"]
    assert {(i["kind"], i["severity"], i["deadline"]) for i in incidents} == {
        ("hardware", "major", (T0 + timedelta(hours=1)).isoformat())}


def test_huawei_usg_sessions_and_ha_state(sim: Snmpsim, hub) -> None:
    """The USG's sessions (HUAWEI-SECURITY-STAT-MIB) and, its hot standby running over VRRP groups, its HA state
    from the standard VRRP-MIB (the `vrrp` profile, chosen because vrrpOperState answers): both groups master
    (3) with priority 120, admin up (1), exported per group. No HA fault: backup is a standby's normal state."""
    state = poll(hub, sim, "usg")
    _h, ops, _r = hub
    assert packs(state) == {"huawei", "huawei-usg", "vrrp"}
    assert state.last.scalars["hwSecStatMonTotalSess"] == 12_345
    assert state.last.tables["vrrp_oper"] == {
        "5.1": {"vrrpOperState": 3, "vrrpOperAdminState": 1, "vrrpOperPriority": 120},
        "6.2": {"vrrpOperState": 3, "vrrpOperAdminState": 1, "vrrpOperPriority": 120}}
    assert 'vrrpOperState{asset="usg",vrrpOperIndex="6.2"} 3\n' in SnmpExposition(hub[0]).render().decode()
    assert faults(ops, "usg") == {}


def test_h3c_comware_error_states_name_the_entity(sim: Snmpsim, hub) -> None:
    state = poll(hub, sim, "h3c")
    _h, ops, _r = hub
    assert packs(state) == {"h3c"}
    board = state.last.tables["h3c_entity"]["2"]
    assert board == {"entPhysicalName": "Board 1", "hh3cEntityExtCpuUsage": 12, "hh3cEntityExtMemUsage": 40,
                     "hh3cEntityExtTemperature": 38, "hh3cEntityExtErrorStatus": 2}
    # fanError(41), psuError(51), hardwareFaulty(91) are faults; normal(2) and entityAbsent(4) are not
    assert faults(ops, "h3c") == {
        "Fan 1": "fan failed (hh3cEntityExtErrorStatus fanError)",
        "PSU 1": "power supply failed (hh3cEntityExtErrorStatus psuError/rpsError)",
        "Board 2": "hardware fault (hh3cEntityExtErrorStatus 91)"}


def test_ruijie_cpu_memory_temperature_power_and_fans(sim: Snmpsim, hub) -> None:
    state = poll(hub, sim, "ruijie")
    _h, ops, _r = hub
    assert packs(state) == {"ruijie"}
    assert state.last.scalars["ruijieCPUUtilization1Min"] == 17 and state.last.scalars["ruijieSystemTemperature"] == 45
    assert state.last.tables["ruijie_memory"] == {"1": {"ruijieMemoryPoolName": "dram",
                                                        "ruijieMemoryPoolCurrentUtilization": 55}}
    # Power2 existnopower(2) and Fan3 powerbutabnormal(5) are faults; Fan2 noexist(1) is not
    assert faults(ops, "ruijie") == {
        "power supply 2": "power supply failed (Power2: ruijieSystemElectricalSourceIsNormal 2)",
        "fan 3": "fan failed (Fan3: ruijieSystemFanIsNormal 5)"}


def test_zte_cpu_memory_and_cards(sim: Snmpsim, hub) -> None:
    state = poll(hub, sim, "zte")
    assert packs(state) == {"zte"}
    assert state.last.tables["zte_unit"] == {"1": {"zxr10SystemCpuUtility5m": 9, "zxr10SystemMemSize": 536_870_912,
                                                   "zxr10SystemMemUsed": 178_956_970}}
    assert state.last.tables["zte_slot"]["1.1.1"]["zxr10SlotTemperature"] == 44
    # card 1.1.2 in its slot and down: a fault; slot 1.1.3 empty (AvailStatus out): none
    assert faults(hub[1], "zte") == {"card 1.1.2": "card in error (zxr10SlotOperStatus down)"}


def test_hillstone_sessions_ha_and_hardware(sim: Snmpsim, hub) -> None:
    state = poll(hub, sim, "hillstone")
    _h, ops, _r = hub
    assert packs(state) == {"hillstone"}
    assert {k: state.last.scalars[k] for k in ("sysCPU", "sysTotalMemory", "sysCurMemory", "sysCurSession",
                                               "sysHAStatus")} == {
        "sysCPU": 31, "sysTotalMemory": 4_096_000, "sysCurMemory": 1_024_000, "sysCurSession": 5321,
        "sysHAStatus": 4}
    assert state.last.tables["hillstone_temperature"] == {"1": {"hillstoneTemperatureDescr": "CPU",
                                                                "hillstoneTemperatureValue": 52}}
    # FAN2 fail(3) is a fault; PWR2 absent(1) is not
    assert faults(ops, "hillstone") == {"fan 2": "fan failed (FAN2: hillstoneFanState 3)"}


def test_huawei_ups_on_battery_is_one_hardware_fault_with_its_clock(sim: Snmpsim, hub, store: Store) -> None:
    """On battery (hwUpsDevicePowerSupplyMethod battery(4)) is one fault, "UPS power input" (the UPS's), opened
    as a major hardware incident with the 1-hour deadline: T0 02:00 UTC + 3600 s = 03:00 UTC."""
    state = poll(hub, sim, "hwups")
    _h, ops, _r = hub
    assert packs(state) == {"huawei", "huawei-ups"}  # not `ups`: this card answers no RFC 1628 battery group
    assert state.last.tables["huawei_ups_device"] == {"1": {
        "hwUpsDevicePowerSupplyMethod": 4, "hwUpsDeviceBatteryState": 6, "hwUpsDeviceTemperature": 415}}
    assert state.last.tables["huawei_ups_battery"] == {"1": {"hwUpsBatteryCapacityLeft": 62,
                                                             "hwUpsBatteryBackupTime": 1260}}
    assert faults(ops, "hwups") == {
        "UPS power input": "UPS on battery, mains input lost (hwUpsDevicePowerSupplyMethod 4)"}
    incidents = open_incidents(store, ops, "hwups", AssetInfo("UPS room 1", "power", None, "medium", None))
    assert [(i["kind"], i["severity"], i["deadline"]) for i in incidents] == [
        ("hardware", "major", (T0 + timedelta(hours=1)).isoformat())]
    # Mains back (normal(3)) and output off (noOutput(1)) as rows of the same table: only noOutput is a fault.
    huawei_ups = load_profiles()["huawei-ups"]
    table = {"1": {"hwUpsDevicePowerSupplyMethod": 3}, "2": {"hwUpsDevicePowerSupplyMethod": 1}}
    assert evaluate_faults((huawei_ups,), Poll(0.0, 100, {}, {"huawei_ups_device": table}, {}, 2)) == [
        ("UPS output", "UPS output is off (hwUpsDevicePowerSupplyMethod noOutput)",
         "UPS 无输出（hwUpsDevicePowerSupplyMethod noOutput）")]


def test_a_ups_on_battery_in_both_mibs_is_one_incident_opened_and_cleared(sim: Snmpsim, hub, store: Store) -> None:
    """A UPS2000 answering HUAWEI-UPS-MIB and RFC 1628 (issue 21, one fault, one incident): on battery, four
    objects of three tables say so (hwUpsDevicePowerSupplyMethod battery, upsOutputSource battery, the alarms
    upsAlarmOnBattery and upsAlarmInputBad), and each names the whole UPS's `UPS power input` (the profiles'
    `device_index: 0` and `same_fault`): one observation, its four problems joined in profile order, one major
    hardware incident opened at T0 02:00 UTC with the 1-hour deadline 03:00 UTC. The same UPS back on mains (the
    second recording, polled as the same asset) reports no fault; the incident is resolved once the signal has not
    been seen for hardware_clear_after (600 s by default): still open at T0 + 600 s (not more than 600 s), resolved
    at T0 + 601 s."""
    _h, ops, _runner = hub
    state = poll(hub, sim, "ups2000-battery", asset="ups2000")
    assert packs(state) == {"huawei", "huawei-ups", "ups"}
    assert {k: state.last.scalars[k] for k in ("upsOutputSource", "upsSecondsOnBattery", "upsAlarmsPresent")} == {
        "upsOutputSource": 5, "upsSecondsOnBattery": 95, "upsAlarmsPresent": 2}
    assert state.last.tables["ups_alarm"] == {"1": {"upsAlarmDescr": "upsAlarmOnBattery"},
                                              "2": {"upsAlarmDescr": "upsAlarmInputBad"}}
    order = [p.name for p in state.profiles if p.name in ("huawei-ups", "ups")]
    problems = {"huawei-ups": ["UPS on battery, mains input lost (hwUpsDevicePowerSupplyMethod 4)"],
                "ups": ["UPS on battery (upsOutputSource battery)", "UPS alarm upsAlarmOnBattery",
                        "UPS alarm upsAlarmInputBad"]}
    assert faults(ops, "ups2000") == {"UPS power input": "; ".join(problems[order[0]] + problems[order[1]])}
    signals = [o for o in ops if isinstance(o, HardwareSignal)]
    assert len(signals) == 1  # one observation, not four

    now = [T0]
    engine = IncidentEngine(store, lambda: now[0], {"ups2000": AssetInfo("UPS room 2", "power", None, "medium",
                                                                         None)}.get,
                            IncidentsConfig(), lambda _kind: 3600.0)
    for o in signals:
        engine.on_hardware(o.asset_id, o.component, T0, o.problem)
    engine.flush()
    (opened,) = list_incidents(store)
    assert (opened["kind"], opened["severity"], opened["status"], opened["deadline"]) == (
        "hardware", "major", "open", (T0 + timedelta(hours=1)).isoformat())
    assert opened["cause"].startswith("UPS power input: ")

    ops.clear()
    state = poll(hub, sim, "ups2000-mains", asset="ups2000")
    assert state.last.scalars["upsOutputSource"] == 3 and state.last.tables.get("ups_alarm", {}) == {}
    assert faults(ops, "ups2000") == {} and state.faults == []
    now[0] = T0 + timedelta(seconds=600)
    engine.tick(now[0])
    engine.flush()
    assert [i["status"] for i in list_incidents(store)] == ["open"]
    now[0] = T0 + timedelta(seconds=601)
    engine.tick(now[0])
    engine.flush()
    (cleared,) = list_incidents(store)
    assert cleared["id"] == opened["id"] and cleared["status"] == "resolved"
    assert cleared["resolved_at"] == (T0 + timedelta(seconds=601)).isoformat()
    assert cleared["resolved_by"] == "opsmon"  # the system, not a person


def test_one_fault_names_one_component_whichever_table_reports_it() -> None:
    """The profiles' shared names, table by table (in process, no device): RFC 1628 alone (upsBatteryStatus low
    and the alarm upsAlarmLowBattery are `UPS battery`; upsOutputSource none and upsAlarmUpsOutputOff are `UPS
    output`; an alarm no other object reports keeps its row, `UPS alarm 3`); and a printer's HOST-RESOURCES row
    down (hrDevicePrinter, hrDeviceIndex 1: down(5) is what RFC 1514's hrPrinterDetectedErrorState says a jammed
    printer reports) is hrPrinterTable's `printer 1`, while a disk's row keeps its own name."""
    profiles = load_profiles()
    scalars = {"upsBatteryStatus": 3, "upsOutputSource": 2}
    alarms = {"1": {"upsAlarmDescr": "upsAlarmLowBattery"}, "2": {"upsAlarmDescr": "upsAlarmUpsOutputOff"},
              "3": {"upsAlarmDescr": "upsAlarmFanFailure"}}
    got = evaluate_faults((profiles["ups"],), Poll(0.0, 100, scalars, {"ups_alarm": alarms}, {}, 5))
    assert [(c, en) for c, en, _zh in got] == [
        ("UPS battery", "battery low or depleted; UPS alarm upsAlarmLowBattery"),
        ("UPS output", "UPS output is off; UPS alarm upsAlarmUpsOutputOff"),
        ("UPS alarm 3", "UPS alarm upsAlarmFanFailure")]
    devices = {"1": {"hrDeviceType": "1.3.6.1.2.1.25.3.1.5", "hrDeviceDescr": "LaserJet 4250", "hrDeviceStatus": 5},
               "2": {"hrDeviceType": "1.3.6.1.2.1.25.3.1.6", "hrDeviceDescr": "Internal HDD", "hrDeviceStatus": 5}}
    printers = {"1": {"hrPrinterStatus": 1, "hrPrinterDetectedErrorState": "04"}}  # bit 5: jammed
    got = evaluate_faults((profiles["host"], profiles["printer"]),
                          Poll(0.0, 100, {}, {"hr_device": devices, "hr_printer": printers}, {}, 5))
    assert [(c, en) for c, en, _zh in got] == [
        ("printer 1", "device reports status down (hrDeviceStatus); paper jam"),
        ("Internal HDD", "device reports status down (hrDeviceStatus)")]
    # A profile whose same_fault reads a column its table does not define is refused when loaded, naming both.
    table = {"name": "t", "columns": [{"name": "a", "oid": "1.3.6.1.4.1.99999.1.1", "type": "enum"}],
             "faults": [{"column": "a", "present": True, "component": "x", "problem": {"en": "e", "zh": "z"},
                         "same_fault": {"column": "b", "components": {"1": "y"}}}]}
    with pytest.raises(ValidationError, match="table 't' refers to column 'b', which it does not define"):
        Table.model_validate(table)


@pytest.mark.parametrize("name", ["sangfor", "topsec", "venustech", "dptech", "nsfocus"])
def test_a_vendor_without_a_published_mib_is_named_and_nothing_is_guessed(sim: Snmpsim, hub, name: str) -> None:
    """Each is named by its enterprise number (the profile of the same name, which reads nothing) and gets
    `ucd` (chosen by the same arcs), and no UPS, printer or host profile it does not answer. Sangfor's
    recording answers HOST-RESOURCES-MIB, so it also gets `host` with its CPU load (37) and no fault
    (hrDeviceStatus running(2)), and UCD-SNMP-MIB's five scalars as recorded (exported as they are; a
    dashboard takes 100 - ssCpuIdle = 37 % busy). The others answer neither: `ucd` reads nothing from
    them (its fields logged once as lacking)."""
    state = poll(hub, sim, name)
    _h, ops, _r = hub
    ucd = ("ssCpuIdle", "memTotalReal", "memAvailReal", "memBuffer", "memCached")
    if name == "sangfor":
        assert packs(state) == {"sangfor", "ucd", "host"}
        assert state.last.tables["hr_processor"] == {"196608": {"hrProcessorLoad": 37}}
        got = {k: state.last.scalars[k] for k in ucd}
        assert got == {"ssCpuIdle": 63, "memTotalReal": 8_388_608, "memAvailReal": 2_097_152,
                       "memBuffer": 131_072, "memCached": 1_048_576}
    else:
        assert packs(state) == {name, "ucd"}
        assert not set(ucd) & set(state.last.scalars)
    assert faults(ops, name) == {}
    vendor = next(p for p in state.profiles if p.name == name)
    assert vendor.scalars == () and vendor.tables == ()  # no OID read on the vendor's behalf


def test_a_lookalike_enterprise_number_picks_no_vendor_pack(sim: Snmpsim, hub) -> None:
    state = poll(hub, sim, "lookalike")
    assert packs(state) == set()


def test_a_part_that_appeared_since_the_static_read_is_judged_once_its_name_is_read() -> None:
    """An H3C fan tray inserted between static reads arrives failed (fanError 41) without its entPhysicalName
    (a static column): no fault named "?" (an incident of its own); with the name read, "Fan 3" is the fault."""
    h3c = load_profiles()["h3c"]
    row = {"hh3cEntityExtCpuUsage": 0, "hh3cEntityExtMemUsage": 0, "hh3cEntityExtTemperature": 0,
           "hh3cEntityExtErrorStatus": 41}
    poll = Poll(0.0, 100, {}, {"h3c_entity": {"42": dict(row)}}, {}, 4)
    assert evaluate_faults((h3c,), poll) == []
    poll.tables["h3c_entity"]["42"]["entPhysicalName"] = "Fan 3"
    assert evaluate_faults((h3c,), poll) == [("Fan 3", "fan failed (hh3cEntityExtErrorStatus fanError)",
                                              "风扇故障（hh3cEntityExtErrorStatus fanError）")]


SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)  # SNMPv2-MIB snmpTrapOID.0


def receiver_for(hub: tuple[SnmpHub, list[Message], asyncio.Runner], asset: str) -> TrapReceiver:
    """A trap receiver (bundled trap maps) whose traps belong to `asset` and whose SNMP hub is the one that polled
    it, publishing into the same list as the polls: handed traps in process, no socket."""
    h, ops, _runner = hub
    settings = SnmpConfig.model_validate({"credentials": {"c": {"version": "2c", "community": "c"}},
                                          "traps": {"enabled": True, "credentials": ["c"]}}).traps
    return TrapReceiver(settings, {}, ops.append, lambda _host: asset, h, lambda: T0, maps=load_trap_maps())


def send(receiver: TrapReceiver, trap_oid: str, *var_binds: tuple[str, Any]) -> None:
    from pysnmp.proto.rfc1902 import ObjectIdentifier

    receiver.handle("127.0.0.1", [(SNMP_TRAP_OID, ObjectIdentifier(trap_oid))]
                    + [(tuple(int(p) for p in oid.split(".")), value) for oid, value in var_binds])
    receiver.storms.close()


def feed(engine: IncidentEngine, ops: list[Message], asset: str, at: Any) -> None:
    """Every hardware signal of `asset` (raised or cleared, polled or trapped) into the engine at `at`."""
    for o in ops:
        if isinstance(o, HardwareSignal) and o.asset_id == asset:
            engine.on_hardware(o.asset_id, o.component, at, o.problem, o.cleared, o.source)
    engine.flush()


HW_TRAP = "1.3.6.1.4.1.2011.5.25.219"  # HUAWEI-ENTITY-TRAP-MIB hwEntityTrapMIB
HW_ENT_INDEX = f"{HW_TRAP}.1.1.0"  # hwEntityPhysicalIndex, the first varbind of every entity trap (OBJECTS)


def test_a_huawei_fan_or_power_supply_both_trapped_and_polled_is_one_incident(sim: Snmpsim, hub, store: Store) -> None:
    """Issue 21 item 2 for Huawei's parts: the poll reads hwFanStatusTable and hwPwrStatusTable, indexed by
    slot.number (HUAWEI-ENTITY-EXTENT-MIB), and hwFanFail / hwPowerFail (HUAWEI-ENTITY-TRAP-MIB) name the part by
    entPhysicalName, indexed by entPhysicalIndex; neither MIB relates the two indexes. So the part is named at the
    one level both share, the device's `fan` and `power supply` (profile `device_index: 0`, trap map
    `same_fault: {"*": ...}`), each problem saying which part. Recording `huawei`: fan 0.1 abnormal (0.2 absent,
    no fault), power supply 0.1 notSupply; traps for "FAN 2" and "PWR 2", the same failed parts as the device
    names them: 2 incidents (was 4: `fan 0.1`, `FAN 2`, `power supply 0.1`, `PWR 2`), each major with the deadline
    T0 + 1 h. FAN 2's recovery trap while the latest poll still sees a fan failed does not resolve `fan`; after a
    poll the device did not answer, it does."""
    from pysnmp.proto.rfc1902 import Integer, OctetString

    _h, ops, _r = hub
    poll(hub, sim, "huawei")
    receiver = receiver_for(hub, "huawei")
    fan, pwr = 16842753, 16842761  # the parts' entPhysicalIndex (any: nothing may depend on them)
    send(receiver, f"{HW_TRAP}.2.6.3", (HW_ENT_INDEX, Integer(fan)), (f"{ENT_NAME}.{fan}", OctetString("FAN 2")))
    send(receiver, f"{HW_TRAP}.2.5.3", (HW_ENT_INDEX, Integer(pwr)), (f"{ENT_NAME}.{pwr}", OctetString("PWR 2")))
    signals = [(o.component, o.source, o.problem) for o in ops if isinstance(o, HardwareSignal)]
    assert signals == [
        ("fan", "opsmon", "fan 0.1 failed (hwEntityFanState abnormal)"),
        ("power supply", "opsmon", "power supply 0.1 not supplying (hwEntityPwrState notSupply)"),
        ("fan", "trap", "风扇故障 / fan failed: FAN 2"),
        ("power supply", "trap", "电源故障 / power supply failed: PWR 2")]
    info = {"huawei": AssetInfo("core switch", "network", None, "medium", None)}
    engine = IncidentEngine(store, lambda: T0, info.get, IncidentsConfig(), lambda _k: 3600.0)
    feed(engine, ops, "huawei", T0)
    incidents = list_incidents(store)
    assert sorted(i["cause"] for i in incidents) == [
        "fan: fan 0.1 failed (hwEntityFanState abnormal)",
        "power supply: power supply 0.1 not supplying (hwEntityPwrState notSupply)"]
    assert {(i["kind"], i["severity"], i["status"], i["deadline"]) for i in incidents} == {
        ("hardware", "major", "open", (T0 + timedelta(hours=1)).isoformat())}
    ops.clear()
    send(receiver, f"{HW_TRAP}.2.6.4", (HW_ENT_INDEX, Integer(fan)), (f"{ENT_NAME}.{fan}", OctetString("FAN 2")))
    assert [o for o in ops if isinstance(o, HardwareSignal)] == []  # fan 0.1 still abnormal at the latest poll
    feed(engine, ops, "huawei", T0 + timedelta(seconds=30))
    assert [i["status"] for i in list_incidents(store)] == ["open", "open"]
    # A latest poll the device did not answer sees nothing (the hub sets `answered` from each poll's outcome, and
    # keeps the last answered poll's faults): the recovery trap then clears `fan`, resolved at T0 + 40 s.
    hub[0].devices["huawei"].answered = False
    send(receiver, f"{HW_TRAP}.2.6.4", (HW_ENT_INDEX, Integer(fan)), (f"{ENT_NAME}.{fan}", OctetString("FAN 2")))
    assert [(o.component, o.cleared) for o in ops if isinstance(o, HardwareSignal)] == [("fan", True)]
    feed(engine, ops, "huawei", T0 + timedelta(seconds=40))
    assert sorted((i["cause"].split(":")[0], i["status"], i["resolved_at"]) for i in list_incidents(store)) == [
        ("fan", "resolved", (T0 + timedelta(seconds=40)).isoformat()), ("power supply", "open", None)]


def test_a_ups_input_bad_removed_trap_does_not_resolve_what_the_latest_poll_still_sees(
        sim: Snmpsim, hub, store: Store) -> None:
    """Issue 21: RFC 1628's upsTrapAlarmEntryRemoved (1.3.6.1.2.1.33.2.4, OBJECTS upsAlarmId, upsAlarmDescr) for
    upsAlarmInputBad (upsWellKnownAlarms .6) clears `UPS power input` (standard map's same_fault). The UPS2000 on
    battery (recording `ups2000-battery`: hwUpsDevicePowerSupplyMethod battery, upsOutputSource battery, alarm
    upsAlarmOnBattery still present) opens one incident at T0; the input-bad alarm removed at T0 + 30 s, while the
    latest poll still sees the UPS on battery, leaves it open (before: resolved at T0 + 30 s, then reopened by the
    next poll). Polled back on mains (`ups2000-mains`: no fault), the same trap at T0 + 90 s resolves it at
    T0 + 90 s, by the trap (not 600 s later by hardware_clear_after)."""
    from pysnmp.proto.rfc1902 import Integer, ObjectIdentifier

    _h, ops, _r = hub
    now = [T0]
    info = {"ups2000": AssetInfo("UPS room 2", "power", None, "medium", None)}
    engine = IncidentEngine(store, lambda: now[0], info.get, IncidentsConfig(), lambda _k: 3600.0)
    poll(hub, sim, "ups2000-battery", asset="ups2000")
    feed(engine, ops, "ups2000", T0)
    (opened,) = list_incidents(store)
    assert (opened["status"], opened["cause"].split(":")[0]) == ("open", "UPS power input")
    receiver = receiver_for(hub, "ups2000")
    alarm = ("1.3.6.1.2.1.33.1.6.2.1.1.2", Integer(2))  # upsAlarmId 2
    input_bad = ("1.3.6.1.2.1.33.1.6.2.1.2.2", ObjectIdentifier("1.3.6.1.2.1.33.1.6.3.6"))  # upsAlarmDescr.2
    ops.clear()
    now[0] = T0 + timedelta(seconds=30)
    send(receiver, "1.3.6.1.2.1.33.2.4", alarm, input_bad)
    assert [o for o in ops if isinstance(o, HardwareSignal)] == []
    feed(engine, ops, "ups2000", now[0])
    assert [i["status"] for i in list_incidents(store)] == ["open"]

    ops.clear()
    poll(hub, sim, "ups2000-mains", asset="ups2000")
    now[0] = T0 + timedelta(seconds=90)
    send(receiver, "1.3.6.1.2.1.33.2.4", alarm, input_bad)
    assert [(o.component, o.cleared, o.source) for o in ops if isinstance(o, HardwareSignal)] == [
        ("UPS power input", True, "trap")]
    feed(engine, ops, "ups2000", now[0])
    (cleared,) = list_incidents(store)
    assert (cleared["id"], cleared["status"], cleared["resolved_at"]) == (
        opened["id"], "resolved", (T0 + timedelta(seconds=90)).isoformat())
