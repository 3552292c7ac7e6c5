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
import hashlib
import json
import math
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from pydantic import ConfigDict, Field
from typing_extensions import Unpack

from orchestrator.codehash import code_fingerprint
from orchestrator.deploy import DeployedWorkflow, deploy
from orchestrator.errors import BudgetExhaustedError
from orchestrator.estimate import worst_case_run
from orchestrator.models import model_fingerprint
from orchestrator.perf import tuned_gc
from orchestrator.pricing import PriceTable
from orchestrator.roles import get_role
from orchestrator.runtime import CONTEXT_KEY, CallLedger, RunContext, is_transient
from orchestrator.spec import WorkflowSpec
from orchestrator.trace import RunResult, Usage
from search.evaluation.budget import (
    Amount,
    Budget,
    BudgetLedger,
    Group,
    Spend,
    get_ledger,
)
from search.evaluation.datasets import Dataset, Task, load_dataset
from search.evaluation.executors import Executor, get_executor
from search.evaluation.metrics import Metric, MetricError, get_metric
from search.evaluation.scoring import ascore
from search.evaluation.settings import EvalOptions, EvalSettings, settings_from
from search.evaluation.stats import (
    PairedComparison,
    Scored,
    ScoreSummary,
    paired_bootstrap,
    summarize,
    task_means,
)
from search.evaluation.target import EvalTarget, TargetRunner
from search.store import EvalKey, EvalRecord, Store, get_store

__all__ = ["Evaluator", "EvalSummary", "EvalStream", "SyncEvalStream"]

T = TypeVar("T")
Evaluable = WorkflowSpec | EvalTarget
"""What an evaluator runs: a workflow spec, or another :class:`EvalTarget` (a user's graph)."""
_Deployed = DeployedWorkflow | TargetRunner

COMPLETED = "completed"
_ADMISSION_POLL_S = 0.01


class EvalSummary(Scored):
    """One workflow's results on a set of tasks: its :class:`ScoreSummary`, and what ran now.

    ``score`` covers every result, stored ones included; the other counts say
    what this evaluation ran and spent now.
    """

    model_config = ConfigDict(frozen=True)

    workflow: str = Field(description="Content hash of the workflow spec.")
    name: str = Field(description="The spec's display name.")
    dataset: str = Field(description="Dataset name.")
    metric: str = Field(description="Metric name.")
    config: str = Field(description="Digest of the evaluation settings (EvalRecord.config).")
    errors: dict[str, int] = Field(
        default_factory=dict, description="Failures counted by error type."
    )
    evaluated: int = Field(description="Evaluations run now.")
    cached: int = Field(description="Evaluations served from the store, at no cost.")
    not_run: int = Field(description="Evaluations not run because evaluation stopped early.")
    charged: float = Field(
        description="Dollars actually spent now (LLM-cache misses), runs the budget cut off "
        "included."
    )
    tokens: int = Field(description="Tokens of the runs made now (LLM-cache hits included).")
    calls: int = Field(description="Model calls that reached a model now.")
    cached_calls: int = Field(description="Model calls answered by the LLM-call cache now.")
    latency_s: float = Field(description="Mean seconds per evaluation run now.")
    wall_s: float = Field(description="Wall-clock seconds of the whole evaluation.")
    stop_reason: str = Field(
        description="'completed', or why it stopped early ('budget: ...', 'max_errors: ...')."
    )
    records: tuple[EvalRecord, ...] = Field(default=(), description="Every result, task order.")

    @property
    def n(self) -> int:
        """Results counted (tasks x seeds)."""
        return self.score.n

    @property
    def failures(self) -> int:
        """Results that failed (scored the failure score)."""
        return self.score.failures

    @property
    def cost(self) -> float:
        """List-price dollars of every result, stored ones included."""
        return self.score.cost

    def scores(self) -> dict[str, float]:
        """Per-task mean score."""
        return task_means((r.task_id, r.score) for r in self.records)


class _Item(NamedTuple):
    position: int
    task: Task
    seed: int
    key: EvalKey


_NOT_RUN = object()
_GAVE_WAY = object()


