"""The SNMP trap receiver under bad and abundant input (issue 16 item 4), on loopback only.

A real TrapReceiver on a loopback port takes packets from net-snmp's snmptrap and raw UDP sockets
(malformed bytes, and snmptrap's own packets captured once and replayed fast); what it publishes is
written by the real store writer to a real SQLite store. Sources are other loopback addresses
(127.0.0.2, ...): snmptrap's --clientaddr and a bound sending socket, so per-source accounting is
seen without leaving 127.0.0.0/8.
"""
from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text as sql

from opsmon.collector.config.load import load_config
from opsmon.collector.config.schema import SnmpConfig
from opsmon.collector.config.trap_maps import load_trap_maps
from opsmon.collector.core.errors import ConfigError
from opsmon.collector.core.messages import HardwareSignal, Message, Written
from opsmon.collector.inputs.base import InputContext
from opsmon.collector.inputs.snmp.hub import SnmpHub
from opsmon.collector.inputs.snmp.traps import TrapReceiver, make
from opsmon.collector.store import Store
from opsmon.collector.store.events import read_events
from opsmon.collector.store.writer import StoreWriter
from tests.peers import missing_peer
from tests.peers.snmp import COMMUNITY, V3_USERS, free_udp_port

ENGINE_ID = "8000000001020304"
VENDOR_TRAP = "1.3.6.1.4.1.9999.0.1"
VENDOR_VALUE = "1.3.6.1.4.1.9999.1.1.0"
# Bytes pyasn1 cannot even start on (a TypeError inside pysnmp's version decoder, not a PyAsn1Error), a
# truncated SEQUENCE, an SNMP version nobody speaks, and a v2c message cut inside its community.
MALFORMED = (b"\xff\xfe\x00garbage", b"\x30\x82\xff\xff\x02\x01\x01", bytes.fromhex("3006020109040170"),
             bytes.fromhex("302902010104037075"), b"")
SNMP_ENV = {"MIBS": "", "PATH": "/usr/bin:/bin"}


def needs_snmptrap() -> None:
    if shutil.which("snmptrap") is None:
        missing_peer("net-snmp's snmptrap is not installed (Debian package snmp)")


def v3_args(user: str = "opsha256", engine: str = ENGINE_ID, auth_key: str | None = None,
            priv_key: str | None = None) -> list[str]:
    _a, akey, _p, pkey, _n = V3_USERS["opsha256"]
    return ["-v", "3", "-e", "0x" + engine, "-u", user, "-l", "authPriv", "-a", "SHA-256", "-A", auth_key or akey,
            "-x", "AES-256", "-X", priv_key or pkey]


def snmptrap(port: int, *args: str, auth: list[str] | None = None, source: str = "127.0.0.1") -> None:
    """net-snmp's snmptrap to 127.0.0.1:port from `source` (a loopback address)."""
    needs_snmptrap()
    subprocess.run(["snmptrap", f"--clientaddr={source}", *(auth or ["-v", "2c", "-c", COMMUNITY]),
                    f"127.0.0.1:{port}", "", *args], check=True, capture_output=True, timeout=10, env=SNMP_ENV)


def captured(*args: str, auth: list[str] | None = None) -> bytes:
    """The datagram snmptrap sends for these arguments, caught on a socket of ours (to replay it fast)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(10)
        snmptrap(sink.getsockname()[1], *args, auth=auth)
        return sink.recvfrom(65535)[0]


def blast(port: int, packets: list[bytes], source: str = "127.0.0.1") -> float:
    """Send raw datagrams from `source`, 25 every 5 ms (the kernel's default socket buffer holds about 250 of
    them: faster, it drops some before any code of ours sees them); the seconds it took."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        out.bind((source, 0))
        began = time.monotonic()
        for i, packet in enumerate(packets):
            out.sendto(packet, ("127.0.0.1", port))
            if i % 25 == 24:
                time.sleep(0.005)
        return time.monotonic() - began


def trap_settings(port: int, **traps: Any) -> SnmpConfig:
    user = V3_USERS["opsha256"]
    return SnmpConfig.model_validate({
        "credentials": {"v2": {"version": "2c", "community": COMMUNITY},
                        "opsha256": {"version": "3", "user": "opsha256", "auth_protocol": user[4][0],
                                     "auth_key": user[1], "priv_protocol": user[4][1], "priv_key": user[3]}},
        "traps": {"enabled": True, "host": "127.0.0.1", "port": port, "credentials": ["v2", "opsha256"],
                  "engine_ids": {"sw": ENGINE_ID}, **traps}})


