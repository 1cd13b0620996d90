"""The shape of the house: imports only go down the floors (function-local ones included), no import
circles, and steps ask models what they can do instead of checking their names or attributes."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "custvalue"

# Floors from the ground up (docs/architecture.md). A module may import modules on its own floor or
# below; a package name covers every module inside it. A new module gets its floor here.
FLOORS = {
    "custvalue.errors": 0,
    "custvalue.engines": 1, "custvalue.provenance": 1, "custvalue.timeunits": 1, "custvalue.grouping": 1,
    "custvalue.schemas": 1, "custvalue.validation": 1, "custvalue.checks": 1, "custvalue.expressions": 1,
    "custvalue.progress": 1,
    "custvalue.columns": 2,
    "custvalue.clean": 3, "custvalue.summary": 3, "custvalue.returns": 3,
    "custvalue.models": 4,
    "custvalue.intervals": 5, "custvalue.evaluation": 5, "custvalue.datasets": 5, "custvalue.alive": 5,
    "custvalue.score": 6,
    "custvalue.segment": 7, "custvalue.filtering": 7, "custvalue.uplift": 7, "custvalue.kpis": 7,
    "custvalue.reading": 7,
    "custvalue.plotting": 8,
    "custvalue.accessor": 9, "custvalue.cli": 9, "custvalue.__main__": 9,
    "custvalue": 10,
    "custvalue.dask": 11,  # an engine adapter: beside the top floor, imported by no core module
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def floor(module: str) -> int:
    name = module
    while name:
        if name in FLOORS:
            return FLOORS[name]
        name = name.rpartition(".")[0]
    raise AssertionError(f"{module} has no floor: add it to FLOORS in tests/test_architecture.py "
                         "(and to the picture in docs/architecture.md)")


def imports_of(module: str) -> set[str]:
    """custvalue modules that ``module`` imports anywhere in its file (inside functions too)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # "from package import submodule" depends on the submodule.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found.update(n for n in names if n == "custvalue" or n.startswith("custvalue."))
    found.discard(module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_floor():
    for module in MODULES:
        floor(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module):
    upward = sorted(target for target in GRAPH[module] if floor(target) > floor(module))
    assert not upward, f"{module} (floor {floor(module)}) imports from higher floors: " + ", ".join(
        f"{t} (floor {floor(t)})" for t in upward)


def test_no_import_circles():
    # Tarjan's strongly connected components: any component of more than one module is a circle.
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH:
                continue
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
                circles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not circles, f"import circles: {circles}"


def test_the_core_never_imports_an_engine_adapter_or_dask():
    adapters = {m for m in MODULES if m.startswith("custvalue.dask")}
    for module, targets in GRAPH.items():
        if module in adapters:
            continue
        assert not targets & adapters, f"{module} imports the adapter {sorted(targets & adapters)}"
        for node in ast.walk(ast.parse(MODULES[module].read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] in ("dask", "distributed") for n in names), \
                f"{module}:{node.lineno} imports Dask; Dask belongs in custvalue.dask"


def test_steps_ask_models_what_they_can_do():
    """Outside custvalue/models/, no hasattr() and no comparison of a model's name (x.name == ...)."""
    for module, path in MODULES.items():
        if module.startswith("custvalue.models"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hasattr":
                raise AssertionError(f"{module}:{node.lineno} uses hasattr(); declare and ask an ability instead")
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(isinstance(s, ast.Attribute) and s.attr == "name" for s in sides):
                    raise AssertionError(f"{module}:{node.lineno} compares a .name; dispatch on role or ability")
