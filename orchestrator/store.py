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

Example:
    >>> store = Store(":memory:")
    >>> spec_hash = store.save_workflow(spec)           # doctest: +SKIP
    >>> store.workflow_stats(spec_hash, "arithmetic")   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.messages import message_to_dict, messages_from_dict
from langchain_core.outputs import ChatGeneration, Generation
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from orchestrator.spec import WorkflowSpec
from orchestrator.trace import NodeTrace, Usage

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = [
    "Store",
    "get_store",
    "EvalKey",
    "EvalRecord",
    "WorkflowStats",
    "CostProfile",
    "SearchRecord",
    "TrialRecord",
    "TrialState",
    "LLMCallCache",
    "hold_llm_calls",
]

SCHEMA_VERSION = 1
TrialState = Literal["waiting", "running", "complete", "pruned", "fail"]
_TRACE = TypeAdapter(tuple[NodeTrace, ...])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# --- records -----------------------------------------------------------------------------


class EvalKey(NamedTuple):
    """What identifies one evaluation; equal keys give equal results."""

    workflow: str
    """Content hash of the workflow spec."""
    dataset: str
    """Dataset name."""
    task_id: str
    """Task id within the dataset."""
    seed: int
    """Sampling seed of the run."""
    settings: str
    """Digest of everything else that changes the result (see ``EvalRecord.settings``)."""


class EvalRecord(BaseModel):
    """The result of running one workflow on one task with one seed."""

    model_config = ConfigDict(frozen=True)

    workflow: str = Field(description="Content hash of the workflow spec.")
    dataset: str = Field(description="Dataset name.")
    task_id: str = Field(description="Task id within the dataset.")
    seed: int = Field(default=0, description="Sampling seed of the run.")
    settings: str = Field(
        description="Digest of the evaluation settings (``config``) and the task's content "
        "(``task_digest``); part of the key, so an edited task or prompt is never served "
        "a stale result."
    )
    config: str = Field(
        default="",
        description="Digest of the settings shared by every task: role prompt fingerprints, "
        "model identities and the metric.",
    )
    task_digest: str = Field(default="", description="Digest of the task's question and answer.")
    metric: str = Field(default="", description="Name of the metric that scored it.")
    score: float = Field(description="Metric score in [0, 1]; the failure score if it failed.")
    answer: str | None = Field(default=None, description="The workflow's answer.")
    expected: str | None = Field(default=None, description="The task's reference answer.")
    failed: bool = Field(default=False, description="Whether the run failed or gave no answer.")
    error: str | None = Field(default=None, description="Why it failed: type and message.")
    error_type: str | None = Field(default=None, description="Exception class name, if any.")
    transient: bool = Field(
        default=False,
        description="Whether the failure was transient (rate limit, timeout, 5xx); "
        "transient failures are evaluated again instead of being served from the store.",
    )
    usage: Usage = Field(default_factory=Usage, description="Tokens of every model call.")
    cost: float = Field(default=0.0, description="List-price dollars of every model call.")
    charged: float = Field(default=0.0, description="Dollars actually spent (cache misses).")
    calls: int = Field(default=0, description="Model calls, cached ones included.")
    cached_calls: int = Field(default=0, description="Model calls answered by the LLM cache.")
    latency_s: float = Field(default=0.0, description="Wall-clock seconds of the run.")
    trace: tuple[NodeTrace, ...] = Field(default=(), description="Every agent run, in order.")
    created_at: str = Field(default_factory=_now, description="When it finished (ISO 8601).")
    cached: bool = Field(
        default=False,
        description="True when this record was read from the store instead of evaluated now; "
        "not stored.",
    )

    @property
    def key(self) -> EvalKey:
        """The record's key."""
        return EvalKey(self.workflow, self.dataset, self.task_id, self.seed, self.settings)


class WorkflowStats(BaseModel):
    """A workflow's aggregate results on a dataset, from the store."""

    model_config = ConfigDict(frozen=True)

    workflow: str = Field(description="Content hash of the workflow spec.")
    dataset: str = Field(description="Dataset name.")
    n: int = Field(description="Evaluations counted (tasks x seeds).")
    n_tasks: int = Field(description="Distinct tasks counted.")
    mean: float = Field(description="Mean score over tasks (seeds averaged per task).")
    ci_low: float = Field(description="Lower bound of the confidence interval.")
    ci_high: float = Field(description="Upper bound of the confidence interval.")
    ci_method: str = Field(description="'wilson', 'bootstrap', or 'none' when n is 0.")
    failures: int = Field(description="Evaluations that failed.")
    mean_cost: float = Field(description="Mean list-price dollars per evaluation.")
    total_cost: float = Field(description="List-price dollars of all counted evaluations.")
    charged: float = Field(description="Dollars actually spent on them (cache misses).")
    tokens: int = Field(description="Total tokens of all counted evaluations.")
    calls: int = Field(description="Model calls of all counted evaluations.")