@dataclass
class Rig:
    port: int
    receiver: TrapReceiver
    writer: StoreWriter
    store: Store
    others: list[Message] = field(default_factory=list)  # every message the receiver published

    def refused(self) -> dict[tuple[str, str], int]:
        return dict(self.receiver.counts.refused)

    async def until(self, cond: Callable[[], Any], what: str, timeout: float = 15,
                    on_timeout: Callable[[], Any] = lambda: "") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = cond()
            if got:
                return got
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what} {on_timeout()}")

    async def events(self, n: int | None = None) -> list[dict[str, Any]]:
        """The stored trap events, oldest first (waits for n of them when given)."""
        def rows() -> list[dict[str, Any]]:
            self.writer.flush()
            return list(reversed(read_events(self.store, kind="trap", limit=10_000)))
        if n is None:
            return await asyncio.to_thread(rows)
        return await self.until(lambda: (lambda r: r if len(r) >= n else None)(rows()), f"{n} stored events")


@asynccontextmanager
async def rig(tmp_path: Path, store: Store, assets: dict[str, str] | None = None,
              owners: dict[str, tuple[str, ...]] | None = None, **traps: Any) -> AsyncIterator[Rig]:
    """A started TrapReceiver whose events the real writer stores; `assets`: address -> asset id (the one traps
    by address go to); `owners`: address -> every asset there."""
    port = free_udp_port()
    cfg = trap_settings(port, **traps)
    writer = StoreWriter(store, datetime.now(UTC))
    writer.start()
    others: list[Message] = []

    def publish(msg: Message) -> None:
        if isinstance(msg, Written):
            writer.put(msg)
        others.append(msg)  # everything published, in order (the stored ones too)

    hub = SnmpHub(cfg, tmp_path, "collector.yaml", publish)
    receiver = TrapReceiver(cfg.traps, hub.credentials, publish,
                            (assets if assets is not None else {"127.0.0.1": "sw"}).get, hub,
                            assets_at=lambda address: (owners or {}).get(address, ()))
    receiver.bind()
    receiver.start()
    try:
        yield Rig(port, receiver, writer, store, others)
    finally:
        receiver.close()
        hub.close()
        writer.stop()


