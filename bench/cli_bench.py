#!/usr/bin/env python3
"""CLI benchmark: how long each read command of `opsmon` takes, start to answer, beside `python -c pass`.

What it measures
  The estate of bench/sla_bench.py (the same seeded generator: --assets assets over every category and site,
  --intervals state intervals through 2026Q3 in Asia/Shanghai), loaded into SQLite directly, plus the
  incidents and audit entries of bench/console_bench.py (--incidents, --audit). Then each read command is run
  as a user runs it, the installed `opsmon` console script in a fresh process (interpreter start, imports,
  config, the query, the table or JSON out), --runs times, each run beside a run of the same interpreter's
  `python -c pass`, so both see the same load on the machine. Printed: the median of each, the difference
  (what opsmon adds to a bare interpreter start) and the goal of issue 25 item 2: under 0.3 s above it; and
  the CPU time of each (user + system, from wait4() of the child), which a busy machine stretches far less
  than the wall time. The verdict is given for both (wall, then CPU): on a loaded machine only the CPU one
  says what the command costs.

  Why medians of interleaved runs: the machine is shared (2 cores); a run next to another process's burst
  takes longer whatever it runs, and interleaving spreads such bursts over both columns. The load average is
  printed at the start and at the end: figures from a loaded machine are larger, the CPU times less so.

  Bytecode: before timing, the trees timed are compiled (compileall), as pip compiles an installed package; a
  work tree's stale .pyc files would otherwise be compiled again at every start under PYTHONDONTWRITEBYTECODE.

  Before and after: --before DIR runs each command a third time, interleaved with the other two, with another
  tree of the collector first on PYTHONPATH (DIR/opsmon/collector, e.g. main's: `mkdir -p /tmp/b/opsmon &&
  git archive main collector rules | tar -x -C /tmp/b/opsmon`), so that both figures share one load.

How to run (from the repository root):
    .venv/bin/python bench/cli_bench.py                  # 1,000 assets, 100,000 intervals: about a minute here
    .venv/bin/python bench/cli_bench.py --runs 3          # quick
    .venv/bin/python bench/cli_bench.py --before /tmp/b   # beside another tree of the collector
    .venv/bin/python bench/cli_bench.py --floor          # and what the imports every read needs cost alone
    flags: --assets --intervals --incidents --audit --runs --seed --only --before --floor --json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_bench import seed_more  # noqa: E402 - the bench's sibling
from sla_bench import PERIOD, TZ, load_sqlite, log, make_estate, opsmon_bin, write_config  # noqa: E402

GOAL_S = 0.3
# An on-call roster for `oncall now|list` (two people, daily shifts), and the channel its policy names.
ONCALL = ("people:\n  li.wei: {name: 李伟}\n  wang.fang: {name: 王芳}\n"
          "schedules:\n  ops:\n    rotation: {people: [li.wei, wang.fang], shift: 1d, "
          "start: '2026-07-01T00:00:00+08:00'}\n"
          "policies:\n  default:\n    levels:\n      - {after: 0s, notify: [schedule:ops], channels: [hook]}\n"
          "routes:\n  - {policy: default}\n")
ONCALL_CONFIG = ("incidents:\n  oncall_file: oncall.yaml\n"
                 "notify:\n  channels:\n    hook: {type: webhook, url: 'http://127.0.0.1:9/h', secret: bench-hook}\n")
# The read commands: what most of them list or show exists in the bench's store (a00042 is one of its assets;
# INC-000000 the first of console_bench.seed_more's incidents, an open one; a00042's configuration has three
# versions; a00030 to a00049 have a day of flow intervals each, seed_flows). Four read tables the bench does not
# seed (EMPTY): their figures are the command's start and an empty query, not a listing's work.
EMPTY = {("hj212", "exempt", "list"), ("survey", "list"), ("survey", "results", "--period", PERIOD),
         ("hj212", "rates", "--period", PERIOD)}
READ_COMMANDS = (
    ("status",),
    ("sla", "--period", PERIOD),
    ("sla", "--period", PERIOD, "--format", "json"),
    ("incidents", "list"),
    ("incidents", "show", "INC-000000"),
    ("assets", "list"),
    ("history", "show", "a00042", "--from", "2026-09-01T00:00:00+08:00", "--to", "2026-09-30T00:00:00+08:00"),
    ("audit",),
    ("events",),
    ("maintenance", "list"),
    ("exclusions", "list"),
    ("oncall", "now"),
    ("oncall", "list"),
    ("agents", "list"),
    ("tokens", "list"),
    ("users", "list"),
    ("configs", "list"),
    ("configs", "show", "a00042"),
    ("configs", "diff", "a00042"),
    ("compliance",),
    ("hj212", "exempt", "list"),
    ("survey", "list"),
    ("survey", "results", "--period", PERIOD),
    ("hj212", "rates", "--period", PERIOD),
    ("flows", "top", "--link", "a00042", "--period", PERIOD),
    ("flows", "top", "--site", "kashgar", "--period", PERIOD),
    ("flows", "sites", "--period", PERIOD),
)
# What the reads import before any work of their own, cumulatively (printed after the commands with --floor): the
# part of the goal's 0.3 s these packages take alone. `status` and `incidents list` need the first three lines
# (they read on the plain driver, store/dbapi.py, and validate config/basics.py's sections only); `sla` all four.
FLOOR = (("pydantic and PyYAML", "import pydantic, yaml; from pydantic import BaseModel"),
         ("+ config/basics.py (the sections a read uses)", "import opsmon.collector.config.basics"),
         ("+ the plain-driver reads (sqlite3, dbapi.py)", "import opsmon.collector.store.history, "
          "opsmon.collector.store.assets, opsmon.collector.incidents.read"),
         ("+ SQLAlchemy, models (the reads go without)", "import sqlalchemy.orm, opsmon.collector.store.models"))


def seed_configs(store: Any, at: datetime) -> None:
    """Three versions of a00042's running configuration (a 48-port switch's, 194 lines), version n
    setting port n's VLAN, for `configs show` and `configs diff`."""
    from opsmon.collector.store.models import ConfigVersion

    with store.session.begin() as session:
        for n in (1, 2, 3):
            ports = "".join(f"interface GigabitEthernet1/0/{p}\n switchport access vlan {10 + (p == n) * n}\n"
                            " spanning-tree portfast\n!\n" for p in range(1, 49))
            content = f"hostname a00042\n{ports}end\n"
            session.add(ConfigVersion(asset_id="a00042", name="running", version=n, fetched_at=at, last_seen=at,
                                      sha256=f"{n}" * 64, raw_sha256=f"{n}" * 64, size=len(content),
                                      command="show running-config", content=content))


