"""Recorded devices served by snmpsim: printer and UPS faults, a 48-port switch whose counters
grow at known rates (the truth the computed rates are checked against), and a 32-bit counter
that wraps between polls."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsmon.collector.config.checks import SnmpSpec
from opsmon.collector.config.schema import SnmpConfig
from opsmon.collector.core.messages import HardwareSignal, Message
from opsmon.collector.core.states import UP
from opsmon.collector.inputs.snmp.exposition import SnmpExposition
from opsmon.collector.inputs.snmp.hub import SnmpHub
from tests.peers.snmp import WRAP_RATE, Recording, Snmpsim, start_snmpsim, stop_snmpsim, switch_recording

RATE_TOLERANCE = 0.07


def printer() -> Recording:
    r = Recording().system("printer-3f", "1.3.6.1.4.1.11.2.3.9.1")
    r.put("1.3.6.1.2.1.25.3.2.1.2.1", 6, "1.3.6.1.2.1.25.3.1.5").put("1.3.6.1.2.1.25.3.2.1.3.1", 4, "LaserJet 4250")
    r.put("1.3.6.1.2.1.25.3.2.1.5.1", 2, 3)  # hrDeviceStatus warning: not a fault by itself
    # hrDeviceStatus down(5): on a disk a hardware fault, on a network interface not (ifOperStatus's business)
    r.put("1.3.6.1.2.1.25.3.2.1.2.2", 6, "1.3.6.1.2.1.25.3.1.6").put("1.3.6.1.2.1.25.3.2.1.3.2", 4, "Internal HDD")
    r.put("1.3.6.1.2.1.25.3.2.1.5.2", 2, 5)
    r.put("1.3.6.1.2.1.25.3.2.1.2.3", 6, "1.3.6.1.2.1.25.3.1.4").put("1.3.6.1.2.1.25.3.2.1.3.3", 4, "JetDirect eth0")
    r.put("1.3.6.1.2.1.25.3.2.1.5.3", 2, 5)
    r.put("1.3.6.1.2.1.25.3.5.1.1.1", 2, 3)  # hrPrinterStatus idle
    r.put("1.3.6.1.2.1.25.3.5.1.2.1", "4x", "04")  # hrPrinterDetectedErrorState: bit 5 = jammed
    r.put("1.3.6.1.2.1.43.11.1.1.6.1.1", 4, "Black Toner").put("1.3.6.1.2.1.43.11.1.1.8.1.1", 2, 100)
    r.put("1.3.6.1.2.1.43.11.1.1.9.1.1", 2, 5)
    r.put("1.3.6.1.2.1.43.18.1.1.2.1.1", 2, 3).put("1.3.6.1.2.1.43.18.1.1.8.1.1", 4, "Paper jam in tray 2")
    r.put("1.3.6.1.2.1.43.18.1.1.2.1.2", 2, 4).put("1.3.6.1.2.1.43.18.1.1.8.1.2", 4, "Toner low")
    return r


def ups() -> Recording:
    r = Recording().system("ups-dc1", "1.3.6.1.4.1.318.1.3.27")
    b, o, a = "1.3.6.1.2.1.33.1.2", "1.3.6.1.2.1.33.1.4", "1.3.6.1.2.1.33.1.6"
    r.put("1.3.6.1.2.1.33.1.1.2.0", 4, "Smart-UPS 3000")
    r.put(f"{b}.1.0", 2, 3).put(f"{b}.2.0", 2, 120).put(f"{b}.3.0", 2, 4).put(f"{b}.4.0", 2, 15)
    r.put(f"{o}.1.0", 2, 5).put(f"{a}.1.0", 66, 2)
    r.put(f"{a}.2.1.2.1", 6, "1.3.6.1.2.1.33.1.6.3.2").put(f"{a}.2.1.2.2", 6, "1.3.6.1.2.1.33.1.6.3.3")
    return r


def fixed() -> Recording:
    """Two ports with fixed values (no variation): what /metrics shows is known to the digit.

    Port 1: ifHCInOctets 18,446,744,073,709,551,000 (a 64-bit counter 615 short of its wrap: a float would print
    1.8446744073709552e+19), ifInErrors 7, up; its alias has double quotes (escaped as \\" on the page). Port 2:
    down, counters 0. Both carry a 32-bit ifInOctets (123), read on static refreshes only."""
    r = Recording().system("fixed")
    t, x = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
    for i, alias, oper, octets, errors in ((1, 'core "A"', 1, 18_446_744_073_709_551_000, 7), (2, "", 2, 0, 0)):
        r.put(f"{t}.2.{i}", 4, f"GigabitEthernet0/{i}").put(f"{t}.3.{i}", 2, 6).put(f"{t}.7.{i}", 2, 1)
        r.put(f"{t}.8.{i}", 2, oper).put(f"{t}.10.{i}", 65, 123).put(f"{t}.14.{i}", 65, errors)
        r.put(f"{x}.1.{i}", 4, f"Gi0/{i}").put(f"{x}.6.{i}", 70, octets).put(f"{x}.15.{i}", 66, 1000)
        r.put(f"{x}.18.{i}", 4, alias)
    return r


@pytest.fixture(scope="module")
def sim() -> Iterator[Snmpsim]:
    s = start_snmpsim({"printer": printer(), "ups": ups(), "sw48": switch_recording("sw48"),
                       "oldsw": switch_recording("oldsw", ports=4, hc=False, wrap_port=1), "fixed": fixed()})
    yield s
    stop_snmpsim(s)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[SnmpHub, list[Message], asyncio.Runner]]:
    cfg = SnmpConfig.model_validate({"credentials": {name: {"version": "2c", "community": name}
                                                     for name in ("printer", "ups", "sw48", "oldsw", "fixed")},
                                     "timeout": 2, "retries": 1})
    ops: list[Message] = []
    with asyncio.Runner() as runner:
        yield SnmpHub(cfg, tmp_path, "collector.yaml", ops.append), ops, runner


def poll(hub: tuple[SnmpHub, list[Message], asyncio.Runner], sim: Snmpsim, name: str, **spec: Any):
    h, _ops, runner = hub
    spec = SnmpSpec(type="snmp", credential=name, port=sim.port, **spec)
    return runner.run(asyncio.wait_for(h.poll(name, "127.0.0.1", spec), 60))


def hardware(ops: list[Message], asset: str) -> dict[str, str]:
    return {f"hw:{o.component}": o.problem for o in ops if isinstance(o, HardwareSignal) and o.asset_id == asset}


def test_printer_profile_detected_and_its_faults_observed(sim: Snmpsim, hub) -> None:
    assert poll(hub, sim, "printer").status == UP
    h, ops, _ = hub
    state = h.devices["printer"]
    assert {"system", "host", "printer"} <= {p.name for p in state.profiles}
    assert "ups" not in {p.name for p in state.profiles}
    assert state.last.tables["prt_supply"]["1.1"] == {
        "prtMarkerSuppliesDescription": "Black Toner", "prtMarkerSuppliesMaxCapacity": 100,
        "prtMarkerSuppliesLevel": 5}
    devices = state.last.tables["hr_device"]
    assert {i: (r["hrDeviceDescr"], r["hrDeviceStatus"]) for i, r in devices.items()} == {
        "1": ("LaserJet 4250", 3), "2": ("Internal HDD", 5), "3": ("JetDirect eth0", 5)}
    assert devices["3"]["hrDeviceType"] == "1.3.6.1.2.1.25.3.1.4"  # hrDeviceNetwork
    assert hardware(ops, "printer") == {
        "hw:printer 1": "paper jam; critical alert: Paper jam in tray 2",  # one fault seen in two tables
        "hw:Internal HDD": "device reports status down (hrDeviceStatus)",
    }  # not faults: the warning alert, hrDeviceStatus warning, and the network interface whose status is down
    zh = {c: z for c, _e, z in state.faults}
    assert zh["printer 1"] == "卡纸；严重告警：Paper jam in tray 2"
    assert zh["Internal HDD"] == "设备状态为故障（hrDeviceStatus）"


def test_ups_alarms_and_battery(sim: Snmpsim, hub) -> None:
    assert poll(hub, sim, "ups").status == UP
    h, ops, _ = hub
    assert {p.name for p in h.devices["ups"].profiles} >= {"system", "ups"}
    assert "host" not in {p.name for p in h.devices["ups"].profiles}
    # Two faults, each seen twice (issue 21, one fault, one incident): on battery in upsOutputSource battery(5)
    # and the alarm upsAlarmOnBattery; battery low in upsBatteryStatus batteryLow(3) and the alarm
    # upsAlarmLowBattery. Two components, so two incidents, not four.
    assert hardware(ops, "ups") == {
        "hw:UPS power input": "UPS on battery (upsOutputSource battery); UPS alarm upsAlarmOnBattery",
        "hw:UPS battery": "battery low or depleted; UPS alarm upsAlarmLowBattery",
    }
    assert h.devices["ups"].last.scalars["upsEstimatedChargeRemaining"] == 15


def test_48_port_switch_rates_equal_the_simulated_rates(sim: Snmpsim, hub) -> None:
    assert poll(hub, sim, "sw48", profiles=("system", "interfaces")).status == UP
    time.sleep(5)  # rates are dated by each answer's arrival: 7 % of 5 s leaves 0.35 s for a slow machine's jitter
    assert poll(hub, sim, "sw48", profiles=("system", "interfaces")).status == UP
    h, _ops, _ = hub
    state = h.devices["sw48"]
    rows = state.last.tables["if"]
    assert len(rows) == 48
    assert rows["8"]["ifOperStatus"] == 2 and rows["7"]["ifOperStatus"] == 1
    assert rows["7"]["ifName"] == "Gi0/7" and rows["7"]["ifHighSpeed"] == 1000  # static columns carried over
    for i in range(1, 49):
        rates = state.rates["if"][str(i)]
        for metric, per_port in (("opsmon_if_in_bits_per_second", 8000), ("opsmon_if_out_bits_per_second", 4000)):
            expected = i * per_port
            assert abs(rates[metric] - expected) <= expected * RATE_TOLERANCE, (i, metric, rates[metric])
    # the second poll read only the poll columns: 13 per port (12 + the static-only 32-bit octets skipped)
    assert state.last.varbinds < 48 * 13 + 10


def test_exposition_is_encoded_once_per_poll_with_counters_typed_counter(sim: Snmpsim, hub) -> None:
    """/metrics' SNMP part (issue 25): encoded after a poll, served as the same bytes until the next poll, counters
    under snmp_exporter's names typed `counter`, the port names on one info series per port."""
    h, _ops, _ = hub
    assert poll(hub, sim, "fixed", profiles=("interfaces",)).status == UP
    page = SnmpExposition(h)
    first = page.render()
    assert page.encodes == 1
    assert page.render() is first and page.encodes == 1  # no poll in between: the same bytes, nothing encoded
    text = first.decode()
    assert "# TYPE ifHCInOctets counter\n" in text and "# TYPE ifInErrors counter\n" in text
    assert "# TYPE ifOperStatus gauge\n" in text and "# TYPE ifHighSpeed gauge\n" in text
    assert 'ifHCInOctets{asset="fixed",ifIndex="1"} 18446744073709551000\n' in text  # every digit
    assert 'ifHCInOctets{asset="fixed",ifIndex="2"} 0\n' in text
    assert 'ifInErrors{asset="fixed",ifIndex="1"} 7\n' in text
    assert 'ifOperStatus{asset="fixed",ifIndex="2"} 2\n' in text
    assert 'ifHighSpeed{asset="fixed",ifIndex="1"} 1000\n' in text
    assert ('opsmon_snmp_if_info{asset="fixed",ifIndex="1",ifName="Gi0/1",ifAlias="core \\"A\\"",'
            'ifDescr="GigabitEthernet0/1",ifType="6"} 1\n') in text
    assert 'opsmon_snmp_up{asset="fixed"} 1\n' in text
    # the 32-bit ifInOctets stands in for ifHCInOctets, which this device has: not exported (an hour-old
    # counter is no counter); no _total anywhere; opsmon's rates only with snmp.export_rates
    assert "ifInOctets{" not in text and "_total" not in text and "opsmon_if_in_bits_per_second" not in text
    # series per port: ifAdminStatus, ifOperStatus, ifHCInOctets, ifInErrors, ifHighSpeed and the info series
    # (ifType is its label) = 6 (the recording has no other column); + up, duration, varbinds for the device = 15
    assert sum(1 for line in text.splitlines() if not line.startswith("#")) == 2 * 6 + 3
    assert poll(hub, sim, "fixed", profiles=("interfaces",)).status == UP
    again = page.render()
    assert page.encodes == 2 and again is not first  # a poll: the device encoded again, once
    assert page.render() is again and page.encodes == 2


def test_32_bit_counter_wrapping_between_polls_gives_the_true_rate(sim: Snmpsim, hub) -> None:
    """Port 1 of the old switch moves 500 MB/s on a 32-bit counter: it wraps every 2^32 / 5e8 = 8.59 s.
    Five polls started 2.5 s apart span 10 s, so a wrap for sure; an interval holds two wraps only if a
    poll starts more than 6 s late (polls are scheduled from the first, so slow polls do not add up).
    Every rate must be the true 4 Gbit/s: none negative, none absurd, none missing."""
    seen: list[float] = []
    raw: list[int] = []
    read: list[float] = []
    h, _ops, _ = hub
    start = time.monotonic()
    for n in range(5):
        time.sleep(max(0.0, start + 2.5 * n - time.monotonic()))
        assert poll(hub, sim, "oldsw", profiles=("system", "interfaces")).status == UP
        state = h.devices["oldsw"]
        raw.append(state.last.raw_counters[("if", "1", "ifInOctets")])
        read.append(state.last.read_at[("if", "1", "ifInOctets")])
        rate = state.rates.get("if", {}).get("1", {}).get("opsmon_if_in_bits_per_second")
        if rate is not None:
            seen.append(rate)
    wrap_every = 2**32 / WRAP_RATE
    intervals = [b - a for a, b in zip(read, read[1:], strict=False)]
    assert all(i < wrap_every for i in intervals), (intervals, "a poll came so late that two wraps fit in between")
    assert ("if", "ifInOctets") in state.promoted  # no HC counters: the 32-bit ones are read every poll
    assert any(b < a for a, b in zip(raw, raw[1:], strict=False)), raw  # it did wrap
    assert len(seen) == 4
    for rate in seen:
        assert abs(rate - WRAP_RATE * 8) <= WRAP_RATE * 8 * RATE_TOLERANCE, seen
