"""The core is a pipeline of layers, each importing only the layers below it (docs/architecture.md), with no import
cycle anywhere, in the core or in the built-in plugins; and no module is too long to read.

Every import counts: at module level, inside functions, and under ``TYPE_CHECKING`` (a type-only cycle still
ties two modules together for whoever reads or changes them).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "asdbench"
PLUGINS = sorted((ROOT / "plugins").glob("*/asdbench_*"))

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "hookspecs", "compat"),
    ("files", "runtime"),
    ("contract",),
    ("data",),
    ("synth",),
    ("spec",),
    ("training",),
    ("scoring",),
    ("pseudolabel",),
    ("store",),
    ("grid",),
    ("report",),
    ("cli", "__main__"),
)
"""The core's layers, lowest first: each package (or top-level module) of ``asdbench/`` by name."""
FACADE = "api"
"""``asdbench.api`` re-exports what plugins may use from the layers up to ``data``; no core module imports it."""
MAX_LINES = 400


def module_name(path: Path, package_dir: Path) -> str:
    parts = path.relative_to(package_dir.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Each module of the package -> the modules of the same package it imports, wherever in it the import is."""
    modules = {module_name(p, package_dir): p for p in package_dir.rglob("*.py")}
    top = package_dir.name
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            else:
                continue
            edges |= {t for t in targets if t == top or t.startswith(top + ".")}
        graph[name] = edges - {name}
    return graph


def layer_of(module: str) -> int | None:
    """The layer of a core module (``asdbench.store.stages`` -> the ``store`` layer); None for the facade and the
    package itself."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == FACADE:
        return None
    for index, names in enumerate(LAYERS):
        if parts[1] in names:
            return index
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS (and to docs/architecture.md)")


def upward_imports(graph: Mapping[str, Iterable[str]]) -> list[str]:
    problems = []
    for module, imported in sorted(graph.items()):
        for target in sorted(imported):
            if target.split(".")[-1] == FACADE and module.split(".")[1:2] != ["__init__"]:
                problems.append(f"{module} imports {target}: the facade is for plugins, the core imports the "
                                "module that defines a name")
                continue
            here, there = layer_of(module), layer_of(target)
            if module.split(".")[-1] == FACADE:
                if there is not None and there > LAYERS.index(("data",)):
                    problems.append(f"{module} re-exports {target}, above the data layer")
            elif here is not None and there is not None and there > here:
                problems.append(f"{module} ({'/'.join(LAYERS[here])}) imports {target} ({'/'.join(LAYERS[there])}), "
                                "a layer above it")
    return problems


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_architecture_page_lists_the_layers_in_order():
    text = (ROOT / "docs" / "architecture.md").read_text()
    rows = [line.split("|")[2] for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
    documented = [tuple(re.findall(r"`(\w+)(?:/|\.py)`", cell)) for cell in rows]
    assert documented == [tuple(name for name in names if name != "__main__") for names in LAYERS]


def test_every_core_module_imports_only_layers_below_or_its_own():
    assert upward_imports(import_graph(CORE)) == []


@pytest.mark.parametrize("package", [CORE, *PLUGINS], ids=lambda p: p.name)
def test_no_import_cycle(package):
    assert cycles(import_graph(package)) == []


def test_the_checks_catch_a_planted_upward_import_and_cycle(tmp_path):
    package = tmp_path / "asdbench"
    for name, source in {
        "__init__.py": "",
        "data/__init__.py": "",
        "data/manifest.py": "from asdbench.store.store import Store\n",  # upward: data -> store
        "store/__init__.py": "",
        "store/store.py": "def f():\n    from asdbench.store import stages\n",  # a function-level import
        "store/stages.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from asdbench.store.store import X\n",
        "report/__init__.py": "",
        "report/plots.py": "import asdbench.api\n",
        "api.py": "from asdbench.grid.expand import Grid\n",
        "grid/__init__.py": "",
        "grid/grid.py": "",
    }.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(source)
    graph = import_graph(package)
    problems = upward_imports(graph)
    assert any("asdbench.data.manifest (data) imports asdbench.store.store (store)" in p for p in problems)
    assert any("asdbench.report.plots imports asdbench.api" in p for p in problems)
    assert any("asdbench.api re-exports asdbench.grid.expand" in p for p in problems)
    assert cycles(graph) == [["asdbench.store.stages", "asdbench.store.store"]]


def test_every_package_init_holds_only_its_docstring():
    """What a package's ``__init__.py`` holds is found by no one: the code lives in the module that says its job."""
    for path in CORE.rglob("__init__.py"):
        if path.parent == CORE:
            continue
        body = ast.parse(path.read_text()).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), path


@pytest.mark.parametrize("package", [CORE, *PLUGINS], ids=lambda p: p.name)
def test_no_module_is_over_the_line_limit(package):
    long = {str(p.relative_to(ROOT)): n for p in package.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines: split them by job"
