"""Contextual policies: per-arm ridge or logistic predictors of accuracy and cost, and LinUCB."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from search.objective import Objective
from search.routing.policy import Plan, RoutingPolicy, TrainingData, rewards

__all__ = ["SingleArmPolicy", "RidgePolicy", "LogisticPolicy", "LinUCBPolicy"]


def _pick(values: np.ndarray, costs: np.ndarray, allowed: np.ndarray, tolerance: float) -> int:
    """The cheapest allowed arm within ``tolerance`` of the best allowed predicted value."""
    masked = np.where(allowed, values, -np.inf)
    top = float(masked.max())
    near = [a for a in range(len(values)) if allowed[a] and masked[a] >= top - tolerance - 1e-12]
    return min(near, key=lambda a: (costs[a], -values[a], a))


class SingleArmPolicy(RoutingPolicy):
    """No routing: always the cheapest arm within noise of the best on the training rows.

    As the search ships the cheapest workflow within noise of the best, this is the
    cheapest *safe* arm (no worse than the best within one standard error).
    """

    name: ClassVar[str] = "single"

    def _fit(self, z: np.ndarray, data: TrainingData) -> None:
        pass

    def _plan(
        self,
        z: np.ndarray,
        allowed: np.ndarray,
        worst: np.ndarray,
        cap: float | None,
        explore: bool,
    ) -> Plan:
        return Plan(arms=(self.fallback(allowed),))


class _Linear(RoutingPolicy):
    """Shared sufficient statistics: per arm ``A = lambda*I + sum z z^T`` and ``b`` vectors."""

    def __init__(
        self,
        *,
        objective: Objective | None = None,
        min_rows: int = 8,
        ridge: float = 1.0,
        tolerance: float = 0.01,
        leverage: float = 2.0,
    ) -> None:
        """Set the ridge penalty, the tie tolerance and the leverage limit.

        ``tolerance``: predicted value within which the cheaper arm wins; ``leverage``:
        how far outside the training rows (times their largest leverage) a question may
        be before the policy falls back.
        """
        super().__init__(objective=objective, min_rows=min_rows)
        self.ridge = ridge
        self.tolerance = tolerance
        self.leverage = leverage
        self.a: np.ndarray = np.zeros(0)  # (k, d, d)
        self.b_score: np.ndarray = np.zeros(0)  # (k, d)
        self.b_cost: np.ndarray = np.zeros(0)
        self.max_leverage = 0.0

    def options(self) -> dict[str, Any]:
        """Constructor options."""
        return {
            "min_rows": self.min_rows,
            "ridge": self.ridge,
            "tolerance": self.tolerance,
            "leverage": self.leverage,
        }

    def _targets(self, data: TrainingData) -> np.ndarray:
        return data.scores.astype(float)

    def _fit(self, z: np.ndarray, data: TrainingData) -> None:
        d = z.shape[1]
        gram = z.T @ z
        self.a = np.stack([gram + self.ridge * np.eye(d) for _ in range(data.arms)])
        self.b_score = (z.T @ self._targets(data)).T
        self.b_cost = (z.T @ data.costs).T
        inverse = np.linalg.inv(self.a[0])
        self.max_leverage = float(np.einsum("ij,jk,ik->i", z, inverse, z).max())

    def _theta(self, b: np.ndarray) -> np.ndarray:
        return np.stack([np.linalg.solve(self.a[i], b[i]) for i in range(len(b))])

    def _unsure(self, z: np.ndarray) -> bool:
        """Far outside the training rows: its predictions are extrapolations."""
        lev = float(z @ np.linalg.solve(self.a[0], z))
        return lev > self.leverage * max(self.max_leverage, 1e-12)

    def _predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        score = np.clip(self._theta(self.b_score) @ z, 0.0, 1.0)
        cost = np.maximum(self._theta(self.b_cost) @ z, 0.0)
        return score, cost

    def _plan(
        self,
        z: np.ndarray,
        allowed: np.ndarray,
        worst: np.ndarray,
        cap: float | None,
        explore: bool,
    ) -> Plan:
        if self._unsure(z):
            return Plan(arms=(self.fallback(allowed),), fallback=True)
        score, cost = self._predict(z)
        values = rewards(self.objective, score, cost)
        return Plan(arms=(_pick(values, cost, allowed, self.tolerance),))

    def _update(self, z: np.ndarray, arm: int, score: float, cost: float) -> None:
        self.a[arm] += np.outer(z, z)
        self.b_score[arm] += z * self._target(score, cost)
        self.b_cost[arm] += z * cost

    def _target(self, score: float, cost: float) -> float:
        return score

    def _get(self) -> dict[str, Any]:
        return {
            "a": self.a.tolist(),
            "b_score": self.b_score.tolist(),
            "b_cost": self.b_cost.tolist(),
            "max_leverage": self.max_leverage,
        }

    def _set(self, state: dict[str, Any]) -> None:
        self.a = np.asarray(state["a"], dtype=float)
        self.b_score = np.asarray(state["b_score"], dtype=float)
        self.b_cost = np.asarray(state["b_cost"], dtype=float)
        self.max_leverage = float(state["max_leverage"])


class RidgePolicy(_Linear):
    """Per arm, ridge regressions of score and of cost on the features."""

    name: ClassVar[str] = "ridge"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


class LogisticPolicy(_Linear):
    """Per arm, an L2-regularised logistic model of the score (cost by ridge).

    Fitted by Newton's method on the stored rows; a delayed outcome takes one gradient step.
    """

    name: ClassVar[str] = "logistic"

    def __init__(self, *, step: float = 0.1, iterations: int = 25, **options: Any) -> None:
        """``step``: learning rate of online updates; ``iterations``: Newton steps."""
        super().__init__(**options)
        self.step = step
        self.iterations = iterations
        self.weights: np.ndarray = np.zeros(0)

    def options(self) -> dict[str, Any]:
        """Constructor options."""
        return {**super().options(), "step": self.step, "iterations": self.iterations}

    def _fit(self, z: np.ndarray, data: TrainingData) -> None:
        super()._fit(z, data)
        d = z.shape[1]
        weights = np.zeros((data.arms, d))
        for arm in range(data.arms):
            y = np.clip(data.scores[:, arm], 0.0, 1.0)
            w = np.zeros(d)
            for _ in range(self.iterations):
                p = _sigmoid(z @ w)
                gradient = z.T @ (p - y) + self.ridge * w
                hessian = (z * (p * (1 - p))[:, None]).T @ z + self.ridge * np.eye(d)
                delta = np.linalg.solve(hessian, gradient)
                w -= delta
                if float(np.abs(delta).max()) < 1e-8:
                    break
            weights[arm] = w
        self.weights = weights

    def _predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cost = np.maximum(self._theta(self.b_cost) @ z, 0.0)
        return _sigmoid(self.weights @ z), cost

    def _update(self, z: np.ndarray, arm: int, score: float, cost: float) -> None:
        super()._update(z, arm, score, cost)
        self.weights[arm] -= self.step * (float(_sigmoid(self.weights[arm] @ z)) - score) * z

    def _get(self) -> dict[str, Any]:
        return {**super()._get(), "weights": self.weights.tolist()}

    def _set(self, state: dict[str, Any]) -> None:
        super()._set(state)
        self.weights = np.asarray(state["weights"], dtype=float)


class LinUCBPolicy(_Linear):
    """LinUCB on the objective's per-task value, warm-started on the stored rows.

    Online, it adds ``alpha * sqrt(z^T A^-1 z)`` to each arm's estimate while its
    exploration budget lasts; a decision counts against the budget only when the bonus
    changed the arm. Offline (cross-validation, evaluation) it is greedy.
    """

    name: ClassVar[str] = "linucb"

    def __init__(self, *, alpha: float = 0.5, explore_budget: int = 0, **options: Any) -> None:
        """``explore_budget``: most exploratory decisions over the router's life."""
        super().__init__(**options)
        self.alpha = alpha
        self.explore_budget = explore_budget
        self.explored = 0

    def options(self) -> dict[str, Any]:
        """Constructor options."""
        return {**super().options(), "alpha": self.alpha, "explore_budget": self.explore_budget}

    def _targets(self, data: TrainingData) -> np.ndarray:
        return rewards(self.objective, data.scores, data.costs)

    def _target(self, score: float, cost: float) -> float:
        return float(rewards(self.objective, np.array([score]), np.array([cost]))[0])

    def _plan(
        self,
        z: np.ndarray,
        allowed: np.ndarray,
        worst: np.ndarray,
        cap: float | None,
        explore: bool,
    ) -> Plan:
        if self._unsure(z) and not explore:
            return Plan(arms=(self.fallback(allowed),), fallback=True)
        theta = self._theta(self.b_score)
        value = theta @ z
        cost = np.maximum(self._theta(self.b_cost) @ z, 0.0)
        greedy = _pick(value, cost, allowed, self.tolerance)
        if not explore or self.explored >= self.explore_budget:
            return Plan(arms=(greedy,))
        width = np.array([math.sqrt(max(float(z @ np.linalg.solve(a, z)), 0.0)) for a in self.a])
        optimistic = _pick(value + self.alpha * width, cost, allowed, 0.0)
        if optimistic == greedy:
            return Plan(arms=(greedy,))
        self.explored += 1
        return Plan(arms=(optimistic,), explored=True)

    def _get(self) -> dict[str, Any]:
        return {**super()._get(), "explored": self.explored}

    def _set(self, state: dict[str, Any]) -> None:
        super()._set(state)
        self.explored = int(state.get("explored", 0))
