"""The store's database: where it lives, its connections and transactions, and its schema.

One SQLite file (or ``":memory:"``) through sqlite-utils, in WAL mode with a
busy timeout: each thread gets its own connection, several processes can read
and write at once, and every write is committed before it returns (or, for
the async writes of :class:`GroupCommit`, before the awaiting task resumes), so
a killed process loses only the work that was in flight.

When a search ends and when the store is closed, the write-ahead log is
checkpointed into the database file, so the ``.db`` file alone holds everything
(to copy, mail or commit). A path that is a symbolic link must lead to a
rolegraph store (or an empty file): another application's database is refused,
never written to.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from search.errors import StoreError

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["StoreBase", "GroupCommit", "SCHEMA_VERSION", "parse_location"]

SCHEMA_VERSION = 1


def parse_location(path_or_url: str | Path) -> tuple[str, bool]:
    """Return (sqlite target, in_memory)."""
    text = str(path_or_url)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text:
        raise ValueError(
            f"the store needs a SQLite path or 'sqlite:///path' URL, got {str(path_or_url)!r}"
        )
    if text in ("", ":memory:"):
        return ":memory:", True
    return text, False


_STORE_TABLES = frozenset({"workflows", "evaluations", "searches"})


def _refuse_foreign_link(path: Path) -> None:
    """Refuse a symbolic link that leads anywhere but to a rolegraph store or an empty file."""
    if not path.is_symlink():
        return
    target = path.resolve()
    problem = None
    if not target.is_file():
        problem = "leads to no file"
    elif target.stat().st_size > 0:
        try:
            conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            finally:
                conn.close()
        except sqlite3.DatabaseError:
            tables = None
        if tables is None:
            problem = "leads to a file that is not a SQLite database"
        elif tables and not tables >= _STORE_TABLES:
            problem = "leads to another application's database"
    if problem is not None:
        raise StoreError(
            f"the store path {path} is a symbolic link that {problem} ({target}); rolegraph "
            "would write its tables into it. Give the store its own file",
            path=str(path),
        )


class StoreBase:
    """Connections, transactions and schema; :class:`~search.store.Store` adds the tables' API.

    Args:
        path_or_url: A file path, ``"sqlite:///path"``, or ``":memory:"``.
        timeout: Seconds a writer waits for another writer's lock before failing.

    Raises:
        StoreError: The file exists but is not a readable rolegraph store.
    """

    def __init__(self, path_or_url: str | Path = "rolegraph.db", *, timeout: float = 30.0) -> None:
        """Open (and if needed create) the database."""
        self.target, self.in_memory = parse_location(path_or_url)
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.RLock()
        self._shared: sqlite_utils.Database | None = None
        # Weak, so a finished thread's connection closes with its thread-local storage.
        self._opened: weakref.WeakSet[sqlite_utils.Database] = weakref.WeakSet()
        if not self.in_memory:
            _refuse_foreign_link(Path(self.target))
            Path(self.target).parent.mkdir(parents=True, exist_ok=True)
        self._create_schema()

    @property
    def path(self) -> str:
        """The database file, or ``":memory:"``."""
        return self.target

    @functools.cached_property
    def identity(self) -> str:
        """Where the data lives: the resolved file, or this object when in memory.

        Two handles on one file agree.
        """
        return f"memory:{id(self)}" if self.in_memory else str(Path(self.target).resolve())

    @functools.cached_property
    def group_commit(self) -> GroupCommit:
        """The store's group committer for async writers (:class:`GroupCommit`)."""
        return GroupCommit(self)

    def __repr__(self) -> str:
        return f"Store({self.target!r})"

    # --- connections ---------------------------------------------------------------------

    def _open(self) -> sqlite_utils.Database:
        from sqlite_utils import Database  # imported on first use: it is slow to import

        conn = sqlite3.connect(self.target, timeout=self.timeout, check_same_thread=False)
        # WAL with synchronous=NORMAL: a commit survives the process being killed; only
        # an OS crash or power loss can drop the last few commits.
        conn.execute("PRAGMA synchronous=NORMAL")
        db = Database(conn)
        with self._lock:
            self._opened.add(db)
        return db

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite_utils.Database]:
        """This thread's sqlite-utils ``Database`` (in-memory stores share one, under a lock).

        Raises:
            StoreError: The file is damaged or is not a rolegraph store.
        """
        try:
            with self._connection() as db:
                yield db
        except (sqlite3.DatabaseError, sqlite3.Warning) as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise  # a busy database: the caller may retry
            raise StoreError(
                f"the store {self.target} cannot be used: {exc}. If the file is damaged or "
                "is not a rolegraph store, move it aside and let rolegraph create a new one",
                path=self.target,
            ) from exc

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite_utils.Database]:
        if self.in_memory:
            with self._lock:
                if self._shared is None:
                    self._shared = self._open()
                yield self._shared
            return
        local = self._local
        db: sqlite_utils.Database | None = getattr(local, "db", None)
        if db is None or local.pid != os.getpid():
            db = self._open()
            local.db, local.pid = db, os.getpid()
        yield db

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction that takes the write lock first (no lock upgrades)."""
        with self.connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.conn.rollback()
                raise
            db.conn.commit()

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database file, so that the file alone is complete.

        It waits at most a moment for other connections; one that reads or writes the
        file meanwhile may leave part of the log for a later checkpoint.

        Returns:
            Whether the whole log was copied.
        """
        if self.in_memory:
            return True
        try:
            with self.connection() as db:
                db.execute("PRAGMA busy_timeout = 200")
                try:
                    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        except (sqlite3.OperationalError, StoreError):
            return False
        return bool(busy == 0)

    def close(self) -> None:
        """Checkpoint the write-ahead log, then close every connection this store opened."""
        if self._opened:
            self.checkpoint()
        with self._lock:
            for db in list(self._opened):
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            self._opened.clear()
            self._shared = None
        self._local = threading.local()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create_schema(self) -> None:
        for attempt in range(50):
            try:
                with self.connection() as db:
                    if not self.in_memory:
                        db.enable_wal()
                    self._create_tables(db)
                return
            except sqlite3.OperationalError as exc:
                # Another process may hold the lock while it creates the same tables.
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05)

    @staticmethod
    def _create_tables(db: sqlite_utils.Database) -> None:
        db.table("workflows").create(
            {"hash": str, "name": str, "spec": str, "created_at": str},
            pk="hash",
            not_null={"spec"},
            if_not_exists=True,
        )
        db.table("evaluations").create(
            {
                "workflow": str,
                "dataset": str,
                "task_id": str,
                "seed": int,
                "settings": str,
                "score": float,
                "failed": int,
                "answer": str,
                "expected": str,
                "error": str,
                "error_type": str,
                "transient": int,
                "metric": str,
                "config": str,
                "task_digest": str,
                "input_tokens": int,
                "output_tokens": int,
                "total_tokens": int,
                "cost": float,
                "charged": float,
                "calls": int,
                "cached_calls": int,
                "latency_s": float,
                "trace": str,
                "created_at": str,
                "owner": str,
            },
            pk=("workflow", "dataset", "task_id", "seed", "settings"),
            not_null={"score", "failed"},
            if_not_exists=True,
        )
        if "owner" not in db.table("evaluations").columns_dict:  # a store from before it
            db.table("evaluations").add_column("owner", str)
        db.table("llm_calls").create(
            {"key": str, "llm_string": str, "prompt": str, "response": str, "created_at": str},
            pk="key",
            not_null={"response"},
            if_not_exists=True,
        )
        db.table("searches").create(
            {
                "id": int,
                "name": str,
                "strategy": str,
                "config": str,
                "status": str,
                "stop_reason": str,
                "spend": str,
                "result": str,
                "created_at": str,
                "updated_at": str,
            },
            pk="id",
            not_null={"name", "strategy", "status"},
            if_not_exists=True,
        )
        db.table("searches").create_index(["name"], unique=True, if_not_exists=True)
        db.table("search_trials").create(
            {
                "search_id": int,
                "number": int,
                "workflow": str,
                "params": str,
                "values": str,
                "state": str,
                "user_attrs": str,
                "created_at": str,
                "updated_at": str,
            },
            pk=("search_id", "number"),
            not_null={"state"},
            if_not_exists=True,
        )
        db.table("search_trials").create_index(["workflow"], if_not_exists=True)
        db.table("search_state").create(
            {"search": str, "key": str, "value": str, "updated_at": str},
            pk=("search", "key"),
            not_null={"value"},
            if_not_exists=True,
        )
        db.table("budgets").create(
            {
                "key": str,
                "dollars": float,
                "tokens": int,
                "calls": int,
                "evaluations": int,
                "cached_calls": int,
                "overrun": float,
                "limits": str,
                "updated_at": str,
            },
            pk="key",
            if_not_exists=True,
        )
        db.table("budget_holds").create(
            {
                "key": str,
                "owner": str,
                "pid": int,
                "host": str,
                "dollars": float,
                "tokens": int,
                "calls": int,
                "evaluations": int,
                "updated_at": str,
            },
            pk=("key", "owner"),
            if_not_exists=True,
        )
        db.table("routing_decisions").create(
            {
                "router": str,
                "run_id": str,
                "features": str,
                "arms": str,
                "arm": int,
                "cost": float,
                "explored": int,
                "created_at": str,
            },
            pk=("router", "run_id"),
            not_null={"features", "arms"},
            if_not_exists=True,
        )
        db.table("routing_feedback").create(
            {"router": str, "run_id": str, "score": float, "created_at": str},
            pk=("router", "run_id"),
            not_null={"score"},
            if_not_exists=True,
        )
        if db.execute("PRAGMA user_version").fetchone()[0] == 0:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def write_rows(self, rows: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        """Run ``(sql, parameters)`` statements in one committed transaction."""
        with self._write() as db:
            conn = db.conn
            for sql, row in rows:
                conn.execute(sql, row)


_Batch = list[tuple[Sequence[tuple[str, tuple[Any, ...]]], "asyncio.Future[None]"]]


class GroupCommit:
    """Commits the writes of many async tasks together: one transaction per event-loop turn.

    :meth:`awrite` queues a task's statements and waits until they are
    committed. The first write of a turn schedules a flush for the end of that
    turn (``loop.call_soon``); the flush commits every statement queued by then
    in one transaction and wakes their writers. So each write is still
    committed before its writer goes on, exactly as with
    :meth:`StoreBase.write_rows`, and a process killed at any point loses only
    writes whose tasks had not resumed, i.e. work still in flight. What changes
    is the cost: with 64 evaluations finishing together, one commit instead of 64.
    Batches grow by themselves when the process is busy, as more tasks finish
    in each turn.

    Args:
        store: The store to write to.
    """

    def __init__(self, store: StoreBase) -> None:
        """Bind to ``store``; batches are kept per event loop."""
        self.store = store
        self._batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch]
        self._batches = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    async def awrite(self, rows: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        """Queue ``(sql, parameters)`` statements; return once they are committed.

        They are committed together (all or none), in one transaction with the
        other writes of this turn of the event loop.

        Raises:
            sqlite3.Error: The transaction failed; nothing of it was committed.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            batch = self._batches.get(loop)
            if batch is None:
                batch = self._batches[loop] = []
                loop.call_soon(self._flush, loop)
            batch.append((rows, future))
        await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            batch = self._batches.pop(loop, [])
        if not batch:
            return
        try:
            with self.store._write() as db:
                conn = db.conn
                for rows, _ in batch:
                    for sql, row in rows:
                        conn.execute(sql, row)
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)
