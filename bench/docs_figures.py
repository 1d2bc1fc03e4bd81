#!/usr/bin/env python3
"""The docs' performance figures against their measurements: docs/measurements.md read as data.

docs/measurements.md has one row per measured claim in docs/ (the figures the doc quotes, the bench command
that printed them, the commit and load they were measured at, the peer and its configuration, the code
measured) and a list of sections whose times and rates are settings or arithmetic, not measurements. This
module reads both tables, so that:

- tests/test_docs_measurements.py can check, in well under a second and without git, that every row names a
  bench script (or test file) that exists, that every figure a row quotes is still written in its doc (a
  re-measured figure changes the row too: its commit, load and status), and that every doc line that looks
  like a measurement (`PERF` below) sits in a section the page accounts for;
- `make bench-docs` (this script) lists, per row, the commits that changed its measured code since it was
  measured (`git log`), and with `--run` re-runs the benches short enough for a shared machine (`QUICK`,
  each under about 2 minutes), printing the load average and the figures in the docs beside their output.

Why a script and not a timed test: a bench's figures on a shared 2-core machine swing by tens of per cent,
so a person reads figure-now beside figure-in-docs and decides; what a test can keep true is the bookkeeping.
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "measurements.md"

# A doc line that reads like a measured figure: a duration, CPU share, memory, rate, percentile or ratio.
# Settings written in prose (a gather of 50 ms) match too; their sections are listed in the page as not measurements.
# The figures after a digit are one branch, so the engine tries the rest only where a line has a digit.
PERF = re.compile(
    r"\d(?:\s?(?:ms|µs|ns)\b|\s?s (?:of CPU|CPU|wall)|\s?% of (?:a|one) core|(?:\.\d+)?x\b|[\d,]* ?[a-z]+/s\b)"
    r"|\b(?:p(?:50|90|99)\b|median\b|PSS\b)|RSS|CPU(?: ms\b| s\b|-s)|faster than|slower than|of the exporter"
    r"|load average"
)
# Pages generated from code (their text is the schema's) and this page itself are not scanned.
NOT_SCANNED = ("config.md", "inventory.md", "measurements.md")
STATUSES = ("current", "re-measured", "code changed since", "no bench", "historical", "derived", "being re-measured")

# Rows whose bench runs in about 2 minutes or less: the command `make bench-docs` re-runs with --run.
QUICK = {
    "flows-1": "bench/flow_bench.py --rates 10000 --step 8",
    "flows-3": "bench/flow_bench.py --sflow --records 7 --rates 10000 --step 8",
    "poller-1": "bench/poller_bench.py --checks 300 --interval 5 --duration 40",
    "poller-5": "bench/poller_bench.py --replay 1000 --checks 357 --interval 60 --report-interval 5",
    "snmp-1": "bench/snmp_bench.py --fair --devices 50 --cycles 3",
    "report-1": "bench/report_bench.py",
    "console-1": "bench/console_bench.py",
    "hj212-3": "bench/hj212_bench.py --daus 5000 --rates 85 --step 20 --idle 30",
    "cli-1": "bench/cli_bench.py --runs 3 --only status,sla,incidents --floor",
}


@dataclass(frozen=True)
class Row:
    """One measured claim: where the doc makes it and what stands behind it."""

    id: str
    doc: str          # file name under docs/ (or README.md)
    section: str      # a part of the heading the figures sit under
    figures: tuple[str, ...]
    command: str      # the bench command (its first path is the script), or "none: why"
    measured_at: str  # a commit, then when
    load: str
    peer: str
    equal: str
    code: tuple[str, ...]
    status: str

    @property
    def script(self) -> str | None:
        """The bench script or test file the command runs, None for a figure measured by hand."""
        found = re.search(r"\b((?:bench|tests)/[\w/]+\.py)\b", self.command)
        return found.group(1) if found else None

    @property
    def commit(self) -> str:
        return self.measured_at.split()[0].strip("`,")


@dataclass(frozen=True)
class Exempt:
    """A section whose figures are settings, thresholds or test-suite times, not measurements of opsmon."""

    doc: str
    section: str
    why: str


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _ticks(cell: str) -> tuple[str, ...]:
    return tuple(re.findall(r"`([^`]+)`", cell))


def _table(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first table after `## heading`."""
    part = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in part.splitlines() if ln.startswith("|")]
    return [_cells(ln) for ln in lines[2:]]


