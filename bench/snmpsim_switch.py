#!/usr/bin/env python3
"""Synthetic 48-port switches for snmpsim: system group, ifTable and ifXTable as .snmprec text.

Counters use snmpsim's `numeric` variation (value = initial + rate x seconds since
the simulator started), so two readers at two moments must differ by about
rate x the time between them: `in_octets_rate()` is that rate, which the
benchmark uses to check that opsmon and snmp_exporter report the same figures.
Lines are sorted numerically by OID, as snmpsim requires.

    python bench/snmpsim_switch.py OUT_DIR COUNT   # writes OUT_DIR/swNNN.snmprec
"""
from __future__ import annotations

import sys
from pathlib import Path

IF_TABLE = "1.3.6.1.2.1.2.2.1"
IFX_TABLE = "1.3.6.1.2.1.31.1.1.1"


def in_octets_rate(if_index: int) -> int:
    """ifHCInOctets (and ifInOctets) growth per second of interface `if_index`."""
    return if_index * 1000


def oper_status(if_index: int) -> int:
    """Every eighth port is down, so a status mix-up between two readers shows."""
    return 2 if if_index % 8 == 0 else 1


def switch_snmprec(name: str, ports: int = 48) -> str:
    recs: dict[tuple[int, ...], str] = {}

    def put(oid: str, tag: int | str, value: object) -> None:
        recs[tuple(map(int, oid.split(".")))] = f"{oid}|{tag}|{value}"

    put("1.3.6.1.2.1.1.1.0", 4, f"Synthetic {ports}-port switch {name}")
    put("1.3.6.1.2.1.1.2.0", 6, "1.3.6.1.4.1.8072.3.2.10")
    put("1.3.6.1.2.1.1.3.0", "67:numeric", "rate=100,initial=1000")
    put("1.3.6.1.2.1.1.5.0", 4, name)
    put("1.3.6.1.2.1.1.6.0", 4, "bench rack")
    put("1.3.6.1.2.1.2.1.0", 2, ports)
    t, x = IF_TABLE, IFX_TABLE
    for i in range(1, ports + 1):
        rate = in_octets_rate(i)
        put(f"{t}.1.{i}", 2, i)
        put(f"{t}.2.{i}", 4, f"GigabitEthernet0/{i}")
        put(f"{t}.3.{i}", 2, 6)
        put(f"{t}.4.{i}", 2, 1500)
        put(f"{t}.5.{i}", 66, 1000000000)
        put(f"{t}.6.{i}", "4x", f"0200000000{i:02x}")
        put(f"{t}.7.{i}", 2, 1)
        put(f"{t}.8.{i}", 2, oper_status(i))
        put(f"{t}.9.{i}", 67, 0)
        put(f"{t}.10.{i}", "65:numeric", f"rate={rate},initial={i * 7},max=4294967295,wrap=1")
        put(f"{t}.11.{i}", "65:numeric", f"rate={i * 10},initial=0,max=4294967295,wrap=1")
        for c in (12, 13, 14, 15, 19, 20):
            put(f"{t}.{c}.{i}", 65, 0)
        put(f"{t}.16.{i}", "65:numeric", f"rate={i * 500},initial=0,max=4294967295,wrap=1")
        put(f"{t}.17.{i}", "65:numeric", f"rate={i * 5},initial=0,max=4294967295,wrap=1")
        put(f"{t}.18.{i}", 65, 0)
        put(f"{t}.21.{i}", 66, 0)
        put(f"{t}.22.{i}", 6, "0.0")
        put(f"{x}.1.{i}", 4, f"Gi0/{i}")
        for c in (2, 3, 4, 5):
            put(f"{x}.{c}.{i}", 65, 0)
        put(f"{x}.6.{i}", "70:numeric", f"rate={rate},initial={i * 7}")
        put(f"{x}.7.{i}", "70:numeric", f"rate={i * 10}")
        put(f"{x}.8.{i}", 70, 0)
        put(f"{x}.9.{i}", 70, 0)
        put(f"{x}.10.{i}", "70:numeric", f"rate={i * 500}")
        put(f"{x}.11.{i}", "70:numeric", f"rate={i * 5}")
        put(f"{x}.12.{i}", 70, 0)
        put(f"{x}.13.{i}", 70, 0)
        put(f"{x}.14.{i}", 2, 1)
        put(f"{x}.15.{i}", 66, 1000)
        put(f"{x}.16.{i}", 2, 2)
        put(f"{x}.17.{i}", 2, 1)
        put(f"{x}.18.{i}", 4, f"uplink {i}" if i > 44 else "")
        put(f"{x}.19.{i}", 67, 0)
    return "\n".join(recs[k] for k in sorted(recs)) + "\n"


if __name__ == "__main__":
    out_dir, count = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1
    for d in range(1, count + 1):
        (out_dir / f"sw{d:03d}.snmprec").write_text(switch_snmprec(f"sw{d:03d}"))
