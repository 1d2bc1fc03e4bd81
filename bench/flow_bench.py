#!/usr/bin/env python3
"""Flow receiver cost: flows decoded and summed per CPU-second, against a receive-and-discard floor.

Two receivers, each in its own process on a free loopback UDP port, get the same load in turn:

1. the floor: an asyncio datagram endpoint that throws every datagram away (no decoding, no summing);
2. the flow receiver itself (`inputs/flows/receiver.py` `FlowReceiver`, as `opsmon serve` builds it from a
   `flows:` section: rate limit, allow-list, decoder, aggregator; its closed intervals go to a counter, not to
   the store, which gets one batch per link and interval: nothing at this scale).

One load generator (this process) sends, open loop, at each of --rates flows a second for --step seconds:
datagrams of --records records each, alternating NetFlow v5 (30 records at most) and NetFlow v9 (its template
once a second, as routers refresh it, and data sets of 22-byte records) from 127.0.0.1, the one exporter,
with --hosts source hosts and --hosts destination hosts, ports 1..1024, TCP and UDP: many keys per interval.

Per step: target and achieved flows/s (sent, and counted by the receiver), the receiver's CPU (utime+stime
from /proc/PID/stat over the step, % of one core), the floor's, CPU seconds per 100,000 flows of each, flows per
CPU-second of the receiver, and every other process's CPU ("others%": a busy machine skews the figures).

    .venv/bin/python bench/flow_bench.py [--rates 10000,30000] [--step 10] [--records 30] [--hosts 200] [--json]
    .venv/bin/python bench/flow_bench.py --sflow --records 7   # sFlow v5: 7 samples of 128-byte headers a datagram

Goal (issue 23): 10,000 flows/s under half a core.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ingest_load import free_port, git_revision, machine_cpu, proc_cpu  # noqa: E402 - the benches' shared helpers

from tests.collector.inputs.flow_packets import (  # noqa: E402
    V9_FIELDS,
    ethernet_ipv4,
    flowset,
    sampled_header,
    sflow_datagram,
    sflow_flow_sample,
    template,
    v5,
    v9_header,
    v9_record,
)


def _floor(port: int, ready: Any, counted: Any) -> None:
    """Receive and discard: the least any UDP receiver on asyncio costs."""

    class Discard(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            counted.value += 1

    async def main() -> None:
        await asyncio.get_running_loop().create_datagram_endpoint(Discard, local_addr=("127.0.0.1", port))
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _receiver(port: int, ready: Any, counted: Any) -> None:
    """The real FlowReceiver, its intervals counted instead of stored; `counted` is the flows it summed. Its link
    is a link of the inventory (site bench), as in service: the per-site sums are part of the cost."""
    from opsmon.collector.config.flows import FlowsConfig
    from opsmon.collector.config.inventory import AssetSpec
    from opsmon.collector.inputs.flows.receiver import FlowReceiver

    settings = FlowsConfig(enabled=True, host="127.0.0.1", port=port, exporters={"127.0.0.1": "wan-bench"},
                           interval=60, rate=1_000_000, burst=1_000_000)
    inventory = {"wan-bench": AssetSpec(id="wan-bench", category="link", site="bench")}
    receiver = FlowReceiver(settings, lambda _message: None, assets=lambda: inventory)

    async def main() -> None:
        receiver.bind()
        receiver.start()
        ready.set()
        while True:
            await asyncio.sleep(0.2)
            counted.value = receiver.counts.flows

    asyncio.run(main())


def _flow(n: int, hosts: int) -> tuple[str, str, int, int, int, int]:
    """The n-th flow of the load: (src, dst, dst port, protocol, bytes, packets) over `hosts` hosts each side."""
    return (f"10.1.{n % hosts // 250}.{n % hosts % 250 + 1}", f"10.2.{n * 7 % hosts // 250}.{n * 7 % hosts % 250 + 1}",
            n % 1024 + 1, 6 if n % 3 else 17, 40 + n % 1460, 1 + n % 9)


def _sflow_datagrams(records: int, hosts: int, count: int) -> list[bytes]:
    """`count` sFlow v5 datagrams of `records` flow samples each (rate 1 in 1000, a 128-byte sampled Ethernet
    header: what a switch sends by default)."""
    out = []
    n = 0
    for _ in range(count):
        samples = []
        for _ in range(records):
            n += 1
            src, dst, port, proto, octets, _packets = _flow(n, hosts)
            frame = ethernet_ipv4(src, dst, proto, port).ljust(128, b"\0")
            samples.append(sflow_flow_sample(1000, [sampled_header(1, 24 + octets, frame)]))
        out.append(sflow_datagram(samples))
    return out


def _flows_in(data: bytes) -> int:
    """Records a datagram carries: NetFlow v5/v9's count field, or an sFlow datagram's sample count."""
    if data[:4] == b"\0\0\0\x05":
        return struct.unpack_from(">I", data, 24)[0]  # after version, address type, IPv4 agent, 3 integers
    return struct.unpack_from(">H", data, 2)[0]


def _datagrams(records: int, hosts: int, count: int) -> list[bytes]:
    """`count` datagrams alternating v5 and v9 data (the v9 template is sent apart), each `records` flows."""
    out = []
    n = 0
    for i in range(count):
        rows = []
        for _ in range(records):
            n += 1
            rows.append(_flow(n, hosts))
        if i % 2 == 0:
            out.append(v5(rows[:30], sequence=i))
        else:
            out.append(v9_header(len(rows), 1, i) + flowset(256, b"".join(v9_record(*r) for r in rows)))
    return out


V9_TEMPLATE = v9_header(1, 1) + flowset(0, template(256, V9_FIELDS))


def _step(port: int, rate: int, seconds: float, datagrams: list[bytes], pid: int, counted: Any,
          records: int) -> dict[str, Any]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.sendto(V9_TEMPLATE, ("127.0.0.1", port))
    time.sleep(0.2)
    per_second = rate / records
    counted_before = counted.value
    cpu0, busy0, self0, t0 = proc_cpu(pid), machine_cpu()[0], os.times(), time.monotonic()
    sent = flows = 0
    next_template = t0 + 1.0
    while True:
        now = time.monotonic()
        if now - t0 >= seconds:
            break
        due = int((now - t0) * per_second)
        while sent < due:
            data = datagrams[sent % len(datagrams)]
            sock.sendto(data, ("127.0.0.1", port))
            flows += _flows_in(data)
            sent += 1
        if now >= next_template:
            sock.sendto(V9_TEMPLATE, ("127.0.0.1", port))
            next_template += 1.0
        time.sleep(0.001)
    elapsed = time.monotonic() - t0
    time.sleep(0.5)  # the receiver drains what is queued in the kernel
    cpu = proc_cpu(pid) - cpu0
    self1 = os.times()
    busy = machine_cpu()[0] - busy0
    mine = (self1.user - self0.user) + (self1.system - self0.system)
    received = counted.value - counted_before
    sock.close()
    return {"target_flows_s": rate, "sent_flows_s": round(flows / elapsed), "datagrams": sent,
            "cpu_pct": round(100 * cpu / elapsed, 1), "cpu_s_per_100k_flows": round(cpu / flows * 100_000, 3),
            "counted": received, "others_pct": round(100 * max(0.0, busy - cpu - mine) / elapsed, 1),
            "generator_pct": round(100 * mine / elapsed, 1)}


def run(target: Any, rates: list[int], seconds: float, datagrams: list[bytes], records: int) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    ready, counted = ctx.Event(), ctx.Value("q", 0, lock=False)
    port = free_port()
    proc = ctx.Process(target=target, args=(port, ready, counted), daemon=True)
    proc.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the receiver did not start")
        return [_step(port, rate, seconds, datagrams, proc.pid or 0, counted, records) for rate in rates]
    finally:
        proc.kill()
        proc.join()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", default="10000,30000", help="flows a second, one step each")
    p.add_argument("--step", type=float, default=10.0, help="seconds a step")
    p.add_argument("--records", type=int, default=30, help="flow records a datagram (v5 caps at 30)")
    p.add_argument("--hosts", type=int, default=200, help="distinct source and destination hosts")
    p.add_argument("--sflow", action="store_true", help="send sFlow v5 flow samples instead of NetFlow v5/v9")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    records = min(args.records, 30)
    datagrams = (_sflow_datagrams(records, args.hosts, 2000) if args.sflow else
                 _datagrams(records, args.hosts, 2000))
    floor = run(_floor, rates, args.step, datagrams, records)
    receiver = run(_receiver, rates, args.step, datagrams, records)
    rows = []
    for f, r in zip(floor, receiver, strict=True):
        cpu_s = r["cpu_pct"] / 100
        rows.append({"target_flows_s": r["target_flows_s"], "sent_flows_s": r["sent_flows_s"],
                     "receiver_counted": r["counted"], "receiver_cpu_pct": r["cpu_pct"], "floor_cpu_pct": f["cpu_pct"],
                     "receiver_cpu_s_per_100k": r["cpu_s_per_100k_flows"],
                     "floor_cpu_s_per_100k": f["cpu_s_per_100k_flows"],
                     "flows_per_cpu_s": round(r["sent_flows_s"] / cpu_s) if cpu_s else None,
                     "others_pct": max(f["others_pct"], r["others_pct"])})
    result = {"revision": git_revision(), "format": "sflow" if args.sflow else "netflow",
              "records_per_datagram": records, "step_s": args.step, "steps": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"revision {result['revision']}, {result['format']}, {records} flows a datagram, {args.step:g} s a step")
    print(f"{'target/s':>9} {'sent/s':>8} {'counted':>8} {'recv%':>6} {'floor%':>6} {'recv s/100k':>11} "
          f"{'floor s/100k':>12} {'flows/CPU-s':>11} {'others%':>7}")
    for r in rows:
        print(f"{r['target_flows_s']:>9} {r['sent_flows_s']:>8} {r['receiver_counted']:>8} {r['receiver_cpu_pct']:>6} "
              f"{r['floor_cpu_pct']:>6} {r['receiver_cpu_s_per_100k']:>11} {r['floor_cpu_s_per_100k']:>12} "
              f"{r['flows_per_cpu_s'] or '-':>11} {r['others_pct']:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
