"""A FrugalGPT-style cascade: the cheap arm first, escalating on low stated confidence."""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import numpy as np

from search.routing.policy import Plan, RoutingPolicy, TrainingData, rewards, run_plan

__all__ = ["CascadePolicy"]


class CascadePolicy(RoutingPolicy):
    """Try arms from cheap to dear; keep an answer whose stated confidence clears its threshold.

    The chain is the arms that raise the training value as cost grows (at most
    ``depth``); each threshold is the quantile of stored confidences that maximises the
    objective on the training rows, replaying the stored outcomes. A chain is cut where
    the running sum of worst cases would pass the request's cap. It ignores the features
    and learns nothing online. Models that state no confidence leave it a single arm.
    """

    name: ClassVar[str] = "cascade"

    def __init__(self, *, depth: int = 3, grid: int = 9, **options: Any) -> None:
        """``depth``: most arms in the chain; ``grid``: candidate thresholds per level."""
        super().__init__(**options)
        self.depth = depth
        self.grid = grid
        self.chain: list[int] = []
        self.thresholds: list[float] = []

    def options(self) -> dict[str, Any]:
        """Constructor options."""
        return {"min_rows": self.min_rows, "depth": self.depth, "grid": self.grid}

    def _fit(self, z: np.ndarray, data: TrainingData) -> None:
        order = sorted(range(data.arms), key=lambda a: (self.arm_cost[a], -self.arm_value[a]))
        chain: list[int] = []
        for arm in order:
            if not chain or self.arm_value[arm] > self.arm_value[chain[-1]] + 1e-12:
                chain.append(arm)
        chain = chain[-self.depth :] if len(chain) > self.depth else chain
        best: tuple[list[int], list[float]] = ([int(np.argmax(self.arm_value))], [])
        best_value = -np.inf
        for start in range(len(chain)):
            levels = chain[start:]
            options = [self._levels(data, arm) for arm in levels[:-1]]
            for thresholds in itertools.product(*options):
                plan = Plan(arms=tuple(levels), thresholds=tuple(thresholds))
                value = self._value(plan, data)
                if value > best_value + 1e-12:
                    best_value, best = value, (list(levels), list(thresholds))
        self.chain, self.thresholds = best

    def _levels(self, data: TrainingData, arm: int) -> list[float]:
        stated = data.confidences[:, arm]
        stated = stated[~np.isnan(stated)]
        if stated.size == 0:
            return [2.0]  # never trusted: always escalate
        qs = np.linspace(0.0, 1.0, self.grid)
        return sorted({float(v) for v in np.quantile(stated, qs)} | {2.0})

    def _value(self, plan: Plan, data: TrainingData) -> float:
        outcomes = [
            run_plan(plan, data.scores[i], data.costs[i], data.confidences[i])
            for i in range(data.n)
        ]
        scores = np.array([o[0] for o in outcomes])
        costs = np.array([o[1] for o in outcomes])
        return float(rewards(self.objective, scores, costs).mean() - 1e-9 * costs.mean())

    def _plan(
        self,
        z: np.ndarray,
        allowed: np.ndarray,
        worst: np.ndarray,
        cap: float | None,
        explore: bool,
    ) -> Plan:
        arms: list[int] = []
        spent = 0.0
        for arm in self.chain:
            if not allowed[arm] or (cap is not None and spent + float(worst[arm]) > cap):
                break
            arms.append(arm)
            spent += float(worst[arm])
        if not arms:
            return Plan(arms=(self.fallback(allowed),), fallback=True)
        return Plan(arms=tuple(arms), thresholds=tuple(self.thresholds[: len(arms) - 1]))

    def _get(self) -> dict[str, Any]:
        return {"chain": self.chain, "thresholds": self.thresholds}

    def _set(self, state: dict[str, Any]) -> None:
        self.chain = [int(a) for a in state["chain"]]
        self.thresholds = [float(t) for t in state["thresholds"]]
