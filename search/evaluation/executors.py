"""Where evaluations run: in this process, or on Ray workers.

The evaluator always keeps what must stay consistent: the strategy's view of
results, the store, the budget ledger and the LLM-call cache. An executor only
runs one admitted evaluation (a workflow on a task, scored by the metric) and
hands back its record and the model calls it made.

- :class:`LocalExecutor` runs it on this process's event loop.
- :class:`RayExecutor` (``EvalSettings(executor="ray")``, ``pip install
  'rolegraph[ray]'``) sends it to a pool of Ray actors. Each actor compiles a
  workflow once per spec hash and runs it under a ledger of its own whose
  limit is the reservation the evaluation was admitted with here, so a worker
  can never spend more than its hold. It returns the record, what its calls
  spent and their LLM-cache rows; the evaluator commits them and settles the
  budget. A worker that dies is restarted by Ray and its evaluation run again
  (``ray_max_retries``), inside the same reservation, and settled once. Workers
  read the call cache through one reader actor on this node (file stores
  only), so calls the store has answered are free on the cluster too.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import importlib
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache

from orchestrator.budget import Amount, Budget, BudgetLedger, Group, Spend
from orchestrator.errors import BudgetExhaustedError, MissingIntegrationError
from orchestrator.pricing import PriceTable
from search.errors import SettingsError
from search.evaluation.jobs import EvalJob, JobHost
from search.evaluation.target import EvalTarget
from search.store import EvalRecord, Store, hold_llm_calls
from search.store.cache import held_lookup, llm_key

if TYPE_CHECKING:
    from search.evaluation.settings import EvalSettings

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "get_executor", "import_ray"]

_INSTALL = "pip install 'rolegraph[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or an error that says how to install it.

    Raises:
        MissingIntegrationError: Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise MissingIntegrationError(
            f"executor='ray' needs Ray, which is not installed: {_INSTALL}"
        ) from None
    return ray


class Executor(abc.ABC):
    """Runs one admitted evaluation and returns its record.

    It receives the :class:`~search.evaluation.jobs.EvalJob` and the evaluator
    that admitted it, and runs the job with the evaluator's public
    :meth:`~search.evaluation.Evaluator.run_job` (or a worker's own evaluator's).
    ``held`` receives the LLM-cache rows of the calls it made (the evaluator
    commits them with the record, or alone if the run did not finish).
    """

    @abc.abstractmethod
    async def run(
        self,
        job: EvalJob,
        evaluator: JobHost,
        group: Group,
        held: list[tuple[Any, ...]],
    ) -> EvalRecord:
        """Run ``job`` inside ``group`` (its budget reservation).

        Raises:
            BudgetExhaustedError: A call did not fit; the run is incomplete.
        """

    def check(self, target: EvalTarget) -> None:  # noqa: B027 - an optional hook
        """Refuse, before anything runs, a target this executor cannot run.

        Raises:
            SettingsError: It cannot run ``target``.
        """

    def close(self) -> None:  # noqa: B027 - an optional hook
        """Release what the executor holds (workers, connections)."""


class LocalExecutor(Executor):
    """Runs evaluations on this process's event loop."""

    async def run(
        self,
        job: EvalJob,
        evaluator: JobHost,
        group: Group,
        held: list[tuple[Any, ...]],
    ) -> EvalRecord:
        """Run the job here; its calls hold their worst case inside ``group``."""
        rows: list[tuple[Any, ...]] = []
        try:
            with hold_llm_calls() as rows:
                return await evaluator.run_job(job, evaluator.ledger.scoped(group), group)
        finally:
            held.extend(rows)  # after the block closed them: a later write commits itself


# --- Ray ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Blueprint:
    """What a worker needs to build its own evaluator (sent once per actor)."""

    dataset: Any
    metric: Any
    settings: EvalSettings
    models: Mapping[str, Any]
    prices: tuple[dict[str, Any], str] | None
    limited: tuple[str, ...]  # the budget's limited resources
    host: Any  # the evaluator's class, which a worker calls to build its own


@dataclass(frozen=True)
class _Outcome:
    """What a worker sends back for one evaluation."""

    record: EvalRecord | None
    rows: list[tuple[Any, ...]]
    spent: Spend
    exhausted: str | None = None


class _RemoteCallCache(BaseCache):
    """A worker's LLM-call cache: its own unsaved calls first, then the driver's store.

    A reply that comes after its evaluation returned (a timed-out call's thread went on to
    finish it) has no evaluation to travel with: it waits here, answers lookups on this
    worker, and goes back to the driver with the next evaluation this worker returns.
    """

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self._late: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def _local(self, key: str) -> RETURN_VAL_TYPE | None:
        found = held_lookup(key)
        if found is not None:
            return found
        with self._lock:
            row = next((row for row in self._late if row[0] == key), None)
        return _decode(row[3]) if row is not None else None

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        key = llm_key(prompt, llm_string)
        found = self._local(key)
        if found is not None or self.reader is None:
            return found
        ray = import_ray()
        return _decode(ray.get(self.reader.lookup.remote(key)))

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        key = llm_key(prompt, llm_string)
        found = self._local(key)
        if found is not None or self.reader is None:
            return found
        return _decode(await self.reader.lookup.remote(key))

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        from search.store.cache import held_row, held_update

        if not held_update(prompt, llm_string, return_val):
            with self._lock:
                self._late.append(held_row(prompt, llm_string, return_val))

    def take_late(self) -> list[tuple[Any, ...]]:
        """The late replies not yet sent to the driver; they are sent now."""
        with self._lock:
            late, self._late = self._late, []
        return late

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        self.update(prompt, llm_string, return_val)

    def clear(self, **kwargs: Any) -> None:
        """Workers never clear the driver's cache."""