def read_page(path: Path = PAGE) -> tuple[list[Row], list[Exempt]]:
    """Both tables of docs/measurements.md."""
    text = path.read_text(encoding="utf-8")
    rows = []
    for c in _table(text, "The figures and what stands behind them"):
        doc, _, section = c[1].partition(":")
        rows.append(Row(id=c[0].strip("`"), doc=doc.strip(), section=section.strip().strip('"'),
                        figures=_ticks(c[2]), command=c[3], measured_at=c[4], load=c[5], peer=c[6],
                        equal=c[7], code=_ticks(c[8]), status=c[9]))
    exempt = [Exempt(doc=c[0], section=c[1].strip('"'), why=c[2])
              for c in _table(text, "Sections whose figures are not measurements")]
    return rows, exempt


def in_section(section: str, heading: str) -> bool:
    """A row's section is a part of the heading; "" is the text before a page's first heading."""
    return section in heading if section else heading == ""


def doc_path(name: str) -> Path:
    return ROOT / name if name == "README.md" else ROOT / "docs" / name


def flat(text: str) -> str:
    """Whitespace folded, so a figure wrapped over two lines of a doc still reads as one."""
    return " ".join(text.split())


@functools.cache
def perf_lines(path: Path) -> list[tuple[int, str, str]]:
    """(line number, heading, line) of every line that reads like a measured figure, code blocks and inline
    code (commands, settings such as `500ms`) left out."""
    out = []
    heading, fence = "", False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#{2,4} ", line):
            heading = line.split(" ", 1)[1]
        elif not fence and PERF.search(re.sub(r"`[^`]*`", "", line)):
            out.append((n, heading, line))
    return out


def scanned_docs() -> list[Path]:
    docs = sorted(p for p in (ROOT / "docs").glob("*.md") if p.name not in NOT_SCANNED)
    return [*docs, ROOT / "README.md"]


def changed_since(row: Row) -> list[str]:
    """The commits (one line each) that touched the row's measured code after it was measured."""
    if not row.code:
        return []
    out = subprocess.run(["git", "log", "--no-merges", "--format=%h %ad %s", "--date=format:%m-%d %H:%M",
                          f"{row.commit}..HEAD", "--", *row.code],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode:
        return [f"git log failed: {out.stderr.strip()}"]
    return out.stdout.splitlines()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="store_true", help="re-run the short benches (QUICK) and print their output")
    ap.add_argument("--only", help="comma-separated row ids")
    args = ap.parse_args()
    rows, _ = read_page()
    wanted = set(args.only.split(",")) if args.only else None
    for row in rows:
        if wanted and row.id not in wanted:
            continue
        since = changed_since(row)
        print(f"== {row.id}  docs/{row.doc}: {row.section}  (measured at {row.measured_at}; status: {row.status})")
        print(f"   in the doc: {' · '.join(row.figures)}")
        print(f"   code changed since: {len(since)} commit(s)" + "".join(f"\n     {s[:110]}" for s in since[:5]))
        if args.run and row.id in QUICK:
            cmd = [sys.executable, *QUICK[row.id].split()]
            print(f"   $ {QUICK[row.id]}\n   load average before: {load()}", flush=True)
            started = time.monotonic()
            subprocess.run(cmd, cwd=ROOT, check=False)
            print(f"   load average after: {load()} ({time.monotonic() - started:.0f} s)")
            print(f"   figures in the doc: {' · '.join(row.figures)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