def seed_flows(store: Any, at: datetime, links: int = 20, intervals: int = 288) -> int:
    """A day of 5-minute flow intervals from `at` for the links a00030.. (the estate's assets, each of a site):
    five keys and an `other` row an interval, as the flow receiver stores them (20 x 288 x 6 = 34,560 rows by
    default), for `flows top` and `flows sites`."""
    from sqlalchemy import insert

    from opsmon.collector.store.models import FlowTopRow

    five = timedelta(minutes=5)
    rows = [{"link": f"a{30 + k:05d}", "start_ts": at + n * five, "end_ts": at + (n + 1) * five,
             "src": f"10.{k}.0.{j}" if j < 5 else "other", "dst": "10.200.0.1" if j < 5 else "other",
             "dst_port": (443, 80, 22, 53, 8080)[j] if j < 5 else -1, "protocol": (6, 6, 6, 17, 6)[j] if j < 5 else -1,
             "bytes": 1000 * (j + 1) + n, "packets": j + 1, "flows": 1}
            for k in range(links) for n in range(intervals) for j in range(6)]
    with store.session.begin() as session:
        session.execute(insert(FlowTopRow), rows)
    return len(rows)


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run of cmd, its output discarded; a failure stops the
    bench with its stderr. The CPU time, from wait4() of that very child, is what the command costs whatever
    else runs on the machine; the wall time is what a person waits."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    took = time.perf_counter() - start
    child.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}: {err.decode()[-1000:]}")
    return took, usage.ru_utime + usage.ru_stime


