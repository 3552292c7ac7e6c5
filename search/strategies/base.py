"""The strategy extension point: ``ask`` for a proposal, ``tell`` it the outcome."""

from __future__ import annotations

import abc
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.budget import BudgetLedger
from search.evaluation.datasets import Task
from search.objective import Objective
from search.results import CandidateStats
from search.space import Candidate, Space
from search.store import EvalRecord, Store

__all__ = ["Proposal", "Outcome", "SearchContext", "Handover", "SearchStrategy"]


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

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    proposal: Proposal = Field(description="What was asked.")
    records: tuple[EvalRecord, ...] = Field(description="Results, in the order they came.")
    stats: CandidateStats = Field(
        description="The candidate's statistics over every search task it has results for."
    )
    pruned: bool = Field(default=False, description="Whether the strategy stopped it early.")
    stop_reason: str = Field(default="completed", description="Why its evaluation ended.")

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


class SearchStrategy(abc.ABC):
    """One search strategy. The runner evaluates what :meth:`ask` proposes.

    A strategy proposes candidates (and which tasks to spend on them) through
    :meth:`ask`, returning ``None`` when it has nothing more to try, and learns
    from each :class:`Outcome` in :meth:`tell`. :meth:`report` sees results one
    by one and may stop a proposal early (pruning, racing). Every evaluation
    goes through the shared evaluator and store and spends from one budget.

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
    context: SearchContext

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

    def describe(self) -> dict[str, Any]:
        """Settings to record with the search."""
        return {"strategy": self.name}