class CostProfile(BaseModel):
    """What one evaluation of a workflow has been seen to use; drives budget estimates."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(description="Completed evaluations observed.")
    mean_cost: float = Field(description="Mean list-price dollars per evaluation.")
    max_cost: float = Field(description="Largest list-price dollars of one evaluation.")
    max_tokens: int = Field(description="Most tokens used by one evaluation.")
    max_calls: int = Field(description="Most model calls made by one evaluation.")


class SearchRecord(BaseModel):
    """One search: its strategy, configuration, state, spend and result."""

    model_config = ConfigDict(frozen=True)

    id: int = Field(description="Row id.")
    name: str = Field(description="Unique name.")
    strategy: str = Field(description="Search strategy, e.g. 'tpe' or 'mcts'.")
    config: dict[str, Any] = Field(default_factory=dict, description="Strategy settings.")
    status: str = Field(default="running", description="'running', 'complete', 'stopped', ...")
    stop_reason: str | None = Field(default=None, description="Why it stopped, if it did.")
    spend: dict[str, Any] = Field(default_factory=dict, description="What it spent so far.")
    result: dict[str, Any] | None = Field(default=None, description="Final result, if any.")
    created_at: str = Field(description="When it was created (ISO 8601).")
    updated_at: str = Field(description="When it last changed (ISO 8601).")


class TrialRecord(BaseModel):
    """One trial of a search: a candidate workflow and what it scored."""

    model_config = ConfigDict(frozen=True)

    search_id: int = Field(description="The search it belongs to.")
    number: int = Field(description="0-based trial number within the search.")
    workflow: str | None = Field(default=None, description="Content hash of its workflow.")
    params: dict[str, Any] = Field(default_factory=dict, description="Sampled parameters.")
    values: list[float] | None = Field(default=None, description="Objective values, if done.")
    state: TrialState = Field(default="running", description="Trial state (Optuna's names).")
    user_attrs: dict[str, Any] = Field(default_factory=dict, description="Free-form attributes.")
    created_at: str = Field(description="When it was created (ISO 8601).")
    updated_at: str = Field(description="When it last changed (ISO 8601).")


# --- the LLM-call cache ------------------------------------------------------------------


def _encode_generations(value: RETURN_VAL_TYPE) -> str:
    items: list[dict[str, Any]] = []
    for generation in value:
        if isinstance(generation, ChatGeneration):
            items.append(
                {
                    "message": message_to_dict(generation.message),
                    "info": generation.generation_info,
                }
            )
        else:
            items.append({"text": generation.text, "info": generation.generation_info})
    return json.dumps(items, default=str)


def _decode_generations(text: str) -> list[Generation]:
    generations: list[Generation] = []
    for item in json.loads(text):
        if "message" in item:
            message = messages_from_dict([item["message"]])[0]
            generations.append(ChatGeneration(message=message, generation_info=item["info"]))
        else:
            generations.append(Generation(text=item["text"], generation_info=item["info"]))
    return generations


class LLMCallCache(BaseCache):
    """A langchain-core ``BaseCache`` backed by the store's ``llm_calls`` table.

    Pass it to :func:`orchestrator.deploy` (``cache=store.llm_cache()``) or set
    it as any chat model's ``cache``. Each entry is committed when written, so
    entries survive a crash and are shared between processes. The async methods
    run the query inline: a keyed SQLite lookup takes microseconds, less than a
    hop to a thread pool.
    """

    def __init__(self, store: Store) -> None:
        """Cache into ``store``."""
        self.store = store

    @staticmethod
    def _key(prompt: str, llm_string: str) -> str:
        digest = hashlib.sha256(llm_string.encode())
        digest.update(b"\x00")
        digest.update(prompt.encode())
        return digest.hexdigest()[:32]

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """The cached generations for ``prompt`` under ``llm_string``, or ``None``."""
        key = self._key(prompt, llm_string)
        for row in _HELD_CALLS.get() or ():
            if row[0] == key:
                return _decode_generations(row[3])
        with self.store.connection() as db:
            found = db.execute("SELECT response FROM llm_calls WHERE key = ?", (key,)).fetchone()
        return _decode_generations(found[0]) if found else None

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store generations; the row is committed at once."""
        row = (
            self._key(prompt, llm_string),
            llm_string,
            prompt,
            _encode_generations(return_val),
            _now(),
        )
        held = _HELD_CALLS.get()
        if held is not None:
            held.append(row)
        else:
            self.store.put_llm_calls([row])

    def clear(self, **kwargs: Any) -> None:
        """Delete every cached call."""
        with self.store.connection() as db:
            db.execute("DELETE FROM llm_calls")

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Async :meth:`lookup`."""
        return self.lookup(prompt, llm_string)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Async :meth:`update`."""
        self.update(prompt, llm_string, return_val)

    async def aclear(self, **kwargs: Any) -> None:
        """Async :meth:`clear`."""
        self.clear()

    def __len__(self) -> int:
        with self.store.connection() as db:
            return int(db.execute("SELECT count(*) FROM llm_calls").fetchone()[0])