def compile_bytecode(tree: Path) -> None:
    """Write the bytecode of every module under `tree`, as pip does when it installs a wheel (and the packages'
    post-install through it). A working tree's module edited since its .pyc was written is otherwise compiled
    from source at every start when the environment says PYTHONDONTWRITEBYTECODE (this test machine's does),
    which the bench would count as start-up: 0.1-0.2 s of `sla` in session 11's runs, not a cost users pay."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=1_000)
    parser.add_argument("--intervals", type=int, default=100_000)
    parser.add_argument("--incidents", type=int, default=2_000)
    parser.add_argument("--audit", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=20261)
    parser.add_argument("--before", metavar="DIR", help="also time the commands with DIR/opsmon/collector (another "
                        "tree of the collector) first on PYTHONPATH, interleaved with the others")
    parser.add_argument("--only", metavar="NAMES", help="only the read commands whose first word is one of these "
                        "(comma-separated: status,sla,incidents)")
    parser.add_argument("--floor", action="store_true", help="also time, beside python -c pass, the imports every "
                        "read command needs before any work (FLOOR, cumulative)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    from opsmon.collector.sla.periods import parse_period
    from opsmon.collector.store import open_store
    from opsmon.collector.store.types import to_ms

    period = parse_period(PERIOD, TZ)
    with tempfile.TemporaryDirectory(prefix="cli-bench-") as folder:
        db = Path(folder) / "opsmon.db"
        t0 = time.perf_counter()
        estate = make_estate(args.assets, args.intervals, to_ms(period.start), to_ms(period.end), args.seed)
        load_sqlite(db, estate)
        store = open_store(f"sqlite:///{db}")
        seed_more(store, args.incidents, args.audit, period.start, period.end - timedelta(hours=4), args.seed,
                  args.assets)
        seed_configs(store, period.start)
        flow_rows = seed_flows(store, period.start)
        store.close()
        config = write_config(Path(folder), {"path": str(db)})
        (Path(folder) / "oncall.yaml").write_text(ONCALL, encoding="utf-8")
        with config.open("a", encoding="utf-8") as f:
            f.write(ONCALL_CONFIG)
        log(f"seeded {args.assets} assets, {len(estate.intervals)} intervals, {args.incidents} incidents, "
            f"{args.audit} audit entries, 3 configuration versions, {flow_rows:,} flow rows in "
            f"{time.perf_counter() - t0:.1f} s")

        import opsmon.collector
        compile_bytecode(Path(opsmon.collector.__file__).parent)
        bare = [sys.executable, "-c", "pass"]
        opsmon = [opsmon_bin(), "--config", str(config)]
        timed([*opsmon, "status"])  # warm-up: the page cache holds the interpreter, the packages and the store
        before_env = None
        if args.before:
            if not (Path(args.before) / "opsmon" / "collector").is_dir():  # else the installed code runs twice
                parser.error(f"--before {args.before}: no opsmon/collector in it (give a folder whose `opsmon` is "
                             "the other checkout, e.g. a link to it)")
            compile_bytecode((Path(args.before) / "opsmon" / "collector").resolve())
            before_env = {**os.environ, "PYTHONPATH": str(Path(args.before).resolve())}
            timed([*opsmon, "status"], before_env)
        load_start = os.getloadavg()
        figures: dict[str, dict[str, float]] = {}
        extra = f" {'before s':>9} {'cpu before':>11}" if before_env else ""
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in load_start)} (1, 5, 15 min; 2 cores)")
        print(f"{'command':<44} {'pass s':>7} {'opsmon s':>9} {'added s':>8} {'cpu pass':>9} {'cpu opsmon':>11}"
              f"{extra}  goal +{GOAL_S} s (medians of {args.runs})")
        chosen = set(args.only.split(",")) if args.only else None
        for words in (w for w in READ_COMMANDS if chosen is None or w[0] in chosen):
            base, ours, then = [], [], []
            for _ in range(args.runs):
                base.append(timed(bare))
                ours.append(timed([*opsmon, *words]))
                if before_env:
                    then.append(timed([*opsmon, *words], before_env))
            b, o = (statistics.median(w for w, _ in runs) for runs in (base, ours))
            bc, oc = (statistics.median(c for _, c in runs) for runs in (base, ours))
            name = (" ".join(words) + (" (empty)" if words in EMPTY else ""))[:44]
            figures[name] = {"pass_s": b, "opsmon_s": o, "added_s": o - b, "pass_cpu_s": bc, "opsmon_cpu_s": oc}
            shown = ""
            if then:
                t, tc = statistics.median(w for w, _ in then), statistics.median(c for _, c in then)
                figures[name] |= {"before_s": t, "before_cpu_s": tc}
                shown = f" {t:9.3f} {tc:11.3f}"
            figures[name]["added_cpu_s"] = oc - bc
            verdict = f"{'ok' if o - b < GOAL_S else 'OVER'}, cpu {'ok' if oc - bc < GOAL_S else 'OVER'}"
            print(f"{name:<44} {b:7.3f} {o:9.3f} {o - b:8.3f} {bc:9.3f} {oc:11.3f}{shown}  {verdict}")
        floor: dict[str, float] = {}
        if args.floor:
            print(f"{'imports every read needs (cumulative)':<44} {'cpu pass':>9} {'cpu with':>9} {'added':>7}")
            done = ""
            for what, snippet in FLOOR:
                done = f"{done}; {snippet}" if done else snippet
                base_cpu, with_cpu = [], []
                for _ in range(args.runs):
                    base_cpu.append(timed(bare)[1])
                    with_cpu.append(timed([sys.executable, "-c", done])[1])
                b, w = statistics.median(base_cpu), statistics.median(with_cpu)
                floor[what] = w - b
                print(f"{what:<44} {b:9.3f} {w:9.3f} {w - b:7.3f}")
        load_end = os.getloadavg()
        for key, what in (("added_s", "wall"), ("added_cpu_s", "CPU")):
            over = [n for n, f in figures.items() if f[key] >= GOAL_S]
            print(f"{len(figures) - len(over)} of {len(figures)} read commands under {GOAL_S} s above python -c pass "
                  f"({what} medians)" + (f"; over: {', '.join(over)}" if over else ""))
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in load_end)}")
        if args.json:
            print(json.dumps({"assets": args.assets, "intervals": len(estate.intervals), "load_start": load_start,
                              "load_end": load_end, "figures": figures, "floor_cpu_s": floor}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