def trap_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Log records of the receiver and of asyncio (where an exception escaping pysnmp's callback lands)."""
    return [r for r in caplog.records if r.name.startswith(("opsmon.collector.inputs.snmp", "asyncio"))]


def test_malformed_packets_are_counted_by_source_without_tracebacks(tmp_path: Path, store: Store,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Malformed datagrams are refused with reason `malformed` and their source, logged once for that source
    (not once per packet, never with a traceback), and the receiver takes a valid trap afterwards."""
    needs_snmptrap()
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        async with rig(tmp_path, store) as r:
            await asyncio.to_thread(blast, r.port, list(MALFORMED) * 20, "127.0.0.2")
            await r.until(lambda: r.refused().get(("malformed", "127.0.0.2")) == len(MALFORMED) * 20,
                          "every malformed packet counted")
            await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "s", "still here")
            events = await r.events(1)
            assert events[-1]["details"][VENDOR_VALUE] == "still here"

    asyncio.run(scenario())
    lines = trap_lines(caplog)
    assert not [r for r in lines if r.exc_info or "Traceback" in r.getMessage()], [r.getMessage() for r in lines]
    about = [r for r in lines if getattr(r, "source", None) == "127.0.0.2"]
    # The first at once, the other 99 in one line when the receiver closed (else a minute later).
    assert [(r.levelno, r.refused) for r in about] == [(logging.WARNING, "malformed:1"),
                                                      (logging.WARNING, "malformed:99")], about


def test_traps_from_one_address_go_to_the_v3_sender_by_engine_id_and_v2c_by_address_with_a_warning(
        tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """Two devices behind one address (127.0.0.1), a switch and a firewall, each with its engine ID: every v3
    trap goes to the device whose engine ID it carries; v2c traps carry none and go to the asset the
    inventory puts at the address (the switch), with one warning for that address, not one per trap."""
    needs_snmptrap()
    caplog.set_level(logging.INFO)
    firewall_engine = "80000000090a0b0c"

    async def scenario() -> list[dict[str, Any]]:
        async with rig(tmp_path, store, owners={"127.0.0.1": ("fw", "sw")},
                       engine_ids={"sw": ENGINE_ID, "fw": firewall_engine}) as r:
            for engine, text in ((firewall_engine, "from the firewall"), (ENGINE_ID, "from the switch")):
                await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "s", text,
                                        auth=v3_args(engine=engine))
            for n in range(2):
                await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "s", f"v2c {n}")
            return await r.events(4)

    events = asyncio.run(scenario())
    assert [(e["asset"], e["details"][VENDOR_VALUE]) for e in events] == [
        ("fw", "from the firewall"), ("sw", "from the switch"), ("sw", "v2c 0"), ("sw", "v2c 1")], events
    told = [r for r in trap_lines(caplog) if "several assets share" in r.getMessage()]
    assert [(r.levelno, r.source, r.assets, r.chosen) for r in told] == [(logging.WARNING, "127.0.0.1", "fw,sw", "sw")]


HW_FAN_FAIL, HW_FAN_RESUME = "1.3.6.1.4.1.2011.5.25.219.2.6.3", "1.3.6.1.4.1.2011.5.25.219.2.6.4"
ENT_PHYSICAL_NAME = "1.3.6.1.2.1.47.1.1.1.1.7"


def test_a_huawei_fan_trap_is_named_by_the_map_and_raises_then_clears_a_hardware_fault(
        tmp_path: Path, store: Store) -> None:
    """hwFanFail and hwFanFailResume (HUAWEI-ENTITY-TRAP-MIB, with the varbinds its OBJECTS clause names) as a VRP
    switch sends them: each stored under its MIB name with the map's zh/en summary and the fan's entPhysicalName;
    the first raises a hardware fault of the device's `fan` (the component the huawei profile polls; the map's
    `same_fault: {"*": fan}`), its problem naming "FAN 2", said by a trap, the second clears that component (this
    receiver's asset is polled by no hub); an unmapped vendor trap stays an event only."""
    needs_snmptrap()

    def fan(oid: str) -> list[str]:
        return [oid, "1.3.6.1.4.1.2011.5.25.219.1.1.0", "i", "16842753", f"{ENT_PHYSICAL_NAME}.16842753", "s", "FAN 2",
                "1.3.6.1.4.1.2011.5.25.219.1.13.0", "s", "The fan stopped"]

    async def scenario() -> tuple[list[dict[str, Any]], list[Message]]:
        async with rig(tmp_path, store) as r:
            for oid in (HW_FAN_FAIL, HW_FAN_RESUME):
                await asyncio.to_thread(snmptrap, r.port, *fan(oid))
            await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "s", "unmapped")
            events = await r.events(3)
            return events, r.others

    events, published = asyncio.run(scenario())
    assert [(e["name"], e["severity"], e["summary"]) for e in events] == [
        ("hwFanFail", "major", "风扇故障 / fan failed: FAN 2"),
        ("hwFanFailResume", "info", "风扇故障恢复 / fan recovered: FAN 2"),
        (VENDOR_TRAP, "info", "未知陷阱 / vendor trap")]
    signals = [m for m in published if isinstance(m, HardwareSignal)]
    assert [(m.asset_id, m.component, m.cleared, m.source, m.problem) for m in signals] == [
        ("sw", "fan", False, "trap", "风扇故障 / fan failed: FAN 2"),
        ("sw", "fan", True, "trap", "风扇故障恢复 / fan recovered: FAN 2")]


RJ_CHECK_FAIL, RJ_CHECK_CLEAR = "1.3.6.1.4.1.4881.1.1.10.2.21.2.18", "1.3.6.1.4.1.4881.1.1.10.2.21.2.19"
RJ_PHYS_DESCR = "1.3.6.1.4.1.4881.1.1.10.2.21.2.14.0"  # ruijieEntityPhysicalDescr (accessible-for-notify scalar)
ZTE_FAN_ALM, ZTE_FAN_CLR = "1.3.6.1.4.1.3902.1082.10.10.3.4.5", "1.3.6.1.4.1.3902.1082.10.10.3.4.6"
ZTE_FAN_OPER = "1.3.6.1.4.1.3902.1082.10.10.2.4.2.1.3.1.1.2"  # a zxAnEnvFanOperStatus instance: a state, no name


def test_ruijie_and_zte_hardware_traps_raise_and_clear_by_their_packs(tmp_path: Path, store: Store) -> None:
    """RUIJIE-ENTITY-MIB ruijieEntityCheckFailActive/Clear with the varbinds of its OBJECTS clause (device index,
    ruijieEntityPhysicalDescr "Fan 1", check type, description): named and summarised by the ruijie-entity pack,
    a hardware fault of component "Fan 1" raised then cleared. ZTE-AN-ENVMON-MIB zxAnEnvFanFailureAlm/Clr carry
    only zxAnEnvFanOperStatus (a state), so their component is the raising trap's name, the same for both."""
    needs_snmptrap()

    def ruijie(oid: str) -> list[str]:
        return [oid, "1.3.6.1.4.1.4881.1.1.10.2.21.2.13.0", "i", "1", RJ_PHYS_DESCR, "s", "Fan 1",
                "1.3.6.1.4.1.4881.1.1.10.2.21.2.15.0", "i", "2",
                "1.3.6.1.4.1.4881.1.1.10.2.21.2.17.0", "s", "fan speed check"]

    async def scenario() -> tuple[list[dict[str, Any]], list[Message]]:
        async with rig(tmp_path, store) as r:
            for args in (ruijie(RJ_CHECK_FAIL), ruijie(RJ_CHECK_CLEAR), [ZTE_FAN_ALM, ZTE_FAN_OPER, "i", "2"],
                         [ZTE_FAN_CLR, ZTE_FAN_OPER, "i", "1"]):
                await asyncio.to_thread(snmptrap, r.port, *args)
            return await r.events(4), r.others

    events, published = asyncio.run(scenario())
    assert [(e["name"], e["severity"], e["summary"]) for e in events] == [
        ("ruijieEntityCheckFailActive", "major", "部件自检失败 / part check failed: Fan 1"),
        ("ruijieEntityCheckFailClear", "info", "部件自检恢复 / part check passes again: Fan 1"),
        ("zxAnEnvFanFailureAlm", "major", "风扇故障 / fan failed"),
        ("zxAnEnvFanFailureClr", "info", "风扇故障恢复 / fan recovered")], events
    signals = [m for m in published if isinstance(m, HardwareSignal)]
    assert [(m.asset_id, m.component, m.cleared, m.source) for m in signals] == [
        ("sw", "Fan 1", False, "trap"), ("sw", "Fan 1", True, "trap"),
        ("sw", "zxAnEnvFanFailureAlm", False, "trap"), ("sw", "zxAnEnvFanFailureAlm", True, "trap")]


def test_a_trap_map_names_its_file_line_and_key_when_wrong(tmp_path: Path) -> None:
    """An operator's map is checked like every config file: each mistake with its line and key, all at once."""
    path = tmp_path / "maps.yaml"
    path.write_text("pack: ours\nsource: our MIB\ntraps:\n"
                    "  - {oid: 1.3.6.1.4.1.9999.0.1, name: ourFail, action: hardware, summary: {zh: 坏, en: bad}}\n"
                    "  - {oid: not-an-oid, name: ourOther, summary: {zh: 别, en: other}}\n"
                    "  - {oid: 1.3.6.1.4.1.9999.0.2, name: ourFixed, clears: nobody, summary: {zh: 好, en: ok}}\n")
    with pytest.raises(ConfigError) as caught:
        load_trap_maps((path,))
    text = str(caught.value) + "".join(str(p) for p in getattr(caught.value, "problems", ()))
    assert "not-an-oid" in text and "traps[1].oid" in text and ":5" in text, text
    path.write_text(path.read_text().replace("not-an-oid", "1.3.6.1.4.1.9999.0.3"))
    with pytest.raises(ConfigError, match="clears 'nobody'"):
        load_trap_maps((path,))
    path.write_text(path.read_text().replace("clears: nobody", "clears: ourFail"))
    ours = load_trap_maps((path,))
    assert ours.cleared[(1, 3, 6, 1, 4, 1, 9999, 0, 2)].name == "ourFail"
    assert ours.get((1, 3, 6, 1, 6, 3, 1, 1, 5, 1)).name == "coldStart"  # the bundled packs stay


def test_the_maps_the_loader_checked_are_the_ones_the_receiver_uses(tmp_path: Path) -> None:
    """snmp.traps.maps is parsed once, by the loader's check at start: the receiver make() builds holds those very
    maps, so a file removed (or changed) after start changes nothing until the next start; a wrong map is refused
    by the loader naming file, line, key and reason, before any receiver."""
    maps = tmp_path / "ours.yaml"
    maps.write_text("pack: ours\nsource: our MIB\ntraps:\n"
                    "  - {oid: 1.3.6.1.4.1.9999.0.1, name: ourFail, action: hardware, summary: {zh: 坏, en: bad}}\n")
    (tmp_path / "collector.yaml").write_text(
        "database: {path: opsmon.db}\nsnmp:\n  credentials: {v2: {version: 2c, community: public}}\n"
        "  traps: {enabled: true, host: 127.0.0.1, port: 1, credentials: [v2], maps: [ours.yaml]}\n")
    config = load_config(tmp_path / "collector.yaml", secrets=True)
    checked = config.trap_maps()
    maps.unlink()  # not read again: the receiver takes what the loader parsed
    hub = SnmpHub(config.snmp, tmp_path, "collector.yaml", lambda _m: None)
    try:
        receiver = make(InputContext(config, lambda _m: None, lambda: datetime.now(UTC), lambda _a: None, hub))
        assert receiver is not None and receiver.maps is checked
        assert receiver.maps.get((1, 3, 6, 1, 4, 1, 9999, 0, 1)).name == "ourFail"
    finally:
        hub.close()
    maps.write_text("pack: ours\nsource: our MIB\ntraps:\n  - {oid: 1.3.6.1.4.1.9999.0.1, name: ourFail, "
                    "severity: dire, summary: {zh: 坏, en: bad}}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "collector.yaml", secrets=True)
    text = str(caught.value) + "".join(str(p) for p in getattr(caught.value, "problems", ()))
    # the map's 4th line holds the entry; its key traps[0].severity, the reason pydantic's
    assert "ours.yaml:4" in text and "traps[0].severity" in text and "dire" in text, text


def test_wrong_credentials_are_counted_by_reason_and_source(tmp_path: Path, store: Store) -> None:
    """A wrong community and each wrong v3 part (user, auth key, priv key, engine ID) are counted apart, by
    source; none is stored."""
    needs_snmptrap()
    cases = [
        ("community", "127.0.0.2", ["-v", "2c", "-c", "not-the-community"]),
        ("unknown_user", "127.0.0.3", v3_args(user="nobody")),
        ("auth_key", "127.0.0.4", v3_args(auth_key="not-the-auth-key")),
        ("priv_key", "127.0.0.5", v3_args(priv_key="not-the-priv-key")),
        ("unknown_engine", "127.0.0.6", v3_args(engine="80000000090a0b0c")),
    ]

    async def scenario() -> None:
        async with rig(tmp_path, store) as r:
            for _reason, source, auth in cases:
                for _ in range(2):
                    await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, auth=auth, source=source)
            await r.until(lambda: sum(r.refused().values()) >= 2 * len(cases), "every refusal counted")
            await asyncio.sleep(0.2)
            assert r.refused() == {(reason, source): 2 for reason, source, _auth in cases}
            assert await r.events() == []

    asyncio.run(scenario())


def test_rate_limit_per_source(tmp_path: Path, store: Store) -> None:
    """Beyond a source's token bucket (here 20/s, burst 50) traps are refused with reason `rate`; another
    source keeps its own bucket."""
    needs_snmptrap()
    packet = captured(VENDOR_TRAP, VENDOR_VALUE, "s", "storm")

    async def scenario() -> None:
        async with rig(tmp_path, store, {"127.0.0.1": "sw", "127.0.0.2": "sw2"}, rate=20, burst=50) as r:
            took = await asyncio.to_thread(blast, r.port, [packet] * 300)
            await r.until(lambda: r.receiver.counts.accepted + r.refused().get(("rate", "127.0.0.1"), 0) == 300,
                          "300 traps accepted or refused", on_timeout=lambda: (r.receiver.counts, took))
            accepted = r.receiver.counts.accepted
            assert 50 <= accepted <= 50 + 20 * (took + 0.5) + 1, (accepted, took)
            await asyncio.to_thread(blast, r.port, [packet] * 10, "127.0.0.2")
            await r.until(lambda: r.receiver.counts.accepted == accepted + 10, "the other source's 10 traps")
            assert ("rate", "127.0.0.2") not in r.refused()

    asyncio.run(scenario())


def test_a_storm_of_one_trap_is_one_event_with_a_count(tmp_path: Path, store: Store) -> None:
    """The same trap from the same source (sysUpTime apart) within the window is one stored event whose
    details carry count, first and last; a different varbind value is another event; after the window the
    next one starts a new event."""
    needs_snmptrap()

    async def scenario() -> None:
        async with rig(tmp_path, store, storm_window="2s") as r:
            for _ in range(3):  # snmptrap puts its host's uptime in sysUpTime.0: it differs every time
                await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "s", "fan 2 removed")
            await asyncio.to_thread(blast, r.port, [captured(VENDOR_TRAP, VENDOR_VALUE, "s", "fan 2 removed")] * 40)
            await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "s", "fan 3 removed")
            await r.until(lambda: r.receiver.counts.accepted == 44, "44 traps accepted")
            events = await r.until(lambda: (lambda e: e if [x["details"].get("count") for x in e] == [43, 1]
                                            else None)(_sync_events(r)), "the counts stored", 10)
            first, other = events
            assert (first["details"][VENDOR_VALUE], other["details"][VENDOR_VALUE]) == ("fan 2 removed",
                                                                                      "fan 3 removed")
            assert first["details"]["first"] < first["details"]["last"]
            await asyncio.sleep(2.2)  # the window closes
            await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "s", "fan 2 removed")
            later = await r.events(3)
            assert [e["details"]["count"] for e in later] == [43, 1, 1]

    asyncio.run(scenario())


