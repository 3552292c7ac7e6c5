"""The strategy extension point: ``ask`` for a proposal, ``tell`` it the outcome."""

from __future__ import annotations

import abc
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

from orchestrator.budget import BudgetLedger
from orchestrator.pricing import PriceTable
from search.evaluation.datasets import Task
from search.objective import Objective
from search.results import CandidateStats
from search.space import Candidate, Space
from search.stops import Stop, StopReason
from search.store import EvalRecord, Store
from search.strategies.plan import PlanRequest, StagePlan

__all__ = [
    "Proposal",
    "Outcome",
    "SearchContext",
    "Handover",
    "StrategyOptions",
    "Capabilities",
    "SearchStrategy",
]


class Proposal(BaseModel):
    """A request to evaluate one candidate on some search tasks."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    candidate: Candidate = Field(description="The workflow to evaluate.")
    tasks: tuple[str, ...] | None = Field(
        default=None, description="Task ids to evaluate; None means every search task."
    )
    ordered: bool = Field(
        default=False,
        description="Deliver results in the shared task order (pruners need it).",
    )
    key: Any = Field(default=None, description="The strategy's own handle, e.g. a trial.")


class Outcome(BaseModel):
    """What evaluating a proposal gave."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    proposal: Proposal = Field(description="What was asked.")
    records: tuple[EvalRecord, ...] = Field(description="Results, in the order they came.")
    stats: CandidateStats = Field(
        description="The candidate's statistics over every search task it has results for."
    )
    pruned: bool = Field(default=False, description="Whether the strategy stopped it early.")
    stop: Stop = Field(
        default=Stop(reason=StopReason.COMPLETED), description="Why its evaluation ended."
    )

    @property
    def stop_reason(self) -> str:
        """Why its evaluation ended, in words (``"completed"`` when it did)."""
        return str(self.stop)

    @property
    def scores(self) -> list[float]:
        """Scores of this proposal's records, in order."""
        return [record.score for record in self.records]


@dataclass
class SearchContext:
    """What a strategy may use: the space, the shared task order, statistics, the budget.

    ``store`` is the search's store: a strategy that keeps state of its own
    (an MCTS tree, an Optuna study) saves it there under ``search_name`` to
    resume.
    """

    space: Space
    tasks: tuple[Task, ...]
    objective: Objective
    rng: random.Random
    ledger: BudgetLedger
    stats: Callable[[Candidate], CandidateStats | None]
    search_name: str = "search"
    candidates: tuple[Candidate, ...] = ()
    store: Store | None = None
    prices: PriceTable | None = None
    """The search's price table (worst cases a strategy estimates use it)."""
    models: Mapping[str, BaseChatModel] = field(default_factory=dict)
    """Model instances the search was given for references."""

    @property
    def task_ids(self) -> list[str]:
        """Search task ids in the shared order."""
        return [task.id for task in self.tasks]

    def handed(self, handover: Handover) -> SearchContext:
        """The context for the next stage of a pipeline."""
        return replace(
            self,
            space=handover.space or self.space,
            candidates=tuple(handover.candidates) or self.candidates,
        )


@dataclass(frozen=True)
class Handover:
    """What one stage hands to the next: a narrowed space and/or a shortlist."""

    space: Space | None = None
    candidates: Sequence[Candidate] = ()


class StrategyOptions(BaseModel):
    """A strategy's settings, as given: one frozen record per strategy.

    Subclass it with one field per constructor argument; the strategy keeps it
    as :attr:`SearchStrategy.options` and :meth:`SearchStrategy.describe`
    records it with the search. A field marked ``exclude=True`` (a storage
    URL, a price table) is not recorded; values that are not plain data (a
    sampler, a chat model) are recorded by their type's name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    def recorded(self) -> dict[str, Any]:
        """The options to record with a search, as JSON values."""
        return {
            name: to_jsonable_python(getattr(self, name), fallback=_type_name)
            for name, field in type(self).model_fields.items()
            if not field.exclude
        }


def _type_name(value: Any) -> str:
    return type(value).__name__


class Capabilities(BaseModel):
    """What a strategy can search; checked before anything is spent."""

    model_config = ConfigDict(frozen=True)

    edits_topologies: bool = Field(
        default=False,
        description="It builds workflows by editing or composing rolegraph topologies "
        "(agents, teams, edits), so it needs rolegraph workflows and cannot search a graph "
        "space (a GraphSpace).",
    )


class SearchStrategy(abc.ABC):
    """One search strategy. The runner evaluates what :meth:`ask` proposes.

    A strategy proposes candidates (and which tasks to spend on them) through
    :meth:`ask`, returning ``None`` when it has nothing more to try, and learns
    from each :class:`Outcome` in :meth:`tell`. :meth:`report` sees results one
    by one and may stop a proposal early (pruning, racing). Every evaluation
    goes through the shared evaluator and store and spends from one budget.

    A strategy describes itself: its settings are a frozen :attr:`options`
    record (which :meth:`describe` records), :attr:`capabilities` say what it
    can search, and :meth:`plan` says what it will propose at most, so that
    :func:`~search.estimate.estimate_search` can bound its cost before it runs.

    Example:
        >>> class FirstN(SearchStrategy):
        ...     name = "first-n"
        ...     def __init__(self, n): self.n = n
        ...     def ask(self):
        ...         if self.n == 0: return None
        ...         self.n -= 1
        ...         return Proposal(candidate=self.context.space.sample(self.context.rng))
        ...     def tell(self, outcome): pass
    """

    name: str = "strategy"
    options: StrategyOptions = StrategyOptions()
    """The settings it was made with (a record with no fields when it takes none)."""
    context: SearchContext
    _NO_PLAN: ClassVar[str] = "no plan known: the budget bounds it"

    def setup(self, context: SearchContext) -> None:
        """Receive the context before the first :meth:`ask`."""
        self.context = context

    @abc.abstractmethod
    def ask(self) -> Proposal | None:
        """The next proposal, or ``None`` when this strategy is done."""

    @abc.abstractmethod
    def tell(self, outcome: Outcome) -> None:
        """Learn from the outcome of a proposal."""

    def report(self, proposal: Proposal, record: EvalRecord, step: int) -> bool:
        """See one result as it arrives (``step`` counts from 0); return True to stop early."""
        return False

    def handover(self, k: int = 5) -> Handover:
        """What a following stage should continue from; by default nothing."""
        return Handover()

    def stage_of(self, proposal: Proposal) -> str:
        """Which stage asked for ``proposal`` (this strategy, unless it composes others)."""
        return self.name

    def finished(self) -> str | None:
        """Why the strategy has nothing more to propose, once it knows (else ``None``)."""
        return None

    def front(self) -> list[str] | None:
        """Hashes of the strategy's own Pareto front, if it keeps one (else the runner's)."""
        return None

    @property
    def capabilities(self) -> Capabilities:
        """What it can search; by default anything, graph spaces included."""
        return Capabilities()

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        """What it will propose at most and at least, one plan per stage.

        By default the plan is open-ended: only the budget and
        ``max_evaluations`` bound the estimate's high end.
        """
        return [StagePlan.open_ended(self.name, self._NO_PLAN, request.tasks)]

    def describe(self) -> dict[str, Any]:
        """Settings to record with the search: its name and :attr:`options`."""
        return {"strategy": self.name, **self.options.recorded()}
