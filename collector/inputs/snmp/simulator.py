"""A small SNMPv2c agent serving simulated devices on loopback, for the demo (`make run`).

It answers GET, GETNEXT and GETBULK for a few devices chosen by community: a core
switch whose ports carry traffic (counters grow at fixed rates from start) and whose
uplink to one prefecture is down on purpose, a printer with a paper jam, and a UPS on
battery. So a first `make run` shows polling, traffic rates, a link down and hardware
incidents without any device. It is a demo peer, not a general simulator: tests use
net-snmp's snmpd and snmpsim.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opsmon.collector.config.snmp_profiles import parse_oid
from opsmon.collector.inputs.snmp.client import Oid
from opsmon.collector.inputs.snmp.fast_client import _decode_oid, _int, _len, _read_int, _tl, _tlv, encode_oid

log = logging.getLogger(__name__)
INTEGER, OCTETS, OID, COUNTER32, GAUGE32, TICKS, COUNTER64 = 0x02, 0x04, 0x06, 0x41, 0x42, 0x43, 0x46
START = time.monotonic()


def _unsigned(tag: int, value: int) -> bytes:
    return _tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big"))


@dataclass
class Device:
    """OIDs in order, each with a tag and a value (or a function of the seconds since start)."""

    oids: list[Oid] = field(default_factory=list)
    values: dict[Oid, tuple[int, object]] = field(default_factory=dict)

    def put(self, oid: str, tag: int, value: object) -> Device:
        key = parse_oid(oid)
        if key not in self.values:
            bisect.insort(self.oids, key)
        self.values[key] = (tag, value)
        return self

    def encode(self, oid: Oid) -> bytes:
        tag, value = self.values[oid]
        if callable(value):
            value = value(time.monotonic() - START)
        if tag == OCTETS:
            return _tlv(OCTETS, value.encode() if isinstance(value, str) else bytes(value))  # type: ignore[arg-type]
        if tag == OID:
            return encode_oid(parse_oid(str(value)))
        if tag == INTEGER:
            return _int(int(value))  # type: ignore[call-overload]
        wrap = 1 << (64 if tag == COUNTER64 else 32)
        return _unsigned(tag, int(value) % wrap)  # type: ignore[call-overload]

    def next_after(self, oid: Oid) -> Oid | None:
        i = bisect.bisect_right(self.oids, oid)
        return self.oids[i] if i < len(self.oids) else None


def growing(rate: float, initial: int = 0) -> Callable[[float], int]:
    return lambda t: int(initial + rate * t)


def system(d: Device, name: str, descr: str, sys_oid: str) -> Device:
    d.put("1.3.6.1.2.1.1.1.0", OCTETS, descr).put("1.3.6.1.2.1.1.2.0", OID, sys_oid)
    d.put("1.3.6.1.2.1.1.3.0", TICKS, growing(100, 8_640_000)).put("1.3.6.1.2.1.1.5.0", OCTETS, name)
    return d.put("1.3.6.1.2.1.1.6.0", OCTETS, "Urumqi data centre")


def port(d: Device, i: int, descr: str, name: str, up: bool, rate: float, alias: str = "", errors: float = 0) -> Device:
    """One interface in ifTable and ifXTable: `rate` bytes/s in, half of it out."""
    t, x = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
    d.put(f"{t}.1.{i}", INTEGER, i).put(f"{t}.2.{i}", OCTETS, descr)
    d.put(f"{t}.3.{i}", INTEGER, 6).put(f"{t}.5.{i}", GAUGE32, 1_000_000_000)
    d.put(f"{t}.6.{i}", OCTETS, bytes.fromhex(f"02005e0000{i:02x}"))
    d.put(f"{t}.7.{i}", INTEGER, 1).put(f"{t}.8.{i}", INTEGER, 1 if up else 2)
    for col, r in ((10, rate), (16, rate / 2)):
        d.put(f"{t}.{col}.{i}", COUNTER32, growing(r, 7 * i))
    for col in (13, 14, 19, 20):
        d.put(f"{t}.{col}.{i}", COUNTER32, growing(errors))
    d.put(f"{x}.1.{i}", OCTETS, name).put(f"{x}.15.{i}", GAUGE32, 1000)
    d.put(f"{x}.18.{i}", OCTETS, alias)
    d.put(f"{x}.6.{i}", COUNTER64, growing(rate, 7 * i)).put(f"{x}.10.{i}", COUNTER64, growing(rate / 2))
    for col in (7, 11):
        d.put(f"{x}.{col}.{i}", COUNTER64, growing(rate / 1000))
    for col in (9, 13):
        d.put(f"{x}.{col}.{i}", COUNTER64, growing(1 if up else 0))
    return d


def core_switch() -> Device:
    """24 ports; ports 1-3 are uplinks to prefectures (aliases name them); port 1's link (Kashgar) is down."""
    d = system(Device(), "urumqi-core-sw", "simulated 24-port core switch", "1.3.6.1.4.1.8072.3.2.10")
    aliases = {1: "WAN to Kashgar", 2: "WAN to Hotan", 3: "WAN to Altay"}
    for i in range(1, 25):
        up = i != 1 and i <= 16
        rate = 125_000 * i if up else 0  # port i moves i Mbit/s in, half of it out
        port(d, i, f"GigabitEthernet1/0/{i}", f"Gi1/0/{i}", up, rate, aliases.get(i, ""), 0.02 if i == 2 else 0)
    return d