def _sync_events(r: Rig) -> list[dict[str, Any]]:
    r.writer.flush()
    return list(reversed(read_events(r.store, kind="trap", limit=10_000)))


def test_link_traps_act_at_once_inside_a_storm(tmp_path: Path, store: Store) -> None:
    """A linkDown, linkUp, linkDown flap inside one storm window leaves the uplink down: every accepted link
    trap acts at once, grouping only concerns what is stored."""
    needs_snmptrap()
    calls: list[tuple[str, int, str]] = []

    async def scenario() -> None:
        async with rig(tmp_path, store) as r:
            r.receiver.hub.interface_event = lambda asset, idx, status, reason: calls.append((asset, idx, status))
            for oid in ("1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.6.3.1.1.5.3"):
                await asyncio.to_thread(snmptrap, r.port, oid, "1.3.6.1.2.1.2.2.1.1.7", "i", "7")
            await r.until(lambda: len(calls) == 3, "three link actions")
            assert [c[2] for c in calls] == ["down", "up", "down"]
            events = await r.until(lambda: (lambda e: e if sum(x["details"]["count"] for x in e) == 3 else None)(
                _sync_events(r)), "the link traps stored")
            assert [(e["name"], e["details"]["count"]) for e in events] == [("linkDown", 2), ("linkUp", 1)]

    asyncio.run(scenario())


