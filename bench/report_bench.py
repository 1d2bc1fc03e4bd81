#!/usr/bin/env python3
"""Report benchmark: the 2026Q3 compliance report of a large estate, time and peak memory per format.

What it measures
  A deterministic synthetic estate (seeded) in a temporary SQLite database: --assets (10,000) assets
  over every category of rules/targets.yaml's availability targets, links spread over 14 prefectures,
  --intervals (200,000) state intervals tiling each asset's history through 2026Q3 (Asia/Shanghai;
  mostly up, with down, degraded, maintenance and unknown spells) and --incidents (2,000) incidents
  (a tenth of them hardware faults, some acknowledged late with an escalation trail).
  Then, in one fresh child process per format (fork after the seeding; wait4() gives that child's
  own peak RSS):
    build   build_report(): the engine's measure() over the target table, per site, per month
    html    build + render_html()      (charts drawn with matplotlib)
    pdf     build + render_pdf()       (WeasyPrint: HTML, charts, layout of every incident row)
    xlsx    build + render_xlsx()      (openpyxl)
  Each line is the wall and CPU time of the whole child (the build included), its peak RSS and the
  file size. On a shared machine the wall time includes waiting for a CPU: compare the CPU column.
  Goal (the issue's): every format under 30 s. Prints PASS or FAIL per format; exit 1 on any FAIL.

How to run (from the repository root):
    .venv/bin/python bench/report_bench.py                    # defaults, about a minute here
    .venv/bin/python bench/report_bench.py --assets 1000 --incidents 200 --intervals 20000   # quick
    flags: --assets --intervals --incidents --lang --seed --keep (keep the folder with the DB and files)

Needs the opsmon venv with the [report] extra (weasyprint, matplotlib, openpyxl) and Debian's
fonts-noto-cjk; nothing is listened on, no server is started.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from opsmon.collector.config.schema import CollectorConfig  # noqa: E402
from opsmon.collector.sla.periods import parse_period  # noqa: E402
from opsmon.collector.store import open_store  # noqa: E402
from opsmon.collector.store.models import Asset, Incident, IncidentEvent, StateInterval  # noqa: E402

GOAL = 30.0
TZ = "Asia/Shanghai"
S = datetime(2026, 6, 30, 16, tzinfo=UTC)
E = datetime(2026, 9, 30, 16, tzinfo=UTC)
CATEGORIES = (("server", 0.2), ("computer", 0.3), ("peripheral", 0.15), ("network", 0.12), ("security", 0.03),
              ("link", 0.1), ("system", 0.1))
SITES = ("乌鲁木齐", "克拉玛依", "吐鲁番", "哈密", "昌吉", "博尔塔拉", "巴音郭楞", "阿克苏", "克孜勒苏", "喀什",
         "和田", "伊犁", "塔城", "阿勒泰")
OTHER = (("down", 0.5), ("degraded", 0.2), ("maintenance", 0.15), ("unknown", 0.15))


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def seed(url: str, assets: int, intervals: int, incidents: int, rng: random.Random) -> None:
    store = open_store(url)
    begin, end = S - timedelta(days=1), E + timedelta(days=1)
    span = (end - begin).total_seconds()
    ids = []
    rows = []
    for i in range(assets):
        cat = pick(rng, CATEGORIES)
        aid = f"{cat[:3]}-{i:05d}"
        ids.append(aid)
        rows.append({"id": aid, "name": f"{cat} {i}", "category": cat,
                     "site": SITES[i % len(SITES)] if cat == "link" else rng.choice((None, *SITES)),
                     "address": None, "tags": [], "criticality": "medium", "parent_id": None, "checks": [],
                     "created_at": begin - timedelta(days=30), "updated_at": begin, "removed_at": None})
    per = max(1, intervals // assets)
    spells = []
    for aid in ids:
        # Tile [begin, end): `per` intervals, every other one a short spell of a bad or excluded state.
        cuts = sorted(rng.uniform(0, span) for _ in range(per - 1))
        bounds = [0.0, *cuts, span]
        for k in range(per):
            state = "up" if k % 2 == 0 else pick(rng, OTHER)
            a = begin + timedelta(seconds=bounds[k])
            b = begin + timedelta(seconds=bounds[k + 1]) if state == "up" else \
                min(begin + timedelta(seconds=bounds[k + 1]), a + timedelta(seconds=rng.uniform(60, 6 * 3600)))
            if state != "up" and b < begin + timedelta(seconds=bounds[k + 1]):
                spells.append((aid, state, a, b))
                spells.append((aid, "up", b, begin + timedelta(seconds=bounds[k + 1])))
            else:
                spells.append((aid, state, a, b))
    last = {}
    for n, (aid, _state, _a, _b) in enumerate(spells):
        last[aid] = n
    ivs = [{"asset_id": aid, "state": st, "start_ts": a, "end_ts": None if last[aid] == n else b, "reason": ""}
           for n, (aid, st, a, b) in enumerate(spells)]
    incs, events = [], []
    people = ("张三", "李四", "王五", "赵六", "钱七")
    for i in range(incidents):
        aid = rng.choice(ids)
        opened = S + timedelta(seconds=rng.uniform(0, (E - S).total_seconds() - 86400))
        late = rng.random() < 0.1
        ack = opened + timedelta(seconds=rng.uniform(3700, 4 * 3600) if late else rng.uniform(60, 3000))
        kind = "hardware" if rng.random() < 0.1 else rng.choice(("availability", "connectivity", "security"))
        incs.append({"id": f"INC-{i:05d}", "asset_id": aid, "kind": kind, "severity": "major", "opened_ts": opened,
                     "acknowledged_ts": ack, "acknowledged_by": rng.choice(people),
                     "resolved_ts": ack + timedelta(hours=2), "resolved_by": rng.choice(people), "source": "bench",
                     "note": "", "status": "closed", "cause": "线路中断" if kind == "connectivity" else "设备故障",
                     "deadline_ts": opened + timedelta(hours=1), "level": 1 if late else 0})
        if late:
            for minutes, actor, action, detail in ((0, "system", "opened", {}),
                                                   (30, "system", "escalated", {"level": 1, "to": "王五"}),
                                                   ((ack - opened).total_seconds() / 60, "李四", "acknowledged", {})):
                events.append({"incident_id": f"INC-{i:05d}", "ts": opened + timedelta(minutes=minutes),
                               "actor": actor, "action": action, "detail": detail})
    with store.session.begin() as s:
        s.execute(insert(Asset), rows)
        for k in range(0, len(ivs), 20000):
            s.execute(insert(StateInterval), ivs[k:k + 20000])
        s.execute(insert(Incident), incs)
        if events:
            s.execute(insert(IncidentEvent), events)
    store.close()
    return len(ivs)


def measure(fn) -> tuple[float, float, int, int]:  # noqa: ANN001 - a closure run in the child
    """Run fn() in a forked child: (wall s, CPU s, that child's peak RSS in bytes, fn's result as int)."""
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            result = int(fn())
            os.write(w, str(result).encode())
        except BaseException as exc:  # noqa: BLE001 - report and fail the child
            print(f"child failed: {exc!r}", file=sys.stderr)
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    data = os.read(r, 64)
    os.close(r)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("a measured child failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, int(data or 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assets", type=int, default=10_000)
    ap.add_argument("--intervals", type=int, default=200_000)
    ap.add_argument("--incidents", type=int, default=2_000)
    ap.add_argument("--lang", choices=("zh", "en"), default="zh")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="opsmon-report-bench-"))
    try:
        url = f"sqlite:///{tmp / 'opsmon.db'}"
        t0 = time.perf_counter()
        n = seed(url, args.assets, args.intervals, args.incidents, random.Random(args.seed))
        print(f"seeded {args.assets} assets, {n} intervals, {args.incidents} incidents "
              f"in {time.perf_counter() - t0:.1f} s ({tmp})")
        config = CollectorConfig.model_validate({"organisation": "基准测试单位", "timezone": TZ,
                                                 "database": {"path": str(tmp / "opsmon.db")}})
        period = parse_period("2026Q3", TZ)
        now = E + timedelta(days=1)
        # Imports happen before the fork, so each child measures the work, not loading libraries.
        import matplotlib  # noqa: F401
        import openpyxl  # noqa: F401
        import weasyprint  # noqa: F401

        from opsmon.collector.outputs.report import build_report
        from opsmon.collector.outputs.report.html import render_html
        from opsmon.collector.outputs.report.pdf import render_pdf
        from opsmon.collector.outputs.report.xlsx import render_xlsx

        def build():  # noqa: ANN202
            return build_report(open_store(url), config, period, args.lang, now)

        def job(fmt: str):  # noqa: ANN202
            def run() -> int:
                data = build()
                body = {"build": lambda: b"", "html": lambda: render_html(data).encode(),
                        "pdf": lambda: render_pdf(data), "xlsx": lambda: render_xlsx(data)}[fmt]()
                if body:
                    (tmp / f"report.{fmt}").write_bytes(body)
                return len(body)
            return run

        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time suffers when it is higher)")
        print(f"{'step':<6} {'wall s':>8} {'CPU s':>7} {'peak RSS':>10} {'size':>10}  goal: wall < {GOAL:.0f} s")
        failed = False
        for fmt in ("build", "html", "pdf", "xlsx"):
            wall, cpu, rss, size = measure(job(fmt))
            ok = wall < GOAL
            failed |= not ok
            print(f"{fmt:<6} {wall:8.2f} {cpu:7.2f} {rss / 2**20:8.0f} MB {size / 2**10:8.0f} kB  "
                  f"{'PASS' if ok else 'FAIL'}")
        if shutil.which("pdfinfo") and (tmp / "report.pdf").exists():
            import subprocess

            pages = [ln for ln in subprocess.run(["pdfinfo", str(tmp / "report.pdf")], capture_output=True,
                                                 text=True).stdout.splitlines() if ln.startswith("Pages:")]
            print(f"pdf {pages[0] if pages else ''}")
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
