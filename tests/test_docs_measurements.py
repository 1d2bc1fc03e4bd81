"""Every performance figure in docs/ has its measurement in docs/measurements.md (issue 25 item 6).

The bookkeeping only: no bench runs here and no git (a figure's age is `make bench-docs`'s to print). The page
and its scan live in bench/docs_figures.py, loaded from its path (bench/ is scripts, not a package).
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "bench" / "docs_figures.py")
assert _spec is not None and _spec.loader is not None
figures = importlib.util.module_from_spec(_spec)
sys.modules["docs_figures"] = figures  # dataclasses look their module up while the class is made
_spec.loader.exec_module(figures)


def test_every_row_names_a_script_a_commit_a_status_and_quotes_what_its_doc_says() -> None:
    """Each row: its bench script or test file exists (or it says `none:`, measured by hand, status `no
    bench`), a commit of 7+ hex digits, a status of the page's list, at least one figure, its code paths exist,
    and each quoted figure is in its doc with whitespace folded (a doc wraps lines: "p99\\n93.2 ms" is
    "p99 93.2 ms")."""
    rows, _ = figures.read_page()
    assert len(rows) >= 30  # the page's 38 rows when written; a parse that lost the table would find none
    assert len({r.id for r in rows}) == len(rows)
    problems = []
    for row in rows:
        doc = figures.doc_path(row.doc)
        if not doc.is_file():
            problems.append(f"{row.id}: no docs/{row.doc}")
            continue
        if row.script is None:
            if not (row.command.startswith("none:") and "no bench" in row.status):
                problems.append(f"{row.id}: no bench script named, and not marked `none:` / no bench")
        elif not (ROOT / row.script).is_file():
            problems.append(f"{row.id}: {row.script} does not exist")
        if not re.fullmatch(r"[0-9a-f]{7,40}", row.commit):
            problems.append(f"{row.id}: measured at {row.measured_at!r} does not start with a commit")
        if not row.status.startswith(figures.STATUSES):
            problems.append(f"{row.id}: status {row.status!r} is none of {figures.STATUSES}")
        if not row.figures:
            problems.append(f"{row.id}: quotes no figure")
        # `make bench-docs` asks git about these paths: one that moved would show no change ever again.
        problems += [f"{row.id}: code path {c} does not exist" for c in row.code if not (ROOT / c).exists()]
        text = figures.flat(doc.read_text(encoding="utf-8"))
        problems += [f"{row.id}: docs/{row.doc} no longer says `{f}`: re-measured? then update the row "
                     "(figures, commit, load, status) in docs/measurements.md" for f in row.figures
                     if figures.flat(f) not in text]
        if row.id in figures.QUICK and row.script is None:
            problems.append(f"{row.id}: in QUICK without a bench")
    assert problems == []


def test_every_measurement_like_line_sits_in_a_section_the_page_accounts_for() -> None:
    """A line of docs/ matching PERF (a time, CPU share, RSS, rate, percentile, ratio) must be under a heading
    that a row or an exemption names: a new measured figure in a new section needs its row."""
    rows, exempt = figures.read_page()
    known = [(r.doc, r.section) for r in rows] + [(e.doc, e.section) for e in exempt]
    stray = []
    for path in figures.scanned_docs():
        for n, heading, line in figures.perf_lines(path):
            if not any(doc == path.name and figures.in_section(section, heading) for doc, section in known):
                stray.append(f"{path.name}:{n} under {heading!r}: {line.strip()[:80]}")
    assert stray == []


def test_the_scan_sees_what_it_must_and_the_exemptions_are_used() -> None:
    """The scan's edges, on lines written here: a figure in a code block is not read (commands and printed
    tables quote the prose's figures), a setting like `500ms` is (its section must be exempt), and every
    exemption still covers a line (an exemption nothing needs is removed)."""
    assert figures.PERF.search("2,000/s at p99 93.2 ms") and figures.PERF.search("5.5 % of one core")
    assert figures.PERF.search("0.57x") and figures.PERF.search("RSS 42.6 MB")
    assert not figures.PERF.search("3 days of reports, 14 pollers, 1 MiB")
    _, exempt = figures.read_page()
    used = {(e.doc, e.section): False for e in exempt}
    for path in figures.scanned_docs():
        for _, heading, _ in figures.perf_lines(path):
            for doc, section in used:
                if doc == path.name and figures.in_section(section, heading):
                    used[(doc, section)] = True
    assert [k for k, v in used.items() if not v] == []


def test_perf_lines_skips_code_blocks(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text("## A\n\ntook 12 ms\n\n```\n  printed 13 ms\n```\n## B\n\nnothing\n", encoding="utf-8")
    assert figures.perf_lines(page) == [(3, "A", "took 12 ms")]
