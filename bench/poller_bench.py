#!/usr/bin/env python3
"""Site poller benchmark (issue 22 item 1): the resident memory and the CPU of `opsmon poller` per 100 checks.

What runs, all on loopback: a real `opsmon serve` (temporary SQLite database) whose inventory holds --checks
assets of the site `bench`, each with one TCP check every --interval seconds against a listener of this
script on 127.0.0.3 (it accepts and closes), and one poller enrolled for that site
(`opsmon agents enroll bench-poller --site bench --poller`) running them all and reporting every second.

After --warmup seconds, over --duration seconds: the poller's CPU (utime+stime from /proc/PID/stat) divided
by the checks it ran in the window (its results the collector stored with observer bench-poller, counted in
the database at both ends of the window), times 100; its resident memory (VmRSS) at the end and its peak
(VmHWM). The collector's own cost is not counted.

    .venv/bin/python bench/poller_bench.py [--checks 500] [--interval 5] [--duration 60] [--warmup 15]
"""
from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from agent_bench import OPSMON, ROOT, free_port, proc_cpu, proc_kb, start, stop, vm_hwm_mb, wait_for  # noqa: E402

from tests.peers.wan import tcp_service  # noqa: E402

POLLER = "bench-poller"


def polled(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM observations WHERE observer = ?", (POLLER,)).fetchone()[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checks", type=int, default=500)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="opsmon-poller-bench-"))
    target = tcp_service("127.0.0.3")
    port = target.getsockname()[1]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        cport = free_port()
        base = f"http://127.0.0.1:{cport}"
        assets = "\n".join(f"  - {{id: srv-{i:05d}, category: server, site: bench, address: 127.0.0.3, "
                           f"checks: [{{type: tcp, port: {port}, interval: {args.interval}s}}]}}"
                           for i in range(args.checks))
        (tmp / "assets.yaml").write_text("assets:\n" + assets + "\n")
        (tmp / "collector.yaml").write_text(textwrap.dedent(f"""\
            database:
              path: {tmp / 'opsmon.db'}
            listen:
              host: 127.0.0.1
              port: {cport}
            inventory:
              files: [{tmp / 'assets.yaml'}]
        """))
        token = subprocess.run([*OPSMON, "--config", str(tmp / "collector.yaml"), "agents", "enroll", POLLER,
                                "--site", "bench", "--poller"], cwd=ROOT, capture_output=True, text=True,
                               timeout=60, check=True).stdout.strip()
        procs["collector"] = start([*OPSMON, "--config", str(tmp / "collector.yaml"), "serve"], tmp / "collector.log")
        wait_for(lambda: urllib.request.urlopen(base + "/api/v1/health", timeout=1).status == 200, 60,
                 "the collector's /api/v1/health")
        conf = tmp / "poller.toml"
        conf.write_text(f'collector_url = "{base}"\ntoken = "{token}"\ninterval = 1\nspool_dir = "{tmp / "spool"}"\n')
        conf.chmod(0o600)
        procs["poller"] = poller = start([*OPSMON, "poller", str(conf)], tmp / "poller.log")
        time.sleep(args.warmup)
        db = tmp / "opsmon.db"
        n0, cpu0, t0 = polled(db), proc_cpu(poller.pid)[0], time.monotonic()
        time.sleep(args.duration)
        n1, cpu1, t1 = polled(db), proc_cpu(poller.pid)[0], time.monotonic()
        rss, hwm = proc_kb(poller.pid, "VmRSS") / 1024, vm_hwm_mb(poller.pid)
        checks = n1 - n0
        expected = args.checks * (t1 - t0) / args.interval
        print(f"poller: {args.checks} TCP checks every {args.interval:g} s, window {t1 - t0:.0f} s")
        print(f"  checks run and stored  {checks} (expected about {expected:.0f})")
        print(f"  CPU                    {cpu1 - cpu0:.2f} s = {(cpu1 - cpu0) / max(checks, 1) * 100 * 1000:.1f} ms "
              f"per 100 checks ({(cpu1 - cpu0) / (t1 - t0) * 100:.1f}% of one core)")
        print(f"  RSS                    {rss:.1f} MB now, {hwm:.1f} MB peak")
        spool = list((tmp / "spool").glob("*.report"))
        print(f"  spool                  {len(spool)} reports waiting (0: the collector kept up)")
    finally:
        for proc in procs.values():
            stop(proc)
        target.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