# --- the store ---------------------------------------------------------------------------

_EVAL_COLUMNS = (
    "workflow",
    "dataset",
    "task_id",
    "seed",
    "settings",
    "score",
    "failed",
    "answer",
    "expected",
    "error",
    "error_type",
    "transient",
    "metric",
    "config",
    "task_digest",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost",
    "charged",
    "calls",
    "cached_calls",
    "latency_s",
    "trace",
    "created_at",
)
_EVAL_INSERT = (
    f"INSERT OR REPLACE INTO evaluations ({', '.join(_EVAL_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _EVAL_COLUMNS)})"
)
_KEY_WHERE = "workflow = ? AND dataset = ? AND task_id = ? AND seed = ? AND settings = ?"
_HELD_CALLS: ContextVar[list[tuple[Any, ...]] | None] = ContextVar(
    "rolegraph_held_llm_calls", default=None
)


@contextlib.contextmanager
def hold_llm_calls() -> Iterator[list[tuple[Any, ...]]]:
    """Inside the block, LLM-cache writes of this task are held instead of committed.

    The evaluator commits them together with the evaluation they belong to
    (``put_evaluation(record, calls=held)``): one transaction instead of one per
    call, and a killed run loses only what it had in flight, as before.
    """
    held: list[tuple[Any, ...]] = []
    token = _HELD_CALLS.set(held)
    try:
        yield held
    finally:
        _HELD_CALLS.reset(token)


_LLM_INSERT = (
    "INSERT OR REPLACE INTO llm_calls (key, llm_string, prompt, response, created_at)"
    " VALUES (?, ?, ?, ?, ?)"
)


def _parse_location(path_or_url: str | Path) -> tuple[str, bool]:
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


