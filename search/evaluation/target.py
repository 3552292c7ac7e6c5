"""What an evaluator runs: one kind of target, whatever the candidate is.

Everything the :class:`~search.evaluation.Evaluator` runs is an
:class:`EvalTarget`: it says what to deploy, the hash its results are keyed
by, what else changes its results (for the settings digest), its worst case
for admission, and its name. A :class:`~orchestrator.spec.WorkflowSpec` is one
(:class:`SpecTarget`, made by :func:`as_target`); so is a user's own LangGraph
graph at chosen settings (:class:`search.graphs.GraphTarget`). The deployed
runner answers ``ainvoke(question, config=...)`` with a
:class:`~orchestrator.trace.RunResult`, reading the evaluation's
:class:`~orchestrator.runtime.RunContext` (seed, budget ledger) from
``config["configurable"]``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.types import RetryPolicy

from orchestrator.budget import Amount
from orchestrator.concurrency import ModelConcurrency
from orchestrator.deploy import RunInput, deploy
from orchestrator.models import call_temperature
from orchestrator.pricing import PriceTable
from orchestrator.roles import get_role
from orchestrator.spec import WorkflowSpec
from orchestrator.trace import RunResult
from orchestrator.worst_case import worst_case_run

if TYPE_CHECKING:
    from search.store import Store

__all__ = ["EvalTarget", "TargetRunner", "SpecTarget", "as_target", "Evaluable"]


class TargetRunner(Protocol):
    """A deployed :class:`EvalTarget`, as the evaluator calls it."""

    async def ainvoke(
        self, input: RunInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RunResult:
        """Run once and return the answer with its trace and totals.

        ``input`` is the question, or ``{"question": ..., "inputs": {...}}`` for a
        LangSmith-style example.
        """
        ...


class EvalTarget(abc.ABC):
    """A candidate the evaluator runs.

    Subclasses give the identity the store keys results by and know how to
    deploy themselves; the evaluator does the rest (keys, cache, budget,
    retries of transient failures, statistics) the same way for every kind.
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

    @property
    def portable(self) -> bool:
        """Whether another process can rebuild it from a pickled copy (Ray workers)."""
        return False

    def persist(self, store: Store) -> None:  # noqa: B027 - an optional hook
        """Keep what it runs in ``store`` for later reading, if that kind has a table."""

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
        retry: RetryPolicy | None = None,
        concurrency: ModelConcurrency | None = None,
    ) -> TargetRunner:
        """A runner for the evaluator: calls go through ``cache`` and the run's ledger.

        ``retry`` is the policy for transient failures, where the target's nodes take one;
        ``concurrency`` the per-model limits on calls at once, where its calls take them.
        """

    @abc.abstractmethod
    def worst_case(
        self,
        *,
        question: str,
        models: Mapping[str, BaseChatModel] | None,
        prices: PriceTable | None,
    ) -> Amount:
        """What one run on ``question`` is admitted with (its calls then hold inside it)."""


class SpecTarget(EvalTarget):
    """A rolegraph workflow spec, compiled to LangGraph to run."""

    __slots__ = ("spec",)

    def __init__(self, spec: WorkflowSpec) -> None:
        """Prefer :func:`as_target`."""
        self.spec = spec

    def __repr__(self) -> str:
        return f"SpecTarget({self.spec.name!r}, hash={self.spec.hash!r})"

    @property
    def hash(self) -> str:
        """The spec's content hash."""
        return self.spec.hash

    @property
    def name(self) -> str:
        """The spec's name."""
        return self.spec.name

    @property
    def models(self) -> tuple[str, ...]:
        """The distinct model references of its agents."""
        return tuple(sorted({a.model for a in self.spec.agents if a.model is not None}))

    @property
    def sampled(self) -> bool:
        """Whether an agent samples: its calls' temperature (a pinned one wins) is above 0."""
        return any(
            call_temperature(agent.model, agent.temperature) > 0 for agent in self.spec.agents
        )

    @property
    def portable(self) -> bool:
        """A spec is plain data: any worker compiles it."""
        return True

    def persist(self, store: Store) -> None:
        """Keep the spec in the store's workflows table."""
        store.save_workflow(self.spec)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The spec as JSON."""
        return self.spec.to_json(indent=indent)

    def identity(self) -> dict[str, Any]:
        """The fingerprints of its roles: their prompt templates and output contracts."""
        return {
            "roles": {
                r: get_role(r).fingerprint for r in sorted({a.role for a in self.spec.agents})
            }
        }

    def deploy(
        self,
        *,
        models: Mapping[str, BaseChatModel] | None,
        cache: BaseCache | None,
        prices: PriceTable | None,
        call_timeout: float | None,
        record_prompts: bool,
        retry: RetryPolicy | None = None,
        concurrency: ModelConcurrency | None = None,
    ) -> TargetRunner:
        """The spec compiled to a LangGraph graph."""
        return deploy(
            self.spec,
            models=models,
            cache=cache,
            prices=prices,
            retry=retry,
            call_timeout=call_timeout,
            record_prompts=record_prompts,
            concurrency=concurrency,
        )

    def worst_case(
        self,
        *,
        question: str,
        models: Mapping[str, BaseChatModel] | None,
        prices: PriceTable | None,
    ) -> Amount:
        """Every agent's calls at their worst case, loops at their bound."""
        return worst_case_run(self.spec, question=question, models=models, prices=prices)


Evaluable = WorkflowSpec | EvalTarget
"""What an evaluator accepts: a workflow spec, or any other :class:`EvalTarget`."""


def as_target(candidate: Evaluable) -> EvalTarget:
    """The target ``candidate`` is: a spec is wrapped, a target is itself.

    Raises:
        TypeError: It is neither.
    """
    if isinstance(candidate, EvalTarget):
        return candidate
    if isinstance(candidate, WorkflowSpec):
        return SpecTarget(candidate)
    raise TypeError(
        f"an evaluator runs a WorkflowSpec or an EvalTarget, not {type(candidate).__name__}"
    )
