"""What an evaluator can run besides a workflow spec: the one seam for other kinds of candidates.

The :class:`~search.evaluation.Evaluator` runs a
:class:`~orchestrator.spec.WorkflowSpec` by compiling it. Anything else it
runs, such as a user's own LangGraph graph at chosen settings
(:mod:`search.graphs`), is an :class:`EvalTarget`: it says what to deploy, the
hash its results are keyed by, what else changes its results (for the
settings digest), its worst case for admission, and its name. The deployed
runner answers ``ainvoke(question, config=...)`` with a
:class:`~orchestrator.trace.RunResult`, reading the evaluation's
:class:`~orchestrator.runtime.RunContext` (seed, budget ledger) from
``config["configurable"]`` as compiled workflows do.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, Protocol

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from orchestrator.budget import Amount
from orchestrator.pricing import PriceTable
from orchestrator.trace import RunResult

__all__ = ["EvalTarget", "TargetRunner"]


class TargetRunner(Protocol):
    """A deployed :class:`EvalTarget`, as the evaluator calls it."""

    @property
    def spec(self) -> EvalTarget:
        """The target it runs (its ``hash`` keys the results)."""
        ...

    async def ainvoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RunResult:
        """Run once on a question and return the answer with its trace and totals."""
        ...


class EvalTarget(abc.ABC):
    """A candidate the evaluator runs that is not a workflow spec.

    Subclasses give the identity the store keys results by and know how to
    deploy themselves; the evaluator does the rest (keys, cache, budget,
    retries of transient failures, statistics) exactly as for specs.
    """

    @property
    @abc.abstractmethod
    def hash(self) -> str:
        """Content hash: equal targets are one candidate, and its results are keyed by it."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Display name."""

    @property
    @abc.abstractmethod
    def models(self) -> tuple[str, ...]:
        """References of the models its calls use (fingerprinted; overrun scales apply)."""

    @property
    def sampled(self) -> bool:
        """Whether its calls sample (so each repetition seed is a new result)."""
        return False

    @abc.abstractmethod
    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON of what it runs (for logs such as the Optuna study's trials)."""

    @abc.abstractmethod
    def identity(self) -> dict[str, Any]:
        """What besides its hash, its models and the metric changes its results (JSON data)."""

    @abc.abstractmethod
    def deploy(
        self,
        *,
        models: Mapping[str, BaseChatModel] | None,
        cache: BaseCache | None,
        prices: PriceTable | None,
        call_timeout: float | None,
        record_prompts: bool,
    ) -> TargetRunner:
        """A runner for the evaluator: calls go through ``cache`` and the run's ledger."""

    @abc.abstractmethod
    def worst_case(
        self,
        *,
        question: str,
        models: Mapping[str, BaseChatModel] | None,
        prices: PriceTable | None,
    ) -> Amount:
        """What one run on ``question`` is admitted with (its calls then hold inside it)."""
