#!/usr/bin/env python3
"""HJ 212 receiver cost: CPU per frame parsed, stored and answered, against a read-and-discard floor.

Setup: a temporary directory with a collector.yaml (SQLite store, API on a free loopback port, `hj212:` on
another, one credential) and an inventory of --daus `dau` assets, each with its MN, the credential, an
enterprise and two monitoring points (ww1, a water outlet under the DAU's MN: COD, NH3-N, pH, flow; ga1, a
stack under its own MN: SO2, NOx, particulates, flue flow), each point with four assessed factors. Then:

1. the floor: a plain asyncio server in its own process (uvloop when installed, as `opsmon serve` uses), one
   connection per DAU, each read (64 KiB at most, as the receiver reads) thrown away: no parsing, no store,
   no answer;
2. a real `opsmon serve` on the same config shape.

One load-generator process (multiprocessing, spawn) opens --daus connections to each in turn and runs the same
steps against both: an idle step (connections held, nothing sent), then --rates. Each frame is CN 2051 (minute
data, Flag=5: 2017 and answer wanted) of one point of one DAU, four factors with Min/Avg/Max(/Cou)/Flag,
wrapped by the project's answers.wrap (so the CRC is the HJ 212 one), DataTime one minute after the previous
frame of that point: the HJ 212 minute cadence compressed into the step's total rate (frame i goes to DAU
i mod N, so at 85 frames/s and 5,000 DAUs each DAU sends once a minute, as in the field). Open loop: frames
are due at fixed times and written to their connection then; the answer latency runs from when a frame was
due to when its 9014 (matched by QN) was read.

Per step: target and achieved frames/s, 9014 latency p50/p99, the collector's CPU (utime+stime from
/proc/PID/stat over the step, its threads and its child processes, % of one core), the floor's, both per
1,000 frames and their ratio, the generator's CPU, every other process's ("others%": a busy machine skews
the figures) and the connections held (the generator's count and the collector's opsmon_hj212_connections,
read after the step). At the end the collector is stopped (it flushes) and hj212_frames and hj212_data are
counted against the 9014s read: every answered frame must be stored (an answer is a promise).

    .venv/bin/python bench/hj212_bench.py [--daus 5000] [--rates 85,500,1000,2000] [--step 20] [--idle 30]
                                          [--json]

Goal (issue 17): 5,000 DAUs sending minute data (about 85 frames/s) under 10 % of one core.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from array import array
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_load import free_port, git_revision, machine_cpu, proc_cpu  # noqa: E402 - the benches' shared helpers

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
OPSMON = [str(ROOT / ".venv" / "bin" / "opsmon")] if (ROOT / ".venv" / "bin" / "opsmon").exists() \
    else [PY, "-m", "collector"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
GOAL_DAUS, GOAL_RATE, GOAL_CPU = 5000, 85.0, 10.0
DEFAULT_RATES = "85,500,1000,2000"
PRIME_RATE = 500.0
PASSWORD = "bench212"
FACTORS_PER_FRAME = 4
# (point, ST, factor -> (Avg, spread)): a water outlet and a stack, four assessed factors each
POINTS = (
    ("ww1", "32", {"w01018": (38.2, 4.0), "w21003": (2.41, 0.3), "w01001": (7.12, 0.2), "w00000": (12.5, 1.5)}),
    ("ga1", "31", {"a21026": (21.7, 3.0), "a21002": (48.3, 6.0), "a34013": (6.2, 1.0), "a00000": (1530.0, 90.0)}),
)
FIRST_DATA_TIME = datetime(2025, 3, 1, 0, 0)  # local (Beijing) time of each point's first minute


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of pid and of every live descendant (the collector's SLA worker), by pid."""
    out: dict[int, float] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            out[p] = proc_cpu(p)
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo += [int(k) for k in fh.read().split() if int(k) not in out]
        except OSError:
            continue
    return out


def tree_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two tree_cpu() readings (a process started in between counts whole)."""
    return sum(v - before.get(p, 0.0) for p, v in after.items())


def raise_nofile(want: int) -> tuple[int, int]:
    """Raise the soft open-files limit to the hard one; (soft, hard) after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft, hard


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def run_loop(main: Any) -> None:
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main)
    except ImportError:
        asyncio.run(main)


def mns(i: int) -> tuple[str, str]:
    """The MNs of DAU i's two points (ww1 under the DAU's own MN, ga1 under its own)."""
    return f"652300{i:08d}", f"652301{i:08d}"


# -- the floor: read and discard (runs in its own process) --------------------------------

