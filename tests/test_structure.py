"""The package's structure: its subpackages stand on floors that follow the data, and no module
imports one on a higher floor or one that imports it (counting the imports inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Lowest first: what every stage shares, curation, the data layer (rolls, records, music outputs),
# the model, the end-to-end chain, the command line.
FLOORS = ("common", "curate", "rolls", "model", "pipelines", "cli")


def _modules() -> dict[str, Path]:
    modules = {"pianorbm.cli": REPO / "cli.py", "pianorbm": REPO / "__init__.py"}
    for package in FLOORS[:-1]:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(("pianorbm", *path.relative_to(REPO).with_suffix("").parts))
            modules[name.removesuffix(".__init__")] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules and name != "pianorbm"}
    return found


def floor(module: str) -> int:
    """0 for common up to 5 for the command line."""
    return FLOORS.index(module.split(".")[1])


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((importer, imported) for importer, targets in graph.items() if importer != "pianorbm"
                  for imported in targets if floor(imported) > floor(importer))


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, components, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for child in graph[node]:
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles():
    graph = _graph()
    assert sum(map(len, graph.values())) > 50  # the walk sees the imports
    assert _cycles(graph) == []


def test_no_module_imports_one_on_a_higher_floor():
    graph = _graph()
    assert {floor(name) for name in graph if name != "pianorbm"} == set(range(len(FLOORS)))  # every floor seen
    assert sum(floor(imported) < floor(importer) for importer, targets in graph.items() if importer != "pianorbm"
               for imported in targets) > 30  # downward imports are seen
    assert upward_imports(graph) == []


def test_the_floor_check_finds_an_upward_import():
    graph = {"pianorbm.rolls.dataset": {"pianorbm.common.files"}, "pianorbm.model.train": {"pianorbm.rolls.dataset"},
             "pianorbm.rolls.records": {"pianorbm.model.config"}, "pianorbm.curate.song": {"pianorbm.curate.midi_read"}}
    assert upward_imports(graph) == [("pianorbm.rolls.records", "pianorbm.model.config")]


def test_every_module_lives_on_a_floor():
    """A new top-level package must be given a floor (and listed in setup.cfg)."""
    tops = {path.parent.name for path in REPO.glob("*/__init__.py")} - {"tests"}
    assert tops == set(FLOORS[:-1])
    packages = {line.strip() for line in (REPO / "setup.cfg").read_text().splitlines()
                if line.strip().startswith("pianorbm.")}
    assert {f"pianorbm.{top}" for top in tops} <= packages


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
