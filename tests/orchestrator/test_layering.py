"""The core stands alone: nothing in orchestrator/ imports the search package."""

import ast
import subprocess
import sys
from pathlib import Path

import orchestrator

PACKAGE = Path(orchestrator.__file__).resolve().parent


def test_no_orchestrator_module_imports_search():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(PACKAGE)}: {name}"
                for name in names
                if name == "search" or name.startswith("search.")
            ]
    assert offenders == []


def test_importing_every_orchestrator_module_loads_no_search_module():
    modules = sorted(
        ".".join(("orchestrator", *path.relative_to(PACKAGE).with_suffix("").parts))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'search' or m.startswith('search.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_deprecated_store_names_still_resolve_with_a_warning():
    import pytest

    with pytest.warns(DeprecationWarning, match="search.store"):
        from orchestrator import Store
    from search.store import Store as Moved

    assert Store is Moved