def floor_main(port: int) -> None:
    raise_nofile(0)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass
        finally:
            writer.transport.abort()

    async def main() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", port, backlog=1024, limit=65536)
        async with server:
            await server.serve_forever()

    run_loop(main())


# -- the load generator (runs in its own process) -----------------------------------------

class Generator:
    def __init__(self, daus: int) -> None:
        sys.path.insert(0, str(ROOT))
        from opsmon.collector.inputs.hj212 import wrap

        self.wrap = wrap
        self.daus = daus
        self.minute = [0] * (daus * len(POINTS))  # next minute of each (DAU, point)
        self.nxt = 0  # the next frame goes to DAU nxt % daus
        self.writers: list[asyncio.StreamWriter | None] = []
        self.readers: list[asyncio.Task[None]] = []
        self.pending: list[collections.deque[tuple[bytes, float]]] = []
        self.lat = array("d")
        self.unmatched = 0
        self.open = 0

    def frame(self, k: int, now: float) -> tuple[bytes, bytes]:
        dau, p = divmod(k, len(POINTS))
        point, st, factors = POINTS[p]
        minute = self.minute[k]
        self.minute[k] = minute + 1
        data_time = (FIRST_DATA_TIME + timedelta(minutes=minute)).strftime("%Y%m%d%H%M%S")
        t = time.localtime(now)
        qn = time.strftime("%Y%m%d%H%M%S", t) + f"{int(now * 1000) % 1000:03d}"
        wobble = ((dau * 7 + minute * 13) % 21 - 10) / 10.0
        cp = ";".join(
            f"{code}-Min={avg - spread:.3f},{code}-Avg={avg + wobble * spread / 4:.3f},{code}-Max={avg + spread:.3f},"
            + (f"{code}-Cou={(avg + wobble) * 60:.1f}," if code in ("w00000", "a00000") else "")
            + f"{code}-Flag=N"
            for code, (avg, spread) in factors.items())
        segment = (f"QN={qn};ST={st};CN=2051;PW={PASSWORD};MN={mns(dau)[p]};Flag=5;"
                   f"CP=&&DataTime={data_time};{cp}&&")
        return qn.encode(), self.wrap(segment)

    async def _read(self, i: int, reader: asyncio.StreamReader) -> None:
        waiting = self.pending[i]
        try:
            while True:
                line = await reader.readuntil(b"\r\n")
                now = time.monotonic()
                at = line.find(b"QN=")
                qn = line[at + 3:line.index(b";", at)] if at >= 0 else b""
                while waiting:
                    sent_qn, due = waiting.popleft()
                    if sent_qn == qn:
                        self.lat.append(now - due)
                        break
                    self.unmatched += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self.open -= 1
            self.writers[i] = None

    async def connect(self, port: int) -> dict[str, Any]:
        self.writers = [None] * self.daus
        self.pending = [collections.deque() for _ in range(self.daus)]
        self.readers = []
        self.open = 0
        failed = 0
        t0 = time.monotonic()
        gate = asyncio.Semaphore(256)

        async def one(i: int) -> None:
            nonlocal failed
            async with gate:
                for _ in range(3):
                    try:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    except OSError:
                        await asyncio.sleep(0.2)
                        continue
                    self.writers[i] = writer
                    self.open += 1
                    self.readers.append(asyncio.create_task(self._read(i, reader)))
                    return
                failed += 1

        await asyncio.gather(*(one(i) for i in range(self.daus)))
        return {"open": self.open, "failed": failed, "connect_s": round(time.monotonic() - t0, 1)}

    async def step(self, rate: float, duration: float, start_at: float, answers: bool) -> dict[str, Any]:
        self.lat, self.unmatched = array("d"), 0
        total = int(rate * duration)
        cpu0 = time.process_time()
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        sent = lost = 0
        while sent < total:
            due_n = min(total, int((time.monotonic() - start_at) * rate) + 1)
            while sent < due_n:
                due = start_at + sent / rate
                dau = self.nxt % self.daus
                k = dau * len(POINTS) + (self.nxt // self.daus) % len(POINTS)
                self.nxt += 1
                sent += 1
                writer = self.writers[dau]
                if writer is None:
                    lost += 1
                    continue
                qn, data = self.frame(k, time.time())
                if answers:
                    self.pending[dau].append((qn, due))
                writer.write(data)
            await asyncio.sleep(0.001)
        send_end = time.monotonic()
        if answers and total:  # the answers still on their way (answer_wait is 10 s)
            deadline = send_end + 15.0
            while len(self.lat) + self.unmatched < sent - lost and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        end = max(time.monotonic(), start_at + duration)
        return {"sent": sent, "lost": lost, "answered": len(self.lat), "unmatched": self.unmatched,
                "lat": self.lat.tobytes(), "wall_s": end - start_at, "send_s": send_end - start_at,
                "cpu_s": time.process_time() - cpu0, "open": self.open}

    async def close(self) -> None:
        for writer in self.writers:
            if writer is not None:
                writer.transport.abort()
        await asyncio.gather(*self.readers, return_exceptions=True)


def generator_main(daus: int, cmd_q: Any, res_q: Any) -> None:
    raise_nofile(0)
    gen = Generator(daus)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        while True:
            cmd = await loop.run_in_executor(None, cmd_q.get)
            if cmd[0] == "stop":
                break
            if cmd[0] == "connect":
                res_q.put(await gen.connect(cmd[1]))
            elif cmd[0] == "close":
                await gen.close()
                res_q.put({})
            else:
                _, rate, duration, start_at, answers = cmd
                res_q.put(await gen.step(rate, duration, start_at, answers))

    run_loop(main())


# -- the controller -------------------------------------------------------------------

def inventory(daus: int) -> str:
    lines = ["assets:"]
    for i in range(daus):
        water, stack = mns(i)
        lines += [f"  - id: dau-{i:05d}", f"    name: 数采仪 {i:05d}", "    category: dau",
                  f"    site: 地州{i % 14:02d}", "    checks:", "      - type: hj212", f"        mn: '{water}'",
                  "        credential: bench", f"        enterprise: 排污单位 {i:05d}", "        points:"]
        for point, _st, factors in POINTS:
            lines.append(f"          {point}:")
            if point != "ww1":
                lines.append(f"            mn: '{stack}'")
            lines.append("            factors: {" + ", ".join(f"{c}: {{limit: {a * 2:g}}}" for c, (a, _) in
                                                         factors.items()) + "}")
    return "\n".join(lines) + "\n"


def wait_port(port: int, proc: Any, timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if (proc.poll() if hasattr(proc, "poll") else proc.exitcode) is not None:
            raise SystemExit(f"{what} exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return time.monotonic() - t0
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on {port} within {timeout:g} s")


def metric(base: str, name: str) -> float | None:
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=30) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{}"):
                    return float(line.rsplit(" ", 1)[1])
    except OSError:
        return None
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daus", type=int, default=GOAL_DAUS, help="DAUs, one connection each (default 5,000)")
    ap.add_argument("--rates", default=DEFAULT_RATES, help=f"total frames/s per step (default {DEFAULT_RATES})")
    ap.add_argument("--step", type=float, default=20.0, help="seconds per step (default 20)")
    ap.add_argument("--idle", type=float, default=30.0,
                    help="seconds of the idle step after priming (connections held, no frames; default 30, so every "
                         "DAU's next frame is due an `up` observation, as minute data are in the field)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (config, log, database)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    soft, hard = raise_nofile(0)  # the collector and the floor inherit it
    need = args.daus + 200
    if soft < need:
        raise SystemExit(f"open-files limit {soft} (hard {hard}) is under the {need} --daus {args.daus} needs")
    tmp = Path(tempfile.mkdtemp(prefix="opsmon-hj212-bench-"))
    ctx = multiprocessing.get_context("spawn")
    cmd_q, res_q = ctx.Queue(), ctx.Queue()
    gen = ctx.Process(target=generator_main, args=(args.daus, cmd_q, res_q), daemon=True)
    floor: Any = None
    collector: subprocess.Popen[bytes] | None = None
    results: dict[str, Any] = {"revision": git_revision(), "daus": args.daus, "nofile": [soft, hard],
                               "step_s": args.step, "factors_per_frame": FACTORS_PER_FRAME}
    try:
        gen.start()

        def run_step(pid: int, rate: float, duration: float, answers: bool) -> dict[str, Any]:
            start_at = time.monotonic() + 0.5
            t0, g0, m0, me0 = tree_cpu(pid), proc_cpu(gen.pid), machine_cpu(), time.process_time()
            cmd_q.put(("step", rate, duration, start_at, answers))
            r = res_q.get(timeout=duration + 120)
            t1, g1, m1, me1 = tree_cpu(pid), proc_cpu(gen.pid), machine_cpu(), time.process_time()
            c0, c1 = 0.0, tree_delta(t0, t1)
            r["processes"] = {str(p): round(v - t0.get(p, 0.0), 2) for p, v in t1.items()}
            wall = r["wall_s"]
            ours = (c1 - c0) + (g1 - g0) + (me1 - me0)
            lat = array("d")
            lat.frombytes(r.pop("lat"))
            ls = sorted(lat)
            frames = r["sent"] - r["lost"]
            return {**r, "target_fps": rate, "achieved_fps": round((r["answered"] if answers else frames) / wall, 1),
                    "p50_ms": round(pct(ls, 0.5) * 1000, 1), "p99_ms": round(pct(ls, 0.99) * 1000, 1),
                    "max_ms": round(ls[-1] * 1000, 1) if ls else float("nan"),
                    "cpu_s": round(c1 - c0, 3), "cpu_pct": round(100 * (c1 - c0) / wall, 1),
                    "cpu_ms_per_1000": round(1e6 * (c1 - c0) / frames, 1) if frames else None,
                    "gen_cpu_pct": round(100 * (g1 - g0) / wall, 1),
                    "others_pct": round(100 * max(0.0, (m1[0] - m0[0]) - ours) / (m1[1] - m0[1])
                                        * (os.cpu_count() or 1), 1)}

        def phase(pid: int, port: int, answers: bool, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            cmd_q.put(("connect", port))
            conn = res_q.get(timeout=300)
            say(f"{name}: {conn['open']} connections open in {conn['connect_s']} s ({conn['failed']} failed)")
            time.sleep(1.0)
            # priming: every DAU's first frame (its unknown -> up transition is first-contact work, done once)
            steps = [run_step(pid, PRIME_RATE, args.daus / PRIME_RATE, answers)]
            steps[0]["prime"] = True
            say(f"  {name} priming pass: CPU {steps[0]['cpu_pct']} %")
            steps.append(run_step(pid, 0.0, args.idle, answers))
            for rate in rates:
                s = run_step(pid, rate, args.step, answers)
                steps.append(s)
                say(f"  {name} {rate:g} frames/s: achieved {s['achieved_fps']}/s, CPU {s['cpu_pct']} % "
                    f"({s['cpu_ms_per_1000']} ms per 1,000 frames)"
                    + (f", 9014 p50 {s['p50_ms']} ms p99 {s['p99_ms']} ms" if answers else ""))
                if answers:
                    s["held"] = metric(base, "opsmon_hj212_connections")
            cmd_q.put(("close",))
            res_q.get(timeout=60)
            return conn, steps

        # 1. the floor
        floor_port = free_port()
        floor = ctx.Process(target=floor_main, args=(floor_port,), daemon=True)
        floor.start()
        wait_port(floor_port, floor, 30, "the floor server")
        base = ""
        results["floor_connect"], results["floor"] = phase(floor.pid, floor_port, False, "floor")
        floor.kill()
        floor.join(10)

        # 2. the collector
        t0 = time.monotonic()
        (tmp / "assets.yaml").write_text(inventory(args.daus), encoding="utf-8")
        api, hj = free_port(), free_port()
        base = f"http://127.0.0.1:{api}"
        (tmp / "collector.yaml").write_text(textwrap.dedent(f"""\
            timezone: Asia/Shanghai
            database:
              path: {tmp / 'opsmon.db'}
            listen:
              host: 127.0.0.1
              port: {api}
            api:
              public_read: true
            inventory:
              files: [assets.yaml]
            hj212:
              enabled: true
              host: 127.0.0.1
              port: {hj}
              max_per_address: {args.daus + 100}  # every simulated unit connects from 127.0.0.1
              credentials:
                bench: {{password: "{PASSWORD}"}}
        """), encoding="utf-8")
        log = open(tmp / "collector.log", "wb")  # noqa: SIM115 - closed with the temp dir
        collector = subprocess.Popen([*OPSMON, "--config", str(tmp / "collector.yaml"), "serve"], cwd=ROOT,
                                     stdout=log, stderr=subprocess.STDOUT)
        wait_port(hj, collector, 300, "the collector")
        results["collector_start_s"] = round(time.monotonic() - t0, 1)
        say(f"collector pid {collector.pid}: {args.daus} DAUs in the inventory, receiving in "
            f"{results['collector_start_s']} s")
        time.sleep(3.0)  # let the start's inventory sync and first timeline pass settle
        results["collector_connect"], results["collector"] = phase(collector.pid, hj, True, "collector")
        cmd_q.put(("stop",))
        gen.join(10)
        collector.send_signal(signal.SIGINT)
        collector.wait(120)
        with sqlite3.connect(tmp / "opsmon.db") as db:
            results["stored_frames"] = db.execute("SELECT count(*) FROM hj212_frames WHERE cn = '2051'").fetchone()[0]
            results["stored_rows"] = db.execute("SELECT count(*) FROM hj212_data WHERE cn = '2051'").fetchone()[0]
        text = (tmp / "collector.log").read_text(errors="replace")
        results["log_warnings"] = [ln[:200] for ln in text.splitlines() if "WARNING" in ln or "ERROR" in ln][:5]
    finally:
        if gen.is_alive():
            gen.kill()
        if floor is not None and floor.is_alive():
            floor.kill()
        if collector is not None and collector.poll() is None:
            collector.kill()
            collector.wait()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    results["answered"] = sum(s["answered"] for s in results["collector"])
    results["sent"] = sum(s["sent"] - s["lost"] for s in results["collector"])
    goal = next((s for s in results["collector"] if s["target_fps"] == GOAL_RATE and not s.get("prime")), None)
    results["goal_pass"] = bool(goal and args.daus >= GOAL_DAUS and goal["cpu_pct"] < GOAL_CPU
                                and goal["achieved_fps"] >= 0.97 * GOAL_RATE
                                and results["stored_frames"] >= results["answered"])  # answered => stored
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        report(results)
    return 0


def report(r: dict[str, Any]) -> None:
    print(f"\nHJ 212 receiver cost (opsmon {r['revision']}): {r['daus']} DAUs, one connection each "
          f"(open-files limit {r['nofile'][0]}/{r['nofile'][1]}); CN 2051, {r['factors_per_frame']} factors a frame, "
          f"Flag=5; {r['step_s']:g} s a step; collector start {r['collector_start_s']} s\n")
    cols = ("step", "target/s", "achieved/s", "unanswered", "p50 ms", "p99 ms", "max ms", "opsmon CPU%",
            "floor CPU%", "opsmon ms/1k", "floor ms/1k", "ratio", "gen CPU%", "others%", "conns held")
    widths = (7, 9, 11, 11, 8, 8, 8, 12, 11, 13, 12, 7, 9, 8, 11)
    print("  " + "".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True)))
    print("  " + "-" * sum(widths))
    for c, f in zip(r["collector"], r["floor"], strict=True):
        idle = c["target_fps"] == 0
        ratio = (f"{c['cpu_ms_per_1000'] / f['cpu_ms_per_1000']:.1f}"
                 if not idle and f["cpu_ms_per_1000"] else "-")
        vals = ("prime" if c.get("prime") else "idle" if idle else "", "-" if idle else f"{c['target_fps']:g}",
                "-" if idle else f"{c['achieved_fps']:.0f}", str(c["sent"] - c["lost"] - c["answered"]),
                "-" if idle else f"{c['p50_ms']:.1f}", "-" if idle else f"{c['p99_ms']:.1f}",
                "-" if idle else f"{c['max_ms']:.0f}", f"{c['cpu_pct']:.1f}", f"{f['cpu_pct']:.1f}",
                "-" if idle else f"{c['cpu_ms_per_1000']:.0f}", "-" if idle else f"{f['cpu_ms_per_1000']:.0f}", ratio,
                f"{c['gen_cpu_pct']:.0f}", f"{c['others_pct']:.0f}",
                f"{c['open']}/{c['held']:.0f}" if c.get("held") is not None else str(c["open"]))
        print("  " + "".join(f"{v:>{w}}" for v, w in zip(vals, widths, strict=True)))
    print("  (prime: every DAU's first frame; unanswered: frames with no 9014 read within 15 s of the step's end "
          "(withheld: answer_wait is 10 s); latency: from when a frame was due to when its 9014 was read; "
          "CPU: utime+stime over the step in % of one core, the collector with its threads and child processes; "
          "ms/1k: CPU ms per 1,000 frames; ratio: "
          "opsmon's ms/1k over the floor's (a read-and-discard asyncio server); gen: the load generator; others: "
          "every other process on the machine; conns held: the generator's open connections / the collector's "
          "opsmon_hj212_connections)")
    print(f"\n  frames sent {r['sent']}, 9014s read {r['answered']}, stored after the collector's flush: "
          f"{r['stored_frames']} raw 2051 frames, {r['stored_rows']} hj212_data rows "
          f"({r['stored_rows'] / r['factors_per_frame']:.0f} frames x {r['factors_per_frame']}): every answered "
          f"frame stored: {'yes' if r['stored_frames'] >= r['answered'] else 'NO'}")
    print(f"  goal ({GOAL_DAUS} DAUs, {GOAL_RATE:g} frames/s, under {GOAL_CPU:g} % of one core): "
          f"{'PASS' if r['goal_pass'] else 'FAIL'}")
    for line in r["log_warnings"]:
        print(f"    log: {line}")


if __name__ == "__main__":
    raise SystemExit(main())
