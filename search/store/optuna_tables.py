"""Optuna's tables in the store's file, created once even when processes start together."""

from __future__ import annotations

import contextlib
import sqlite3

__all__ = ["create_optuna_tables", "BUSY_TIMEOUT"]

BUSY_TIMEOUT = 30.0
"""Seconds an Optuna writer waits for another's lock, as the store's own connections do."""


def create_optuna_tables(path: str) -> str:
    """Create Optuna's tables in the SQLite file ``path`` if missing; returns its URL.

    Optuna creates its tables, its version row and its Alembic stamp in separate steps
    without a lock, so processes starting on one fresh file at once collide (``table
    studies already exists``). Here the first creates them under a file lock
    (``<path>.lock``) while the others wait, then find them made.

    The URL carries the store's busy timeout (30 s): with SQLite's default of 5 s, two
    searches writing trials to one store under load failed with "database is locked".
    """
    url = f"sqlite:///{path}?timeout={BUSY_TIMEOUT:g}"
    if _created(path):
        return url
    import optuna
    from filelock import FileLock  # imported on first use: only searches need it

    with FileLock(f"{path}.lock", timeout=120):
        storage = optuna.storages.RDBStorage(url)  # creates what is missing, else only reads
        storage.remove_session()
        storage.engine.dispose()
    return url


def _created(path: str) -> bool:
    """Whether Optuna finished creating its tables there (it stamps Alembic last)."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT)) as conn:
            return conn.execute("SELECT 1 FROM alembic_version LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:
        return False  # no such table yet
