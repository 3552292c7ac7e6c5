"""Composing strategies: each stage continues from what the previous one hands over."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from search.store import EvalRecord
from search.strategies.base import (
    Capabilities,
    Handover,
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    StrategyOptions,
)
from search.strategies.plan import PlanRequest, StagePlan

__all__ = ["Pipeline", "PipelineOptions"]


class PipelineOptions(StrategyOptions):
    """:class:`Pipeline`'s own settings (each stage has its own)."""

    keep: int = Field(default=5, ge=1, description="Candidates each stage hands to the next.")


class Pipeline(SearchStrategy):
    """Run strategies one after another, handing over a narrowed space or a shortlist.

    When a stage has nothing more to ask and none of its proposals is still
    running, its :meth:`~SearchStrategy.handover` (a smaller pool, the top
    candidates, or both) becomes the next stage's starting point. For
    example ``Pipeline(KnapsackStrategy(...), OptunaStrategy(), BanditStrategy())``
    narrows the pool, searches topologies over it, and races the best few.

    Args:
        stages: The strategies, in order.
        keep: Candidates each stage hands to the next.
    """

    def __init__(self, *stages: SearchStrategy, keep: int = 5) -> None:
        """Chain ``stages``."""
        if not stages:
            raise ValueError("a pipeline needs at least one stage")
        self.stages = stages
        self.options: PipelineOptions = PipelineOptions(keep=keep)
        self.name = "+".join(stage.name for stage in stages)
        self._index = 0
        self._owner: dict[int, SearchStrategy] = {}
        self._running: dict[int, int] = {}

    def setup(self, context: SearchContext) -> None:
        """Set up the first stage."""
        super().setup(context)
        self._index = 0
        self.stages[0].setup(context)

    @property
    def current(self) -> SearchStrategy:
        """The stage now asking."""
        return self.stages[self._index]

    def ask(self) -> Proposal | None:
        """Ask the current stage; move to the next once it is done."""
        while True:
            proposal = self.current.ask()
            if proposal is not None:
                self._owner[id(proposal)] = self.current
                self._running[self._index] = self._running.get(self._index, 0) + 1
                return proposal
            if self._running.get(self._index, 0) > 0 or self._index == len(self.stages) - 1:
                return None
            handover = self.current.handover(self.options.keep)
            self._index += 1
            self.current.setup(self.context.handed(handover))

    def stage_of(self, proposal: Proposal) -> str:
        """The stage that asked for ``proposal``."""
        owner = self._owner.get(id(proposal))
        return owner.stage_of(proposal) if owner is not None else self.current.name

    def report(self, proposal: Proposal, record: EvalRecord, step: int) -> bool:
        """Route to the stage that asked."""
        return self._owner[id(proposal)].report(proposal, record, step)

    def tell(self, outcome: Outcome) -> None:
        """Route to the stage that asked."""
        owner = self._owner.pop(id(outcome.proposal))
        index = self.stages.index(owner)
        self._running[index] -= 1
        owner.tell(outcome)

    def handover(self, k: int = 5) -> Handover:
        """What the last stage that ran hands over."""
        return self.current.handover(k)

    def finished(self) -> str | None:
        """Why the last stage finished, if it says."""
        return self.current.finished()

    def front(self) -> list[str] | None:
        """The current stage's Pareto front, if it keeps one."""
        return self.current.front()

    @property
    def capabilities(self) -> Capabilities:
        """What every stage can search."""
        flags = [stage.capabilities for stage in self.stages]
        return Capabilities(edits_topologies=any(f.edits_topologies for f in flags))

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        """Each stage's plan; the stages after the first are handed ``keep`` candidates."""
        plans: list[StagePlan] = []
        for index, stage in enumerate(self.stages):
            plans.extend(stage.plan(request if index == 0 else request.after(self.options.keep)))
        return plans

    def describe(self) -> dict[str, Any]:
        """Its settings and every stage's."""
        return {**super().describe(), "stages": [stage.describe() for stage in self.stages]}
