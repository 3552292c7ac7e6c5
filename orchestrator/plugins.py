"""Importing the modules that register custom roles, tools and topologies, by name.

A spec names its roles and tools; the code behind a custom one lives in the
user's module, which must be imported before the spec is loaded. The command
line (``rolegraph --import mymodule ...`` or ``ROLEGRAPH_IMPORT``), a search
config's ``imports:`` and an exported module all come through here.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from orchestrator.errors import SpecError

__all__ = ["import_modules"]

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def import_modules(names: Iterable[str], *, folder: str | Path | None = None) -> list[str]:
    """Import each module in ``names`` (dotted names), with ``folder`` importable first.

    ``folder`` defaults to the working directory, as ``python -m`` has it. Returns
    the names imported.

    Raises:
        SpecError: A name that is not a dotted module name, or a module that cannot
            be imported (the message names it and the folder searched).
    """
    where = str(Path(folder or ".").resolve())
    if where not in sys.path:
        sys.path.insert(0, where)
    done: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if not _DOTTED.fullmatch(name):
            raise SpecError(f"cannot import {name!r}: give a module name such as 'mypkg.roles'")
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise SpecError(
                f"cannot import module {name!r} (searched {where} and the installed "
                f"packages): {exc}"
            ) from exc
        done.append(name)
    return done