@dataclass
class _State:
    """The bookkeeping of one stream."""

    spec: Evaluable
    items: list[_Item]
    ordered: bool
    started: float = field(default_factory=time.perf_counter)
    stop_reason: str | None = None
    failures: int = 0
    records: list[EvalRecord] = field(default_factory=list)
    not_run: int = 0
    completed: int = 0
    cut_off: float = 0.0  # dollars spent on runs a refused call left without a result
    estimate: Amount | None = None
    positions: dict[str, int] = field(default_factory=dict)
    dismissed: bool = False  # the caller stopped it: it has seen enough
    next_index: int = 0  # ordered streams: the next position to hand out
    cutoff: int = 0  # ordered streams, once dismissed: positions below it still come out

    def __post_init__(self) -> None:
        for item in self.items:
            self.positions.setdefault(item.task.id, item.position)

    def stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason


class _Progress:
    """One rich progress display shared by every stream of an evaluator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._progress: Any = None

    def add(self, description: str, total: int) -> Any:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with self._lock:
            if self._progress is None:
                self._progress = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("failed {task.fields[failures]}"),
                    TextColumn("${task.fields[spent]:.4f}"),
                    TimeElapsedColumn(),
                    console=Console(stderr=True),
                )
                self._progress.start()
            self._users += 1
            return self._progress.add_task(description, total=total, failures=0, spent=0.0)

    def advance(self, task_id: Any, *, failures: int, spent: float) -> None:
        if self._progress is not None:
            self._progress.update(task_id, advance=1, failures=failures, spent=spent)

    def done(self, task_id: Any) -> None:
        with self._lock:
            self._users -= 1
            if self._progress is not None and self._users == 0:
                self._progress.stop()
                self._progress = None


class EvalStream:
    """Results of one workflow, as they finish; an async iterator of :class:`EvalRecord`.

    To give up on a candidate (a pruner), call :meth:`stop` and keep reading:
    nothing new starts, and the evaluations already running finish, are
    stored and come out, so no money is spent for nothing. :meth:`aclose`
    (or leaving ``async with``) stops at once instead, cancelling what runs.
    """

    def __init__(self, evaluator: Evaluator, state: _State) -> None:
        """Prefer :meth:`Evaluator.astream`."""
        self._evaluator = evaluator
        self._state = state
        self._generator = evaluator._generate(state)

    def __aiter__(self) -> EvalStream:
        return self

    async def __anext__(self) -> EvalRecord:
        return await self._generator.__anext__()

    def stop(self, reason: str = "stopped by the caller") -> None:
        """Start nothing new; evaluations already running still finish and come out.

        Stored results not given out yet are dropped: the caller has seen enough.
        """
        state = self._state
        state.stop(reason)
        if not state.dismissed:
            # What was running when the reader stopped: the window after the last position
            # it saw. Those results come out whether they finish now or were stored before,
            # so a stopped stream gives the same records on a rerun.
            state.cutoff = state.next_index - 1 + self._evaluator.max_concurrency
        state.dismissed = True

    async def aclose(self) -> None:
        """Stop at once: cancel running evaluations; nothing new starts."""
        self._state.stop("stopped by the caller")
        await self._generator.aclose()

    async def __aenter__(self) -> EvalStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def records(self) -> list[EvalRecord]:
        """Records yielded so far."""
        return list(self._state.records)

    @property
    def stop_reason(self) -> str | None:
        """``"completed"``, why it stopped early, or ``None`` while it runs."""
        return self._state.stop_reason

    def summary(self) -> EvalSummary:
        """Summary of the records so far."""
        return self._evaluator._summarize(self._state)


class SyncEvalStream:
    """The synchronous twin of :class:`EvalStream`: a plain iterator of records.

    It drives its own event loop; evaluations advance while the caller waits
    for the next record.
    """

    def __init__(self, stream: EvalStream) -> None:
        """Prefer :meth:`Evaluator.stream`."""
        self._stream = stream
        self._loop = asyncio.new_event_loop()

    def __iter__(self) -> SyncEvalStream:
        return self

    def __next__(self) -> EvalRecord:
        if self._loop.is_closed():
            raise StopIteration
        try:
            return self._loop.run_until_complete(self._stream.__anext__())
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None

    def close(self) -> None:
        """Stop and release the event loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._stream.aclose())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def __enter__(self) -> SyncEvalStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def records(self) -> list[EvalRecord]:
        """Records yielded so far."""
        return self._stream.records

    @property
    def stop_reason(self) -> str | None:
        """``"completed"``, why it stopped early, or ``None`` while it runs."""
        return self._stream.stop_reason

    def summary(self) -> EvalSummary:
        """Summary of the records so far."""
        return self._stream.summary()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    if _running_loop() is None:
        return asyncio.run(factory())
    # Called from inside an event loop (a notebook): run on a private loop in a thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


