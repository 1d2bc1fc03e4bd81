"""The order `make test` hands files to its workers (tests/conftest.py, LONGEST_FIRST): in-process, no peer."""
from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import LONGEST_FIRST, ROOT, _longest_files_first


@dataclass
class _Item:
    nodeid: str


def test_every_file_named_longest_first_exists() -> None:
    """A renamed or removed file would silently fall back to the end of the order."""
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
    assert [path for path in LONGEST_FIRST if not (ROOT / path).is_file()] == []


def test_the_longest_files_go_first_then_the_most_tests_and_each_file_keeps_its_order() -> None:
    """Collected: a.py (1 test), b.py (3), LONGEST_FIRST[1] (1), c.py (2), LONGEST_FIRST[0] (2), the files
    interleaved as a plugin could leave them. Expected: LONGEST_FIRST[0]'s 2 tests, then [1]'s, then b.py's 3,
    c.py's 2, a.py's 1 (by count, most first); within a file the order collected."""
    first, second = LONGEST_FIRST[0], LONGEST_FIRST[1]
    ids = ["a.py::t", "b.py::t1", f"{second}::t", "b.py::t2", "c.py::t1", f"{first}::t1", "b.py::t3",
           f"{first}::t2", "c.py::t2"]
    items = [_Item(i) for i in ids]
    _longest_files_first(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [f"{first}::t1", f"{first}::t2", f"{second}::t", "b.py::t1", "b.py::t2",
                                         "b.py::t3", "c.py::t1", "c.py::t2", "a.py::t"]
