"""One evaluation to run, as the evaluator hands it to an executor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel

from orchestrator.budget import BudgetLedger, Group
from orchestrator.metering import CallLedger
from orchestrator.pricing import PriceTable
from search.evaluation.datasets import Dataset, Task
from search.evaluation.metrics import Metric
from search.evaluation.settings import EvalSettings
from search.evaluation.target import EvalTarget
from search.store import EvalKey, EvalRecord, Store

__all__ = ["EvalJob", "JobHost"]


@dataclass(frozen=True, slots=True)
class EvalJob:
    """A target on one task with one seed, and what its result is stored under.

    Executors receive jobs and run them with
    :meth:`~search.evaluation.Evaluator.run_job`, here or on a worker that
    rebuilt the evaluator; the job carries everything the result depends on.
    """

    position: int
    """Its place in the stream that made it (task order, then seed order)."""
    target: EvalTarget
    task: Task
    seed: int
    key: EvalKey
    config: str
    """Digest of what besides the target and the task decides the result
    (:meth:`~search.evaluation.Evaluator.config_digest`), computed by the driver."""


class JobHost(Protocol):
    """What an executor sees of the evaluator that admitted a job (the Evaluator is one).

    A remote executor rebuilds one on each worker from its ``dataset``, ``metric``,
    ``settings``, ``models`` and ``prices`` (by calling its type with them).
    """

    @property
    def dataset(self) -> Dataset:
        """Its ``dataset``."""
        ...

    @property
    def metric(self) -> Metric:
        """Its ``metric``."""
        ...

    @property
    def settings(self) -> EvalSettings:
        """Its ``settings``."""
        ...

    @property
    def models(self) -> Mapping[str, BaseChatModel]:
        """Its ``models``."""
        ...

    @property
    def prices(self) -> PriceTable | None:
        """Its ``prices``."""
        ...

    @property
    def ledger(self) -> BudgetLedger:
        """Its ``ledger``."""
        ...

    @property
    def store(self) -> Store:
        """Its ``store``."""
        ...

    @property
    def cache(self) -> BaseCache | None:
        """Its ``cache``."""
        ...

    @property
    def max_concurrency(self) -> int:
        """Its ``max_concurrency``."""
        ...

    async def run_job(self, job: EvalJob, ledger: CallLedger | None, group: Group) -> EvalRecord:
        """Run one admitted job and score it."""
        ...

    def failed_record(
        self, job: EvalJob, *, error: str, error_type: str, **fields: Any
    ) -> EvalRecord:
        """The record of a job that did not finish."""
        ...