def _decode(text: str | None) -> RETURN_VAL_TYPE | None:
    from search.store.cache import _decode_generations

    return _decode_generations(text) if text is not None else None


class _CallCacheReader:
    """A Ray actor on the driver's node that answers LLM-cache lookups from the store file."""

    def __init__(self, path: str) -> None:
        self.store = Store(path)

    def lookup(self, key: str) -> str | None:
        with self.store.connection() as db:
            row = db.conn.execute(
                "SELECT response FROM llm_calls WHERE key = ?", (key,)
            ).fetchone()
        return row[0] if row else None


class _EvalWorker:
    """A Ray actor that runs evaluations with an evaluator of its own (no store, no budget)."""

    def __init__(self, blueprint: bytes, reader: Any) -> None:
        from ray import cloudpickle  # Ray ships its own

        plan: _Blueprint = cloudpickle.loads(blueprint)
        if plan.settings.ray_setup:
            module, _, name = plan.settings.ray_setup.partition(":")
            setup: Any = importlib.import_module(module)
            for part in name.split("."):
                setup = getattr(setup, part)
            setup()

        prices = None
        if plan.prices is not None:
            table, on_missing = plan.prices
            prices = PriceTable(table, on_missing=on_missing)
        self.evaluator: JobHost = plan.host(
            plan.dataset,
            plan.metric,
            store=None,
            settings=plan.settings.replace(executor="local", cache_calls=False),
            models=plan.models,
            prices=prices,
            allow_test=True,
        )
        self.evaluator.cache = _RemoteCallCache(reader) if plan.settings.cache_calls else None
        self.limited = plan.limited
        self.running = 0
        self.cancelled = 0

    def pid(self) -> int:
        """This worker's process id (tests kill it)."""
        return os.getpid()

    def activity(self) -> tuple[int, int]:
        """(evaluations running now, evaluations a stop cancelled while they ran)."""
        return self.running, self.cancelled

    async def run(self, job: EvalJob, limit: Amount) -> _Outcome:
        ev = self.evaluator  # it deploys (compiles) each target once per hash in this worker
        budget = Budget(
            **{name: getattr(limit, name) for name in self.limited if name != "evaluations"}
        )
        ledger = BudgetLedger(budget)
        group = ledger.admit(limit)
        assert group is not None  # the limit is the reservation itself: it fits
        exhausted = None
        record = None
        self.running += 1
        with hold_llm_calls() as rows:
            try:
                record = await ev.run_job(job, ledger.scoped(group), group)
            except BudgetExhaustedError as exc:
                exhausted = str(exc)
            except asyncio.CancelledError:  # ray.cancel from the driver: a stop
                self.cancelled += 1
                raise
            finally:
                self.running -= 1
                ledger.finish(group)
        spent = ledger.spent.model_copy(update={"evaluations": 0})
        cache = self.evaluator.cache
        late = cache.take_late() if isinstance(cache, _RemoteCallCache) else []
        return _Outcome(record, [*rows, *late], spent, exhausted)