class Evaluator:
    """Evaluates workflows on a dataset with a metric; every strategy of a search shares one.

    Args:
        dataset: A :class:`~search.evaluation.datasets.Dataset`, a path, ``"bundled:arithmetic"``,
            or a list of task dicts.
        metric: A :class:`~search.evaluation.metrics.Metric`, a name (``"numeric"``,
            ``"exact"``, ``"f1"``) or a function ``fn(prediction, answer) -> [0, 1]``.
        store: A :class:`~search.store.Store`, a path or ``sqlite:///`` URL;
            ``None`` keeps results in memory for this evaluator's lifetime.
        budget: A :class:`~search.evaluation.budget.Budget`, or a shared
            :class:`~search.evaluation.budget.BudgetLedger`; ``None`` is unlimited.
        settings: How evaluations run (:class:`~search.evaluation.settings.EvalSettings`:
            concurrency, timeouts, retries, repetitions, ...).
        models: Chat model instances to use for model references in specs.
        prices: Price table for cost accounting.
        allow_test: Allow evaluating a test split, which is reserved for final numbers.
        executor: ``"local"`` or ``"ray"`` (``settings.executor``; with ``ray_address=``
            and the other ``ray_*`` settings), or another evaluator's executor to share
            its Ray workers (same dataset name, metric and models).
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
        **options: Unpack[EvalOptions],
    ) -> None:
        """Configure the evaluator; nothing runs yet."""
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
        # The metric enters every evaluation key by its name and its code, so an edited
        # metric re-scores (from the cached model replies) instead of serving old scores.
        self.metric_key = f"{self.metric.name}#{code_fingerprint(self.metric)}"
        check = getattr(self.metric, "check_dataset", None)
        if callable(check):
            check(self.dataset)  # e.g. code tasks without tests: refused before any call
        self.store = get_store(store)
        config = self.settings
        self.cache: BaseCache | None = self.store.llm_cache() if config.cache_calls else None
        self.max_concurrency = config.max_concurrency
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
        self._deployed: dict[str, _Deployed] = {}
        self._configs: dict[str, str] = {}
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._semaphores = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._progress = _Progress()

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

    def config_digest(self, spec: Evaluable) -> str:
        """Digest of what, besides the spec and the task, changes a result.

        It covers the fingerprints of the roles the spec uses (their prompt
        templates and output contracts), each model's fingerprint
        (:func:`orchestrator.models.model_fingerprint`: its settings, and what
        its provider says identifies it, e.g. a simulated profile), and the
        metric's name. Retries, timeouts and concurrency are left out: they
        change whether a run fails, not what a successful run answers.
        """
        cached = self._configs.get(spec.hash)
        if cached is not None:
            return cached
        if isinstance(spec, EvalTarget):
            return self._target_digest(spec)
        models = {
            ref: model_fingerprint(self.models.get(ref, ref))
            for ref in sorted({a.model for a in spec.agents if a.model is not None})
        }
        payload = {
            "roles": {r: get_role(r).fingerprint for r in sorted({a.role for a in spec.agents})},
            "models": models,
            "metric": self.metric_key,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        with self._lock:
            self._configs[spec.hash] = digest
        return digest

    def _target_digest(self, target: EvalTarget) -> str:
        """:meth:`config_digest` of a target: its identity, its models and the metric."""
        payload = {
            "target": target.identity(),
            "models": {
                ref: model_fingerprint(self.models.get(ref, ref)) for ref in sorted(target.models)
            },
            "metric": self.metric_key,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        with self._lock:
            self._configs[target.hash] = digest
        return digest

    def key(self, spec: Evaluable, task: Task, seed: int = 0) -> EvalKey:
        """The store key of ``spec`` on ``task`` with ``seed``.

        ``settings`` digests :meth:`config_digest` together with the task's
        question and answer, so an edited task or prompt is evaluated afresh.
        """
        config = self.config_digest(spec)
        settings = hashlib.sha256(f"{config}:{task.digest}".encode()).hexdigest()[:16]
        return EvalKey(spec.hash, self.dataset.name, task.id, seed, settings)

    def seeds_for(self, spec: Evaluable, seeds: Sequence[int] | None = None) -> list[int]:
        """The seeds ``spec`` is evaluated with.

        ``seeds`` as given; else one per repetition when an agent samples
        (temperature > 0); else just the first.
        """
        if seeds is not None:
            return list(dict.fromkeys(int(s) for s in seeds))
        if isinstance(spec, EvalTarget):
            sampled = spec.sampled
        else:
            sampled = any(agent.temperature > 0 for agent in spec.agents)
        count = self.repetitions if sampled else 1
        return [self.seed + i for i in range(count)]

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

    def _workflow(self, spec: Evaluable) -> _Deployed:
        deployed = self._deployed.get(spec.hash)
        if deployed is None and isinstance(spec, EvalTarget):
            deployed = spec.deploy(
                models=self.models or None,
                cache=self.cache,
                prices=self.prices,
                call_timeout=self.call_timeout,
                record_prompts=self.record_prompts,
            )
            with self._lock:
                self._deployed[spec.hash] = deployed
        elif deployed is None:
            deployed = deploy(
                spec,
                models=self.models or None,
                cache=self.cache,
                prices=self.prices,
                retry=self.retry,
                call_timeout=self.call_timeout,
                record_prompts=self.record_prompts,
            )
            with self._lock:
                self._deployed[spec.hash] = deployed
        return deployed

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
        self.executor.check(spec)  # what the executor cannot run fails here, before any spending
        self._workflow(spec)  # a spec that cannot compile fails here, before any spending
        if isinstance(spec, WorkflowSpec):
            self.store.save_workflow(spec)
        run_seeds = self.seeds_for(spec, seeds)
        items: list[_Item] = []
        for task in self._tasks(tasks):
            for seed in run_seeds:
                items.append(_Item(len(items), task, seed, self.key(spec, task, seed)))
        return EvalStream(self, _State(spec=spec, items=items, ordered=ordered))

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
        if _running_loop() is not None:
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
        return _run_sync(lambda: self.aevaluate(spec, tasks=tasks, seeds=seeds))

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
        return _run_sync(lambda: self.aevaluate_many(specs, tasks=tasks, seeds=seeds))

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

    def _emit(self, state: _State, record: EvalRecord, progress: Any) -> EvalRecord:
        state.records.append(record)
        if progress is not None:
            self._progress.advance(progress, failures=state.failures, spent=self.spent.dollars)
        return record

    async def _generate(self, state: _State) -> AsyncGenerator[EvalRecord, None]:
        with tuned_gc(enabled=self.tune_gc):
            async with contextlib.aclosing(self._records(state)) as records:
                async for record in records:
                    yield record

    async def _records(self, state: _State) -> AsyncGenerator[EvalRecord, None]:
        workflow = self._workflow(state.spec)
        stored = self.store.get_evaluations(item.key for item in state.items)
        todo: list[_Item] = []
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
            self._progress.add(state.spec.name, len(state.items)) if self.show_progress else None
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
                    future = asyncio.ensure_future(self._run_item(workflow, queue.pop(), state))
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
    def _wanted(state: _State, index: int, fresh: set[int]) -> bool:
        """Whether a result still comes out.

        Everything until the reader stops; then what was running (ordered streams:
        the window it stopped in; others: what ran now).
        """
        if not state.dismissed:
            return True
        return index < state.cutoff if state.ordered else index in fresh

    async def _run_item(
        self, workflow: _Deployed, item: _Item, state: _State
    ) -> tuple[int, EvalRecord | object]:
        async with self._semaphore():
            # After the reader stops an ordered stream, what its window had started still
            # runs (whether it got a slot yet or not): the records it gives never depend on
            # timing. Any other stop (budget, errors) starts nothing new.
            committed = state.ordered and state.dismissed and item.position < state.cutoff
            if state.stop_reason is not None and not committed:
                return item.position, _NOT_RUN
            while True:
                claim = _claim(self.store, item.key)
                if claim is not None:
                    break
                shared = await _shared(self.store, item.key)  # the same evaluation runs elsewhere
                if shared is not None:
                    return item.position, shared
            record: EvalRecord | object = _NOT_RUN
            try:
                record = await self._run_claimed(workflow, item, state)
                while record is _GAVE_WAY and state.stop_reason is None:
                    await asyncio.sleep(_ADMISSION_POLL_S)  # its paid calls are cached
                    record = await self._run_claimed(workflow, item, state)
            finally:
                _release(self.store, item.key, claim, record)
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

    async def _run_claimed(
        self, workflow: _Deployed, item: _Item, state: _State
    ) -> EvalRecord | object:
        """Run one evaluation this evaluator holds the claim on; store it and its calls."""
        found = self.store.get_final_evaluation(item.key)  # finished while we waited for it
        if found is not None:
            return found
        group = await self._admit(state)
        if group is None:
            return _NOT_RUN
        held: list[tuple[Any, ...]] = []
        stored = False
        try:
            record = await self.executor.run(self, workflow, item, group, held)
            # Committed before it counts as finished (with the others that finished now).
            await self.store.aput_evaluation(record, calls=held)
            stored = True
            return record
        except BudgetExhaustedError as exc:
            # A call was refused: the run is incomplete, so it is not a result, but what
            # it spent is spent (its answered calls are cached for a later run).
            state.cut_off += group.totals()[0]
            if exc.final:
                state.stop(self.ledger.stop_reason or f"budget: {exc}")
                return _NOT_RUN
            return _GAVE_WAY  # it made room for others: run it again once they are done
        finally:
            if held and not stored:
                self.store.put_llm_calls(held)  # answered calls are paid for: keep them
            self.ledger.finish(group)

    def _estimate(self, state: _State) -> Amount:
        if not self.ledger.budget.limited:
            return Amount()
        if state.estimate is None:
            longest = max((item.task.question for item in state.items), key=len, default="")
            if isinstance(state.spec, EvalTarget):
                state.estimate = state.spec.worst_case(
                    question=longest, models=self.models or None, prices=self.prices
                )
            else:
                state.estimate = worst_case_run(
                    state.spec, question=longest, models=self.models or None, prices=self.prices
                )
        # A model that overran its holds has them scaled up; so has what its runs reserve.
        refs: Iterable[str | None] = (
            state.spec.models
            if isinstance(state.spec, EvalTarget)
            else (a.model for a in state.spec.agents)
        )
        scale = max((self.ledger.scale(ref) for ref in refs), default=1.0)
        if scale == 1.0:
            return state.estimate
        worst = state.estimate
        return Amount(worst.dollars * scale, math.ceil(worst.tokens * scale), worst.calls, 0)

    async def _admit(self, state: _State) -> Group | None:
        while True:
            try:
                group = self.ledger.admit(self._estimate(state))
            except BudgetExhaustedError:
                state.stop(self.ledger.stop_reason or "budget: exhausted")
                return None
            if group is not None:
                return group
            # It fits once running evaluations have spent less than their estimates.
            await asyncio.sleep(_ADMISSION_POLL_S)
            if state.stop_reason is not None:
                return None

    async def _evaluate(
        self,
        workflow: _Deployed,
        item: _Item,
        ledger: CallLedger | None,
        group: Group,
    ) -> EvalRecord:
        task, spec = item.task, workflow.spec
        context = RunContext(
            seed=item.seed,
            ledger=ledger,
            record_prompts=self.record_prompts,
            task_kind=task.kind,
        )
        config: RunnableConfig = {
            "configurable": {CONTEXT_KEY: context},
            "metadata": {
                "rolegraph_workflow": spec.hash,
                "rolegraph_dataset": self.dataset.name,
                "rolegraph_task": task.id,
            },
        }
        base: dict[str, Any] = {
            "workflow": spec.hash,
            "dataset": self.dataset.name,
            "task_id": task.id,
            "seed": item.seed,
            "settings": item.key.settings,
            "config": self.config_digest(spec),
            "task_digest": task.digest,
            "metric": self.metric.name,
            "expected": task.answer,
        }
        started = time.perf_counter()
        try:
            result = await workflow.ainvoke(task.question, config=config)
        except BudgetExhaustedError:
            raise
        except Exception as exc:
            # Retries are done (LangGraph's RetryPolicy): record the failure with its error.
            dollars, tokens, calls = group.totals()
            return EvalRecord(
                **base,
                score=self.failure_score,
                failed=True,
                error=f"{type(exc).__name__}: {exc}",
                error_type=type(exc).__name__,
                transient=is_transient(exc),
                usage=Usage(total_tokens=tokens),
                cost=dollars,
                charged=dollars,
                calls=calls,
                latency_s=time.perf_counter() - started,
            )
        return await self._record(base, task, result)

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

    def _summarize(self, state: _State) -> EvalSummary:
        records = sorted(state.records, key=lambda r: (state.positions.get(r.task_id, 0), r.seed))
        fresh = [r for r in records if not r.cached]
        errors: dict[str, int] = {}
        for record in records:
            if record.failed:
                kind = record.error_type or "error"
                errors[kind] = errors.get(kind, 0) + 1
        return EvalSummary(
            workflow=state.spec.hash,
            name=state.spec.name,
            dataset=self.dataset.name,
            metric=self.metric.name,
            config=self.config_digest(state.spec),
            score=summarize(records, confidence=self.confidence),
            errors=errors,
            evaluated=len(fresh),
            cached=len(records) - len(fresh),
            not_run=state.not_run,
            charged=sum(r.charged for r in fresh) + state.cut_off,
            tokens=sum(r.usage.total_tokens for r in fresh),
            calls=sum(r.calls - r.cached_calls for r in fresh),
            cached_calls=sum(r.cached_calls for r in fresh),
            latency_s=sum(r.latency_s for r in fresh) / len(fresh) if fresh else 0.0,
            wall_s=time.perf_counter() - state.started,
            stop_reason=state.stop_reason or "running",
            records=tuple(records),
        )


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


# --- single flight: one run per evaluation key at a time, in this process ------------------

_FLIGHTS: dict[tuple[str, EvalKey], Future[EvalRecord | None]] = {}
_FLIGHTS_LOCK = threading.Lock()


def _flight(store: Store, key: EvalKey) -> tuple[str, EvalKey]:
    return store.identity, key


def _claim(store: Store, key: EvalKey) -> Future[EvalRecord | None] | None:
    """Claim the right to run ``key``; ``None`` if another evaluator is running it now."""
    flight = _flight(store, key)
    with _FLIGHTS_LOCK:
        if flight in _FLIGHTS:
            return None
        future: Future[EvalRecord | None] = Future()
        _FLIGHTS[flight] = future
        return future


async def _shared(store: Store, key: EvalKey) -> EvalRecord | None:
    """Wait for the evaluator running ``key`` and share its record (``None``: it has none)."""
    with _FLIGHTS_LOCK:
        future = _FLIGHTS.get(_flight(store, key))
    if future is None:
        return None
    try:
        record = await asyncio.wrap_future(future)
    except Exception:
        return None
    return record.model_copy(update={"cached": True}) if record is not None else None


def _release(store: Store, key: EvalKey, claim: Future[EvalRecord | None], result: object) -> None:
    with _FLIGHTS_LOCK:
        _FLIGHTS.pop(_flight(store, key), None)
    claim.set_result(result if isinstance(result, EvalRecord) else None)