def printer() -> Device:
    """A jammed laser printer with its network card, memory and processor, as a real one reports them (so the demo
    log says nothing of data it lacks)."""
    d = system(Device(), "printer-3f", "simulated office laser printer", "1.3.6.1.4.1.11.2.3.9.1")
    port(d, 1, "HP ETHERNET MULTI-ENVIRONMENT", "eth0", True, 200)
    s = "1.3.6.1.2.1.25.2.3.1"
    d.put(f"{s}.3.1", OCTETS, "RAM").put(f"{s}.4.1", INTEGER, 1024).put(f"{s}.5.1", INTEGER, 262_144)
    d.put(f"{s}.6.1", INTEGER, 98_304)
    d.put("1.3.6.1.2.1.25.3.2.1.2.2", OID, "1.3.6.1.2.1.25.3.1.3").put("1.3.6.1.2.1.25.3.2.1.3.2", OCTETS, "CPU")
    d.put("1.3.6.1.2.1.25.3.2.1.5.2", INTEGER, 2).put("1.3.6.1.2.1.25.3.3.1.2.2", INTEGER, 4)  # running, 4 % load
    d.put("1.3.6.1.2.1.25.3.2.1.2.1", OID, "1.3.6.1.2.1.25.3.1.5").put("1.3.6.1.2.1.25.3.2.1.3.1", OCTETS,
                                                                       "LaserJet (simulated)")
    d.put("1.3.6.1.2.1.25.3.2.1.5.1", INTEGER, 3).put("1.3.6.1.2.1.25.3.5.1.1.1", INTEGER, 3)
    d.put("1.3.6.1.2.1.25.3.5.1.2.1", OCTETS, b"\x04")  # jammed
    d.put("1.3.6.1.2.1.43.11.1.1.6.1.1", OCTETS, "Black toner").put("1.3.6.1.2.1.43.11.1.1.8.1.1", INTEGER, 100)
    d.put("1.3.6.1.2.1.43.11.1.1.9.1.1", INTEGER, 12)
    d.put("1.3.6.1.2.1.43.18.1.1.2.1.1", INTEGER, 3).put("1.3.6.1.2.1.43.18.1.1.8.1.1", OCTETS, "Paper jam, tray 2")
    return d