class RayExecutor(Executor):
    """Runs evaluations on a pool of Ray actors; see the module docstring.

    Args:
        settings: The evaluator's settings (``ray_*`` fields: address, workers,
            resources, retries, setup hook).
    """

    def __init__(self, settings: EvalSettings) -> None:
        """Check that Ray is installed; the pool starts with the first evaluation."""
        self.ray = import_ray()
        self.settings = settings
        self._workers: list[Any] = []
        self._load: list[int] = []
        self._reader: Any = None
        self._blueprint: Any = None

    def check(self, target: EvalTarget) -> None:
        """Only targets that a worker can rebuild from a pickled copy run on Ray.

        Raises:
            SettingsError: ``target`` is not portable (e.g. a graph given as a compiled
                instance rather than a factory, which may not exist on the workers).
        """
        if not target.portable:
            raise SettingsError(
                f"executor='ray' runs portable targets only, and {target.name!r} "
                f"({type(target).__name__}) is not: give a graph as a factory function "
                "defined in an importable module, or evaluate it with executor='local'"
            )

    # --- the pool -------------------------------------------------------------------------

    def _connect(self) -> None:
        ray = self.ray
        if not ray.is_initialized():
            ray.init(
                address=self.settings.ray_address,
                ignore_reinit_error=True,
                include_dashboard=False,
                logging_level="WARNING",
                log_to_driver=False,
            )

    def _count(self) -> int:
        settings = self.settings
        if settings.ray_workers is not None:
            return settings.ray_workers
        available = self.ray.cluster_resources()
        wanted = {"CPU": settings.ray_num_cpus, "GPU": settings.ray_num_gpus}
        wanted.update(settings.ray_resources)
        fits = [
            math.floor(available.get(name, 0.0) / need)
            for name, need in wanted.items()
            if need > 0
        ]
        return max(1, min(fits)) if fits else 1

    def _start(self, evaluator: JobHost) -> None:
        from ray import cloudpickle  # Ray ships its own

        ray = self.ray
        self._connect()
        settings = self.settings
        prices = evaluator.prices
        plan = _Blueprint(
            host=type(evaluator),
            dataset=evaluator.dataset,
            metric=evaluator.metric,
            settings=settings.replace(show_progress=False),
            models=dict(evaluator.models),
            prices=(dict(prices._prices), prices.on_missing) if prices is not None else None,
            limited=tuple(
                name
                for name in ("dollars", "tokens", "calls", "evaluations")
                if getattr(evaluator.ledger.budget, name) is not None
            ),
        )
        if self._reader is None and not evaluator.store.in_memory and settings.cache_calls:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            here = ray.get_runtime_context().get_node_id()
            self._reader = (
                ray.remote(_CallCacheReader)
                .options(
                    num_cpus=0,
                    scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False),
                    max_restarts=-1,
                    max_task_retries=-1,
                )
                .remote(str(evaluator.store.path))
            )
        blueprint = cloudpickle.dumps(plan)
        count = self._count()
        per_worker = max(1, math.ceil(evaluator.max_concurrency / count))
        actor = ray.remote(_EvalWorker).options(
            num_cpus=settings.ray_num_cpus,
            num_gpus=settings.ray_num_gpus,
            resources=dict(settings.ray_resources) or None,
            max_restarts=-1,
            max_task_retries=settings.ray_max_retries,
            # Two more than its share of evaluations (the driver never sends a worker more
            # than its share): pid() and activity() answer while evaluations run.
            max_concurrency=per_worker + 2,
        )
        # Held here, so a restarted worker can always read its constructor's arguments.
        self._blueprint = ray.put(blueprint)
        self._workers = [actor.remote(self._blueprint, self._reader) for _ in range(count)]
        self._load = [0] * count

    @property
    def workers(self) -> list[Any]:
        """The worker actor handles (empty until the first evaluation)."""
        return list(self._workers)

    def _pick(self) -> int:
        return min(range(len(self._workers)), key=self._load.__getitem__)

    async def run(
        self,
        job: EvalJob,
        evaluator: JobHost,
        group: Group,
        held: list[tuple[Any, ...]],
    ) -> EvalRecord:
        """Dispatch to the least busy worker; store nothing here, settle what it spent."""
        if not self._workers:
            self._start(evaluator)
        ray = self.ray
        index = self._pick()
        self._load[index] += 1
        ref = self._workers[index].run.remote(job, group.size)
        try:
            outcome: _Outcome = await ref
        except asyncio.CancelledError:
            # A hard stop: Ray cancels the task (a queued one never starts). What its calls
            # spent is unknown here, so its whole reservation counts as spent.
            ray.cancel(ref)
            evaluator.ledger.add_spent(group, _all_of(group.size))
            raise
        except ray.exceptions.RayTaskError as exc:
            evaluator.ledger.add_spent(group, _all_of(group.size))
            raise exc.as_instanceof_cause() from None  # a bug, not a fault: show it
        except ray.exceptions.RayActorError as exc:
            # The worker died more often than ray_max_retries allows: a failure worth another
            # try later. What its attempts spent is unknown here: its reservation counts.
            evaluator.ledger.add_spent(group, _all_of(group.size))
            return evaluator.failed_record(
                job,
                error=f"WorkerError: the Ray worker failed after its retries: {exc}",
                error_type="WorkerError",
                transient=True,
            )
        finally:
            self._load[index] -= 1
        held.extend(outcome.rows)
        evaluator.ledger.add_spent(group, outcome.spent)
        if outcome.exhausted is not None:
            raise BudgetExhaustedError(
                f"on a Ray worker, a call did not fit its evaluation's reservation: "
                f"{outcome.exhausted}",
                resource="dollars",
            )
        assert outcome.record is not None
        return outcome.record

    def close(self) -> None:
        """Stop the workers (the Ray instance itself is left running)."""
        ray = self.ray
        for actor in [*self._workers, *([self._reader] if self._reader is not None else [])]:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor)
        self._workers, self._load, self._reader = [], [], None


def _all_of(amount: Amount) -> Spend:
    return Spend(dollars=amount.dollars, tokens=amount.tokens, calls=amount.calls)


def get_executor(settings: EvalSettings) -> Executor:
    """The executor ``settings.executor`` names.

    Raises:
        MissingIntegrationError: ``"ray"`` without Ray installed.
    """
    if settings.executor == "ray":
        return RayExecutor(settings)
    return LocalExecutor()
