"""The MCTS tree: nodes (workflows) with their statistics, and the selection formulas."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from search.space import Candidate
from search.strategies.mcts.edits import Edit, Experience

__all__ = ["TreeNode", "Node", "NodeState", "uct_score", "aflow_probabilities"]

NodeState = Literal["new", "pending", "evaluated"]


def uct_score(mean: float, visits: int, parent_visits: int, exploration: float) -> float:
    """UCB1: ``mean + exploration * sqrt(ln(parent_visits) / visits)``; unvisited is infinite.

    Example:
        >>> round(uct_score(0.5, 2, 8, 1.0), 4)
        1.5197
    """
    if visits <= 0:
        return math.inf
    return mean + exploration * math.sqrt(math.log(max(parent_visits, 1)) / visits)


def aflow_probabilities(
    scores: Sequence[float], *, alpha: float = 0.2, lam: float = 0.3
) -> list[float]:
    """AFlow's parent distribution: ``lam/n + (1-lam) softmax(alpha (100 s_i - 100 s_max))``.

    Scores are on the [0, 1] scale; like AFlow, ``alpha`` applies to
    percentage points. ``lam`` keeps a uniform share for exploration.

    Example:
        >>> [round(p, 3) for p in aflow_probabilities([0.9, 0.8])]
        [0.767, 0.233]
    """
    if not scores:
        return []
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    top = max(scores)
    weights = [math.exp(alpha * 100.0 * (s - top)) for s in scores]
    total = sum(weights)
    n = len(scores)
    return [lam / n + (1.0 - lam) * w / total for w in weights]


class TreeNode(BaseModel):
    """One node of the search tree: a workflow, how it was reached, and its statistics.

    ``visits`` and ``value_sum`` count the node's own evaluation and every
    evaluation below it (backpropagation), so ``value_sum / visits`` is the
    mean reward of its subtree and ``best`` its highest; ``score`` is the
    node's own reward.
    """

    model_config = ConfigDict(frozen=True)

    hash: str = Field(description="The workflow's content hash (the node's identity).")
    index: int = Field(description="Creation order within the tree.")
    candidate: Candidate = Field(description="The workflow.")
    parent: str | None = Field(default=None, description="Parent's hash; None for a root.")
    edit: str | None = Field(default=None, description="Key of the edit that produced it.")
    operator: str | None = Field(default=None, description="That edit's operator.")
    depth: int = Field(default=0, description="Edits from its root.")
    state: NodeState = Field(
        default="new", description="'new', 'pending' (being evaluated) or 'evaluated'."
    )
    score: float | None = Field(default=None, description="Its reward: the objective value.")
    mean: float | None = Field(default=None, description="Its mean score on the tasks seen.")
    cost_per_task: float | None = Field(default=None, description="Its dollars per task.")
    n_tasks: int = Field(default=0, description="Search tasks it was evaluated on.")
    complete: bool = Field(default=False, description="Evaluated on every search task.")
    pruned: bool = Field(default=False, description="Stopped early as clearly worse.")
    visits: int = Field(default=0, description="Evaluations in its subtree, itself included.")
    value_sum: float = Field(default=0.0, description="Sum of those evaluations' rewards.")
    best: float | None = Field(default=None, description="Highest of those rewards.")
    children: tuple[str, ...] = Field(default=(), description="Children's hashes, in order.")
    experience: tuple[Experience, ...] = Field(
        default=(), description="Every edit tried from it and what it gave."
    )

    @property
    def value(self) -> float:
        """Mean backed-up reward (0 before any visit)."""
        return self.value_sum / self.visits if self.visits else 0.0


@dataclass
class Node:
    """The mutable node the strategy works on; :class:`TreeNode` is its snapshot."""

    candidate: Candidate
    index: int
    parent: str | None = None
    edit: str | None = None
    operator: str | None = None
    depth: int = 0
    state: NodeState = "new"
    score: float | None = None
    mean: float | None = None
    cost_per_task: float | None = None
    n_tasks: int = 0
    complete: bool = False
    pruned: bool = False
    visits: int = 0
    value_sum: float = 0.0
    best: float | None = None
    children: list[str] = field(default_factory=list)
    experience: dict[str, Experience] = field(default_factory=dict)
    edits: list[Edit] | None = None  # all edits of the workflow, computed once

    @property
    def hash(self) -> str:
        """The workflow's content hash."""
        return self.candidate.hash

    @property
    def value(self) -> float:
        """Mean backed-up reward (0 before any visit)."""
        return self.value_sum / self.visits if self.visits else 0.0

    def snapshot(self) -> TreeNode:
        """The frozen record of this node, as saved in the store."""
        values = {
            name: getattr(self, name)
            for name in TreeNode.model_fields
            if name not in ("children", "experience")
        }
        return TreeNode(
            **values, children=tuple(self.children), experience=tuple(self.experience.values())
        )

    @classmethod
    def restore(cls, node: TreeNode) -> Node:
        """The working node of a saved record."""
        values = node.model_dump(exclude={"hash", "children", "experience", "candidate"})
        return cls(
            candidate=node.candidate,
            children=list(node.children),
            experience={item.edit: item for item in node.experience},
            **values,
        )