class Store:
    """The rolegraph database: workflows, evaluations, LLM calls, searches and trials.

    Safe to share between threads (each thread uses its own connection) and
    between processes (WAL mode and a busy timeout). ``":memory:"`` gives a
    private in-memory store, shared by the threads of this process.

    Args:
        path_or_url: A file path, ``"sqlite:///path"``, or ``":memory:"``.
        timeout: Seconds a writer waits for another writer's lock before failing.

    Example:
        >>> store = Store(":memory:")
        >>> store.list_searches()
        []
    """

    def __init__(self, path_or_url: str | Path = "rolegraph.db", *, timeout: float = 30.0) -> None:
        """Open (and if needed create) the database."""
        self.target, self.in_memory = _parse_location(path_or_url)
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.RLock()
        self._shared: Database | None = None
        # Weak, so a finished thread's connection closes with its thread-local storage.
        self._opened: weakref.WeakSet[Database] = weakref.WeakSet()
        if not self.in_memory:
            Path(self.target).parent.mkdir(parents=True, exist_ok=True)
        self._create_schema()

    @property
    def path(self) -> str:
        """The database file, or ``":memory:"``."""
        return self.target

    def __repr__(self) -> str:
        return f"Store({self.target!r})"

    # --- connections ---------------------------------------------------------------------

    def _open(self) -> Database:
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
    def connection(self) -> Iterator[Database]:
        """This thread's sqlite-utils ``Database`` (in-memory stores share one, under a lock)."""
        if self.in_memory:
            with self._lock:
                if self._shared is None:
                    self._shared = self._open()
                yield self._shared
            return
        local = self._local
        db: Database | None = getattr(local, "db", None)
        if db is None or local.pid != os.getpid():
            db = self._open()
            local.db, local.pid = db, os.getpid()
        yield db

    @contextlib.contextmanager
    def _write(self) -> Iterator[Database]:
        """A write transaction that takes the write lock first (no lock upgrades)."""
        with self.connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.conn.rollback()
                raise
            db.conn.commit()

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for db in list(self._opened):
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            self._opened.clear()
            self._shared = None
        self._local = threading.local()

    def __enter__(self) -> Store:
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
    def _create_tables(db: Database) -> None:
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
            },
            pk=("workflow", "dataset", "task_id", "seed", "settings"),
            not_null={"score", "failed"},
            if_not_exists=True,
        )
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
        if db.execute("PRAGMA user_version").fetchone()[0] == 0:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # --- workflows -----------------------------------------------------------------------

    def save_workflow(self, spec: WorkflowSpec) -> str:
        """Store ``spec`` under its content hash (once) and return the hash."""
        with self.connection() as db:
            db.table("workflows").insert(
                {
                    "hash": spec.hash,
                    "name": spec.name,
                    "spec": spec.to_json(indent=None),
                    "created_at": _now(),
                },
                ignore=True,
            )
        return spec.hash

    def get_workflow(self, workflow_hash: str) -> WorkflowSpec | None:
        """The spec stored under ``workflow_hash``, or ``None``."""
        with self.connection() as db:
            row = db.execute(
                "SELECT spec FROM workflows WHERE hash = ?", (workflow_hash,)
            ).fetchone()
        return WorkflowSpec.from_json(row[0]) if row else None

    def list_workflows(self) -> list[str]:
        """Hashes of every stored workflow, oldest first."""
        with self.connection() as db:
            rows = db.execute("SELECT hash FROM workflows ORDER BY created_at, hash").fetchall()
        return [row[0] for row in rows]

    # --- evaluations ---------------------------------------------------------------------

    @staticmethod
    def _eval_row(record: EvalRecord) -> tuple[Any, ...]:
        return (
            record.workflow,
            record.dataset,
            record.task_id,
            record.seed,
            record.settings,
            record.score,
            int(record.failed),
            record.answer,
            record.expected,
            record.error,
            record.error_type,
            int(record.transient),
            record.metric,
            record.config,
            record.task_digest,
            record.usage.input_tokens,
            record.usage.output_tokens,
            record.usage.total_tokens,
            record.cost,
            record.charged,
            record.calls,
            record.cached_calls,
            record.latency_s,
            _TRACE.dump_json(record.trace).decode(),
            record.created_at,
        )

    @staticmethod
    def _eval_record(row: Mapping[str, Any], *, cached: bool = False) -> EvalRecord:
        trace = row.get("trace")
        return EvalRecord(
            workflow=row["workflow"],
            dataset=row["dataset"],
            task_id=row["task_id"],
            seed=row["seed"],
            settings=row["settings"],
            config=row["config"] or "",
            task_digest=row["task_digest"] or "",
            metric=row["metric"] or "",
            score=row["score"],
            answer=row["answer"],
            expected=row["expected"],
            failed=bool(row["failed"]),
            error=row["error"],
            error_type=row["error_type"],
            transient=bool(row["transient"]),
            usage=Usage(
                input_tokens=row["input_tokens"] or 0,
                output_tokens=row["output_tokens"] or 0,
                total_tokens=row["total_tokens"] or 0,
            ),
            cost=row["cost"] or 0.0,
            charged=row["charged"] or 0.0,
            calls=row["calls"] or 0,
            cached_calls=row["cached_calls"] or 0,
            latency_s=row["latency_s"] or 0.0,
            trace=_TRACE.validate_json(trace) if trace else (),
            created_at=row["created_at"],
            cached=cached,
        )

    def put_evaluation(self, record: EvalRecord, *, calls: Sequence[tuple[Any, ...]] = ()) -> None:
        """Store (or replace) one evaluation; it is committed before this returns.

        Args:
            record: The evaluation.
            calls: LLM-cache rows held back while it ran (:func:`hold_llm_calls`),
                committed in the same transaction.
        """
        self._write_rows(
            [*((_LLM_INSERT, row) for row in calls), (_EVAL_INSERT, self._eval_row(record))]
        )

    def put_llm_calls(self, calls: Sequence[tuple[Any, ...]]) -> None:
        """Commit LLM-cache rows held back by :func:`hold_llm_calls`, in one transaction."""
        if calls:
            self._write_rows([(_LLM_INSERT, row) for row in calls])

    # --- writes ----------------------------------------------------------------------------

    def _write_rows(self, rows: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        with self._write() as db:
            for sql, row in rows:
                db.execute(sql, row)

    def get_evaluation(self, key: EvalKey | Sequence[Any]) -> EvalRecord | None:
        """The evaluation stored under ``key``, or ``None``."""
        with self.connection() as db:
            rows = list(db.query(f"SELECT * FROM evaluations WHERE {_KEY_WHERE}", tuple(key)))
        return self._eval_record(rows[0], cached=True) if rows else None

    def get_evaluations(self, keys: Iterable[EvalKey]) -> dict[EvalKey, EvalRecord]:
        """The stored evaluations among ``keys``, in one read per workflow and dataset."""
        wanted: dict[tuple[str, str], set[EvalKey]] = {}
        for key in keys:
            key = EvalKey(*key)
            wanted.setdefault((key.workflow, key.dataset), set()).add(key)
        found: dict[EvalKey, EvalRecord] = {}
        with self.connection() as db:
            for (workflow, dataset), group in wanted.items():
                rows = db.query(
                    "SELECT * FROM evaluations WHERE workflow = ? AND dataset = ?",
                    (workflow, dataset),
                )
                for row in rows:
                    key = EvalKey(workflow, dataset, row["task_id"], row["seed"], row["settings"])
                    if key in group:
                        found[key] = self._eval_record(row, cached=True)
        return found

    def evaluations(
        self,
        *,
        workflow: str | None = None,
        dataset: str | None = None,
        config: str | None = None,
        failed: bool | None = None,
        with_trace: bool = False,
    ) -> list[EvalRecord]:
        """Stored evaluations matching every given filter, oldest first."""
        where, params = self._filters(
            workflow=workflow, dataset=dataset, config=config, failed=failed
        )
        columns = "*" if with_trace else ", ".join(c for c in _EVAL_COLUMNS if c != "trace")
        sql = f"SELECT {columns} FROM evaluations{where} ORDER BY created_at, task_id, seed"
        with self.connection() as db:
            return [self._eval_record(row, cached=True) for row in db.query(sql, params)]

    def count_evaluations(self, *, workflow: str | None = None, dataset: str | None = None) -> int:
        """How many evaluations are stored, optionally for one workflow or dataset."""
        where, params = self._filters(workflow=workflow, dataset=dataset)
        with self.connection() as db:
            row = db.execute(f"SELECT count(*) FROM evaluations{where}", params).fetchone()
        return int(row[0])

    @staticmethod
    def _filters(**filters: Any) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for column, value in filters.items():
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(int(value) if isinstance(value, bool) else value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _latest_rows(
        self,
        workflow: str,
        dataset: str,
        *,
        task_ids: Iterable[str] | None,
        config: str | None,
    ) -> list[dict[str, Any]]:
        where, params = self._filters(workflow=workflow, dataset=dataset, config=config)
        sql = (
            "SELECT task_id, seed, score, failed, cost, charged, total_tokens, calls, created_at "
            f"FROM evaluations{where} ORDER BY created_at"
        )
        wanted = set(task_ids) if task_ids is not None else None
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        with self.connection() as db:
            for row in db.query(sql, params):
                if wanted is None or row["task_id"] in wanted:
                    latest[(row["task_id"], row["seed"])] = row  # newest settings win
        return list(latest.values())

    def scores(
        self,
        workflow: str,
        dataset: str,
        *,
        task_ids: Iterable[str] | None = None,
        config: str | None = None,
    ) -> dict[str, float]:
        """Per-task mean score (over seeds) of a workflow on a dataset."""
        from search.stats import task_means

        rows = self._latest_rows(workflow, dataset, task_ids=task_ids, config=config)
        return task_means((row["task_id"], row["score"]) for row in rows)

    def workflow_stats(
        self,
        workflow: str,
        dataset: str,
        *,
        task_ids: Iterable[str] | None = None,
        config: str | None = None,
        confidence: float = 0.95,
    ) -> WorkflowStats:
        """Mean score with a confidence interval, failures and cost of a workflow.

        Args:
            workflow: The workflow's hash.
            dataset: Dataset name.
            task_ids: Only these tasks; default every task it has seen.
            config: Only evaluations under these settings (``EvalRecord.config``);
                default the newest result per task and seed.
            confidence: Coverage of the interval.
        """
        from search.stats import mean_interval, task_means

        rows = self._latest_rows(workflow, dataset, task_ids=task_ids, config=config)
        per_task = task_means((row["task_id"], row["score"]) for row in rows)
        interval = mean_interval(list(per_task.values()), confidence=confidence)
        total_cost = sum(row["cost"] or 0.0 for row in rows)
        return WorkflowStats(
            workflow=workflow,
            dataset=dataset,
            n=len(rows),
            n_tasks=len(per_task),
            mean=interval.mean,
            ci_low=interval.low,
            ci_high=interval.high,
            ci_method=interval.method,
            failures=sum(1 for row in rows if row["failed"]),
            mean_cost=total_cost / len(rows) if rows else 0.0,
            total_cost=total_cost,
            charged=sum(row["charged"] or 0.0 for row in rows),
            tokens=sum(row["total_tokens"] or 0 for row in rows),
            calls=sum(row["calls"] or 0 for row in rows),
        )

    def cost_profile(self, workflow: str, *, config: str | None = None) -> CostProfile:
        """Observed per-evaluation cost of a workflow's completed evaluations."""
        where, params = self._filters(workflow=workflow, config=config, failed=False)
        sql = (
            "SELECT count(*), avg(cost), max(cost), max(total_tokens), max(calls) "
            f"FROM evaluations{where}"
        )
        with self.connection() as db:
            n, mean, top, tokens, calls = db.execute(sql, params).fetchone()
        return CostProfile(
            n=n or 0,
            mean_cost=mean or 0.0,
            max_cost=top or 0.0,
            max_tokens=tokens or 0,
            max_calls=calls or 0,
        )

    # --- LLM calls -----------------------------------------------------------------------

    def llm_cache(self) -> LLMCallCache:
        """A langchain ``BaseCache`` over this store, for ``deploy(spec, cache=...)``."""
        return LLMCallCache(self)

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
        now = _now()
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
                    _dumps(dict(config or {})),
                    now,
                    now,
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
        updates: dict[str, Any] = {"updated_at": _now()}
        if status is not None:
            updates["status"] = status
        if stop_reason is not None:
            updates["stop_reason"] = stop_reason
        if config is not None:
            updates["config"] = _dumps(dict(config))
        for column, value in (("spend", spend), ("result", result)):
            if isinstance(value, BaseModel):
                updates[column] = value.model_dump_json()
            elif value is not None:
                updates[column] = _dumps(dict(value))
        assignments = ", ".join(f"{column} = ?" for column in updates)
        with self._write() as db:
            cursor = db.execute(
                f"UPDATE searches SET {assignments} WHERE id = ?", [*updates.values(), search_id]
            )
            if cursor.rowcount == 0:
                raise KeyError(f"no search with id {search_id}")
            row = next(db.query("SELECT * FROM searches WHERE id = ?", [search_id]))
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
        now = _now()
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
                    _dumps(dict(params or {})),
                    state,
                    _dumps(dict(user_attrs or {})),
                    now,
                    now,
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
            updates: dict[str, Any] = {"updated_at": _now()}
            if values is not None:
                listed = [float(values)] if isinstance(values, int | float) else list(values)
                updates["values"] = json.dumps([float(v) for v in listed])
            if state is not None:
                updates["state"] = state
            if workflow is not None:
                updates["workflow"] = workflow
            if user_attrs is not None:
                updates["user_attrs"] = _dumps({**current.user_attrs, **user_attrs})
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
        now = _now()
        rows = [(search, key, _state_json(value), now) for key, value in items.items()]
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
        """Forget one value of ``search`` (or all of them); returns how many were removed."""
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


def get_store(store: Store | str | Path | None = None) -> Store:
    """Accept a :class:`Store`, a path or ``sqlite:///`` URL, or ``None`` (in memory)."""
    if isinstance(store, Store):
        return store
    if store is None:
        return Store(":memory:")
    if isinstance(store, str | Path):
        return Store(store)
    raise TypeError(f"expected a Store, a path or a sqlite:/// URL, got {type(store).__name__}")
