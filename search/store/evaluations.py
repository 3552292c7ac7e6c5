"""Workflows and evaluations in the store: written once, read back by key, as rows.

The store keeps rows; statistics over them belong to the evaluation layer
(:mod:`search.evaluation.stats`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import TypeAdapter

from orchestrator.spec import WorkflowSpec
from orchestrator.trace import NodeTrace, Usage
from search.store.cache import LLM_INSERT, LLMCallCache
from search.store.database import StoreBase
from search.store.records import CostProfile, EvalKey, EvalRecord, now

__all__ = ["Evaluations", "ScoreRow"]

_TRACE = TypeAdapter(tuple[NodeTrace, ...])
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
    "owner",
)
_EVAL_INSERT = (
    f"INSERT OR REPLACE INTO evaluations ({', '.join(_EVAL_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _EVAL_COLUMNS)})"
)
_KEY_WHERE = "workflow = ? AND dataset = ? AND task_id = ? AND seed = ? AND settings = ?"


class ScoreRow(NamedTuple):
    """The newest stored result of one workflow on one task and seed (no trace)."""

    task_id: str
    seed: int
    score: float
    failed: bool
    cost: float
    charged: float
    tokens: int
    calls: int


class Evaluations(StoreBase):
    """The store's workflows, evaluations and LLM-call cache."""

    # --- workflows -----------------------------------------------------------------------

    def save_workflow(self, spec: WorkflowSpec) -> str:
        """Store ``spec`` under its content hash (once) and return the hash."""
        with self.connection() as db:
            db.table("workflows").insert(
                {
                    "hash": spec.hash,
                    "name": spec.name,
                    "spec": spec.to_json(indent=None),
                    "created_at": now(),
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
            record.owner,
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
            owner=row.get("owner") or "",
            cached=cached,
        )

    def put_evaluation(self, record: EvalRecord, *, calls: Sequence[tuple[Any, ...]] = ()) -> None:
        """Store (or replace) one evaluation; it is committed before this returns.

        Args:
            record: The evaluation.
            calls: LLM-cache rows held back while it ran (:func:`hold_llm_calls`),
                committed in the same transaction.
        """
        self.write_rows(
            [*((LLM_INSERT, row) for row in calls), (_EVAL_INSERT, self._eval_row(record))]
        )

    async def aput_evaluation(
        self, record: EvalRecord, *, calls: Sequence[tuple[Any, ...]] = ()
    ) -> None:
        """Async :meth:`put_evaluation`: committed before this returns.

        It is committed with the other evaluations that finished in the same turn
        of the event loop (:class:`~search.store.database.GroupCommit`).
        """
        await self.group_commit.awrite(
            [*((LLM_INSERT, row) for row in calls), (_EVAL_INSERT, self._eval_row(record))]
        )

    def put_llm_calls(self, calls: Sequence[tuple[Any, ...]]) -> None:
        """Commit LLM-cache rows held back by :func:`hold_llm_calls`, in one transaction."""
        if calls:
            self.write_rows([(LLM_INSERT, row) for row in calls])

    def get_evaluation(self, key: EvalKey | Sequence[Any]) -> EvalRecord | None:
        """The evaluation stored under ``key``, or ``None``."""
        with self.connection() as db:
            rows = list(db.query(f"SELECT * FROM evaluations WHERE {_KEY_WHERE}", tuple(key)))
        return self._eval_record(rows[0], cached=True) if rows else None

    def get_final_evaluation(self, key: EvalKey | Sequence[Any]) -> EvalRecord | None:
        """The evaluation stored under ``key`` unless it is missing or a transient failure.

        A cheap probe first: on the path of every new evaluation, which is usually missing.
        """
        with self.connection() as db:
            found = db.conn.execute(
                f"SELECT transient, failed FROM evaluations WHERE {_KEY_WHERE}", tuple(key)
            ).fetchone()
        if found is None or (found[0] and found[1]):
            return None
        return self.get_evaluation(key)

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

    def score_rows(
        self,
        workflow: str,
        dataset: str,
        *,
        task_ids: Iterable[str] | None = None,
        config: str | None = None,
    ) -> list[ScoreRow]:
        """The newest result per task and seed of a workflow on a dataset, oldest first.

        Args:
            workflow: The workflow's hash.
            dataset: Dataset name.
            task_ids: Only these tasks; default every task it has seen.
            config: Only evaluations under these settings (``EvalRecord.config``);
                default the newest result per task and seed, whatever its settings.
        """
        where, params = self._filters(workflow=workflow, dataset=dataset, config=config)
        sql = (
            "SELECT task_id, seed, score, failed, cost, charged, total_tokens, calls "
            f"FROM evaluations{where} ORDER BY created_at"
        )
        wanted = set(task_ids) if task_ids is not None else None
        latest: dict[tuple[str, int], ScoreRow] = {}
        with self.connection() as db:
            for task_id, seed, score, failed, cost, charged, tokens, calls in db.execute(
                sql, params
            ).fetchall():
                if wanted is None or task_id in wanted:
                    latest[(task_id, seed)] = ScoreRow(  # newest settings win
                        task_id,
                        seed,
                        score,
                        bool(failed),
                        cost or 0.0,
                        charged or 0.0,
                        tokens or 0,
                        calls or 0,
                    )
        return list(latest.values())

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
