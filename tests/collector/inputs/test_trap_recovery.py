"""When a recovery trap clears a hardware fault (inputs/snmp/traps.py, device_faults.py), in process: not while the
device's latest answered poll still reports it, whoever polled it (the centre's hub or the site poller that owns
the device), and under a component many parts share (`same_fault: {"*": fan}`), not before every part raised under
it has recovered."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pysnmp.proto import rfc1902

from opsmon.collector.config.schema import TrapConfig
from opsmon.collector.config.trap_maps import load_trap_maps
from opsmon.collector.core.messages import HardwareSignal
from opsmon.collector.core.states import Observation
from opsmon.collector.inputs.poller.trap_ingest import ForwardedTraps
from opsmon.collector.inputs.poller.trap_wire import ForwardedTrap, encode
from opsmon.collector.inputs.snmp.device_faults import DeviceFaults

T0 = 1_800_000_000.0
TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
ENT_NAME = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7)  # entPhysicalName, the huawei-entity map's component_from
FAN_FAIL, FAN_RESUME = "1.3.6.1.4.1.2011.5.25.219.2.6.3", "1.3.6.1.4.1.2011.5.25.219.2.6.4"  # hwFanFail(Resume)
FAN_REMOVE, FAN_INSERT = "1.3.6.1.4.1.2011.5.25.219.2.6.1", "1.3.6.1.4.1.2011.5.25.219.2.6.2"


def fan_trap(ts: float, oid: str, part: str, index: int, asset: str = "sw-1") -> ForwardedTrap:
    """A Huawei fan trap naming `part` (its entPhysicalName at `index`), as a poller forwards it."""
    varbinds = [(UPTIME, rfc1902.TimeTicks(1)), (TRAP_OID, rfc1902.ObjectIdentifier(oid)),
                (ENT_NAME + (index,), rfc1902.OctetString(part))]
    return ForwardedTrap.model_validate({"ts": ts, "source": "10.7.0.3", "asset": asset, "varbinds": encode(varbinds)})


def at(s: float) -> datetime:
    return datetime.fromtimestamp(T0 + s, UTC)


def test_a_fan_component_clears_only_when_every_failed_fan_has_recovered() -> None:
    """A trap-only device (no poll known): the huawei-entity map names every fan `fan` (one incident per fault
    kind, issue 21 item 2). FAN 1 fails at T0, FAN 2 at T0+1: two raises of `fan`. FAN 1 resumes at T0+30: FAN 2
    is still failed, nothing clears (before: `fan` cleared at T0+30). FAN 2 resumes at T0+40: `fan` clears then.
    Then FAN 1 is removed (T0+50, hwFanRemove, also `fan`) and fails (T0+51): the insert at T0+60 ends the removal
    only, the failure still holds `fan`; its resume at T0+70 clears it. A resume of a part never raised (FAN 9,
    T0+80) with nothing else raised clears, as before (the incident engine ignores a clear of nothing open)."""
    out: list[Any] = []
    taken = ForwardedTraps(TrapConfig(), load_trap_maps, out.append, None, {"sw-1": "hotan"}.get,
                           {"p-a": "hotan"}.get)
    taken.take("p-a", [fan_trap(T0, FAN_FAIL, "FAN 1", 5), fan_trap(T0 + 1, FAN_FAIL, "FAN 2", 6),
                       fan_trap(T0 + 30, FAN_RESUME, "FAN 1", 5)], 0.0, at(100))
    signals = [(h.component, h.ts - at(0), h.cleared) for h in out if isinstance(h, HardwareSignal)]
    assert signals == [("fan", timedelta(0), False), ("fan", timedelta(seconds=1), False)]
    out.clear()
    taken.take("p-a", [fan_trap(T0 + 40, FAN_RESUME, "FAN 2", 6)], 0.0, at(100))
    assert [(h.component, h.ts - at(0), h.cleared, h.problem) for h in out if isinstance(h, HardwareSignal)] == [
        ("fan", timedelta(seconds=40), True, "风扇故障恢复 / fan recovered: FAN 2")]
    assert taken.device_faults.parts == {}
    out.clear()
    taken.take("p-a", [fan_trap(T0 + 50, FAN_REMOVE, "FAN 1", 5), fan_trap(T0 + 51, FAN_FAIL, "FAN 1", 5),
                       fan_trap(T0 + 60, FAN_INSERT, "FAN 1", 5)], 0.0, at(100))
    assert [(h.ts - at(0), h.cleared) for h in out if isinstance(h, HardwareSignal)] == [
        (timedelta(seconds=50), False), (timedelta(seconds=51), False)]
    out.clear()
    taken.take("p-a", [fan_trap(T0 + 70, FAN_RESUME, "FAN 1", 5), fan_trap(T0 + 80, FAN_RESUME, "FAN 9", 9)],
               0.0, at(100))
    assert [(h.ts - at(0), h.cleared) for h in out if isinstance(h, HardwareSignal)] == [
        (timedelta(seconds=70), True), (timedelta(seconds=80), True)]


def test_the_latest_poll_is_the_latest_whoever_made_it_and_an_all_clear_poll_is_known() -> None:
    """device_faults.py's reading of a poller's report, where a poll's result (dated at its start) and its faults
    (dated at its end) travel apart, in either order:
    - result up at T0, faults `fan` and `power supply` at T0+0.5: that poll sees both;
    - a result up at T0+60 alone (no fault): all clear, `fan` not seen (False, not None: the poll says so);
    - faults at T0+120.5 ahead of their result (T0+120, next report): that poll's, `fan`; the late result changes
      nothing (older than the faults' time);
    - a result down at T0+180: not answered, nothing known (None);
    - an older poll than the latest (T0+100, the centre's hub, say) changes nothing; a newer one (T0+200) replaces."""
    faults = DeviceFaults()
    is_poll = lambda _asset, check: check == "snmp"  # noqa: E731
    faults.report([Observation("sw-1", "snmp", at(0), "up"), HardwareSignal("sw-1", "fan", at(0.5), "x"),
                   HardwareSignal("sw-1", "power supply", at(0.5), "y"), Observation("sw-1", "icmp", at(1), "down")],
                  is_poll)
    assert (faults.seen("sw-1", "fan"), faults.seen("sw-1", "power supply")) == (True, True)
    faults.report([Observation("sw-1", "snmp", at(60), "up")], is_poll)
    assert faults.seen("sw-1", "fan") is False
    faults.report([HardwareSignal("sw-1", "fan", at(120.5), "x")], is_poll)
    faults.report([Observation("sw-1", "snmp", at(120), "up")], is_poll)
    assert (faults.seen("sw-1", "fan"), faults.seen("sw-1", "power supply")) == (True, False)
    faults.report([Observation("sw-1", "snmp", at(180), "down")], is_poll)
    assert faults.seen("sw-1", "fan") is None
    faults.polled("sw-1", at(100), True, ["fan"])
    assert faults.seen("sw-1", "fan") is None
    faults.polled("sw-1", at(200), True, ["power supply"])
    assert (faults.seen("sw-1", "fan"), faults.seen("sw-1", "power supply"), faults.seen("sw-2", "fan")) == (
        False, True, None)


def test_a_forwarded_recovery_keeps_the_fault_the_pollers_latest_poll_still_sees(tmp_path: Path) -> None:
    """In-process collector (fake clock at T0+300, no peer) with SNMP credentials (so the centre has a hub); sw-1,
    a Huawei switch at hotan, is polled over SNMP by hotan's poller p-a.

    - The inventory's reload forgets the centre's hub state of sw-1 (from a poll before sw-1 moved to p-a): the
      centre no longer polls it (before: kept, its old faults shown and read).
    - p-a's report: its poll of sw-1 at T0 up (result), finding `fan` at T0+0.5 (fan 0.1 failed); FAN 1 trapped
      failed at T0+10 and resumed at T0+20. The poll still sees `fan` (the other fan): the fan incident opened at
      T0+0.5 stays open (before: the centre's hub, which never polled sw-1, knew nothing, so the resume resolved
      it at T0+20, and p-a's next poll reopened it).
    - p-a's next report: its poll at T0+60 up with no fault (all clear), then FAN 2 fails at T0+70 and resumes at
      T0+80: the latest poll sees no fan fault, so the resume resolves the incident (by the trap, its note naming
      FAN 2's recovery)."""
    from opsmon.collector.config import load_config
    from opsmon.collector.config.inventory import AssetSpec, upsert_assets
    from opsmon.collector.inputs.agents.auth import enroll
    from opsmon.collector.inputs.snmp.poller import DeviceState
    from opsmon.collector.service.service import Service
    from tests.collector.inputs.test_agent_streams import STREAM
    from tests.conftest import write_config

    config = load_config(str(write_config(tmp_path, f"""
        database: {{path: {tmp_path / 'c.db'}}}
        listen: {{host: 127.0.0.1, port: 0}}
        snmp: {{credentials: {{c: {{version: "2c", community: x}}}}}}
    """)))
    now = at(300)
    service = Service(config, clock=lambda: now)
    try:
        upsert_assets(service.store, [AssetSpec.model_validate({
            "id": "sw-1", "category": "network", "site": "hotan", "address": "10.7.0.3",
            "checks": [{"type": "snmp", "credential": "c"}]})], "cli:test")
        enroll(service.store, "p-a", "server", "hotan", "cli:test", role="poller")
        service.snmp.devices["sw-1"] = DeviceState("sw-1", faults=[("fan", "fan 0.1 failed", "")])
        assert service.reload_inventory(force=True)
        assert service.polled.get(("sw-1", "snmp")) == "p-a" and "sw-1" not in service.snmp.devices

        def report(seq: int, result: tuple[float, str], faults: list[float], traps: list[ForwardedTrap]) -> None:
            body = json.dumps({
                "schema": 1, "stream": STREAM, "seq": seq, "ts": T0 + 300, "interval": 5, "metrics": {},
                "observations": [{"asset": "sw-1", "check": "snmp", "ts": T0 + result[0], "status": result[1]}],
                "polled_hardware": [{"asset": "sw-1", "check": "snmp", "ts": T0 + s, "component": "fan",
                                     "problem": "fan 0.1 failed (hwEntityFanState abnormal)"} for s in faults],
                "traps": [t.model_dump(mode="json") for t in traps]}).encode()
            assert service.ingest.accept("p-a", "p-a", service.ingest.parse(body), None, body) == "accepted"

        report(1, (0, "up"), [0.5], [fan_trap(T0 + 10, FAN_FAIL, "FAN 1", 5),
                                     fan_trap(T0 + 20, FAN_RESUME, "FAN 1", 5)])
        fan = service.incidents.by_fp["sw-1:hw:fan"]
        assert (fan.status, fan.fault) == ("open", at(0.5))
        report(2, (60, "up"), [], [fan_trap(T0 + 70, FAN_FAIL, "FAN 2", 6),
                                   fan_trap(T0 + 80, FAN_RESUME, "FAN 2", 6)])
        fan = service.incidents.by_fp["sw-1:hw:fan"]
        assert (fan.status, fan.resolved_by, fan.note) == ("resolved", "trap",
                                                          "recovered: 风扇故障恢复 / fan recovered: FAN 2")
    finally:
        service.ctx.pinger.close()
        service.store.close()
