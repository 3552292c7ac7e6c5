"""Searches, their trials, and the state strategies keep to resume, in the store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from search.store.database import StoreBase
from search.store.records import SearchRecord, TrialRecord, TrialState, dumps, now

__all__ = ["Searches"]


class Searches(StoreBase):
    """The store's searches, trials and strategy state."""

    # --- searches and trials -------------------------------------------------------------

    @staticmethod
    def _search(row: Mapping[str, Any]) -> SearchRecord:
        return SearchRecord(
            id=row["id"],
            name=row["name"],
            strategy=row["strategy"],
            config=json.loads(row["config"] or "{}"),
            status=row["status"],
            stop_reason=row["stop_reason"],
            spend=json.loads(row["spend"] or "{}"),
            result=json.loads(row["result"]) if row["result"] else None,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def create_search(
        self,
        name: str | None = None,
        *,
        strategy: str,
        config: Mapping[str, Any] | None = None,
        load_if_exists: bool = False,
    ) -> SearchRecord:
        """Create a search row (or load an existing one with ``load_if_exists``).

        Raises:
            ValueError: A search called ``name`` exists and ``load_if_exists`` is false.
        """
        stamp = now()
        with self._write() as db:
            if name is not None:
                existing = list(db.query("SELECT * FROM searches WHERE name = ?", [name]))
                if existing:
                    if not load_if_exists:
                        raise ValueError(
                            f"a search named {name!r} exists; "
                            "pass load_if_exists=True to resume it"
                        )
                    return self._search(existing[0])
            cursor = db.execute(
                "INSERT INTO searches (name, strategy, config, status, spend, created_at, "
                "updated_at) VALUES (?, ?, ?, 'running', '{}', ?, ?)",
                (
                    name or f"search-{uuid.uuid4().hex}",
                    strategy,
                    dumps(dict(config or {})),
                    stamp,
                    stamp,
                ),
            )
            search_id = cursor.lastrowid
            if name is None:
                db.execute(
                    "UPDATE searches SET name = ? WHERE id = ?", (f"search-{search_id}", search_id)
                )
            row = next(db.query("SELECT * FROM searches WHERE id = ?", [search_id]))
        return self._search(row)

    def get_search(self, search: int | str) -> SearchRecord | None:
        """A search by id or by name, or ``None``."""
        column = "id" if isinstance(search, int) else "name"
        with self.connection() as db:
            rows = list(db.query(f"SELECT * FROM searches WHERE {column} = ?", [search]))
        return self._search(rows[0]) if rows else None

    def update_search(
        self,
        search_id: int,
        *,
        status: str | None = None,
        stop_reason: str | None = None,
        spend: Mapping[str, Any] | BaseModel | None = None,
        result: Mapping[str, Any] | BaseModel | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> SearchRecord:
        """Change a search's status, stop reason, spend, result or config.

        Raises:
            KeyError: No search has that id.
        """
        updates: dict[str, Any] = {"updated_at": now()}
        if status is not None:
            updates["status"] = status
        if stop_reason is not None:
            updates["stop_reason"] = stop_reason
        if config is not None:
            updates["config"] = dumps(dict(config))
        for column, value in (("spend", spend), ("result", result)):
            if isinstance(value, BaseModel):
                updates[column] = value.model_dump_json()
            elif value is not None:
                updates[column] = dumps(dict(value))
        assignments = ", ".join(f"{column} = ?" for column in updates)
        with self._write() as db:
            cursor = db.execute(
                f"UPDATE searches SET {assignments} WHERE id = ?", [*updates.values(), search_id]
            )
            if cursor.rowcount == 0:
                raise KeyError(f"no search with id {search_id}")
            row = next(db.query("SELECT * FROM searches WHERE id = ?", [search_id]))
        if status is not None and status != "running":
            self.checkpoint()  # the search ended: the .db file alone now holds it
        return self._search(row)

    def list_searches(self) -> list[SearchRecord]:
        """Every search, oldest first."""
        with self.connection() as db:
            return [self._search(r) for r in db.query("SELECT * FROM searches ORDER BY id")]

    @staticmethod
    def _trial(row: Mapping[str, Any]) -> TrialRecord:
        return TrialRecord(
            search_id=row["search_id"],
            number=row["number"],
            workflow=row["workflow"],
            params=json.loads(row["params"] or "{}"),
            values=json.loads(row["values"]) if row["values"] else None,
            state=row["state"],
            user_attrs=json.loads(row["user_attrs"] or "{}"),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def add_trial(
        self,
        search_id: int,
        *,
        workflow: str | None = None,
        params: Mapping[str, Any] | None = None,
        state: TrialState = "running",
        user_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord:
        """Append a trial to a search; numbers are unique even across processes."""
        stamp = now()
        with self._write() as db:
            number = db.execute(
                "SELECT coalesce(max(number) + 1, 0) FROM search_trials WHERE search_id = ?",
                (search_id,),
            ).fetchone()[0]
            db.execute(
                'INSERT INTO search_trials (search_id, number, workflow, params, "values", state, '
                "user_attrs, created_at, updated_at) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                (
                    search_id,
                    number,
                    workflow,
                    dumps(dict(params or {})),
                    state,
                    dumps(dict(user_attrs or {})),
                    stamp,
                    stamp,
                ),
            )
            row = next(
                db.query(
                    "SELECT * FROM search_trials WHERE search_id = ? AND number = ?",
                    [search_id, number],
                )
            )
        return self._trial(row)

    def update_trial(
        self,
        search_id: int,
        number: int,
        *,
        values: Sequence[float] | float | None = None,
        state: TrialState | None = None,
        workflow: str | None = None,
        user_attrs: Mapping[str, Any] | None = None,
    ) -> TrialRecord:
        """Set a trial's values, state or workflow; ``user_attrs`` are merged in.

        Raises:
            KeyError: The trial does not exist.
        """
        with self._write() as db:
            rows = list(
                db.query(
                    "SELECT * FROM search_trials WHERE search_id = ? AND number = ?",
                    [search_id, number],
                )
            )
            if not rows:
                raise KeyError(f"search {search_id} has no trial {number}")
            current = self._trial(rows[0])
            updates: dict[str, Any] = {"updated_at": now()}
            if values is not None:
                listed = [float(values)] if isinstance(values, int | float) else list(values)
                updates["values"] = json.dumps([float(v) for v in listed])
            if state is not None:
                updates["state"] = state
            if workflow is not None:
                updates["workflow"] = workflow
            if user_attrs is not None:
                updates["user_attrs"] = dumps({**current.user_attrs, **user_attrs})
            assignments = ", ".join(f'"{column}" = ?' for column in updates)
            db.execute(
                f"UPDATE search_trials SET {assignments} WHERE search_id = ? AND number = ?",
                [*updates.values(), search_id, number],
            )
            row = next(
                db.query(
                    "SELECT * FROM search_trials WHERE search_id = ? AND number = ?",
                    [search_id, number],
                )
            )
        return self._trial(row)

    def delete_trials(self, search_id: int) -> int:
        """Forget every trial of a search; returns how many were removed."""
        with self._write() as db:
            cursor = db.execute("DELETE FROM search_trials WHERE search_id = ?", (search_id,))
            return int(cursor.rowcount)

    def update_trial_if_present(
        self, search_id: int, number: int, **changes: Any
    ) -> TrialRecord | None:
        """:meth:`update_trial`, or ``None`` when another process has just removed the trial."""
        try:
            return self.update_trial(search_id, number, **changes)
        except KeyError:
            return None

    def get_trial(self, search_id: int, number: int) -> TrialRecord | None:
        """One trial, or ``None``."""
        with self.connection() as db:
            rows = list(
                db.query(
                    "SELECT * FROM search_trials WHERE search_id = ? AND number = ?",
                    [search_id, number],
                )
            )
        return self._trial(rows[0]) if rows else None

    def list_trials(self, search_id: int, *, state: TrialState | None = None) -> list[TrialRecord]:
        """A search's trials in number order, optionally only those in ``state``."""
        sql = "SELECT * FROM search_trials WHERE search_id = ?"
        params: list[Any] = [search_id]
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        with self.connection() as db:
            return [self._trial(row) for row in db.query(sql + " ORDER BY number", params)]

    # --- strategy state ------------------------------------------------------------------

    def save_state(self, search: str, key: str, value: Any) -> None:
        """Keep a strategy's JSON-serialisable ``value`` under ``(search, key)``.

        It replaces any earlier value and is committed before this returns, so
        a resumed search (same name) reads it back with :meth:`load_state`.
        Pydantic models are stored as their JSON.
        """
        self.save_states(search, {key: value})

    def save_states(self, search: str, items: Mapping[str, Any]) -> None:
        """Keep several values of one search in one transaction (all or none)."""
        stamp = now()
        rows = [(search, key, _state_json(value), stamp) for key, value in items.items()]
        with self._write() as db:
            db.conn.executemany(
                "INSERT OR REPLACE INTO search_state (search, key, value, updated_at) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    def load_state(self, search: str, key: str, default: Any = None) -> Any:
        """The value kept under ``(search, key)``, or ``default``."""
        with self.connection() as db:
            row = db.execute(
                "SELECT value FROM search_state WHERE search = ? AND key = ?", (search, key)
            ).fetchone()
        return json.loads(row[0]) if row else default

    def load_states(self, search: str, *, prefix: str = "") -> dict[str, Any]:
        """Every value of ``search`` whose key starts with ``prefix``, in key order."""
        with self.connection() as db:
            rows = db.execute(
                "SELECT key, value FROM search_state WHERE search = ? "
                "AND substr(key, 1, ?) = ? ORDER BY key",
                (search, len(prefix), prefix),
            ).fetchall()
        return {key: json.loads(value) for key, value in rows}

    def delete_state(self, search: str, key: str | None = None) -> int:
        """Forget one value of ``search`` (or all of them, and its stages'); returns how many."""
        if key is None:
            with self._write() as db:
                cursor = db.execute(
                    "DELETE FROM search_state WHERE search = ? OR substr(search, 1, ?) = ?",
                    (search, len(search) + 1, f"{search}:"),
                )
                return int(cursor.rowcount)
        sql, params = "DELETE FROM search_state WHERE search = ?", [search]
        if key is not None:
            sql += " AND key = ?"
            params.append(key)
        with self._write() as db:
            return int(db.execute(sql, params).rowcount)


def _state_json(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, sort_keys=True)
