"""The budget's 绩效目标表 as the report's first section lays it out: 一级 → 二级 → 三级指标 per project.

Why its own module: the hierarchy is data (rules/targets.yaml `indicators:` and each target's
`indicator:`), and the HTML, the PDF and the XLSX must merge the same cells. So the rows and their
spans are computed once here, as plain data; the renderers only draw them.
"""
from __future__ import annotations

from dataclasses import dataclass

from opsmon.collector.sla.results import TargetResult
from opsmon.collector.sla.targets import TargetTable


@dataclass
class SheetRow:
    """One 三级指标 (a target) with the names of its 一级 and 二级指标 and how many rows their cells span."""

    target: str  # the target's id (its figures are ReportData.target(id))
    level1: str  # the 一级指标's name in the report's language ("" when the target names none)
    level2: str
    goal: str  # the 指标值 as the budget writes it ("" when the table gives none: the threshold is shown)
    span1: int  # rows the 一级 cell spans from this row; 0 inside a cell begun above
    span2: int


@dataclass
class Sheet:
    """The table of one project (项目名称), as the budget prints one per project."""

    project: str
    rows: list[SheetRow]


def build_sheets(table: TargetTable, results: list[TargetResult], lang: str) -> list[Sheet]:
    """Projects, 一级 and 二级指标 each in the order they first appear in the table, targets in table
    order within them: so the file's order is the printed order, as the budget's tables differ (one
    project lists 时效 first, another 数量). Targets that name no indicator form a group of blank levels."""
    by_project: dict[str, list[tuple[str, str, SheetRow]]] = {}
    for r in results:
        t = table.get(r.id)
        place = table.place(t)
        first, _, second = (t.indicator or "").partition(".")
        row = SheetRow(r.id, place[0].name(lang) if place else "", place[1].name(lang) if place else "",
                       t.goal(lang), 0, 0)
        by_project.setdefault(r.project, []).append((first, second, row))
    out = []
    for project, items in by_project.items():
        firsts = list(dict.fromkeys(a for a, _, _ in items))
        seconds = list(dict.fromkeys((a, b) for a, b, _ in items))
        ranked = sorted(enumerate(items), key=lambda x: (firsts.index(x[1][0]), seconds.index(x[1][:2]), x[0]))
        rows = [row for _, (_, _, row) in ranked]
        _spans(rows)
        out.append(Sheet(project, rows))
    return out


def _spans(rows: list[SheetRow]) -> None:
    """Set span1/span2: a run of equal 一级 (and, inside it, of equal 二级) is one merged cell."""
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j].level1 == rows[i].level1:
            j += 1
        rows[i].span1 = j - i
        k = i
        while k < j:
            m = k
            while m < j and rows[m].level2 == rows[k].level2:
                m += 1
            rows[k].span2 = m - k
            k = m
        i = j
