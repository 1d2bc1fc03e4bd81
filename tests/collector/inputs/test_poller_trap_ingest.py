"""The centre's side of a site poller's traps, in process (inputs/poller/trap_ingest.py, trap_wire.py): what a
forwarded trap becomes, which are refused, and storms grouped on the traps' own times. The real processes and
snmptrap: test_poller_traps.py."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pysnmp.proto import rfc1902

from opsmon.collector.config.schema import TrapConfig
from opsmon.collector.config.trap_maps import load_trap_maps
from opsmon.collector.core.messages import Event, EventRepeated, HardwareSignal
from opsmon.collector.inputs.poller.trap_ingest import ForwardedTraps
from opsmon.collector.inputs.poller.trap_wire import ForwardedTrap, decode, encode

T0 = 1_800_000_000.0
TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
FAN_FAIL = "1.3.6.1.4.1.2011.5.25.219.2.6.3"
ENT_NAME_5 = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7, 5)


def trap(ts: float, asset: str, oid: str, uptime: int, *extra: tuple[tuple[int, ...], Any]) -> ForwardedTrap:
    """A trap as the poller puts it in a report (encode, then the report's JSON: tuples become lists)."""
    varbinds = [(UPTIME, rfc1902.TimeTicks(uptime)), (TRAP_OID, rfc1902.ObjectIdentifier(oid)), *extra]
    return ForwardedTrap.model_validate({"ts": ts, "source": "10.7.0.3", "asset": asset, "varbinds": encode(varbinds)})


def test_forwarded_traps_are_taken_as_the_receivers_own_on_their_times() -> None:
    """The poller p-a of site hotan; its clock 100 s behind ours (offset +100), so every time below is ts + 100.

    - a hwFanFail of sw-1 (hotan) at T0 (T0 + 100 corrected): one Event dated T0 + 100, details poller=p-a and the
      component's varbind, and one HardwareSignal of sw-1 at T0 + 100 (the incident's fault time), component "fan":
      the huawei-entity map's `same_fault` `*` names every trapped fan the profiles' `fan` (one fault, one incident
      whether polled or trapped), the problem keeps "FAN 1";
    - the same trap again at T0 + 10 (its sysUpTime differs, which makes no difference): one storm, no second event;
      the report's end writes the count 2 (EventRepeated, last = T0 + 110); its HardwareSignal is sent again (a
      repeat keeps its one incident: the engine's de-duplication);
    - the same at T0 + 70 in the next report: 70 s after the first, past the 60 s window in the traps' own time
      (both reports arrive at the same instant here): a new event;
    - refused, counted by reason for p-a: gw of yutian (not_site), a trap dated 400 s after now (future: over 300 s),
      a varbind whose type is no SNMP type (malformed); nothing is published for them.
    """
    sites = {"sw-1": "hotan", "gw": "yutian"}
    out: list[Any] = []
    taken = ForwardedTraps(TrapConfig(), load_trap_maps, out.append, None, sites.get, {"p-a": "hotan"}.get)
    now = datetime.fromtimestamp(T0 + 200, UTC)
    fan = (ENT_NAME_5, rfc1902.OctetString("FAN 1"))
    bad = ForwardedTrap.model_validate({"ts": T0, "source": "10.7.0.3", "asset": "sw-1", "varbinds": [
        ["1.3.6.1.6.3.1.1.4.1.0", "Float", "1.5"]]})
    taken.take("p-a", [trap(T0, "sw-1", FAN_FAIL, 100, fan), trap(T0 + 10, "sw-1", FAN_FAIL, 1100, fan),
                       trap(T0, "gw", FAN_FAIL, 100, fan), trap(T0 + 500, "sw-1", FAN_FAIL, 100, fan), bad],
               100.0, now)
    events = [m for m in out if isinstance(m, Event)]
    assert [(e.asset_id, e.name, e.ts.timestamp(), e.source) for e in events] == [
        ("sw-1", "hwFanFail", T0 + 100, "10.7.0.3")]
    assert events[0].details["poller"] == "p-a" and events[0].details[".".join(map(str, ENT_NAME_5))] == "FAN 1"
    signals = [(h.asset_id, h.component, h.ts.timestamp(), h.cleared) for h in out if isinstance(h, HardwareSignal)]
    assert signals == [("sw-1", "fan", T0 + 100, False), ("sw-1", "fan", T0 + 110, False)]
    assert [h.problem for h in out if isinstance(h, HardwareSignal)][0].endswith(": FAN 1")
    repeated = [m for m in out if isinstance(m, EventRepeated)]
    assert [(r.details["count"], r.details["last"]) for r in repeated] == [
        (2, datetime.fromtimestamp(T0 + 110, UTC).isoformat())]
    assert taken.refusals.counts == {("not_site", "p-a"): 1, ("future", "p-a"): 1, ("malformed", "p-a"): 1}
    assert taken.taken_by == {"p-a": 2}

    out.clear()
    taken.take("p-a", [trap(T0 + 70, "sw-1", FAN_FAIL, 7100, fan)], 100.0, now)
    assert [(e.name, e.ts.timestamp()) for e in out if isinstance(e, Event)] == [("hwFanFail", T0 + 170)]


def test_varbinds_cross_the_wan_with_their_types() -> None:
    """Each SNMP type comes back as itself with its value; an octet string over 512 bytes is cut to its first 512
    (the centre stores 4 KB of a trap by default), and a trap's varbinds after the 100th are not sent."""
    values = [rfc1902.Integer(-3), rfc1902.Counter32(2**32 - 1), rfc1902.Gauge32(7), rfc1902.Unsigned32(8),
              rfc1902.TimeTicks(42), rfc1902.Counter64(2**64 - 1), rfc1902.IpAddress("10.0.0.1"),
              rfc1902.OctetString(b"\xff\x00"), rfc1902.ObjectIdentifier("1.3.6.1.4.1.9"), rfc1902.Opaque(b"x")]
    varbinds = [((1, 3, 6, i), v) for i, v in enumerate(values)]
    back = decode([tuple(x) for x in encode(varbinds)])  # type: ignore[misc]
    assert [(oid, type(v).__name__, v) for oid, v in back] == [(oid, type(v).__name__, v) for oid, v in varbinds]
    long = encode([((1, 3), rfc1902.OctetString(b"a" * 600))] + [((1, 4, i), rfc1902.Integer(i)) for i in range(150)])
    assert len(long) == 100 and long[0][2] == "61" * 512


def test_a_forwarded_ups_alarm_names_the_fault_the_profiles_poll() -> None:
    """same_fault across the WAN: RFC 1628's upsTrapAlarmEntryAdded for upsAlarmOnBattery (its upsAlarmDescr an OID
    value, .33.1.6.3.2) forwarded by p-a raises `UPS power input` (the bundled standard map's same_fault, the name
    the ups profiles poll), and upsTrapAlarmEntryRemoved clears that same component, each at its trap's time (offset
    0); the same as test_snmp_traps.py's central case."""
    out: list[Any] = []
    taken = ForwardedTraps(TrapConfig(), load_trap_maps, out.append, None, {"ups": "hotan"}.get, {"p-a": "hotan"}.get)
    alarm_id, alarm_descr = (1, 3, 6, 1, 2, 1, 33, 1, 6, 2, 1, 1, 7), (1, 3, 6, 1, 2, 1, 33, 1, 6, 2, 1, 2, 7)
    varbinds = [(alarm_id, rfc1902.Integer(7)), (alarm_descr, rfc1902.ObjectIdentifier("1.3.6.1.2.1.33.1.6.3.2"))]
    taken.take("p-a", [trap(T0, "ups", "1.3.6.1.2.1.33.2.3", 1, *varbinds),
                       trap(T0 + 30, "ups", "1.3.6.1.2.1.33.2.4", 2, *varbinds)],
               0.0, datetime.fromtimestamp(T0 + 60, UTC))
    signals = [(h.asset_id, h.component, h.ts.timestamp(), h.cleared, h.source) for h in out
               if isinstance(h, HardwareSignal)]
    assert signals == [("ups", "UPS power input", T0, False, "trap"), ("ups", "UPS power input", T0 + 30, True, "trap")]
