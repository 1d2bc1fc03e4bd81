#!/usr/bin/env python3
"""SLA benchmark: `opsmon sla --period 2026Q3` over a quarter of a large estate, beside Prometheus.

What it measures
  1. A deterministic synthetic estate (seeded): 10,000 assets across every category the availability
     targets of rules/targets.yaml cover, and 1,000,000 state intervals that tile each asset's history
     through 2026Q3 in Asia/Shanghai ([2026-06-30 16:00Z, 2026-09-30 16:00Z)): mostly up, with down,
     degraded, maintenance, unknown and unreachable spells; histories start before the quarter (or
     inside it, for assets added mid-quarter), some assets are removed mid-quarter, the rest run past
     its end with one open interval. It is loaded once into SQLite and once into PostgreSQL.
  2. `opsmon --config <tmp>/collector.yaml sla --period 2026Q3 --format json` exactly as a user runs it
     (a fresh process each time: interpreter start, imports, migrations check, the query, JSON out):
     wall time and peak RSS (ru_maxrss of that very child, from wait4() in a small launcher process),
     best time of --runs (3) runs, largest peak RSS. Goal: under 2 s and under 500 MB, on SQLite and
     on PostgreSQL. Also evaluate() alone, timed inside a fresh child process after imports and
     open_store(), with the RSS it adds (peak-RSS counter reset just before it), its CPU time (every
     thread of the process; the main thread's apart) and PostgreSQL's (the server's processes, parallel
     workers included), the load average when it ran, the sha256 of its document (the same figures give
     the same hash: run it before and after a change), and every SQL statement it sent, replayed alone
     one after another (which query takes the time).
  3. Side by side, a real Prometheus (Debian's package, installed with apt-get when missing) computing
     the same availability as `avg_over_time` of a 0/1 `up` series over the period, for a subset of
     --prom-assets assets sampled every --prom-step seconds (backfilled with `promtool tsdb
     create-blocks-from openmetrics`), and opsmon computing it from the same intervals (up/down only:
     Prometheus has no notion of maintenance or unknown time). Both times, their ratio, both values.

Why the Prometheus subset is 100 assets at 60 s by default: measured here (2 cores), one asset-quarter
at 60 s is 135,360 samples (94 days incl. a day either side), ~7 MB of OpenMetrics text; promtool
needs ~0.3 s per asset and peaks at about the input size in RSS (it holds the whole file), and the
query scans ~13-18 M samples/s. 100 assets (697 MB of text, ~30 s backfill at 800 MB peak, ~1 s query)
keeps the whole run near 2 minutes; everything scales linearly, so 1,000 assets would be a 7 GB file,
~5 min of backfill with a ~7 GB peak, and a ~10 s query for the same answer.

Why the values agree exactly: in the subset every interval boundary is on the sample grid (multiples
of --prom-step), so each sample stands for exactly one step of one state and the sample mean over the
period equals up-time / (up + down)-time; the query is evaluated at period end - 1 ms over a range of
exactly the period, selecting the samples in [start, end). The only difference left is float rounding
(Prometheus' running mean vs opsmon's integer-millisecond sums), hence the tolerance of 1e-9. With
boundaries off the grid, each state change could shift up to one step of time between up and down, so
the bound would be transitions x step / observed time (printed as "off-grid bound" for reference).

How to run (from the repository root):
    .venv/bin/python bench/sla_bench.py                 # full defaults, ~2.5 minutes here
    .venv/bin/python bench/sla_bench.py --assets 1000 --intervals 100000 --prom-assets 20   # quick
    .venv/bin/python bench/sla_bench.py --sizes 1000,10000,50000 --skip-prometheus   # the curve, both databases
    .venv/bin/python bench/sla_bench.py --sizes 1000,10000,50000 --skip-prometheus --cache /var/tmp/sla-bench
                                                        # the same, the estates kept for the next run
    flags: --assets --intervals --prom-assets --prom-step --runs --seed --skip-postgres
           --skip-prometheus --sqlite-covering-index --sizes (the curve: one run per asset count) --per-asset
           --json --keep --cache DIR --scoped (each availability target over its scope alone, as the
           console's click-through, beside the whole period)

What it needs: the opsmon venv (.venv, with psycopg), PostgreSQL server binaries
(/usr/lib/postgresql/*/bin; a throwaway cluster on 127.0.0.1 run as the `postgres` user when root,
as tests/peers/postgres.py does; stopped at the end), Debian's `prometheus` package (prometheus and
promtool; installed with apt-get if missing, root only), ~2 GB free under /tmp. Nothing listens on any
address but 127.0.0.1, and all servers started are stopped at the end. Before each measured batch it
waits while another benchmark (`pgrep -f scheduler_bench`) runs, so CPU contention does not skew figures.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import pwd
import random
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026Q3"
TZ = "Asia/Shanghai"
GOAL_SECONDS = 2.0
GOAL_MB = 500.0
MINUTE = 60_000
HOUR = 3_600_000
DAY = 24 * HOUR
CATEGORIES = (("server", 30), ("computer", 22), ("peripheral", 5), ("network", 15), ("security", 5),
              ("link", 10), ("system", 13))
OTHER_STATES = (("down", 45), ("degraded", 20), ("maintenance", 15), ("unknown", 15), ("unreachable", 5))
OUTAGE_FACTOR = {"link": 2.0, "peripheral": 1.5, "system": 0.5}  # mean length of non-up spells, x 40 min
SITES = ("urumqi", "kashgar", "korla", "yining", "hami", "aksu")
TAGS = ("rack-a", "rack-b", "dmz", "backup-window", "core", "edge")
AVAILABILITY_TARGETS = ("servers_ok", "computers_ok", "network_security_devices_ok", "network_connectivity",
                        "system_availability")
ASSET_COLUMNS = ("id", "name", "category", "site", "address", "tags", "criticality", "parent_id", "checks",
                 "facts", "created_at", "updated_at", "removed_at")
INTERVAL_COLUMNS = ("asset_id", "state", "start_ts", "end_ts", "reason")
PROM_JOB = "sla_bench"
COVERING_INDEX = "ix_bench_intervals_asset_state_span"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the synthetic estate ------------------------------------------------------------------------------------

@dataclass
class Estate:
    assets: list[tuple[Any, ...]] = field(default_factory=list)
    intervals: list[tuple[Any, ...]] = field(default_factory=list)


def _weighted(pairs: tuple[tuple[str, int], ...]) -> list[str]:
    return [name for name, weight in pairs for _ in range(weight)]


def _asset_row(aid: str, category: str, rng: random.Random, created: int, removed: int | None) -> tuple[Any, ...]:
    tags = json.dumps(sorted(rng.sample(TAGS, rng.randint(0, 2))))
    return (aid, f"{category} {aid}", category, rng.choice(SITES), f"127.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            tags, rng.choice(("high", "medium", "low")), None, "[]", None, created, created, removed)


def _split_counts(total: int, n: int, rng: random.Random, minimum: int) -> list[int]:
    """total intervals over n assets: about total/n each, varied by +-50 %, never under `minimum`."""
    counts = [total // n + (1 if i < total % n else 0) for i in range(n)]
    for i in range(n):
        j = rng.randrange(n)
        k = rng.randint(0, max(0, min(counts[i] - minimum, counts[i] // 2)))
        counts[i] -= k
        counts[j] += k
    return counts


def _cut(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` positive integers at random."""
    if parts == 1:
        return [total]
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def make_estate(n_assets: int, n_intervals: int, ps: int, pe: int, seed: int) -> Estate:
    """The full estate (times in epoch ms). Deterministic for a given seed and sizes."""
    rng = random.Random(seed)
    categories, others = _weighted(CATEGORIES), _weighted(OTHER_STATES)
    counts = _split_counts(n_intervals, n_assets, rng, 2)
    est = Estate()
    for i, k in enumerate(counts):
        aid, category = f"a{i:05d}", rng.choice(categories)
        r = rng.random()
        removed: int | None = None
        if r < 0.80:  # tracked since before the quarter: its first interval crosses the start
            start = ps - rng.randint(HOUR, 20 * DAY)
        elif r < 0.95:  # added during the quarter
            start = ps + rng.randint(0, 60 * DAY)
        else:  # removed during the quarter
            start = ps - rng.randint(HOUR, 20 * DAY)
            removed = ps + rng.randint(10 * DAY, 80 * DAY)
        end = removed if removed is not None else pe + rng.randint(0, 30 * DAY)
        closed = k if removed is not None else k - 1  # a live asset has one open interval after `end`
        n_other = closed // 2
        mean = 40 * MINUTE * OUTAGE_FACTOR.get(category, 1.0)
        spells = [max(1000, int(rng.expovariate(1 / mean))) for _ in range(n_other)]
        cap = (end - start) // 5
        if sum(spells) > cap:  # never more than a fifth of the time outside `up`
            spells = [max(1000, s * cap // sum(spells)) for s in spells]
        ups = _cut(end - start - sum(spells), closed - n_other, rng)
        est.assets.append(_asset_row(aid, category, rng, start, removed))
        t = start
        for j in range(closed):
            state, length = ("up", ups[j // 2]) if j % 2 == 0 else (rng.choice(others), spells[j // 2])
            est.intervals.append((aid, state, t, t + length, ""))
            t += length
        assert t == end, (aid, t, end)
        if removed is None:
            est.intervals.append((aid, "up", end, None, ""))
    return est


def make_subset(n_assets: int, ps: int, pe: int, step_ms: int, seed: int, per_asset: int = 100) -> Estate:
    """Up/down-only servers for the Prometheus comparison; every boundary on the step grid.

    Each history tiles [period start - 1 day, period end + 1 day), so intervals cross both boundaries.
    """
    rng = random.Random(seed + 1)
    lo, hi = ps - DAY, pe + DAY
    steps = (hi - lo) // step_ms
    est = Estate()
    for i in range(n_assets):
        aid = f"prom-{i:04d}"
        n_down = per_asset // 2
        mean = max(1.0, 30 * MINUTE / step_ms)  # down spells of ~30 min
        downs = [max(1, round(rng.expovariate(1 / mean))) for _ in range(n_down)]
        if sum(downs) > steps // 10:
            downs = [max(1, d * (steps // 10) // sum(downs)) for d in downs]
        ups = _cut(steps - sum(downs), per_asset - n_down, rng)
        est.assets.append(_asset_row(aid, "server", rng, lo, None))
        t = lo
        for j in range(per_asset):
            state, n = ("up", ups[j // 2]) if j % 2 == 0 else ("down", downs[j // 2])
            est.intervals.append((aid, state, t, t + n * step_ms, ""))
            t += n * step_ms
        assert t == lo + steps * step_ms
    return est


def write_openmetrics(est: Estate, path: Path, step_ms: int) -> int:
    """One 0/1 `up` gauge per asset, one sample per step at the state of that instant. Returns samples."""
    by_asset: dict[str, list[tuple[Any, ...]]] = {}
    for row in est.intervals:
        by_asset.setdefault(row[0], []).append(row)
    step, count = step_ms // 1000, 0
    with path.open("w", encoding="ascii") as f:
        f.write("# HELP up 1 when the asset was up, 0 when down (sla_bench).\n# TYPE up gauge\n")
        for aid, rows in by_asset.items():
            prefix = {v: f'up{{instance="{aid}",job="{PROM_JOB}"}} {v} ' for v in (0, 1)}
            parts = []
            for _, state, s, e, _ in rows:
                p = prefix[1 if state == "up" else 0]
                ts = range(s // 1000, e // 1000, step)
                count += len(ts)
                parts.append("".join(f"{p}{t}\n" for t in ts))
            f.write("".join(parts))
        f.write("# EOF\n")
    return count


# -- loading -------------------------------------------------------------------------------------------------

def _migrate(url: str) -> None:
    from opsmon.collector.store import open_store

    open_store(url).close()


def load_sqlite(path: Path, est: Estate) -> None:
    _migrate(f"sqlite:///{path}")
    con = sqlite3.connect(path)
    try:
        with con:
            con.executemany(f"INSERT INTO assets ({', '.join(ASSET_COLUMNS)}) "
                            f"VALUES ({', '.join('?' * len(ASSET_COLUMNS))})", est.assets)
            con.executemany(f"INSERT INTO state_intervals ({', '.join(INTERVAL_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
                            est.intervals)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def load_postgres(url: str, est: Estate) -> None:
    import psycopg

    _migrate(url)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY assets ({', '.join(ASSET_COLUMNS)}) FROM STDIN") as cp:
            for row in est.assets:
                cp.write_row(row)
        with cur.copy(f"COPY state_intervals ({', '.join(INTERVAL_COLUMNS)}) FROM STDIN") as cp:
            for row in est.intervals:
                cp.write_row(row)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum does shortly after a bulk load


def load_postgres_from_sqlite(url: str, db: Path) -> None:
    """The same rows in the same order as load_postgres() would COPY them, read from an estate's SQLite file."""
    import psycopg

    _migrate(url)
    src = sqlite3.connect(db)
    try:
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            for table, columns, order in (("assets", ASSET_COLUMNS, "rowid"),
                                          ("state_intervals", INTERVAL_COLUMNS, "id")):
                names = ", ".join(columns)
                with cur.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
                    for row in src.execute(f"SELECT {names} FROM {table} ORDER BY {order}"):
                        cp.write_row(row)
    finally:
        src.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _cached_estate(args: argparse.Namespace) -> Path | None:
    """Where --cache keeps this estate's SQLite file: by its sizes, seed and the schema it was made with."""
    if not args.cache:
        return None
    from opsmon.collector.store.db import SCHEMA_REVISION

    return Path(args.cache).resolve() / f"sla-estate-{args.assets}-{args.intervals}-{args.seed}-{SCHEMA_REVISION}.db"


def _estate_stats(db: Path, ps: int, pe: int) -> dict[str, Any]:
    """What generating the estate reports of it, read from its SQLite file."""
    con = sqlite3.connect(db)
    try:
        states = dict(con.execute("SELECT state, COUNT(*) FROM state_intervals GROUP BY state").fetchall())
        crossing = ("SELECT COUNT(*) FROM state_intervals WHERE start_ts < :t AND (end_ts IS NULL OR end_ts > :t)")
        return {"interval_states": states, "crossing_start": con.execute(crossing, {"t": ps}).fetchone()[0],
                "crossing_end": con.execute(crossing, {"t": pe}).fetchone()[0]}
    finally:
        con.close()


def write_config(folder: Path, database: dict[str, str]) -> Path:
    key, value = next(iter(database.items()))
    path = folder / "collector.yaml"
    path.write_text(f"organisation: sla bench\ntimezone: {TZ}\ndatabase:\n  {key}: {json.dumps(value)}\n",
                    encoding="utf-8")
    return path


# -- servers -------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Postgres:
    """A throwaway cluster on a loopback port, as tests/peers/postgres.py starts one."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        initdb = found[-1] if found else shutil.which("initdb")
        if not initdb:
            raise RuntimeError("PostgreSQL server binaries (initdb, postgres) are not installed")
        self.bindir = os.path.dirname(initdb)
        self.root = tempfile.mkdtemp(prefix="opsmon-slabench-pg-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        prefix: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse root
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
        data = os.path.join(self.root, "data")
        subprocess.run([*prefix, f"{self.bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-locale"], check=True, capture_output=True)
        port = free_port()
        self.proc = subprocess.Popen([*prefix, f"{self.bindir}/postgres", "-D", data, "-p", str(port), "-k", self.root,
                                      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            ready = subprocess.run([f"{self.bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(port)],
                                   capture_output=True)
            if ready.returncode == 0:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("postgres did not start")
            time.sleep(0.2)
        subprocess.run([f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "opsmon"],
                       check=True, capture_output=True)
        self.url = f"postgresql://postgres@127.0.0.1:{port}/opsmon"
        return self.url

    def postmaster_pid(self) -> int:
        """The server's own process (self.proc may be runuser, its parent)."""
        with open(os.path.join(self.root, "data", "postmaster.pid"), encoding="ascii") as f:
            return int(f.readline())

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)


def ensure_prometheus() -> None:
    if shutil.which("prometheus") and shutil.which("promtool"):
        return
    if os.geteuid() != 0:
        raise RuntimeError("prometheus/promtool missing: apt-get install prometheus (as root)")
    log("installing Debian's prometheus package (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "prometheus"], check=True, capture_output=True, env=env)


def block_hours(lo_ms: int, hi_ms: int) -> int:
    """The smallest promtool block length (2h x 3^k) that holds [lo, hi) in one block.

    promtool re-parses the whole input once per block, so one block is one pass.
    """
    r = 2 * HOUR
    while lo_ms // r != (hi_ms - 1) // r:
        r *= 3
    return r // HOUR


class Prometheus:
    def __init__(self, folder: Path, tsdb: Path) -> None:
        self.folder, self.tsdb = folder, tsdb
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy

    def start(self) -> float:
        cfg = self.folder / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1h\n", encoding="utf-8")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        with (self.folder / "prometheus.log").open("wb") as out:
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={self.tsdb}",
                 "--storage.tsdb.retention.time=10y", f"--web.listen-address=127.0.0.1:{port}"],
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while True:
            try:
                with self.opener.open(f"{self.base}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not become ready; see {self.folder / 'prometheus.log'}")
            time.sleep(0.2)

    def query(self, expr: str, at: str) -> tuple[float, dict[str, Any]]:
        body = urllib.parse.urlencode({"query": expr, "time": at, "stats": "all"}).encode()
        t0 = time.perf_counter()
        with self.opener.open(f"{self.base}/api/v1/query", data=body, timeout=600) as resp:
            doc = json.load(resp)
        elapsed = time.perf_counter() - t0
        if doc.get("status") != "success":
            raise RuntimeError(f"query {expr!r} failed: {doc}")
        return elapsed, doc["data"]

    def peak_rss_kb(self) -> int:
        assert self.proc is not None
        return _status_kb("VmHWM", self.proc.pid)

    def stop(self) -> None:
        _stop(self.proc)


# -- measuring -----------------------------------------------------------------------------------------------

def _status_kb(key: str, pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def wait_quiet(report: dict[str, Any], limit: float = 3600.0) -> None:
    """Wait while another benchmark runs, so CPU contention does not skew the figures."""
    waited, t0 = False, time.monotonic()
    while subprocess.run(["pgrep", "-f", "scheduler_bench"], capture_output=True).stdout.strip():
        if not waited:
            log("scheduler_bench is running: waiting for it to finish before measuring")
            waited = True
        if time.monotonic() - t0 > limit:
            log("still running after the limit: measuring anyway (figures may be skewed)")
            report["contention"] = True
            return
        time.sleep(5)
    if waited:
        report["waited_for_other_bench_s"] = round(time.monotonic() - t0, 1)


# Peak RSS of a child must not come from wait4() in this process: a child forked (or vforked) from a
# process as big as this one starts with its maxrss already at this process's RSS (Linux keeps the
# pre-exec high-water mark), which would report the generator's 1M tuples as opsmon's memory. So each
# measured command is spawned by a small launcher (python -S, ~10 MB) that reports its child's rusage.
_LAUNCHER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {elapsed!r} {usage.ru_maxrss}")
"""


def run_child(cmd: list[str], out: Path, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run cmd with stdout to `out`; (wall seconds, peak RSS in kB of that child alone)."""
    stats = out.with_suffix(".rusage")
    with out.open("wb") as stdout, out.with_suffix(".err").open("wb") as stderr:
        subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(stats), *cmd], stdout=stdout, stderr=stderr,
                       cwd=ROOT, check=True, env=env)
    code, elapsed, maxrss = stats.read_text(encoding="ascii").split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {out.with_suffix('.err').read_text()[-2000:]}")
    return float(elapsed), int(maxrss)


def opsmon_bin() -> str:
    here = Path(sys.executable).parent / "opsmon"
    found = str(here) if here.exists() else shutil.which("opsmon")
    if not found:
        raise RuntimeError("the opsmon command is not installed (make: .venv/bin/opsmon)")
    return found


def measure_cli(config: Path, folder: Path, runs: int, label: str) -> dict[str, Any]:
    cmd = [opsmon_bin(), "--config", str(config), "sla", "--period", PERIOD, "--format", "json"]
    times, rss = [], []
    out = folder / f"sla-{label}.json"
    for i in range(runs):
        t, kb = run_child(cmd, out)
        times.append(t)
        rss.append(kb)
        log(f"  {label} CLI run {i + 1}: {t:.3f} s, {kb / 1024:.0f} MB")
    result = json.loads(out.read_text(encoding="utf-8"))
    values = {t["id"]: t["value"] for t in result["targets"] if t["id"] in AVAILABILITY_TARGETS}
    assets = {t["id"]: t["detail"].get("assets") for t in result["targets"] if t["id"] in AVAILABILITY_TARGETS}
    return {"command": " ".join(cmd), "seconds": min(times), "runs_s": times, "peak_rss_mb": max(rss) / 1024,
            "values": values, "assets_in_scope": assets, "complete": result["period"]["complete"]}


def measure_evaluate(url: str, folder: Path, runs: int, label: str, per_asset: bool = False,
                     server_pid: int | None = None, scoped: bool = False) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-evaluate", url]
    if per_asset:
        cmd.append("--child-per-asset")
    if scoped:
        cmd.append("--child-scoped")
    best: dict[str, Any] | None = None
    times, cpus, shas = [], [], set()
    env = {**os.environ, **({"OPSMON_BENCH_SERVER_PID": str(server_pid)} if server_pid else {})}
    for i in range(runs):
        _, kb = run_child(cmd, folder / f"eval-{label}.json", env)
        doc = json.loads((folder / f"eval-{label}.json").read_text(encoding="utf-8"))
        doc["process_peak_rss_mb"] = kb / 1024
        times.append(doc["seconds"])
        cpus.append(doc["cpu_s"] + (doc["server_cpu_s"] or 0.0))
        shas.add(doc["sha256"])
        server = f" + server {doc['server_cpu_s']:.3f} s" if doc["server_cpu_s"] is not None else ""
        log(f"  {label} evaluate() run {i + 1}: {doc['seconds']:.3f} s wall, CPU {doc['cpu_s']:.3f} s{server} "
            f"(load {doc['loadavg']:.2f}), +{doc['rss_added_mb']:.0f} MB (process peak {kb / 1024:.0f} MB); "
            f"{doc['breakdown']}; sha256 {doc['sha256'][:16]}")
        if best is None or doc["seconds"] < best["seconds"]:
            best = doc
    assert best is not None
    best["runs_s"], best["cpu_runs_s"] = times, cpus
    if len(shas) > 1:
        raise RuntimeError(f"{label}: evaluate() gave different documents from one run to the next: {sorted(shas)}")
    return best


def _cpu() -> float:
    """CPU seconds of this process, every thread (user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _server_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL server: its processes alive now, plus those it reaped (parallel workers and
    backends that ended count in the postmaster's children's time). On a machine shared with other work the
    wall time swings with the load; CPU seconds say what the work cost."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(pid) == postmaster:
            total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        elif int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _short_sql(statement: str) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= 90 else flat[:87] + "..."


def child_scoped(store: Any, table: Any, period: Any, now: datetime, whole: dict[str, Any]) -> dict[str, Any]:
    """The console's click-through behind one availability figure of a period not in its cache
    (sla/cache.py: `Evaluation(scope=target)`, only the scope's assets read) beside the whole period's
    measurement, as of the same instant: CPU of each (this process, every thread), and whether each scoped
    figure equals the whole table's to the last digit (docs/sla.md, "The period cache")."""
    from opsmon.collector.sla.engine import Evaluation, measured_with

    c0 = _cpu()
    measured_with(Evaluation(store, period, now), table, store)
    out: dict[str, Any] = {"whole_cpu_s": _cpu() - c0, "targets": {}}
    values = {t["id"]: t["value"] for t in whole["targets"]}
    for target in table.targets:
        if target.measure != "availability":
            continue
        c0 = _cpu()
        ev = Evaluation(store, period, now, target)
        one = measured_with(ev, table.model_copy(update={"targets": [target]}), store)
        cpu = _cpu() - c0
        value = one.as_document()["targets"][0]["value"]
        out["targets"][target.id] = {"cpu_s": cpu, "assets": len(ev.assets), "same": value == values[target.id]}
    return out


def child_evaluate(url: str, per_asset: bool, scoped: bool = False) -> int:
    """In a fresh process: import, open the store, then time evaluate() alone (printed as JSON).

    Breakdown: every SQL statement evaluate() read is captured (at store/dbapi.py's DbapiReader.rows, which
    every read of the engine goes through, on its own connection or a pass thread's; SQLAlchemy's events no
    longer see them), then replayed alone on a raw DB-API connection (best of 3), so the report says which query
    takes the time whatever shape the engine has; the rest of evaluate() is Python (row handling, per-target
    arithmetic).
    """
    t0 = time.perf_counter()
    from opsmon.collector.sla import engine
    from opsmon.collector.sla.periods import parse_period
    from opsmon.collector.sla.targets import bundled_targets_path, load_targets
    from opsmon.collector.store import open_store

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = open_store(url)
    table = load_targets(bundled_targets_path())
    period = parse_period(PERIOD, TZ)
    t_open = time.perf_counter() - t0
    from opsmon.collector.store.dbapi import DbapiReader

    captured: list[tuple[str, Any]] = []
    rows_of = DbapiReader.rows

    def capture(self: Any, sql: str, params: Any = None) -> list[Any]:
        captured.append((sql, dict(params or {})))  # list.append: safe from the pass's threads
        return rows_of(self, sql, params)

    DbapiReader.rows = capture  # type: ignore[method-assign]
    try:  # reset the peak-RSS counter so VmHWM below is the peak during evaluate() alone
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        pass
    rss0 = _status_kb("VmRSS")
    server = os.environ.get("OPSMON_BENCH_SERVER_PID")
    load = os.getloadavg()[0]
    s0 = _server_cpu(int(server)) if server else 0.0
    c0, m0 = _cpu(), time.thread_time()
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    result = engine.evaluate(store, table, period, now)
    seconds = time.perf_counter() - t0
    cpu, main_cpu = _cpu() - c0, time.thread_time() - m0
    server_cpu = _server_cpu(int(server)) - s0 if server else None
    added = max(0, _status_kb("VmHWM") - rss0)
    DbapiReader.rows = rows_of  # type: ignore[method-assign]
    statements = []
    raw = store.engine.raw_connection()
    try:
        replay = DbapiReader(raw.driver_connection, store.dialect)  # the same SQL text and parameters
        for statement, parameters in captured:
            if "pg_export_snapshot" in statement:
                continue  # the measurement's snapshot: nothing to time alone
            best, rows = float("inf"), 0
            for _ in range(3):
                t = time.perf_counter()
                rows = len(replay.rows(statement, parameters))
                best = min(best, time.perf_counter() - t)
            statements.append({"sql": _short_sql(statement), "rows": rows, "s": round(best, 4)})
        raw.rollback()
    finally:
        raw.close()
    statements.sort(key=lambda x: -x["s"])
    breakdown: dict[str, Any] = {"sql_total_s": round(sum(x["s"] for x in statements), 3),
                                 "main_thread_cpu_s": round(main_cpu, 3),
                                 "other_threads_cpu_s": round(cpu - main_cpu, 3)}
    # The document's hash: the same figures to the last digit give the same hash (before/after a change).
    sha = hashlib.sha256(json.dumps(result, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    doc: dict[str, Any] = {
        "seconds": seconds, "cpu_s": cpu, "server_cpu_s": server_cpu, "loadavg": load, "sha256": sha,
        "import_s": t_import, "open_store_s": t_open, "rss_added_mb": added / 1024,
        "breakdown": breakdown, "statements": statements,
        "values": {t["id"]: t["value"] for t in result["targets"] if t["id"] in AVAILABILITY_TARGETS},
    }
    if scoped:
        doc["scoped"] = child_scoped(store, table, period, now, result)
    if per_asset:
        ev = engine.Evaluation(store, period)
        doc["per_asset"] = {}
        for a, s in ev.times.items():
            up, down = s.by_state.get("up", 0.0), s.by_state.get("down", 0.0)
            if up + down > 0:
                doc["per_asset"][a] = up / (up + down)
    store.close()
    print(json.dumps(doc))
    return 0


# -- the phases ----------------------------------------------------------------------------------------------

def bench_database(label: str, url: str, config: Path, folder: Path, args: argparse.Namespace,
                   report: dict[str, Any], server_pid: int | None = None) -> dict[str, Any]:
    wait_quiet(report)
    log(f"{label}: measuring `opsmon sla` ({args.runs} runs, fresh process each)")
    cli = measure_cli(config, folder, args.runs, label)
    wait_quiet(report)
    log(f"{label}: measuring evaluate() alone ({args.runs} runs, fresh process each)")
    ev = measure_evaluate(url, folder, args.runs, label, server_pid=server_pid, scoped=args.scoped)
    return {"cli": cli, "evaluate": ev}


def bench_prometheus(folder: Path, args: argparse.Namespace, ps: int, pe: int,
                     report: dict[str, Any]) -> dict[str, Any]:
    ensure_prometheus()
    step_ms = args.prom_step * 1000
    res: dict[str, Any] = {"assets": args.prom_assets, "step_s": args.prom_step}
    t0 = time.perf_counter()
    sub = make_subset(args.prom_assets, ps, pe, step_ms, args.seed)
    db = folder / "subset.db"
    load_sqlite(db, sub)
    res["intervals"] = len(sub.intervals)
    res["transitions_in_period"] = sum(1 for r in sub.intervals if ps < r[2] < pe)
    log(f"subset: {len(sub.assets)} assets, {len(sub.intervals)} up/down intervals on a {args.prom_step} s grid "
        f"({time.perf_counter() - t0:.1f} s)")
    (folder / "subset").mkdir()
    config = write_config(folder / "subset", {"path": str(db)})
    wait_quiet(report)
    log("subset: opsmon CLI and evaluate()")
    res["opsmon_cli"] = measure_cli(config, folder, args.runs, "subset")
    res["opsmon_evaluate"] = measure_evaluate(f"sqlite:///{db}", folder, args.runs, "subset", per_asset=True)

    om = folder / "up.om"
    t0 = time.perf_counter()
    res["samples"] = write_openmetrics(sub, om, step_ms)
    res["openmetrics_mb"] = om.stat().st_size / 2**20
    res["openmetrics_write_s"] = time.perf_counter() - t0
    log(f"OpenMetrics: {res['samples']:,} samples, {res['openmetrics_mb']:.0f} MB ({res['openmetrics_write_s']:.1f} s)")
    tsdb = folder / "tsdb"
    hours = block_hours(ps - DAY, pe + DAY)
    wait_quiet(report)
    t, kb = run_child(["promtool", "tsdb", "create-blocks-from", "openmetrics", f"--max-block-duration={hours}h",
                       str(om), str(tsdb)], folder / "promtool.out")
    res["backfill_s"], res["backfill_peak_rss_mb"], res["block_hours"] = t, kb / 1024, hours
    res["tsdb_mb"] = sum(p.stat().st_size for p in tsdb.rglob("*") if p.is_file()) / 2**20
    log(f"promtool backfill: {t:.1f} s, peak {kb / 1024:.0f} MB, TSDB {res['tsdb_mb']:.1f} MB")
    if not args.keep:
        om.unlink()

    prom = Prometheus(folder, tsdb)
    try:
        res["startup_s"] = prom.start()
        log(f"prometheus ready in {res['startup_s']:.1f} s")
        rng = f"{(pe - ps) // 1000}s"
        at = f"{(pe - 1) / 1000:.3f}"  # range (end - period - 1 ms, end - 1 ms]: the samples in [start, end)
        sel = f'up{{job="{PROM_JOB}"}}'
        fleet = f"avg(avg_over_time({sel}[{rng}]))"
        res["query"] = fleet
        res["query_time"] = at
        wait_quiet(report)
        times, evals = [], []
        data: dict[str, Any] = {}
        for i in range(args.runs):
            t, data = prom.query(fleet, at)
            times.append(t)
            evals.append(data.get("stats", {}).get("timings", {}).get("evalTotalTime"))
            log(f"  prometheus query run {i + 1}: {t:.3f} s (engine {evals[-1]:.3f} s)")
        res["query_s"], res["query_runs_s"], res["query_engine_s"] = min(times), times, min(evals)
        res["query_samples"] = data.get("stats", {}).get("samples", {}).get("totalQueryableSamples")
        res["value"] = float(data["result"][0]["value"][1])
        weighted = f"sum(sum_over_time({sel}[{rng}])) / sum(count_over_time({sel}[{rng}]))"
        _, d = prom.query(weighted, at)
        res["value_time_weighted"] = float(d["result"][0]["value"][1])
        _, d = prom.query(f"count_over_time({sel}[{rng}])", at)
        counts = {float(r["value"][1]) for r in d["result"]}
        res["samples_per_asset_in_period"] = sorted(counts)
        _, d = prom.query(f"avg_over_time({sel}[{rng}])", at)
        prom_per = {r["metric"]["instance"]: float(r["value"][1]) for r in d["result"]}
        res["peak_rss_mb"] = prom.peak_rss_kb() / 1024
    finally:
        prom.stop()
    ops_per = res["opsmon_evaluate"].pop("per_asset")
    res["per_asset_compared"] = len(set(prom_per) & set(ops_per))
    res["per_asset_missing"] = sorted(set(prom_per) ^ set(ops_per))[:10]
    res["per_asset_max_diff"] = max((abs(prom_per[a] - ops_per[a]) for a in set(prom_per) & set(ops_per)),
                                    default=None)
    res["opsmon_value"] = res["opsmon_cli"]["values"]["servers_ok"]
    res["diff"] = abs(res["value"] - res["opsmon_value"])
    res["tolerance"] = 1e-9
    res["off_grid_bound"] = res["transitions_in_period"] * step_ms / (args.prom_assets * (pe - ps))
    res["same"] = (res["diff"] <= res["tolerance"] and res["per_asset_max_diff"] is not None
                   and res["per_asset_max_diff"] <= res["tolerance"] and not res["per_asset_missing"])
    return res


# -- reporting -----------------------------------------------------------------------------------------------

def _verdict(seconds: float, mb: float) -> str:
    bad = [w for w, ok in (("time", seconds < GOAL_SECONDS), ("memory", mb < GOAL_MB)) if not ok]
    return "PASS" if not bad else "FAIL (" + ", ".join(bad) + ")"


def render(report: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str, str, str]] = []
    dbs = (("SQLite", "sqlite"), ("SQLite+cover.idx", "sqlite_covering"), ("PostgreSQL", "postgres"))
    for label, key in dbs:
        r = report.get(key)
        if not r:
            continue
        c, e = r["cli"], r["evaluate"]
        rows.append((f"{label} `opsmon sla` CLI", f"{c['seconds']:.3f}", f"{c['peak_rss_mb']:.0f}", "",
                     f"{c['values']['servers_ok']:.6f}", _verdict(c["seconds"], c["peak_rss_mb"])))
        rows.append((f"{label} evaluate() alone", f"{e['seconds']:.3f}", f"{e['process_peak_rss_mb']:.0f}",
                     f"+{e['rss_added_mb']:.0f}", f"{e['values']['servers_ok']:.6f}",
                     "PASS" if e["seconds"] < GOAL_SECONDS else "FAIL (time)"))
    p = report.get("prometheus")
    if p:
        n = p["assets"]
        rows.append((f"Prometheus query ({n} assets)", f"{p['query_s']:.3f}", f"{p['peak_rss_mb']:.0f}", "",
                     f"{p['value']:.9f}", "-"))
        c, e = p["opsmon_cli"], p["opsmon_evaluate"]
        rows.append((f"opsmon CLI, same {n} (SQLite)", f"{c['seconds']:.3f}", f"{c['peak_rss_mb']:.0f}", "",
                     f"{p['opsmon_value']:.9f}", "-"))
        rows.append((f"opsmon evaluate(), same {n}", f"{e['seconds']:.3f}", f"{e['process_peak_rss_mb']:.0f}",
                     f"+{e['rss_added_mb']:.0f}", f"{e['values']['servers_ok']:.9f}", "-"))
    head = ("what", "time s", "peak RSS MB", "+RSS MB", "value", f"goal <{GOAL_SECONDS:g} s, <{GOAL_MB:g} MB")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(6)]
    fmt = "  ".join(f"{{:{'<' if i in (0, 5) else '>'}{w}}}" for i, w in enumerate(widths))
    s = report["setup"]
    lines = [f"opsmon SLA benchmark: {PERIOD} in {TZ}, {s['assets']:,} assets, {s['intervals']:,} state intervals "
             f"(seed {s['seed']}), best of {s['runs']} runs; code {s['code']}; {os.cpu_count()} CPUs, "
             f"load average {s['loadavg_at_start']:.2f} at start",
             fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    lines.append("")
    lines.append("time: wall clock of a fresh process (CLI) or of evaluate() alone after imports and open_store();"
                 " peak RSS: that process's maximum (with --scoped, its scoped measurements after evaluate() "
                 "included); +RSS: the peak added during evaluate(). value: servers_ok.")
    for label, key in dbs:
        r = report.get(key)
        if r:
            e = r["evaluate"]
            b = e["breakdown"]
            server = f" + the server's {e['server_cpu_s']:.3f} s" if e["server_cpu_s"] is not None else ""
            lines.append(f"{label}: in the evaluate() process, imports {e['import_s']:.3f} s, open_store() "
                         f"{e['open_store_s']:.3f} s; evaluate() {e['seconds']:.3f} s wall at load average "
                         f"{e['loadavg']:.2f}, CPU {e['cpu_s']:.3f} s (main thread {b['main_thread_cpu_s']:.3f} s, "
                         f"other threads {b['other_threads_cpu_s']:.3f} s){server}; document sha256 {e['sha256']}; "
                         f"its statements replayed alone, one after another: {b['sql_total_s']:.3f} s; slowest:")
            for st in e["statements"][:3]:
                lines.append(f"    {st['s']:.3f} s  {st['rows']:>6} rows  {st['sql']}")
            if e.get("scoped"):
                sc = e["scoped"]
                each = ", ".join(f"{k} {v['cpu_s']:.3f} s ({v['assets']:,} assets{'' if v['same'] else ', DIFFERS'})"
                                 for k, v in sc["targets"].items())
                whose = " (the client's; the server's not counted)" if key == "postgres" else ""
                lines.append(f"{label}: one availability target over its scope alone (the console's click-through), "
                             f"CPU{whose}: {each}; the whole period measured again in the same process, as warm as "
                             f"they: {sc['whole_cpu_s']:.3f} s (the best run's process)")
    if report.get("sqlite") and report.get("postgres"):
        a, b = report["sqlite"]["cli"]["values"], report["postgres"]["cli"]["values"]
        same = all(a[k] is not None and b[k] is not None and abs(a[k] - b[k]) <= 1e-12 for k in a)
        lines.append("availability targets, SQLite vs PostgreSQL: "
                     + ", ".join(f"{k}={a[k]:.6f}" for k in AVAILABILITY_TARGETS)
                     + (" (identical on both)" if same else f" vs {b} (DIFFER)"))
    if p:
        ratio_e = p["query_s"] / p["opsmon_evaluate"]["seconds"]
        ratio_c = p["query_s"] / p["opsmon_cli"]["seconds"]
        lines.append(f"ratio, same {p['assets']} assets x {PERIOD}: Prometheus query {p['query_s']:.3f} s / "
                     f"opsmon evaluate() {p['opsmon_evaluate']['seconds']:.4f} s = {ratio_e:.3g}x; "
                     f"/ opsmon CLI {p['opsmon_cli']['seconds']:.3f} s = {ratio_c:.3g}x")
        lines.append(f"values: Prometheus {p['value']!r} vs opsmon {p['opsmon_value']!r}, |diff| {p['diff']:.1e} "
                     f"(tolerance {p['tolerance']:.0e}: boundaries on the {p['step_s']} s sample grid); per asset: "
                     f"{p['per_asset_compared']} compared, max |diff| {p['per_asset_max_diff']:.1e} -> "
                     + ("SAME" if p["same"] else "DIFFERENT"))
        lines.append(f"Prometheus data: {p['samples']:,} samples ({p['samples_per_asset_in_period']} per asset in the "
                     f"period, {p['query_samples']:,} scanned by the query; {p['intervals']:,} intervals for opsmon), "
                     f"OpenMetrics {p['openmetrics_mb']:.0f} MB; promtool backfill {p['backfill_s']:.1f} s, peak "
                     f"{p['backfill_peak_rss_mb']:.0f} MB, one {p['block_hours']}h block, TSDB {p['tsdb_mb']:.1f} MB; "
                     f"startup {p['startup_s']:.1f} s; engine time {p['query_engine_s']:.3f} s; time-weighted "
                     f"sum/count form {p['value_time_weighted']!r}; off-grid bound would be {p['off_grid_bound']:.1e}")
        lines.append(f"query: {p['query']} at {p['query_time']}")
    lines.append("setup: " + ", ".join(f"{k} {v:.1f} s" for k, v in s["phases_s"].items())
                 + f"; whole run {report['total_s']:.0f} s")
    if report.get("contention"):
        lines.append("WARNING: another benchmark was running during the measurements")
    return "\n".join(lines)


def render_curve(reports: list[dict[str, Any]]) -> str:
    """Time per size and database, with each size's growth over the one before against the growth of the data:
    linear cost keeps the ratios equal. CPU s: evaluate()'s process, every thread; server CPU s: PostgreSQL's
    processes (parallel workers included) during it; on a machine shared with other work these say what the
    work cost, the wall time also says how busy the machine was (load: its load average then)."""
    head = ("database", "assets", "intervals", "evaluate() s", "load", "CPU s", "main thread s", "server CPU s",
            "slowest SQL s", "CLI s", "CLI peak MB", "x data", "x evaluate()", "x CPU", "x slowest SQL")
    rows: list[tuple[str, ...]] = []
    hashes: list[str] = []
    for key, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        prev: dict[str, Any] | None = None
        for rep in reports:
            r = rep.get(key)
            if not r:
                continue
            e, c, n = r["evaluate"], r["cli"], rep["setup"]["intervals"]
            slow = e["statements"][0]["s"] if e["statements"] else 0.0
            cpu = e["cpu_s"] + (e["server_cpu_s"] or 0.0)
            cur = {"n": n, "e": e["seconds"], "q": slow, "c": cpu}
            grow = ("", "", "", "") if prev is None else (
                f"{n / prev['n']:.1f}", f"{e['seconds'] / prev['e']:.1f}", f"{cpu / prev['c']:.1f}",
                f"{slow / prev['q']:.1f}" if prev["q"] else "")
            server = f"{e['server_cpu_s']:.3f}" if e["server_cpu_s"] is not None else ""
            rows.append((label, f"{rep['setup']['assets']:,}", f"{n:,}", f"{e['seconds']:.3f}", f"{e['loadavg']:.2f}",
                         f"{e['cpu_s']:.3f}", f"{e['breakdown']['main_thread_cpu_s']:.3f}", server, f"{slow:.3f}",
                         f"{c['seconds']:.3f}", f"{c['peak_rss_mb']:.0f}", *grow))
            hashes.append(f"  {label} {rep['setup']['assets']:,}: {e['sha256']}")
            prev = cur
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    loads = ", ".join(f"{rep['setup']['loadavg_at_start']:.2f}" for rep in reports)
    return "\n".join([f"the curve ({PERIOD}, best of {reports[0]['setup']['runs']} runs each; load average at the "
                      f"start of each size: {loads}); x: growth over the size before; {os.cpu_count()} CPUs",
                      fmt.format(*head), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r) for r in rows),
                      "evaluate()'s document, sha256 (the same figures give the same hash):", *hashes])


def _code_version() -> str:
    """HEAD and whether collector/ has uncommitted changes: the figures are for that code."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "collector"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in collector/" if dirty else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--assets", type=int, default=10_000, help="assets in the estate (default 10000)")
    p.add_argument("--intervals", type=int, default=1_000_000, help="state intervals (default 1000000)")
    p.add_argument("--prom-assets", type=int, default=100, help="assets in the Prometheus comparison (default 100)")
    p.add_argument("--prom-step", type=int, default=60, help="sample step of the up series, seconds (default 60)")
    p.add_argument("--runs", type=int, default=3, help="runs per measurement; the best time counts (default 3)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--skip-prometheus", action="store_true")
    p.add_argument("--sqlite-covering-index", action="store_true",
                   help="also measure SQLite after CREATE INDEX ON state_intervals (asset_id, state, start_ts, end_ts)"
                        " (a candidate fix: the engine's GROUP BY then reads the index alone, no temp B-tree)")
    p.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")], default=None,
                   help="the curve: run once per asset count (e.g. 1000,10000,50000) with --per-asset intervals "
                        "each, then print time per size and its growth (overrides --assets/--intervals)")
    p.add_argument("--per-asset", type=int, default=100, help="intervals per asset with --sizes (default 100)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (databases, TSDB, outputs)")
    p.add_argument("--cache", metavar="DIR", help="keep each estate's SQLite database in DIR and reuse it on later "
                   "runs with the same sizes, seed and schema (5 M intervals take minutes to generate and load); "
                   "PostgreSQL is then loaded from it, the same rows in the same order")
    p.add_argument("--child-evaluate", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--scoped", action="store_true",
                   help="also time each availability target measured over its scope alone (the console's "
                        "click-through, sla/cache.py) beside the whole period, in the evaluate() process")
    p.add_argument("--child-per-asset", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--child-scoped", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.child_evaluate:
        if args.assets < 1 or args.intervals < 2 * args.assets:
            p.error("need at least one asset and two intervals per asset")
        if args.prom_assets < 1 or args.prom_step < 1 or args.runs < 1:
            p.error("--prom-assets, --prom-step and --runs must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_evaluate:
        return child_evaluate(args.child_evaluate, args.child_per_asset, args.child_scoped)
    if not args.sizes:
        report = run(args)
        print(json.dumps(report, indent=2, default=str) if args.json else render(report))
        return 0
    reports = []
    for i, n in enumerate(args.sizes):  # the curve: the same estate shape, 100 intervals an asset on average
        size = argparse.Namespace(**{**vars(args), "assets": n, "intervals": n * args.per_asset,
                                     "skip_prometheus": args.skip_prometheus or i > 0})
        log(f"== curve: {n:,} assets, {n * args.per_asset:,} intervals ==")
        reports.append(run(size))
        print(render(reports[-1]) + "\n", flush=True)
    if args.json:
        print(json.dumps(reports, indent=2, default=str))
    else:
        print(render_curve(reports))
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One estate size, every database asked for: the report render() prints."""
    from opsmon.collector.sla.periods import parse_period
    from opsmon.collector.store.types import to_ms

    start = time.perf_counter()
    period = parse_period(PERIOD, TZ)
    ps, pe = to_ms(period.start), to_ms(period.end)
    folder = Path(tempfile.mkdtemp(prefix="opsmon-slabench-"))
    phases: dict[str, float] = {}
    report: dict[str, Any] = {"setup": {"assets": args.assets, "intervals": args.intervals, "seed": args.seed,
                                        "runs": args.runs, "folder": str(folder), "phases_s": phases}}
    report["setup"]["code"] = _code_version()
    report["setup"]["loadavg_at_start"] = os.getloadavg()[0]
    pg: Postgres | None = None
    try:
        (folder / "sqlite").mkdir()
        db = folder / "sqlite" / "opsmon.db"
        est: Estate | None = None
        cached = _cached_estate(args)
        if cached is not None and cached.exists():
            log(f"reusing the estate of {args.assets:,} assets and {args.intervals:,} intervals (seed {args.seed}) "
                f"cached in {cached}")
            if args.sqlite_covering_index:  # the bench adds an index to it: a copy, the cache stays as made
                shutil.copy(cached, db)
            else:
                db = cached
            report["setup"].update(_estate_stats(db, ps, pe))
        else:
            log(f"generating {args.assets:,} assets and {args.intervals:,} intervals (seed {args.seed}) in {folder}")
            t = time.perf_counter()
            est = make_estate(args.assets, args.intervals, ps, pe, args.seed)
            phases["generate"] = time.perf_counter() - t
            states: dict[str, int] = {}
            for row in est.intervals:
                states[row[1]] = states.get(row[1], 0) + 1
            report["setup"]["interval_states"] = states
            report["setup"]["crossing_start"] = sum(1 for r in est.intervals
                                                    if r[2] < ps and (r[3] is None or r[3] > ps))
            report["setup"]["crossing_end"] = sum(1 for r in est.intervals if r[2] < pe and (r[3] is None or r[3] > pe))
            log(f"  {phases['generate']:.1f} s")
            if cached is not None and not args.sqlite_covering_index:
                cached.parent.mkdir(parents=True, exist_ok=True)
                db = cached.with_suffix(".partial")
            t = time.perf_counter()
            load_sqlite(db, est)
            if cached is not None and db != folder / "sqlite" / "opsmon.db":
                db = db.rename(cached)  # whole, or not there at all
            phases["load SQLite"] = time.perf_counter() - t
            log(f"SQLite loaded in {phases['load SQLite']:.1f} s ({db.stat().st_size / 2**20:.0f} MB)")
        log(f"estate: states {report['setup']['interval_states']}; crossing the start "
            f"{report['setup']['crossing_start']}, the end {report['setup']['crossing_end']}")
        config = write_config(folder / "sqlite", {"path": str(db)})
        report["sqlite"] = bench_database("SQLite", f"sqlite:///{db}", config, folder, args, report)
        if args.sqlite_covering_index:
            t = time.perf_counter()
            con = sqlite3.connect(db)
            con.execute(f"CREATE INDEX {COVERING_INDEX} ON state_intervals (asset_id, state, start_ts, end_ts)")
            con.close()
            phases["covering index"] = time.perf_counter() - t
            log(f"SQLite: covering index created in {phases['covering index']:.1f} s")
            report["sqlite_covering"] = bench_database("SQLite+index", f"sqlite:///{db}", config, folder, args, report)

        if not args.skip_postgres:
            pg = Postgres()
            t = time.perf_counter()
            url = pg.start()
            if est is not None:
                load_postgres(url, est)
            else:
                load_postgres_from_sqlite(url, db)
            phases["start+load PostgreSQL"] = time.perf_counter() - t
            log(f"PostgreSQL started and loaded (COPY, VACUUM ANALYZE) in {phases['start+load PostgreSQL']:.1f} s")
            (folder / "postgres").mkdir()
            report["postgres"] = bench_database("PostgreSQL", url, write_config(folder / "postgres", {"url": url}),
                                                folder, args, report, server_pid=pg.postmaster_pid())
            pg.stop()
            pg = None
        del est

        if not args.skip_prometheus:
            t = time.perf_counter()
            report["prometheus"] = bench_prometheus(folder, args, ps, pe, report)
            phases["Prometheus comparison"] = time.perf_counter() - t
    finally:
        if pg is not None:
            pg.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    report["total_s"] = time.perf_counter() - start
    return report


if __name__ == "__main__":
    sys.exit(main())