def test_stored_details_are_capped(tmp_path: Path, store: Store) -> None:
    """A 60 KB trap is stored in at most max_detail_bytes (default 4 KB) of JSON: a long value is cut with a
    marker, the number of varbinds is capped and the cut says how many there were."""
    needs_snmptrap()
    many = [arg for i in range(100) for arg in (f"1.3.6.1.4.1.9999.2.{i}.0", "i", str(i))]

    async def scenario() -> None:
        async with rig(tmp_path, store) as r:
            await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "x", "ab" * 60_000)
            await asyncio.to_thread(snmptrap, r.port, "1.3.6.1.4.1.9999.0.2", *many)
            big, wide = await r.events(2)
            with store.engine.connect() as conn:
                sizes = [n for (n,) in conn.execute(sql("SELECT length(details) FROM events ORDER BY id"))]
            print(f"\nstored details: {sizes} bytes (a 60,094-byte trap, a 100-varbind trap)")
            assert all(n <= 4096 for n in sizes), sizes
            assert big["details"][VENDOR_VALUE].endswith("…[截断 truncated]")
            assert len(json.dumps(wide["details"])) <= 4096
            assert wide["details"]["truncated"]["varbinds"] == 101  # sysUpTime.0 and the 100 given
            assert "1.3.6.1.4.1.9999.2.0.0" in wide["details"]

    asyncio.run(scenario())


