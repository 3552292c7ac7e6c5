"""The search commands of the ``rolegraph`` CLI: search, estimate, show, export and report.

``search.cli:app`` is the ``rolegraph`` entry point: the core's commands
(:mod:`orchestrator.cli`) plus these. Every failure prints one line,
``error: ...``, and exits non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

from orchestrator.cli import app
from search.cli.commands import find_search, register
from search.cli.config import (
    EXAMPLES,
    ConfigError,
    Prepared,
    SearchConfig,
    load_config,
    parse_config,
    prepare,
    rate_limited_models,
)
from search.cli.output import print_estimate, print_result
from search.cli.progress import SearchProgress
from search.runner import Search

__all__ = [
    "app",
    "EXAMPLES",
    "register",
    "print_result",
    "print_estimate",
    "ConfigError",
    "SearchConfig",
    "Prepared",
    "SearchProgress",
    "load_config",
    "parse_config",
    "prepare",
    "rate_limited_models",
    "find_search",
]


def _load_config(path: object) -> dict[str, object]:
    """Kept for older callers: :func:`load_config`."""
    from pathlib import Path

    return load_config(Path(str(path)))


def _build(config: dict[str, object], overrides: dict[str, object]) -> Search:
    """Kept for older callers: the search :func:`prepare` builds."""
    return prepare(config, overrides).search


register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
