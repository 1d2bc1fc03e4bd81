"""The baseline package's modules import one another in one direction: no import circle.

The graph is read from the source (every import statement, at the top of a module or inside a
function), so a lazy import that closes a circle fails here too.
"""
from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = "opsmon.agent.baseline"
FOLDER = ROOT / "agent" / "baseline"
# modules that register probes: they may import only the layers below the evaluation
PROBE_MODULES = {"probes", "runtime", "filescan", "packages", "trust"}


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The baseline modules `path` imports, however it names them."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from .x import y
                base = node.module or ""
                names = [f"{PACKAGE}.{base}".rstrip(".")] + [f"{PACKAGE}.{base}.{a.name}".replace("..", ".")
                                                               for a in node.names]
            else:
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith(PACKAGE + "."):
                top = name[len(PACKAGE) + 1:].split(".")[0]
                if top in modules:
                    found.add(top)
    found.discard(path.stem)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {p.stem: p for p in FOLDER.glob("*.py") if p.stem != "__init__"}
    return {name: _imports(path, set(files)) for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_baseline_modules_import_without_a_circle() -> None:
    graph = import_graph()
    assert {"host", "results", "registry", "parsers", "probes", "runtime", "evaluate", "policy"} <= set(graph)
    cycle = _cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_probe_modules_sit_below_the_evaluation() -> None:
    graph = import_graph()
    for name in PROBE_MODULES:
        assert not graph[name] & {"evaluate", "policy", "monitor"}, f"{name} imports {graph[name]}"
    assert graph["host"] == set() and graph["results"] == set()
    # policy validates commands against the host's allow-list and nothing else of the package
    assert graph["policy"] == {"host"}


def test_the_evaluation_imports_every_module_that_registers_probes() -> None:
    """Probes register on import: the evaluation names every such module, so the registry is full."""
    registering = {p.stem for p in FOLDER.glob("*.py") if "@probe(" in p.read_text(encoding="utf-8")}
    assert registering == PROBE_MODULES
    assert PROBE_MODULES <= import_graph()["evaluate"]


def test_every_policy_probe_has_a_function_and_no_other() -> None:
    from opsmon.agent.baseline import evaluate  # noqa: F401  (fills the registry)
    from opsmon.agent.baseline.policy import PROBES
    from opsmon.agent.baseline.registry import PROBE_FUNCS

    assert set(PROBE_FUNCS) == set(PROBES)