def test_traps_from_unknown_sources_are_counted_and_not_stored_by_default(tmp_path: Path, store: Store) -> None:
    """A trap from an address that is no asset is refused (`unknown_source`) unless store_unknown is true."""
    needs_snmptrap()

    async def scenario(store_unknown: bool) -> list[dict[str, Any]]:
        async with rig(tmp_path, store, store_unknown=store_unknown) as r:
            await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "s", "who am i", source="127.0.0.9")
            await asyncio.to_thread(snmptrap, r.port, VENDOR_TRAP, VENDOR_VALUE, "s", "known")
            await r.events(1)
            await asyncio.sleep(0.3)
            refused = r.refused()
            assert refused == ({} if store_unknown else {("unknown_source", "127.0.0.9"): 1})
            return await r.events()

    kept = asyncio.run(scenario(False))
    assert [(e["asset"], e["details"][VENDOR_VALUE]) for e in kept] == [("sw", "known")]
    kept = asyncio.run(scenario(True))  # the same store: the first run's event and these two
    assert sorted((e["asset"] or "", e["details"][VENDOR_VALUE]) for e in kept) == [
        ("", "who am i"), ("sw", "known"), ("sw", "known")]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def metric_values(text: str, name: str) -> dict[tuple[str, str], float]:
    """{(reason, source): value} of a labelled counter in /metrics text."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[tuple[str, str], float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name:
                out[(s.labels["reason"], s.labels["source"])] = s.value
    return out


def test_flood_of_bad_and_good_traps_on_a_real_collector(collector_factory) -> None:
    """2,350 datagrams in about two seconds to a real `opsmon serve`: malformed ones, wrong community, a wrong
    v3 key, traps from an unknown source and one valid trap repeated. The receiver still takes a valid trap
    afterwards; /metrics counts exactly what was sent, by reason (sources beyond refused_sources folded into
    `other`); the log has a line or two per source and no traceback; the repeated trap is one stored event
    with its count."""
    from tests.peers.collector import wait_for

    needs_snmptrap()
    trap_port = free_udp_port()
    user = V3_USERS["opsha256"]
    c = collector_factory("assets:\n  - {id: sw, category: network, address: 127.0.0.1}\n", extra=(
        "api:\n  public_read: true\n"
        f"snmp:\n  credentials:\n    v2: {{version: '2c', community: {COMMUNITY}}}\n"
        f"    opsha256: {{version: '3', user: opsha256, auth_protocol: {user[4][0]}, auth_key: {user[1]}, "
        f"priv_protocol: {user[4][1]}, priv_key: {user[3]}}}\n"
        f"  traps:\n    enabled: true\n    host: 127.0.0.1\n    port: {trap_port}\n    credentials: [v2, opsha256]\n"
        f"    engine_ids: {{sw: '{ENGINE_ID}'}}\n    rate: 100000\n    burst: 100000\n    refused_sources: 3\n"))
    c.start()
    assert c.proc is not None
    rss_before = rss_kb(c.proc.pid)
    valid = captured(VENDOR_TRAP, VENDOR_VALUE, "s", "fan 2 removed")
    plan = [  # (source, packet, how many, reason counted or None when accepted)
        ("127.0.0.2", MALFORMED[0], 400, "malformed"),
        ("127.0.0.2", MALFORMED[1], 200, "malformed"),
        ("127.0.0.3", captured(VENDOR_TRAP, auth=["-v", "2c", "-c", "not-the-community"]), 500, "community"),
        ("127.0.0.4", captured(VENDOR_TRAP, auth=v3_args(auth_key="not-the-auth-key")), 300, "auth_key"),
        ("127.0.0.5", MALFORMED[2], 150, "malformed"),
        ("127.0.0.6", valid, 100, "unknown_source"),  # not an asset
        ("127.0.0.1", valid, 700, None),
    ]
    sent = sum(n for _s, _p, n, _r in plan)
    began = time.monotonic()
    socks = {src: socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for src, *_ in plan}
    for src, sock in socks.items():
        sock.bind((src, 0))
    queue = [(src, packet) for src, packet, n, _r in plan for _ in range(n)]
    queue = [queue[i] for i in sorted(range(len(queue)), key=lambda i: (i * 7919) % len(queue))]  # interleaved
    for i in range(0, len(queue), 50):  # ~1,200 a second: what the kernel's default socket buffer holds
        for src, packet in queue[i:i + 50]:
            socks[src].sendto(packet, ("127.0.0.1", trap_port))
        time.sleep(0.04)
    took = time.monotonic() - began
    for sock in socks.values():
        sock.close()
    snmptrap(trap_port, "1.3.6.1.4.1.9999.0.9", VENDOR_VALUE, "s", "after the flood")
    labelled: list[str] = []  # the first three addresses that are no asset get a label of their own
    for src, _packet in queue:
        if src != "127.0.0.1" and src not in labelled and len(labelled) < 3:
            labelled.append(src)
    expected: dict[tuple[str, str], float] = {}
    for src, _p, n, reason in plan:
        if reason is not None:
            label = src if src in labelled else "other"
            expected[(reason, label)] = expected.get((reason, label), 0) + n
    try:
        wait_for(lambda: metric_values(c.get("/metrics").text, "opsmon_trap_refused_total") == expected, 20,
                 "the refusals counted")
    except AssertionError:
        got = c.get("/metrics").text
        raise AssertionError(f"expected {expected}, got {metric_values(got, 'opsmon_trap_refused_total')}; "
                             + " ".join(line for line in got.splitlines() if line.startswith("opsmon_trap"))) from None
    after = wait_for(lambda: c.get("/api/v1/events?name=1.3.6.1.4.1.9999.0.9").json(), 10, "the trap after the flood")
    assert after[0]["details"][VENDOR_VALUE] == "after the flood"
    events = wait_for(lambda: (lambda e: e if e and e[0]["details"]["count"] == 700 else None)(
        c.get(f"/api/v1/events?name={VENDOR_TRAP}").json()), 10, "the repeated trap's count")
    assert len(events) == 1 and events[0]["asset"] == "sw"
    accepted = next(line for line in c.get("/metrics").text.splitlines()
                    if line.startswith("opsmon_traps_accepted_total "))
    rows = len(c.get("/api/v1/events?limit=1000").json())
    rss_after = rss_kb(c.proc.pid)
    _rc, _out, _err = c.stop()
    log = c.log().splitlines()
    trap_log = [line for line in log if "trap" in line.lower() and "listening" not in line]
    assert not [line for line in log if "Traceback" in line or "Exception in callback" in line], log[-40:]
    per_source = {label: sum(1 for line in trap_log if f"source={label} " in line + " ")
                  for label in (*labelled, "other")}
    assert all(1 <= n <= 2 for n in per_source.values()), (per_source, trap_log)
    assert len(trap_log) <= 10, trap_log
    print(f"\nflood: {sent} datagrams + 1 snmptrap in {took:.2f} s ({sent / took:,.0f}/s); "
          f"log lines about traps: {len(trap_log)} {per_source}; event rows stored: {rows}; "
          f"refused: {sum(expected.values()):,.0f}; {accepted} "
          f"(700 as one event with count 700); RSS {rss_before / 1024:.1f} MB before, {rss_after / 1024:.1f} MB after")


def test_a_recovery_trap_without_a_component_clears_the_fault_its_pair_raised(tmp_path: Path) -> None:
    """A pack whose traps name no component: the fault is the raising trap's (ourFail), and the recovery (ourFixed)
    clears that same fault, not one of its own name; the summary is the map's, without the component twice."""
    from pysnmp.proto.rfc1902 import ObjectIdentifier

    path = tmp_path / "maps.yaml"
    path.write_text("pack: ours\nsource: our MIB\ntraps:\n"
                    "  - {oid: 1.3.6.1.4.1.9999.0.1, name: ourFail, action: hardware, summary: {zh: 坏, en: bad}}\n"
                    "  - {oid: 1.3.6.1.4.1.9999.0.2, name: ourFixed, clears: ourFail, summary: {zh: 好, en: ok}}\n")
    published: list[Message] = []
    cfg = trap_settings(free_udp_port())
    receiver = TrapReceiver(cfg.traps, {}, published.append, lambda _host: "sw", None, maps=load_trap_maps((path,)))
    trap = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
    for oid in ("1.3.6.1.4.1.9999.0.1", "1.3.6.1.4.1.9999.0.2"):
        receiver.handle("127.0.0.1", [(trap, ObjectIdentifier(oid))])
    receiver.storms.close()
    signals = [(m.component, m.cleared, m.problem) for m in published if isinstance(m, HardwareSignal)]
    assert signals == [("ourFail", False, "坏 / bad"), ("ourFail", True, "好 / ok")]


