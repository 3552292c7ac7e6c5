"""The store: one SQLite database, through sqlite-utils, for everything a search records.

It holds workflows, evaluations, LLM calls, searches and their trials (table
``search_trials``; Optuna's own tables can live in the same file), and the state
strategies keep to resume (``search_state``, e.g. an MCTS tree). The database
runs in WAL mode with a busy timeout, so many threads (each gets its own
connection) and several processes can read and write it at once. Each
evaluation and each LLM call is committed as soon as it is written, so a killed
process loses only the work that was in flight. Tables use plain column names
and JSON text, so ``sqlite-utils tables rolegraph.db --counts`` and
``sqlite-utils rows rolegraph.db evaluations`` read naturally.
"""

from __future__ import annotations

import functools
from pathlib import Path

from search.store.budgets import Budgets
from search.store.evaluations import Evaluations
from search.store.optuna_tables import create_optuna_tables
from search.store.routing import Routing
from search.store.searches import Searches

__all__ = ["Store", "get_store"]


class Store(Evaluations, Searches, Budgets, Routing):
    """The rolegraph database: workflows, evaluations, LLM calls, searches and trials.

    Safe to share between threads (each thread uses its own connection) and
    between processes (WAL mode and a busy timeout). ``":memory:"`` gives a
    private in-memory store, shared by the threads of this process.

    Args:
        path_or_url: A file path, ``"sqlite:///path"``, or ``":memory:"``.
        timeout: Seconds a writer waits for another writer's lock before failing.

    Raises:
        StoreError: The file exists but is not a readable rolegraph store.

    Example:
        >>> store = Store(":memory:")
        >>> store.list_searches()
        []
    """

    def optuna_url(self) -> str | None:
        """This database as an SQLAlchemy URL, so Optuna studies can live beside the rest.

        Optuna's tables are created first, once, safely when processes start together
        (:func:`~search.store.optuna_tables.create_optuna_tables`).
        """
        return self._optuna_url

    @functools.cached_property
    def _optuna_url(self) -> str | None:
        if self.in_memory:
            return None
        return create_optuna_tables(str(Path(self.path).resolve()))


def get_store(store: Store | str | Path | None = None) -> Store:
    """Accept a :class:`Store`, a path or ``sqlite:///`` URL, or ``None`` (in memory)."""
    if isinstance(store, Store):
        return store
    if store is None:
        return Store(":memory:")
    if isinstance(store, str | Path):
        return Store(store)
    raise TypeError(f"expected a Store, a path or a sqlite:/// URL, got {type(store).__name__}")
