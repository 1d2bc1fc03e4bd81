"""Scheduler benchmark: 5,000 TCP checks on loopback (half open, half closed) at a 60 s interval.

Runs the real collector in-process (store, timeline, scheduler, writer, API) and prints the checks
per second it sustained, scheduler lag p50/p99 (scheduled time to check start, slot wait included)
and the CPU it used as a share of one core, against the goal: lag p99 < 1 s using < 25 % of a core.
The listeners for the open half run in a separate process, so their accept() cost is not counted.

    .venv/bin/python bench/scheduler_bench.py [--targets 5000] [--interval 60] [--duration 180]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import socket
import statistics
import tempfile
import time
from pathlib import Path

LISTENERS = 40


def serve_listeners(ports: list[int], ready: multiprocessing.Event, stop: multiprocessing.Event) -> None:
    async def main() -> None:
        servers = []
        for port in ports:
            servers.append(await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port, backlog=4096))
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for s in servers:
            s.close()

    asyncio.run(main())


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", type=int, default=5000)
    ap.add_argument("--interval", type=float, default=60.0)
    ap.add_argument("--duration", type=float, default=180.0, help="measured seconds, after one interval of warm-up")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    from collector.config.schema import CollectorConfig
    from collector.service import Service

    open_ports = free_ports(LISTENERS)
    closed_ports = free_ports(LISTENERS)
    ready, stop_listeners = multiprocessing.Event(), multiprocessing.Event()
    listener = multiprocessing.Process(target=serve_listeners, args=(open_ports, ready, stop_listeners), daemon=True)
    listener.start()
    ready.wait(30)

    tmp = Path(tempfile.mkdtemp(prefix="opsmon-sched-bench-"))
    lines = ["assets:"]
    for i in range(args.targets):
        port = (open_ports if i % 2 == 0 else closed_ports)[i % LISTENERS]
        lines.append(f"  - {{id: t{i:05d}, category: server, address: 127.0.0.1, "
                     f"checks: [{{type: tcp, port: {port}}}]}}")
    (tmp / "assets.yaml").write_text("\n".join(lines) + "\n")
    config = CollectorConfig.model_validate({
        "database": {"path": str(tmp / "bench.db")}, "listen": {"port": 0},
        "scheduler": {"default_interval": f"{args.interval}s", "default_timeout": "2s", "max_concurrency": 256},
        "inventory": {"files": [str(tmp / "assets.yaml")]}, "sla": {"refresh": "1h"},
    })
    service = Service(config)
    lags: list[float] = []
    hist = service.metrics.scheduler_lag
    original = hist.observe

    def record(value: float) -> None:
        lags.append(value)
        original(value)

    hist.observe = record  # type: ignore[method-assign]
    t0 = time.perf_counter()
    service.prepare()
    prepare_s = time.perf_counter() - t0
    window: dict[str, float] = {}

    async def run() -> None:
        stop = asyncio.Event()

        async def measure() -> None:
            await asyncio.sleep(args.interval)  # warm-up: first runs are spread over one interval
            window["cpu0"], window["wall0"], window["n0"] = time.process_time(), time.perf_counter(), len(lags)
            await asyncio.sleep(args.duration)
            window["cpu1"], window["wall1"], window["n1"] = time.process_time(), time.perf_counter(), len(lags)
            window["queue"] = service.writer.queue.qsize()
            stop.set()

        task = asyncio.create_task(measure())
        await service.run(stop)
        await task

    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())
    stop_listeners.set()
    listener.join(5)

    measured = sorted(lags[int(window["n0"]):int(window["n1"])])
    wall = window["wall1"] - window["wall0"]
    cpu = window["cpu1"] - window["cpu0"]
    p = (lambda q: measured[min(len(measured) - 1, int(q * len(measured)))]) if measured else (lambda q: float("nan"))
    result = {
        "targets": args.targets, "interval_s": args.interval, "measured_s": round(wall, 1),
        "checks_per_s": round(len(measured) / wall, 1), "expected_per_s": round(args.targets / args.interval, 1),
        "lag_p50_s": round(p(0.50), 4), "lag_p99_s": round(p(0.99), 4), "lag_max_s": round(measured[-1], 4),
        "lag_mean_s": round(statistics.fmean(measured), 4), "cpu_core_pct": round(100 * cpu / wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "store_queue_at_end": window["queue"], "prepare_s": round(prepare_s, 2),
    }
    result["pass"] = result["lag_p99_s"] < 1.0 and result["cpu_core_pct"] < 25.0
    if args.json:
        print(json.dumps(result))
        return
    print(f"opsmon scheduler benchmark: {args.targets} TCP targets on loopback (half open, half closed), "
          f"every {args.interval:g} s, measured {wall:.0f} s after {args.interval:g} s warm-up")
    for key, value in result.items():
        print(f"  {key:<20} {value}")
    print(f"goal: lag p99 < 1 s and CPU < 25 % of one core -> {'PASS' if result['pass'] else 'FAIL'}")


if __name__ == "__main__":
    main()
