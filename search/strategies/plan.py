"""What a strategy plans to propose at most: the plan hook's request and answer.

:meth:`~search.strategies.SearchStrategy.plan` answers a :class:`PlanRequest`
(the space, its size, the search tasks, what a previous stage hands over) with
one :class:`StagePlan` per stage; :func:`search.estimate.estimate_search` turns
the plans into a range of evaluations, calls and dollars before anything runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from search.space import Space

__all__ = ["PlanRequest", "StagePlan"]


class PlanRequest(BaseModel):
    """What a strategy is asked to plan for."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    space: Space = Field(description="The search space.")
    size: int = Field(ge=0, description="Distinct candidates in the space.")
    tasks: int = Field(ge=0, description="Tasks in the search split.")
    handed: int | None = Field(
        default=None,
        description="Candidates a previous pipeline stage hands over; None for a first stage.",
    )

    def after(self, keep: int) -> PlanRequest:
        """The request for a following stage, handed ``keep`` candidates at most."""
        return self.model_copy(update={"handed": min(keep, self.size)})


class StagePlan(BaseModel):
    """What one strategy (or pipeline stage) plans to evaluate."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The strategy or stage.")
    summary: str = Field(description="The plan in words.")
    high_slots: tuple[int, ...] | None = Field(
        description="Tasks per new candidate at most (one entry per candidate); None: "
        "open-ended, only the budget bounds it."
    )
    low_slots: tuple[int, ...] = Field(
        description="Tasks per new candidate at the least (the fewest candidates the plan allows)."
    )
    proposals: int | None = Field(
        description="Proposals the strategy makes at most (for progress); None if unknown."
    )

    @classmethod
    def open_ended(cls, name: str, summary: str, tasks: int) -> StagePlan:
        """A plan only the budget bounds: at least one candidate on every task."""
        return cls(name=name, summary=summary, high_slots=None, low_slots=(tasks,), proposals=None)

    @classmethod
    def every_task(cls, name: str, summary: str, *, candidates: int, tasks: int) -> StagePlan:
        """``candidates`` candidates, each on every task, one proposal each."""
        slots = (tasks,) * candidates
        return cls(
            name=name, summary=summary, high_slots=slots, low_slots=slots, proposals=candidates
        )