def ups() -> Device:
    d = system(Device(), "ups-dc", "simulated UPS", "1.3.6.1.4.1.318.1.3.27")
    port(d, 1, "network management card", "eth0", True, 50)
    d.put("1.3.6.1.2.1.33.1.1.2.0", OCTETS, "UPS 3000 (simulated)")
    d.put("1.3.6.1.2.1.33.1.2.1.0", INTEGER, 2).put("1.3.6.1.2.1.33.1.2.2.0", INTEGER, 0)
    d.put("1.3.6.1.2.1.33.1.2.3.0", INTEGER, 42).put("1.3.6.1.2.1.33.1.2.4.0", INTEGER, 100)
    return d.put("1.3.6.1.2.1.33.1.4.1.0", INTEGER, 3).put("1.3.6.1.2.1.33.1.6.1.0", GAUGE32, 0)


DEMO: dict[str, Callable[[], Device]] = {"demo-core-switch": core_switch, "demo-printer": printer, "demo-ups": ups}


class Responder(asyncio.DatagramProtocol):
    """SNMPv2c only; anything else (another version, an unknown community, bad BER) is ignored."""

    def __init__(self, devices: dict[str, Device]) -> None:
        self.devices = devices
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = self.answer(data)
        except Exception:  # noqa: BLE001 - a bad datagram is dropped, never fatal
            return
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def answer(self, b: bytes) -> bytes | None:
        s, e = _tl(b, 0, len(b), 0x30)
        version, i = _read_int(b, s, e)
        cs, ce = _tl(b, i, e, OCTETS)
        device = self.devices.get(b[cs:ce].decode(errors="replace"))
        if version != 1 or device is None:
            return None
        tag = b[ce]
        ps, pe = _tl(b, ce, e, tag)
        reqid, i = _read_int(b, ps, pe)
        a, i = _read_int(b, i, pe)
        c, i = _read_int(b, i, pe)
        ls, le = _tl(b, i, pe, 0x30)
        oids: list[Oid] = []
        while ls < le:
            vs, ve = _tl(b, ls, le, 0x30)
            os_, oe = _tl(b, vs, ve, OID)
            oids.append(_decode_oid(b[os_:oe]))
            ls = ve
        out: list[bytes] = []

        def next_vb(oid: Oid) -> tuple[Oid, bytes]:
            nxt = device.next_after(oid)
            return (oid, b"\x82\x00") if nxt is None else (nxt, device.encode(nxt))

        if tag == 0xA0:  # GET
            for oid in oids:
                out.append(_tlv(0x30, encode_oid(oid) + (device.encode(oid) if oid in device.values else b"\x80\x00")))
        elif tag == 0xA1:  # GETNEXT
            for oid in oids:
                nxt, val = next_vb(oid)
                out.append(_tlv(0x30, encode_oid(nxt) + val))
        elif tag == 0xA5:  # GETBULK: a = non-repeaters, c = max-repetitions
            for oid in oids[:a]:
                nxt, val = next_vb(oid)
                out.append(_tlv(0x30, encode_oid(nxt) + val))
            cursors = list(oids[a:])
            for _ in range(min(c, 200)):
                if not cursors or len(out) >= 1000:
                    break
                for k, oid in enumerate(cursors):
                    nxt, val = next_vb(oid)
                    out.append(_tlv(0x30, encode_oid(nxt) + val))
                    cursors[k] = nxt
        else:
            return None
        vbl = _tlv(0x30, b"".join(out))
        pdu = _tlv(0xA2, _int(reqid) + _int(0) + _int(0) + vbl)
        body = _int(1) + _tlv(OCTETS, b[cs:ce]) + pdu
        return b"\x30" + _len(len(body)) + body


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    devices = {name: make() for name, make in DEMO.items()}
    transport, _ = await loop.create_datagram_endpoint(lambda: Responder(devices), local_addr=(host, port))
    print(f"simulated SNMP devices on udp:{host}:{port}, communities: {', '.join(devices)}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        transport.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="simulated SNMPv2c devices for the opsmon demo (loopback only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=16161)
    args = parser.parse_args(argv)
    if not args.host.startswith("127."):
        parser.error("the simulator listens on loopback (127.0.0.0/8) only")
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
