"""The house rules a newcomer relies on: each file depends one way (no import circles, counting
lazy and type-only imports too), and one definition for each length of time."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "services", "streams")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports anywhere in its file."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                    + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    deps.add(target)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_one_definition_of_each_length_of_time() -> None:
    pattern = re.compile(r"^(SECOND|MINUTE|HOUR|DAY|WEEK)(_MS)?\s*(:\s*\w+\s*)?=", re.M)
    where = [str(path.relative_to(REPO)) for path in _modules().values()
             if pattern.search(path.read_text())]
    assert where == ["schemas/units.py"]


def test_no_length_of_time_is_spelt_as_a_literal() -> None:
    """A day, hour or minute in milliseconds is DAY_MS, HOUR_MS or MINUTE_MS, never its digits
    (86_400_000 had been written out in eleven modules)."""
    literal = re.compile(r"(?<![\w.])(86_?400_?000|3_?600_?000|60_?000)(?![\w.])")
    where = [f"{path.relative_to(REPO)}:{number}"
             for path in _modules().values() if path.name != "units.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if literal.search(line.split("#")[0])]
    assert where == []
