"""The layer rules docs/architecture.md states, read from every import in the code.

Every import counts: at module level, inside functions, and under ``TYPE_CHECKING``.
"""

import ast
import importlib
import re
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("orchestrator", "topologies", "search")
LAYER = {name: rank for rank, name in enumerate(PACKAGES)}
"""Each package may import only the ones before it: orchestrator < topologies < search."""


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The project modules ``path`` imports (``from pkg import submodule`` included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        out |= {name for name in names if name in MODULES}
    return out


GRAPH = nx.DiGraph(
    (module, imported)
    for module, path in MODULES.items()
    for imported in _imports(path)
    if imported != module
)


def test_each_layer_imports_only_the_layers_below_it():
    upward = sorted(
        f"{a} -> {b}" for a, b in GRAPH.edges if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]
    )
    assert upward == []


def test_topologies_never_imports_search_and_the_core_imports_neither():
    assert not any(a.startswith("topologies") and b.startswith("search") for a, b in GRAPH.edges)
    assert not any(
        a.startswith("orchestrator") and not b.startswith("orchestrator") for a, b in GRAPH.edges
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_loop_among_a_packages_modules(package):
    # A package's __init__ only hands names on; loops through it are not loops of code.
    faces = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    inner = GRAPH.subgraph(m for m in GRAPH if m.split(".")[0] == package and m not in faces)
    assert [sorted(c) for c in nx.simple_cycles(inner)] == []


DOC = ROOT / "docs" / "architecture.md"


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_every_path_and_name_the_architecture_document_gives_exists():
    text = DOC.read_text(encoding="utf-8")
    spans = re.findall(r"`([^`\s]+)`", text)
    paths = [s for s in spans if "/" in s and s.endswith((".py", "/"))]
    names = [
        s.split("(")[0]
        for s in spans
        if s.split(".")[0] in PACKAGES and "/" not in s and "." in s.split("(")[0]
    ]
    assert paths and names
    assert [p for p in paths if not (ROOT / p).exists()] == []
    assert [n for n in names if not _resolves(n)] == []
