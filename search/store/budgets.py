"""Budgets kept in the store: one spend per search, shared by its reruns and processes.

A budget's row holds what was spent; each process that reserves from it has
a row of its own holding what it reserved. Every change is one ``BEGIN
IMMEDIATE`` transaction, so processes on one machine never both take the last
of a budget. The reservations of a process that died (killed mid-evaluation)
are counted as spent: its calls may have been billed. Each hold records its
process's pid and host; a new pool (a run starting or resuming) reclaims them.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from typing import Any

from orchestrator.budget import Amount, Budget, BudgetPool, Spend
from search.store.database import StoreBase
from search.store.records import now

__all__ = ["Budgets", "StorePool"]

_SPENT = ("dollars", "tokens", "calls", "evaluations", "cached_calls", "overrun")
_HELD = ("dollars", "tokens", "calls", "evaluations")
_HOST = socket.gethostname()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Budgets(StoreBase):
    """The store's budget rows: spend per key, and each process's reservations."""

    def budget_limits(self, key: str) -> Budget | None:
        """The limits last set for ``key``, or ``None`` if it has none."""
        with self.connection() as db:
            row = db.execute("SELECT limits FROM budgets WHERE key = ?", (key,)).fetchone()
        return Budget.model_validate(json.loads(row[0])) if row and row[0] else None

    def set_budget_limits(self, key: str, budget: Budget) -> None:
        """Record the limits of ``key`` (creating its row)."""
        with self._write() as db:
            self._ensure(db, key)
            db.execute(
                "UPDATE budgets SET limits = ?, updated_at = ? WHERE key = ?",
                (budget.model_dump_json(), now(), key),
            )

    def budget_spent(self, key: str) -> Spend:
        """What ``key`` has spent, over every run and process (settled work only)."""
        with self.connection() as db:
            row = db.execute(
                f"SELECT {', '.join(_SPENT)} FROM budgets WHERE key = ?", (key,)
            ).fetchone()
        return Spend(**dict(zip(_SPENT, row, strict=True))) if row else Spend()

    @staticmethod
    def _ensure(db: Any, key: str) -> None:
        db.execute(
            "INSERT OR IGNORE INTO budgets (key, dollars, tokens, calls, evaluations, "
            "cached_calls, overrun, updated_at) VALUES (?, 0, 0, 0, 0, 0, 0, ?)",
            (key, now()),
        )

    @staticmethod
    def _reserved(db: Any, key: str) -> Amount:
        row = db.execute(
            "SELECT coalesce(sum(dollars), 0), coalesce(sum(tokens), 0), "
            "coalesce(sum(calls), 0), coalesce(sum(evaluations), 0) "
            "FROM budget_holds WHERE key = ?",
            (key,),
        ).fetchone()
        return Amount(*row)

    @staticmethod
    def _spent_amount(db: Any, key: str) -> Amount:
        row = db.execute(
            "SELECT dollars, tokens, calls, evaluations FROM budgets WHERE key = ?", (key,)
        ).fetchone()
        return Amount(*row) if row else Amount()

    def _reclaim(self, db: Any, key: str, owner: str) -> None:
        """Count the reservations of processes on this machine that died as spent."""
        rows = db.execute(
            f"SELECT owner, pid, host, {', '.join(_HELD)} FROM budget_holds "
            "WHERE key = ? AND owner != ?",
            (key, owner),
        ).fetchall()
        for other, pid, host, *held in rows:
            if host == _HOST and not _alive(int(pid)):
                db.execute(
                    "UPDATE budgets SET dollars = dollars + ?, tokens = tokens + ?, "
                    "calls = calls + ?, evaluations = evaluations + ? WHERE key = ?",
                    (*held, key),
                )
                db.execute("DELETE FROM budget_holds WHERE key = ? AND owner = ?", (key, other))

    def budget_reclaim(self, key: str, owner: str) -> None:
        """At a run's start: count the holds of dead processes on this machine as spent.

        Without this a killed run's hold stays reserved after it was resumed, and is
        reclaimed only once the budget gets tight.
        """
        with self._write() as db:
            self._reclaim(db, key, owner)

    def budget_take(self, key: str, owner: str, amount: Amount, budget: Budget) -> bool:
        """Reserve ``amount`` for ``owner`` if spent plus everyone's reservations fits."""
        with self._write() as db:
            self._ensure(db, key)
            for attempt in range(2):
                total = self._spent_amount(db, key) + self._reserved(db, key) + amount
                if total.fits(budget):
                    db.execute(
                        "INSERT INTO budget_holds (key, owner, pid, host, dollars, tokens, "
                        "calls, evaluations, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT(key, owner) DO UPDATE SET dollars = dollars + ?, "
                        "tokens = tokens + ?, calls = calls + ?, evaluations = evaluations + ?, "
                        "updated_at = ?",
                        (key, owner, os.getpid(), _HOST, *amount, now(), *amount, now()),
                    )
                    return True
                if attempt == 0:
                    self._reclaim(db, key, owner)
            return False

    def budget_settle(self, key: str, owner: str, reserved: Amount, spent: Spend) -> None:
        """Release ``owner``'s reservation of ``reserved`` and add what was ``spent``."""
        with self._write() as db:
            self._ensure(db, key)
            # Rounding leaves dust in float sums: under a nano-dollar a hold is gone.
            db.execute(
                "UPDATE budget_holds SET dollars = CASE WHEN dollars - ? < 1e-9 THEN 0 "
                "ELSE dollars - ? END, tokens = max(0, tokens - ?), calls = max(0, calls - ?), "
                "evaluations = max(0, evaluations - ?), updated_at = ? "
                "WHERE key = ? AND owner = ?",
                (reserved.dollars, *reserved, now(), key, owner),
            )
            db.execute(
                "UPDATE budgets SET dollars = dollars + ?, tokens = tokens + ?, "
                "calls = calls + ?, evaluations = evaluations + ?, "
                "cached_calls = cached_calls + ?, overrun = overrun + ?, updated_at = ? "
                "WHERE key = ?",
                (*(getattr(spent, name) for name in _SPENT), now(), key),
            )

    def budget_totals(self, key: str) -> tuple[Spend, Amount]:
        """What ``key`` spent, and what every process holds reserved from it."""
        with self.connection() as db:
            reserved = self._reserved(db, key)
        return self.budget_spent(key), reserved

    def budget_others(self, key: str, owner: str) -> bool:
        """Whether a live process other than ``owner`` holds a reservation from ``key``."""
        with self._write() as db:
            self._reclaim(db, key, owner)
            row = db.execute(
                "SELECT count(*) FROM budget_holds WHERE key = ? AND owner != ? AND "
                "(dollars > 1e-9 OR tokens > 0 OR calls > 0 OR evaluations > 0)",
                (key, owner),
            ).fetchone()
        return bool(row[0])

    def budget_reset(self, key: str) -> None:
        """Forget ``key``'s spend and reservations (a fresh budget under the same key)."""
        with self._write() as db:
            db.execute("DELETE FROM budgets WHERE key = ?", (key,))
            db.execute("DELETE FROM budget_holds WHERE key = ?", (key,))


class StorePool(BudgetPool):
    """A budget pool kept in a store under ``key``: shared by reruns and processes.

    Args:
        store: The store (a file, for several processes).
        key: The budget's name, e.g. ``"search:my-search"``.
    """

    def __init__(self, store: Budgets, key: str) -> None:
        """Attach to (or create) the budget ``key``."""
        self.store = store
        self.key = key
        self.owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        store.budget_reclaim(key, self.owner)

    def take(self, amount: Amount, budget: Budget) -> bool:
        """Reserve if it fits."""
        return self.store.budget_take(self.key, self.owner, amount, budget)

    def give_back(self, amount: Amount) -> None:
        """Return a reservation."""
        self.store.budget_settle(self.key, self.owner, amount, Spend())

    def settle(self, reserved: Amount, spent: Spend) -> None:
        """Reservation out, spending in."""
        self.store.budget_settle(self.key, self.owner, reserved, spent)

    def totals(self) -> tuple[Spend, Amount]:
        """Spent and reserved, over every process."""
        return self.store.budget_totals(self.key)

    def reserved_by_others(self) -> bool:
        """Whether another live process holds a reservation (it will free it)."""
        return self.store.budget_others(self.key, self.owner)
