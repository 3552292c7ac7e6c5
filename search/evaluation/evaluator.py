"""The evaluation harness: run workflows on tasks, concurrently, cached, budgeted and resumable.

Every result goes through the store. An evaluation whose key is already
stored is served from it at no cost and with no model call; every new one is
committed the moment it finishes, so a killed run resumes where it stopped.
Model calls go through the store's LLM-call cache too, so even the calls of an
evaluation that was cut off are not paid for twice.

Example:
    >>> from search import Evaluator, bundled_dataset
    >>> from topologies import single
    >>> data = bundled_dataset("arithmetic", n=20)
    >>> ev = Evaluator(data, "numeric", store="runs.db")  # doctest: +SKIP
    >>> summary = ev.evaluate(single(model="sim:atlas-mini"))  # doctest: +SKIP
    >>> summary.mean, summary.ci_low, summary.charged  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from typing_extensions import Unpack

from orchestrator.budget import Budget, BudgetLedger, Group, Spend, get_ledger
from orchestrator.concurrency import ModelConcurrency
from orchestrator.deploy import RunInput
from orchestrator.errors import BudgetExhaustedError
from orchestrator.metering import CallLedger
from orchestrator.perf import tuned_gc
from orchestrator.pricing import PriceTable
from orchestrator.runtime import CONTEXT_KEY, RunContext, is_transient
from orchestrator.trace import RunResult, Usage
from search.evaluation import flights
from search.evaluation.admission import POLL_S, Admission
from search.evaluation.datasets import Dataset, Task, load_dataset
from search.evaluation.executors import Executor, get_executor
from search.evaluation.jobs import EvalJob
from search.evaluation.keys import EvalKeys
from search.evaluation.metrics import Metric, MetricError, get_metric
from search.evaluation.scoring import ascore
from search.evaluation.settings import EvalOptions, EvalSettings, settings_from
from search.evaluation.stats import (
    PairedComparison,
    ScoreSummary,
    paired_bootstrap,
    summarize,
    task_means,
)
from search.evaluation.streams import (
    COMPLETED,
    EvalStream,
    EvalSummary,
    Progress,
    StreamState,
    SyncEvalStream,
    run_sync,
    running_loop,
)
from search.evaluation.target import EvalTarget, Evaluable, TargetRunner, as_target
from search.store import EvalKey, EvalRecord, Store, get_store

__all__ = ["Evaluator", "EvalSummary", "EvalStream", "SyncEvalStream"]

T = TypeVar("T")


_NOT_RUN = object()
_GAVE_WAY = object()


class Evaluator:
    """Evaluates workflows on a dataset with a metric; every strategy of a search shares one.

    Args:
        dataset: A :class:`~search.evaluation.datasets.Dataset`, a path, ``"bundled:arithmetic"``,
            or a list of task dicts.
        metric: A :class:`~search.evaluation.metrics.Metric`, a name (``"numeric"``,
            ``"exact"``, ``"f1"``) or a function ``fn(prediction, answer) -> [0, 1]``.
        store: A :class:`~search.store.Store`, a path or ``sqlite:///`` URL;
            ``None`` keeps results in memory for this evaluator's lifetime.
        budget: A :class:`~orchestrator.budget.Budget`, or a shared
            :class:`~orchestrator.budget.BudgetLedger`; ``None`` is unlimited.
        settings: How evaluations run (:class:`~search.evaluation.settings.EvalSettings`:
            concurrency, timeouts, retries, repetitions, ...).
        models: Chat model instances to use for model references in specs.
        prices: Price table for cost accounting.
        allow_test: Allow evaluating a test split, which is reserved for final numbers.
        executor: ``"local"`` or ``"ray"`` (``settings.executor``; with ``ray_address=``
            and the other ``ray_*`` settings), or another evaluator's executor to share
            its Ray workers (same dataset name, metric and models).
        concurrency: Each model's adaptive limit on calls at once: another evaluator's
            (:attr:`concurrency`, to share it), or caps per model reference (a pool
            entry's ``max_concurrency``) under ``max_concurrency``.
        owner: Who pays for what this evaluator runs (a search's ``search:NAME``): its
            records carry it, so a search sharing the store tells its own work from
            results another search paid for.
        **options: Any field of ``EvalSettings`` or its ``RetrySettings`` as a plain
            keyword, e.g. ``max_concurrency=32, call_timeout=None, max_retries=5``.

    Raises:
        SettingsError: A setting is out of range or unknown.
        ValueError: The dataset is a test split and ``allow_test`` is false.
    """

    def __init__(
        self,
        dataset: Dataset | str | Path | Iterable[Mapping[str, Any]],
        metric: Metric | str | Callable[..., Any] = "exact",
        *,
        store: Store | str | Path | None = None,
        budget: Budget | BudgetLedger | None = None,
        settings: EvalSettings | None = None,
        models: Mapping[str, BaseChatModel] | None = None,
        prices: PriceTable | None = None,
        allow_test: bool = False,
        executor: Executor | Literal["local", "ray"] | None = None,
        concurrency: ModelConcurrency | Mapping[str, int] | None = None,
        owner: str = "",
        **options: Unpack[EvalOptions],
    ) -> None:
        """Configure the evaluator; nothing runs yet."""
        self.owner = owner
        chosen = {"executor": executor} if isinstance(executor, str) else {}
        if isinstance(executor, str):
            executor = None
        self.settings = settings_from(settings, **options, **chosen)
        self.dataset = load_dataset(dataset)
        if self.dataset.partition == "test" and not allow_test:
            raise ValueError(
                "this is the test split, reserved for the final report; evaluate the train or "
                "validation split, or pass allow_test=True for the final numbers"
            )
        self.metric = get_metric(metric)
        check = getattr(self.metric, "check_dataset", None)
        if callable(check):
            check(self.dataset)  # e.g. code tasks without tests: refused before any call
        self.store = get_store(store)
        config = self.settings
        self.cache: BaseCache | None = self.store.llm_cache() if config.cache_calls else None
        self.max_concurrency = config.max_concurrency
        if not isinstance(concurrency, ModelConcurrency):
            concurrency = ModelConcurrency(self.max_concurrency, per_model=concurrency)
        self.concurrency = concurrency
        """Each model's adaptive limit on calls at once, capped by ``max_concurrency``."""
        self.call_timeout = config.call_timeout
        self.retry = config.retry.policy()
        self.max_errors = config.max_errors
        self.failure_score = config.failure_score
        self.ledger = get_ledger(budget) or BudgetLedger()
        self.repetitions = config.repetitions
        self.seed = config.seed
        self.models = dict(models or {})
        self.prices = prices
        self.record_prompts = config.record_prompts
        self.show_progress = config.show_progress
        self.confidence = config.confidence
        self.tune_gc = config.tune_gc
        # Where workflows run (this process, or Ray workers); see search.evaluation.executors.
        self.executor: Executor = executor or get_executor(config)
        self._deployed: dict[str, TargetRunner] = {}
        self.keys = EvalKeys(
            dataset=self.dataset.name,
            metric=self.metric,
            models=self.models,
            repetitions=config.repetitions,
            seed=config.seed,
        )
        self.admission = Admission(self.ledger, models=self.models, prices=prices)
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._semaphores = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._progress = Progress()

    def __repr__(self) -> str:
        return (
            f"Evaluator(dataset={self.dataset.name!r}, metric={self.metric.name!r}, "
            f"store={self.store!r})"
        )

    def close(self) -> None:
        """Release the executor's workers (Ray actors); the store stays open."""
        self.executor.close()

    # --- identity ----------------------------------------------------------------------

    @property
    def spent(self) -> Spend:
        """What this evaluator's ledger has spent (shared ledgers: everyone's)."""
        return self.ledger.spent

    @property
    def metric_key(self) -> str:
        """The metric as results are keyed: its name and its code's fingerprint."""
        return self.keys.metric_key

    def config_digest(self, spec: Evaluable) -> str:
        """Digest of what, besides the candidate and the task, changes a result.

        See :meth:`search.evaluation.keys.EvalKeys.config_digest`.
        """
        return self.keys.config_digest(spec)

    def key(self, spec: Evaluable, task: Task, seed: int = 0) -> EvalKey:
        """The store key of ``spec`` on ``task`` with ``seed``."""
        return self.keys.key(spec, task, seed)

    def seeds_for(self, spec: Evaluable, seeds: Sequence[int] | None = None) -> list[int]:
        """The seeds ``spec`` is evaluated with (one per repetition when it samples)."""
        return self.keys.seeds_for(spec, seeds)

    def _tasks(self, tasks: Dataset | Sequence[Task | str] | None) -> list[Task]:
        if tasks is None:
            return list(self.dataset.tasks)
        if isinstance(tasks, Dataset):
            if tasks.partition == "test" and self.dataset.partition != "test":
                raise ValueError(
                    "these tasks are the test split, reserved for the final report; build an "
                    "Evaluator on it with allow_test=True for the final numbers"
                )
            if tasks.name != self.dataset.name:
                raise ValueError(
                    f"tasks come from dataset {tasks.name!r}, but this evaluator scores "
                    f"{self.dataset.name!r}"
                )
            return list(tasks.tasks)
        resolved = []
        for task in tasks:
            if isinstance(task, str):
                resolved.append(self.dataset.get(task))
            else:
                resolved.append(task)
        return resolved

    def _runner(self, target: EvalTarget) -> TargetRunner:
        """``target`` deployed once per hash (a spec compiled), shared by its evaluations."""
        runner = self._deployed.get(target.hash)
        if runner is None:
            runner = target.deploy(
                models=self.models or None,
                cache=self.cache,
                prices=self.prices,
                call_timeout=self.call_timeout,
                record_prompts=self.record_prompts,
                retry=self.retry,
                concurrency=self.concurrency,
            )
            with self._lock:
                self._deployed[target.hash] = runner
        return runner

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.max_concurrency)
        return semaphore

    # --- streaming ---------------------------------------------------------------------

    def astream(
        self,
        spec: Evaluable,
        *,
        tasks: Dataset | Sequence[Task | str] | None = None,
        seeds: Sequence[int] | None = None,
        ordered: bool = False,
    ) -> EvalStream:
        """Evaluate ``spec``, yielding each :class:`EvalRecord` as it finishes.

        Stored results come first, at no cost. With ``ordered=True`` records come
        in task order (then seed order), for pruners that need a fixed order;
        otherwise in completion order.

        Args:
            spec: The workflow.
            tasks: A subset of the dataset (tasks, ids, or a subset dataset); all by default.
            seeds: Explicit seeds; default :meth:`seeds_for`.
            ordered: Yield in task order instead of completion order.
        """
        target = as_target(spec)
        self.executor.check(target)  # what the executor cannot run fails here, before spending
        self._runner(target)  # a spec that cannot compile fails here, before any spending
        target.persist(self.store)
        config = self.config_digest(target)
        jobs: list[EvalJob] = []
        for task in self._tasks(tasks):
            for seed in self.seeds_for(target, seeds):
                key = self.key(target, task, seed)
                jobs.append(EvalJob(len(jobs), target, task, seed, key, config))
        state = StreamState(target=target, items=jobs, ordered=ordered)
        return EvalStream(
            state, self._generate(state), self._summarize, window=self.max_concurrency
        )

    def stream(
        self,
        spec: Evaluable,
        *,
        tasks: Dataset | Sequence[Task | str] | None = None,
        seeds: Sequence[int] | None = None,
        ordered: bool = False,
    ) -> SyncEvalStream:
        """Synchronous :meth:`astream`.

        Raises:
            RuntimeError: Called inside a running event loop; use :meth:`astream`.
        """
        if running_loop() is not None:
            raise RuntimeError("stream() cannot run inside an event loop; use astream()")
        return SyncEvalStream(self.astream(spec, tasks=tasks, seeds=seeds, ordered=ordered))

    async def aevaluate(
        self,
        spec: Evaluable,
        *,
        tasks: Dataset | Sequence[Task | str] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> EvalSummary:
        """Evaluate ``spec`` on every task and return the summary."""
        stream = self.astream(spec, tasks=tasks, seeds=seeds)
        async with stream:
            async for _ in stream:
                pass
        return stream.summary()

    def evaluate(
        self,
        spec: Evaluable,
        *,
        tasks: Dataset | Sequence[Task | str] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> EvalSummary:
        """Synchronous :meth:`aevaluate`."""
        return run_sync(lambda: self.aevaluate(spec, tasks=tasks, seeds=seeds))

    async def aevaluate_many(
        self,
        specs: Sequence[Evaluable],
        *,
        tasks: Dataset | Sequence[Task | str] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> list[EvalSummary]:
        """Evaluate several workflows at once, sharing ``max_concurrency`` and the budget."""
        return list(
            await asyncio.gather(*(self.aevaluate(s, tasks=tasks, seeds=seeds) for s in specs))
        )

    def evaluate_many(
        self,
        specs: Sequence[Evaluable],
        *,
        tasks: Dataset | Sequence[Task | str] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> list[EvalSummary]:
        """Synchronous :meth:`aevaluate_many`."""
        return run_sync(lambda: self.aevaluate_many(specs, tasks=tasks, seeds=seeds))

    # --- reading back ------------------------------------------------------------------

    def stats(self, spec: Evaluable, *, tasks: Sequence[Task | str] | None = None) -> ScoreSummary:
        """Stored mean, interval and cost of ``spec`` under this evaluator's settings."""
        task_ids = None if tasks is None else [t.id for t in self._tasks(tasks)]
        rows = self.store.score_rows(
            spec.hash, self.dataset.name, task_ids=task_ids, config=self.config_digest(spec)
        )
        return summarize(rows, confidence=self.confidence)

    def scores(
        self, spec: Evaluable, *, tasks: Sequence[Task | str] | None = None
    ) -> dict[str, float]:
        """Stored per-task mean score of ``spec`` (seeds averaged) under these settings."""
        task_ids = None if tasks is None else [t.id for t in self._tasks(tasks)]
        rows = self.store.score_rows(
            spec.hash, self.dataset.name, task_ids=task_ids, config=self.config_digest(spec)
        )
        return task_means((row.task_id, row.score) for row in rows)

    def compare(
        self,
        a: Evaluable,
        b: Evaluable,
        *,
        tasks: Sequence[Task | str] | None = None,
        n_resamples: int = 10_000,
        seed: int = 0,
    ) -> PairedComparison:
        """Paired bootstrap of ``a - b`` on the tasks both have stored results for."""
        return paired_bootstrap(
            self.scores(a, tasks=tasks),
            self.scores(b, tasks=tasks),
            confidence=self.confidence,
            n_resamples=n_resamples,
            seed=seed,
        )

    # --- the engine --------------------------------------------------------------------

    def _emit(self, state: StreamState, record: EvalRecord, progress: Any) -> EvalRecord:
        state.records.append(record)
        if progress is not None:
            self._progress.advance(progress, failures=state.failures, spent=self.spent.dollars)
        return record

    async def _generate(self, state: StreamState) -> AsyncGenerator[EvalRecord, None]:
        with tuned_gc(enabled=self.tune_gc):
            async with contextlib.aclosing(self._records(state)) as records:
                async for record in records:
                    yield record

    async def _records(self, state: StreamState) -> AsyncGenerator[EvalRecord, None]:
        stored = self.store.get_evaluations(item.key for item in state.items)
        todo: list[EvalJob] = []
        ready: dict[int, EvalRecord | object] = {}
        # Once the caller stops the stream, stored results not given out yet are dropped:
        # they cost nothing, but it has seen enough and an isolated search must not count
        # them. After a budget stop they still come out, free.
        fresh: set[int] = set()
        for item in state.items:
            record = stored.get(item.key)
            # Transient failures (rate limits, timeouts) are worth another try.
            if record is not None and not (record.failed and record.transient):
                if record.failed:
                    record = record.model_copy(update={"score": self.failure_score})
                ready[item.position] = record
            else:
                todo.append(item)
        progress = (
            self._progress.add(state.target.name, len(state.items)) if self.show_progress else None
        )
        pending: set[asyncio.Future[tuple[int, EvalRecord | object]]] = set()
        finished: asyncio.Queue[asyncio.Future[tuple[int, EvalRecord | object]]]
        finished = asyncio.Queue()
        queue = list(reversed(todo))
        try:
            if not state.ordered:
                for index in sorted(ready):
                    if state.dismissed:
                        break
                    yield self._emit(state, ready[index], progress)  # type: ignore[arg-type]
                ready.clear()
            while True:
                while state.stop_reason is None and queue and len(pending) < self.max_concurrency:
                    # An ordered stream runs at most a window ahead of what its reader has
                    # seen, so where a reader stops it depends on the results, not on timing.
                    if (
                        state.ordered
                        and queue[-1].position >= state.next_index + self.max_concurrency
                    ):
                        break
                    future = asyncio.ensure_future(self._run_item(queue.pop(), state))
                    future.add_done_callback(finished.put_nowait)
                    pending.add(future)
                if state.ordered and state.next_index in ready:
                    index = state.next_index
                    result = ready.pop(index)
                    state.next_index += 1
                    if isinstance(result, EvalRecord) and self._wanted(state, index, fresh):
                        yield self._emit(state, result, progress)
                    continue
                if not pending:
                    break
                done = [await finished.get()]
                while not finished.empty():
                    done.append(finished.get_nowait())
                pending.difference_update(done)
                for index, result in sorted((future.result() for future in done), key=_first):
                    if not isinstance(result, EvalRecord):
                        state.not_run += 1
                    if state.ordered:
                        ready[index] = result
                        fresh.add(index)
                    elif isinstance(result, EvalRecord):
                        yield self._emit(state, result, progress)
            state.not_run += len(queue)
            for index in sorted(ready):
                result = ready[index]
                if isinstance(result, EvalRecord) and self._wanted(state, index, fresh):
                    yield self._emit(state, result, progress)
            state.stop(COMPLETED)
        finally:
            for running in pending:
                running.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            if progress is not None:
                self._progress.done(progress)

    @staticmethod
    def _wanted(state: StreamState, index: int, fresh: set[int]) -> bool:
        """Whether a result still comes out.

        Everything until the reader stops; then what was running (ordered streams:
        the window it stopped in; others: what ran now).
        """
        if not state.dismissed:
            return True
        return index < state.cutoff if state.ordered else index in fresh

    async def _run_item(
        self, item: EvalJob, state: StreamState
    ) -> tuple[int, EvalRecord | object]:
        async with self._semaphore():
            # After the reader stops an ordered stream, what its window had started still
            # runs (whether it got a slot yet or not): the records it gives never depend on
            # timing. Any other stop (budget, errors) starts nothing new.
            committed = state.ordered and state.dismissed and item.position < state.cutoff
            if state.stop_reason is not None and not committed:
                return item.position, _NOT_RUN
            while True:
                claim = flights.claim(self.store, item.key)
                if claim is not None:
                    break
                shared = await flights.shared(
                    self.store, item.key
                )  # the same evaluation runs elsewhere
                if shared is not None:
                    return item.position, shared
            record: EvalRecord | object = _NOT_RUN
            try:
                record = await self._run_claimed(item, state)
                while record is _GAVE_WAY and state.stop_reason is None:
                    await asyncio.sleep(POLL_S)  # its paid calls are cached
                    record = await self._run_claimed(item, state)
            finally:
                flights.release(self.store, item.key, claim, record)
            if record is _GAVE_WAY:
                record = _NOT_RUN
        if not isinstance(record, EvalRecord):
            return item.position, record
        state.completed += 1
        if record.failed:
            state.failures += 1
            if self.max_errors is not None and state.failures >= self.max_errors:
                state.stop(
                    f"max_errors: {state.failures} evaluations failed "
                    f"(max_errors={self.max_errors})"
                )
        return item.position, record

    async def _run_claimed(self, item: EvalJob, state: StreamState) -> EvalRecord | object:
        """Run one evaluation this evaluator holds the claim on; store it and its calls."""
        found = self.store.get_final_evaluation(item.key)  # finished while we waited for it
        if found is not None:
            return found
        group = await self.admission.admit(state)
        if group is None:
            return _NOT_RUN
        held: list[tuple[Any, ...]] = []
        stored = False
        try:
            record = await self.executor.run(item, self, group, held)
            if self.owner:
                record = record.model_copy(update={"owner": self.owner})
            # Committed before it counts as finished (with the others that finished now).
            await self.store.aput_evaluation(record, calls=held)
            stored = True
            return record
        except BudgetExhaustedError as exc:
            # A call was refused: the run is incomplete, so it is not a result, but what
            # it spent is spent (its answered calls are cached for a later run).
            if exc.final:
                state.stop(self.ledger.stop_reason or f"budget: {exc}")
                return _NOT_RUN
            return _GAVE_WAY  # it made room for others: run it again once they are done
        finally:
            if held and not stored:
                self.store.put_llm_calls(held)  # answered calls are paid for: keep them
            if not stored:
                state.unfinished += group.spent.model_copy(update={"evaluations": 1})
            self.ledger.finish(group)

    def _base(self, job: EvalJob) -> dict[str, Any]:
        """The fields every record of ``job`` carries, whatever its outcome."""
        task = job.task
        return {
            "workflow": job.target.hash,
            "dataset": self.dataset.name,
            "task_id": task.id,
            "seed": job.seed,
            "settings": job.key.settings,
            "config": job.config,
            "task_digest": task.digest,
            "metric": self.metric.name,
            "expected": task.answer,
        }

    def failed_record(
        self, job: EvalJob, *, error: str, error_type: str, **fields: Any
    ) -> EvalRecord:
        """The record of a ``job`` that did not finish: ``error`` says why."""
        return EvalRecord(
            **self._base(job),
            score=self.failure_score,
            failed=True,
            error=error,
            error_type=error_type,
            **fields,
        )

    async def run_job(self, job: EvalJob, ledger: CallLedger | None, group: Group) -> EvalRecord:
        """Run one admitted evaluation and score it; executors call this.

        Its model calls hold their worst case on ``ledger``, inside ``group`` (the
        evaluation's admission). A failure after retries is a failed record.

        Raises:
            BudgetExhaustedError: A call did not fit; the run is incomplete.
        """
        task = job.task
        runner = self._runner(job.target)
        context = RunContext(
            seed=job.seed,
            ledger=ledger,
            record_prompts=self.record_prompts,
            task_kind=task.kind,
        )
        config: RunnableConfig = {
            "configurable": {CONTEXT_KEY: context},
            "metadata": {
                "rolegraph_workflow": job.target.hash,
                "rolegraph_dataset": self.dataset.name,
                "rolegraph_task": task.id,
            },
        }
        started = time.perf_counter()
        try:
            result = await runner.ainvoke(_run_input(task), config=config)
        except BudgetExhaustedError:
            raise
        except Exception as exc:
            # Retries are done (LangGraph's RetryPolicy): record the failure with its error.
            dollars, tokens, calls = group.totals()
            return self.failed_record(
                job,
                error=f"{type(exc).__name__}: {exc}",
                error_type=type(exc).__name__,
                transient=is_transient(exc),
                usage=Usage(total_tokens=tokens),
                cost=dollars,
                charged=dollars,
                calls=calls,
                latency_s=time.perf_counter() - started,
            )
        return await self._record(self._base(job), task, result)

    async def _record(self, base: dict[str, Any], task: Task, result: RunResult) -> EvalRecord:
        answer = result.answer
        fields: dict[str, Any] = {
            "answer": answer,
            "usage": result.usage,
            "cost": result.cost,
            "charged": result.charged,
            "calls": result.calls,
            "cached_calls": result.cached_calls,
            "latency_s": result.latency_s,
            "trace": result.nodes,
        }
        if answer is None or not answer.strip():
            problems = [f"{n.agent}: {n.parse_error}" for n in result.nodes if n.parse_error]
            reason = "; ".join(problems) if problems else "the exit agent gave no answer"
            return EvalRecord(
                **base,
                **fields,
                score=self.failure_score,
                failed=True,
                error=f"NoAnswer: {reason}",
                error_type="NoAnswer",
            )
        # Awaited: a metric that runs code does so in a subprocess while other evaluations go on.
        try:
            scored = await ascore(self.metric, answer, task)
            if not 0.0 <= scored.score <= 1.0:  # NaN too
                raise MetricError(f"it returned {scored.score!r}, not a score in [0, 1]")
        except Exception as exc:
            # The run is paid for: keep it, its calls and its answer, as a metric failure.
            return EvalRecord(
                **base,
                **fields,
                score=self.failure_score,
                failed=True,
                error=f"MetricError: metric {self.metric.name!r} failed on this answer: {exc}",
                error_type="MetricError",
            )
        explained = scored.reason is not None and scored.score < 1.0
        return EvalRecord(
            **base,
            **fields,
            score=float(scored.score),
            error=scored.reason if explained else None,  # why it lost points; not a failure
            error_type=(scored.outcome or "scored") if explained else None,
        )

    def _summarize(self, state: StreamState) -> EvalSummary:
        records = sorted(state.records, key=lambda r: (state.positions.get(r.task_id, 0), r.seed))
        fresh = [r for r in records if not r.cached]
        errors: dict[str, int] = {}
        for record in records:
            if record.failed:
                kind = record.error_type or "error"
                errors[kind] = errors.get(kind, 0) + 1
        return EvalSummary(
            workflow=state.target.hash,
            name=state.target.name,
            dataset=self.dataset.name,
            metric=self.metric.name,
            config=self.config_digest(state.target),
            score=summarize(records, confidence=self.confidence),
            errors=errors,
            evaluated=len(fresh),
            cached=len(records) - len(fresh),
            not_run=state.not_run,
            charged=sum(r.charged for r in fresh) + state.unfinished.dollars,
            tokens=sum(r.usage.total_tokens for r in fresh) + state.unfinished.tokens,
            calls=sum(r.calls - r.cached_calls for r in fresh) + state.unfinished.calls,
            cached_calls=sum(r.cached_calls for r in fresh),
            latency_s=sum(r.latency_s for r in fresh) / len(fresh) if fresh else 0.0,
            wall_s=time.perf_counter() - state.started,
            stop_reason=state.stop_reason or "running",
            records=tuple(records),
        )


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def _run_input(task: Task) -> RunInput:
    """What a run is given: the question, with a LangSmith example's ``inputs`` beside it."""
    inputs = task.metadata.get("inputs")
    if isinstance(inputs, Mapping):
        return {"question": task.question, "inputs": dict(inputs)}
    return task.question
