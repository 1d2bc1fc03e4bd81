#!/usr/bin/env python3
"""Scheduler benchmark: 5,000 TCP checks on loopback (half open, half closed) at a 60 s interval.

What it measures
  The real collector, in this process: `Service(config)`, `prepare()` (lock, listening socket,
  inventory import, recovery, first load) and `run()` (scheduler, timeline, store writer on SQLite,
  periodic jobs, SLA refresh, API) exactly as `opsmon serve` wires them, logging set up as
  `opsmon serve` does (to a file in the temp folder). The inventory is --targets assets (category
  server, address 127.0.0.1) with one `tcp` check each: even ones point at --listeners TCP listeners
  on 127.0.0.1 (ports chosen by the OS) served by a separate process, so its accept() CPU is not
  counted; odd ones at --closed-ports ports where nothing listens (chosen below the ephemeral range
  so a connect can never pick the same port as its source and "self-connect"; checked free by
  binding and by a refused connect, before and after the run).

  After a warm-up of one interval (first runs are spread over the first interval by a hash of the
  job id), for --duration seconds:
    - checks per second: delta of opsmon_check_results_total (by status), against targets/interval;
    - scheduler lag p50/p90/p99/max: the raw value of every opsmon_scheduler_lag_seconds observation
      (scheduled run time -> check start, slot wait included), recorded by wrapping the histogram's
      observe() of this Service's metrics (collector code is not changed), plus the runs APScheduler
      dropped as missed or skipped (those never reach the lag histogram);
    - CPU: process_time() delta (all threads of this process) as % of one core, split by thread
      from /proc/self/task and by minute of the window (the closed ports' incidents open in the
      run's third minute with down_after 3: the storm apart from the steady state after it); peak
      RSS (ru_maxrss) and RSS at the end;
    - event-loop delay (how late a 0.5 s sleep wakes up), store writer queue length (max over the
      window and at its end), writer batches/failures/dropped; busy cores of the whole machine (from
      /proc/stat), so a run skewed by other processes on this 2-core box is flagged;
    - the collector log's warnings and errors, counted apart while running and after the stop;
  then, after a clean stop: rows stored (observations, state intervals, transitions, incidents and
  their trail rows) against the
  results produced, and every asset's state (open ones should be up, closed ones down).
  Goal (issue): lag p99 < 1 s using < 25 % of one core; each is printed PASS/FAIL.

How to run (from the repository root; about interval + duration + 15 s):
    .venv/bin/python bench/scheduler_bench.py --duration 180
    .venv/bin/python bench/scheduler_bench.py --targets 1000 --interval 10 --duration 30   # quick
    flags: --targets --interval --duration --warmup --listeners --closed-ports --concurrency
           --timeout --sla-refresh --scrape SECONDS (GET /metrics from the listener process, as
           Prometheus would) --profile N (cProfile of the event-loop thread in the window; inflates
           CPU) --json --keep (keep the temp folder with the database and the log)

Only 127.0.0.1 is used; the listener process and the temp folder are cleaned up at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import multiprocessing
import os
import random
import resource
import selectors
import shutil
import socket
import sqlite3
import statistics
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

# -- the listener process (forked before the collector is imported) ---------------------------


def listener_main(conn, count: int) -> None:
    """Open `count` listeners on 127.0.0.1 (OS-chosen ports), accept-and-close until told to stop.

    Messages from the parent: ("scrape", url, period) starts a /metrics scraper thread; ("stop",)
    ends, answering with {"accepted", "cpu_s", "scrapes", "scrape_s"}.
    """
    sel = selectors.DefaultSelector()
    ports = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        ports.append(s.getsockname()[1])
    sel.register(conn, selectors.EVENT_READ)
    conn.send(ports)
    accepted = 0
    scrape_times: list[float] = []
    halt = threading.Event()

    def scraper(url: str, period: float) -> None:
        while not halt.wait(period):
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=30) as resp:
                    resp.read()
                scrape_times.append(time.perf_counter() - t0)
            except OSError:
                scrape_times.append(float("nan"))

    while True:
        for key, _ in sel.select():
            if key.fileobj is conn:
                msg = conn.recv()
                if msg[0] == "scrape":
                    threading.Thread(target=scraper, args=msg[1:], daemon=True).start()
                    continue
                halt.set()
                ok = [t for t in scrape_times if t == t]
                conn.send({"accepted": accepted, "cpu_s": time.process_time(), "scrapes": len(ok),
                           "scrape_failures": len(scrape_times) - len(ok),
                           "scrape_s": round(statistics.fmean(ok), 3) if ok else None})
                return
            while True:
                try:
                    c, _addr = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:  # EMFILE and the like: back off, the backlog keeps the rest
                    if exc.errno in (errno.EMFILE, errno.ENFILE):
                        time.sleep(0.01)
                    break
                c.close()
                accepted += 1


def closed_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 with nothing listening, below the ephemeral range (no self-connect)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    found: list[int] = []
    port = random.randint(10000, max(10001, low - 20 * count))
    while len(found) < count and port < low:
        if port_is_closed(port):
            found.append(port)
        port += 1
    if len(found) < count:
        raise SystemExit(f"found only {len(found)} closed ports below {low}")
    return found


def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED


# -- measurements --------------------------------------------------------------------------------


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread of this process, by Python thread name."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        name = names.get(int(tid), f"native-{tid}")
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, from /proc/stat (all cores)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / tick, sum(ticks[:8]) / tick


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def counter_values(metric) -> dict[tuple[str, ...], float]:
    """{label values: value} of a prometheus_client Counter (its _total samples), via collect()."""
    out = {}
    for family in metric.collect():
        for s in family.samples:
            if s.name.endswith("_total"):
                out[tuple(s.labels.values())] = s.value
    return out


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# -- the benchmark -------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", type=int, default=5000)
    ap.add_argument("--interval", type=float, default=60.0, help="check interval, s")
    ap.add_argument("--duration", type=float, default=180.0, help="measured seconds, after the warm-up")
    ap.add_argument("--warmup", type=float, default=None, help="seconds before measuring (default: one interval)")
    ap.add_argument("--listeners", type=int, default=40, help="TCP listeners the open half is spread over")
    ap.add_argument("--closed-ports", type=int, default=40, help="closed ports the closed half is spread over")
    ap.add_argument("--concurrency", type=int, default=256, help="scheduler.max_concurrency")
    ap.add_argument("--timeout", type=float, default=2.0, help="scheduler.default_timeout, s")
    ap.add_argument("--sla-refresh", type=float, default=60.0, help="sla.refresh, s (the collector's default)")
    ap.add_argument("--scrape", type=float, default=0.0, help="GET /metrics every this many s (0: never)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="cProfile the event-loop thread during the window; print the top N functions")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (database, log)")
    args = ap.parse_args()
    warmup = args.interval if args.warmup is None else args.warmup

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one socket per check in flight

    # The listener process first, while this process is still small.
    parent_conn, child_conn = multiprocessing.Pipe()
    listener = multiprocessing.get_context("fork").Process(
        target=listener_main, args=(child_conn, args.listeners), daemon=True)
    listener.start()
    open_ports: list[int] = parent_conn.recv()
    shut_ports = closed_ports(args.closed_ports)

    from opsmon.collector.config.schema import CollectorConfig
    from opsmon.collector.core import logs
    from opsmon.collector.service.service import Service

    tmp = Path(tempfile.mkdtemp(prefix="opsmon-sched-bench-"))
    group: dict[str, str] = {}
    lines = ["assets:"]
    for i in range(args.targets):
        asset_id = f"bench-{i:05d}"
        if i % 2 == 0:
            group[asset_id], port = "open", open_ports[(i // 2) % len(open_ports)]
        else:
            group[asset_id], port = "closed", shut_ports[(i // 2) % len(shut_ports)]
        lines.append(f"  - {{id: {asset_id}, category: server, address: 127.0.0.1, "
                     f"checks: [{{type: tcp, port: {port}}}]}}")
    (tmp / "assets.yaml").write_text("\n".join(lines) + "\n")
    config = CollectorConfig.model_validate({
        "database": {"path": str(tmp / "collector.db")},
        "listen": {"host": "127.0.0.1", "port": 0},
        "api": {"public_read": True},  # lets --scrape read /metrics without a token
        "scheduler": {"default_interval": args.interval, "default_timeout": args.timeout,
                      "max_concurrency": args.concurrency},
        "inventory": {"files": ["assets.yaml"]},
        "sla": {"refresh": args.sla_refresh},
        "base_dir": str(tmp),
    })

    # Logging as `opsmon serve` sets it up, into a file; WARNING and above are also counted.
    logs.setup(config.logging.level, config.logging.format)
    log_file = open(tmp / "collector.log", "w")  # noqa: SIM115 - closed at the end
    logging.getLogger().handlers[0].setStream(log_file)
    warnings: Counter[str] = Counter()
    phase = {"stopping": False}  # log records after the stop request are counted apart

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            exc = f" [{record.exc_info[0].__name__}]" if record.exc_info and record.exc_info[0] else ""
            when = "after stop" if phase["stopping"] else "while running"
            warnings[f"{when}: {record.levelname} {record.name}: {record.getMessage()[:110]}{exc}"] += 1

    logging.getLogger().addHandler(Count(logging.WARNING))

    service = Service(config)
    lag_samples: list[tuple[float, float]] = []  # (monotonic time, lag s)
    hist = service.scheduler.metrics.scheduler_lag
    observe = hist.observe

    def record_lag(value: float, *a, **kw) -> None:
        lag_samples.append((time.monotonic(), value))
        observe(value, *a, **kw)

    hist.observe = record_lag  # type: ignore[method-assign]

    t0 = time.perf_counter()
    service.prepare()
    prepare_s = time.perf_counter() - t0
    api_port = service.socket.getsockname()[1] if service.socket else config.listen.port
    if args.scrape > 0:
        parent_conn.send(("scrape", f"http://127.0.0.1:{api_port}/metrics", args.scrape))

    m = service.metrics
    window: dict[str, dict] = {}
    samples: dict[str, list[float]] = {"queue": [], "in_flight": [], "loop_delay": []}
    cpu_marks: list[tuple[float, float]] = []  # (monotonic, process CPU s) every 0.5 s: CPU by minute of the window
    end_states: dict[str, Counter[str]] = defaultdict(Counter)
    profiler = None

    def snapshot() -> dict:
        return {
            "wall": time.perf_counter(), "mono": time.monotonic(), "cpu": time.process_time(),
            "threads": thread_cpu(), "machine": machine_busy(),
            "results": counter_values(m.check_results), "missed": counter_values(m.scheduler_missed),
            "skipped": counter_values(m.scheduler_skipped), "batches": service.writer.batches,
            "failures": service.writer.failures, "dropped": service.writer.dropped,
            "queue": service.writer.queue.qsize(),
        }

    async def sample() -> None:
        while True:
            samples["queue"].append(service.writer.queue.qsize())
            samples["in_flight"].append(service.scheduler.in_flight)
            t = time.monotonic()
            cpu_marks.append((t, time.process_time()))
            await asyncio.sleep(0.5)
            samples["loop_delay"].append(time.monotonic() - t - 0.5)

    async def measure(stop: asyncio.Event) -> None:
        nonlocal profiler
        try:
            await asyncio.sleep(warmup)
            window["start"] = snapshot()
            sampler = asyncio.create_task(sample())
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            await asyncio.sleep(args.duration)
            if profiler is not None:
                profiler.disable()
            sampler.cancel()
            window["end"] = snapshot()
            for asset_id, track in service.timeline.tracks.items():
                end_states[group.get(asset_id, "other")][track.state] += 1
        finally:
            phase["stopping"] = True
            stop.set()

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(measure(stop))
        try:
            await service.run(stop)
        finally:
            if not task.done():
                task.cancel()

    try:
        import uvloop  # what `opsmon serve` uses when installed

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    t_run, run_mono = time.perf_counter(), time.monotonic()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(run())
    stop_s = time.perf_counter() - t_run - warmup - args.duration
    parent_conn.send(("stop",))
    listener_stats = parent_conn.recv() if parent_conn.poll(10) else {}
    listener.join(5)
    still_closed = sum(port_is_closed(p) for p in shut_ports)
    if "end" not in window:
        raise SystemExit("the collector stopped before the measurement window ended; see " + str(tmp))

    # -- figures -------------------------------------------------------------------------------
    a, b = window["start"], window["end"]
    wall = b["wall"] - a["wall"]
    cpu = b["cpu"] - a["cpu"]
    results = Counter({k[1]: v - a["results"].get(k, 0.0) for k, v in b["results"].items()})
    n_results = sum(results.values())
    in_window = [(t, v) for t, v in lag_samples if a["mono"] <= t < b["mono"]]
    lags = sorted(v for _, v in in_window)
    worst = sorted(in_window, key=lambda tv: -tv[1])[:5]  # when the worst runs started, s since run()
    threads = {name: round(100 * (cpu_s - a["threads"].get(name, 0.0)) / wall, 1)
               for name, cpu_s in sorted(b["threads"].items(), key=lambda kv: -kv[1])}
    threads = {k: v for k, v in threads.items() if v >= 0.05}
    delays = sorted(samples["loop_delay"])
    busy_cores = (b["machine"][0] - a["machine"][0]) / wall
    others = max(0.0, busy_cores - cpu / wall)  # the listener process is in here too (a few %)
    produced = sum(counter_values(m.check_results).values())
    db = sqlite3.connect(tmp / "collector.db")
    stored = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("observations", "state_intervals", "transitions")}
    stored["open_intervals"] = db.execute("SELECT count(*) FROM state_intervals WHERE end_ts IS NULL").fetchone()[0]
    stored["incidents"] = db.execute("SELECT count(*) FROM incidents").fetchone()[0]
    stored["incident_events"] = db.execute("SELECT count(*) FROM incident_events").fetchone()[0]
    db.close()
    n_open = sum(1 for g in group.values() if g == "open")
    # CPU by minute of the window (the closed ports' incidents open in the run's third minute, the window's second,
    # when down_after is 3 and the interval 60 s): (seconds since run() began at the slice's start, % of one core)
    by_minute: list[tuple[float, float]] = []
    marks = [(a["mono"], a["cpu"]), *cpu_marks, (b["mono"], b["cpu"])]
    start_i = 0
    for i in range(1, len(marks)):
        if marks[i][0] - marks[start_i][0] >= 60.0 - 0.25 or i == len(marks) - 1:
            span = marks[i][0] - marks[start_i][0]
            if span >= 30.0:
                by_minute.append((round(marks[start_i][0] - run_mono),
                                  round(100 * (marks[i][1] - marks[start_i][1]) / span, 1)))
            start_i = i

    r = {
        "targets": args.targets, "open_targets": n_open, "closed_targets": args.targets - n_open,
        "interval_s": args.interval, "timeout_s": args.timeout, "max_concurrency": args.concurrency,
        "listeners": len(open_ports), "closed_ports": len(shut_ports), "warmup_s": warmup,
        "measured_s": round(wall, 1), "prepare_s": round(prepare_s, 2), "stop_s": round(stop_s, 2),
        "checks_per_s": round(n_results / wall, 2), "expected_per_s": round(args.targets / args.interval, 2),
        "results_in_window": {k: int(v) for k, v in sorted(results.items())},
        "lag_samples": len(lags), "lag_p50_s": round(pct(lags, 0.50), 4), "lag_p90_s": round(pct(lags, 0.90), 4),
        "lag_p99_s": round(pct(lags, 0.99), 4), "lag_max_s": round(lags[-1], 4) if lags else None,
        "lag_over_1s": sum(1 for v in lags if v >= 1.0),
        "worst_lags": [(round(t - run_mono, 1), round(v, 3)) for t, v in worst],
        "missed_runs": int(sum(b["missed"].values()) - sum(a["missed"].values())),
        "skipped_runs": int(sum(b["skipped"].values()) - sum(a["skipped"].values())),
        "cpu_s": round(cpu, 2), "cpu_core_pct": round(100 * cpu / wall, 1),
        "cpu_core_pct_by_thread": threads, "cpu_core_pct_by_minute": by_minute,
        "machine_busy_cores": round(busy_cores, 2), "other_processes_cores": round(others, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_end_mb": round(rss_mb(), 1),
        "loop_delay_p99_s": round(pct(delays, 0.99), 4), "loop_delay_max_s": round(delays[-1], 4) if delays else None,
        "store_queue_max": max(samples["queue"], default=0), "store_queue_at_window_end": b["queue"],
        "store_queue_after_stop": service.writer.queue.qsize(), "store_flushed": service.flushed,
        "store_batches": b["batches"] - a["batches"], "store_failures": service.writer.failures,
        "store_dropped": service.writer.dropped, "in_flight_max": max(samples["in_flight"], default=0),
        "results_produced_total": int(produced), "rows_stored": stored,
        "end_state_open": dict(end_states["open"]), "end_state_closed": dict(end_states["closed"]),
        "closed_ports_still_closed": f"{still_closed}/{len(shut_ports)}",
        "listener_process": listener_stats,
        "log_warnings": sum(warnings.values()),
    }
    r["pass_lag"] = bool(lags) and r["lag_p99_s"] < 1.0
    r["pass_cpu"] = r["cpu_core_pct"] < 25.0
    r["pass"] = r["pass_lag"] and r["pass_cpu"]

    if args.json:
        print(json.dumps(r))
    else:
        ok = {True: "PASS", False: "FAIL"}
        print(f"opsmon scheduler benchmark: {args.targets} TCP targets on 127.0.0.1 ({n_open} open on "
              f"{len(open_ports)} listeners, {args.targets - n_open} closed on {len(shut_ports)} ports), "
              f"interval {args.interval:g} s, timeout {args.timeout:g} s, max_concurrency {args.concurrency}; "
              f"measured {wall:.0f} s after {warmup:g} s of warm-up")
        running = sum(n for k, n in warnings.items() if k.startswith("while running"))
        rows = [
            ("checks per second", f"{r['checks_per_s']} (expected {r['expected_per_s']}); "
                                  f"results in window {r['results_in_window']}"),
            ("scheduler lag", f"p50 {r['lag_p50_s'] * 1000:.1f} ms  p90 {r['lag_p90_s'] * 1000:.1f} ms  "
                              f"p99 {r['lag_p99_s'] * 1000:.1f} ms  max {(r['lag_max_s'] or 0) * 1000:.1f} ms  "
                              f"({r['lag_samples']} runs, {r['lag_over_1s']} >= 1 s)"),
            ("worst lags", ", ".join(f"{v * 1000:.0f} ms at t={t:g} s" for t, v in r["worst_lags"])
                           + " (t: seconds since run() began)"),
            ("missed / skipped runs", f"{r['missed_runs']} / {r['skipped_runs']}"),
            ("CPU", f"{r['cpu_core_pct']} % of one core ({r['cpu_s']} s in {wall:.0f} s)"),
            ("CPU by thread", ", ".join(f"{k} {v} %" for k, v in threads.items())),
            ("CPU by minute", ", ".join(f"from t={t:g} s {v} %" for t, v in by_minute)
                              + " (t: seconds since run() began)"),
            ("machine", f"{os.cpu_count()} cores, {r['machine_busy_cores']} busy on average, "
                        f"{r['other_processes_cores']} of them outside the collector (listener included)"
                        + (" -- OTHER LOAD: figures may be skewed" if others > 0.25 else "")),
            ("memory", f"peak RSS {r['peak_rss_mb']} MB, at end {r['rss_end_mb']} MB"),
            ("event-loop delay", f"p99 {r['loop_delay_p99_s'] * 1000:.1f} ms, max "
                                 f"{(r['loop_delay_max_s'] or 0) * 1000:.1f} ms; checks in flight max "
                                 f"{r['in_flight_max']}"),
            ("store writer queue", f"max {r['store_queue_max']} in window, {r['store_queue_at_window_end']} at "
                                   f"window end, {r['store_queue_after_stop']} after stop (flushed: "
                                   f"{r['store_flushed']}); {r['store_batches']} batches in window, "
                                   f"{r['store_failures']} failures, {r['store_dropped']} dropped"),
            ("rows stored", f"{stored['observations']} observations (of {r['results_produced_total']} results "
                            f"produced), {stored['state_intervals']} state intervals "
                            f"({stored['open_intervals']} open), {stored['transitions']} transitions, "
                            f"{stored['incidents']} incidents ({stored['incident_events']} trail rows)"),
            ("state at window end", f"open targets {r['end_state_open']}, closed targets {r['end_state_closed']}"),
            ("set-up / stop", f"prepare() {r['prepare_s']} s (import of {args.targets} assets included), "
                              f"stop {r['stop_s']} s; closed ports still closed {r['closed_ports_still_closed']}"),
            ("listener process", json.dumps(listener_stats)),
            ("collector log", f"{r['log_warnings']} warnings/errors ({running} while running, "
                              f"{r['log_warnings'] - running} after stop)" + "".join(
                f"\n{'':24}{n} x {k}" for k, n in warnings.most_common(5))),
        ]
        for name, value in rows:
            print(f"  {name:<22}{value}")
        print(f"goal: lag p99 < 1 s: {ok[r['pass_lag']]} ({r['lag_p99_s'] * 1000:.1f} ms); "
              f"CPU < 25 % of one core: {ok[r['pass_cpu']]} ({r['cpu_core_pct']} %) -> {ok[r['pass']]}")
    if profiler is not None:
        import pstats

        print(f"\ncProfile of the event-loop thread over the window (top {args.profile} by own time):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    log_file.close()
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