def test_a_ups_alarm_trap_names_the_fault_the_profiles_poll(tmp_path: Path) -> None:
    """One fault, one incident whether polled or trapped (issue 21 item 2): RFC 1628's upsTrapAlarmEntryAdded
    (1.3.6.1.2.1.33.2.3, OBJECTS upsAlarmId, upsAlarmDescr) for upsAlarmOnBattery (upsWellKnownAlarms .2) raises
    the fault the `ups` and `huawei-ups` profiles poll as `UPS power input`, and upsTrapAlarmEntryRemoved (.2.4)
    clears that same component (the bundled standard map's same_fault); an alarm no profile polls under another
    name (upsAlarmFanFailure .16) keeps its upsAlarmDescr as the component."""
    from pysnmp.proto.rfc1902 import Integer, ObjectIdentifier

    published: list[Message] = []
    cfg = trap_settings(free_udp_port())
    receiver = TrapReceiver(cfg.traps, {}, published.append, lambda _host: "ups", None, maps=load_trap_maps())
    trap = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)  # snmpTrapOID.0
    alarm_id, alarm_descr = (1, 3, 6, 1, 2, 1, 33, 1, 6, 2, 1, 1, 7), (1, 3, 6, 1, 2, 1, 33, 1, 6, 2, 1, 2, 7)
    for trap_oid, well_known in (("1.3.6.1.2.1.33.2.3", 2), ("1.3.6.1.2.1.33.2.4", 2), ("1.3.6.1.2.1.33.2.3", 16)):
        receiver.handle("127.0.0.1", [(trap, ObjectIdentifier(trap_oid)), (alarm_id, Integer(7)),
                                      (alarm_descr, ObjectIdentifier(f"1.3.6.1.2.1.33.1.6.3.{well_known}"))])
    receiver.storms.close()
    signals = [(m.asset_id, m.component, m.cleared, m.source) for m in published if isinstance(m, HardwareSignal)]
    assert signals == [("ups", "UPS power input", False, "trap"), ("ups", "UPS power input", True, "trap"),
                       ("ups", "1.3.6.1.2.1.33.1.6.3.16", False, "trap")]
