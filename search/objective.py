"""What a search optimises: accuracy, optionally traded against cost, under a cost ceiling."""

from __future__ import annotations

import math
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Objective", "Scored"]


class Scored(Protocol):
    """Anything with a mean score and a mean cost per task."""

    @property
    def mean(self) -> float:
        """Mean score in [0, 1]."""
        ...

    @property
    def cost_per_task(self) -> float:
        """Mean dollars per task."""
        ...


class Objective(BaseModel):
    """Accuracy per dollar, made explicit.

    ``value = mean - (cost_per_task / point_value) * 0.01``: ``point_value`` is
    what one accuracy point is worth to you, in dollars per task. With no
    ``point_value`` the objective is accuracy alone, ties going to the cheaper
    candidate. ``max_cost_per_task`` is a hard ceiling: dearer candidates are
    infeasible whatever they score.

    Among candidates the search cannot tell apart from the best (see
    :mod:`search.certificate`), ``pick="simplest"`` ships the cheapest per task
    (then the fewest agents and calls); ``"top_mean"`` ships the best by
    ``value``; ``"alpharank"`` the alpha-Rank leader. ``expected_queries`` is how
    many queries the shipped workflow will answer: with it, the search stops once
    no remaining candidate could repay its further cost at that volume.

    Example:
        >>> Objective(point_value=0.001).value(0.90, 0.002)   # 2 points of cost
        0.88
    """

    model_config = ConfigDict(frozen=True)

    point_value: float | None = Field(
        default=None, gt=0, description="Dollars per task that one accuracy point is worth."
    )
    max_cost_per_task: float | None = Field(
        default=None, gt=0, description="Largest acceptable mean dollars per task."
    )
    pick: Literal["simplest", "top_mean", "alpharank"] = Field(
        default="simplest",
        description="What ships among the candidates within noise of the best: the "
        "cheapest ('simplest'), the best mean ('top_mean') or the alpha-Rank leader.",
    )
    expected_queries: int | None = Field(
        default=None, gt=0, description="Queries the shipped workflow will answer (economic stop)."
    )

    def feasible(self, cost_per_task: float) -> bool:
        """Whether a candidate with this cost is allowed."""
        return self.max_cost_per_task is None or cost_per_task <= self.max_cost_per_task

    def value(self, mean: float, cost_per_task: float) -> float:
        """The scalar to maximise; ``-inf`` when infeasible."""
        if not self.feasible(cost_per_task):
            return -math.inf
        if self.point_value is None:
            return mean
        return round(mean - cost_per_task / self.point_value * 0.01, 12)

    def key(self, item: Scored) -> tuple[float, float]:
        """Sort key (higher is better): the value, then lower cost."""
        return self.value(item.mean, item.cost_per_task), -item.cost_per_task

    def describe(self) -> str:
        """One line for reports."""
        parts = ["maximise accuracy"]
        if self.point_value is not None:
            parts.append(f"minus 1 point per ${self.point_value:g} per task")
        if self.max_cost_per_task is not None:
            parts.append(f"at most ${self.max_cost_per_task:g} per task")
        if self.pick != "simplest":
            parts.append(f"shipping the {self.pick.replace('_', ' ')} within noise")
        if self.expected_queries is not None:
            parts.append(f"for {self.expected_queries:,} expected queries")
        return ", ".join(parts)
