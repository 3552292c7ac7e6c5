"""The one extension point of routing: a policy fits on records, decides under a cap, learns.

A policy sees standardised features of the question and, per arm, the worst case one
run may cost (:func:`orchestrator.worst_case.worst_case_run`). Arms whose worst case is
over the request's cap are never chosen, so the cap holds before any call is made.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import BudgetExhaustedError
from search.objective import Objective

__all__ = [
    "TrainingData",
    "Plan",
    "RoutingPolicy",
    "CostCapError",
    "DeadlineError",
    "allowed_arms",
    "run_plan",
    "rewards",
]


class CostCapError(BudgetExhaustedError):
    """No arm's worst case fits the request's cost cap, so nothing was run."""

    def __init__(self, message: str) -> None:
        super().__init__(message, resource="dollars", final=True)


class DeadlineError(TimeoutError):
    """No arm is expected to answer within the request's deadline, so nothing was run."""


@dataclass(frozen=True)
class TrainingData:
    """Stored outcomes: one row per task, one column per arm (numpy, so not pydantic)."""

    task_ids: tuple[str, ...]
    features: np.ndarray  # (n, d), raw
    scores: np.ndarray  # (n, k), seeds averaged
    costs: np.ndarray  # (n, k), list-price dollars of one run
    confidences: np.ndarray  # (n, k), the exit agent's stated confidence; nan if none
    worst: np.ndarray  # (n, k), worst-case dollars of one run on that question
    # (n, k): 1 when the arm's exit verifier accepted its answer, 0 when it rejected it,
    # nan when the arm ends in no verifier (or its verdict could not be read)
    verdicts: np.ndarray | None = field(default=None)
    latencies: np.ndarray | None = field(default=None)  # (n, k) seconds of one run; 0 unknown

    def __post_init__(self) -> None:
        shape = self.scores.shape
        if self.verdicts is None:
            object.__setattr__(self, "verdicts", np.full(shape, np.nan))
        if self.latencies is None:
            object.__setattr__(self, "latencies", np.zeros(shape))

    @property
    def verdict(self) -> np.ndarray:
        """:attr:`verdicts`, never None."""
        assert self.verdicts is not None
        return self.verdicts

    @property
    def latency(self) -> np.ndarray:
        """:attr:`latencies`, never None."""
        assert self.latencies is not None
        return self.latencies

    @property
    def n(self) -> int:
        """Rows."""
        return len(self.task_ids)

    @property
    def arms(self) -> int:
        """Columns."""
        return int(self.scores.shape[1])

    def subset(self, rows: Sequence[int] | np.ndarray) -> TrainingData:
        """The given rows."""
        index = np.asarray(rows, dtype=int)
        return TrainingData(
            task_ids=tuple(self.task_ids[i] for i in index),
            features=self.features[index],
            scores=self.scores[index],
            costs=self.costs[index],
            confidences=self.confidences[index],
            worst=self.worst[index],
            verdicts=self.verdict[index],
            latencies=self.latency[index],
        )


class Plan(BaseModel):
    """What to run for one request: arms in order, escalating while confidence is low."""

    model_config = ConfigDict(frozen=True)

    arms: tuple[int, ...] = Field(min_length=1, description="Arm indices, tried in order.")
    thresholds: tuple[float, ...] = Field(
        default=(),
        description="Stated confidence at or above which arm i's answer is kept; one per "
        "arm but the last (0 or less: kept whatever it states).",
    )
    verified: tuple[bool, ...] = Field(
        default=(),
        description="Per arm but the last: whether its exit verifier's rejection escalates "
        "(FrugalGPT's scorer); an accepted answer must still clear the threshold.",
    )
    explored: bool = Field(default=False, description="Chosen to explore, not to exploit.")
    fallback: bool = Field(default=False, description="The policy was unsure: cheapest safe arm.")


LATENCY_QUANTILE = 0.9
"""An arm's expected latency, for deadlines: this quantile of its stored run times."""


def rewards(objective: Objective, scores: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Per-task objective value: the score, less the cost at the objective's point value."""
    if objective.point_value is None:
        return scores.astype(float)
    return scores - costs / objective.point_value * 0.01


def allowed_arms(worst: Sequence[float] | np.ndarray, cap: float | None) -> np.ndarray:
    """Which arms' worst case fits ``cap``.

    Raises:
        CostCapError: None does.
    """
    bound = np.asarray(worst, dtype=float)
    allowed = np.ones(len(bound), dtype=bool) if cap is None else bound <= cap
    if not allowed.any():
        raise CostCapError(
            f"no arm fits the cost cap of ${cap:.6g} per request (the cheapest worst case is "
            f"${float(bound.min()):.6g}); raise the cap or shorten the question"
        )
    return allowed


def keeps(plan: Plan, position: int, confidence: float | None, verdict: float | None) -> bool:
    """Whether the answer of the plan's ``position``-th arm is kept (no escalation).

    ``verdict``: 1 accepted, 0 rejected by the arm's exit verifier, None or nan if none.
    A verified level escalates on a rejection, and on no verdict at all; an answer that
    passes must also state a confidence at or above the level's threshold (a threshold
    of 0 or less keeps it whatever it states, or if it states none).
    """
    if position >= len(plan.arms) - 1:
        return True
    checked = position < len(plan.verified) and plan.verified[position]
    if checked and (verdict is None or math.isnan(verdict) or verdict < 0.5):
        return False
    threshold = plan.thresholds[position]
    if threshold <= 0:
        return True
    return confidence is not None and not math.isnan(confidence) and confidence >= threshold


def run_plan(
    plan: Plan,
    scores: np.ndarray,
    costs: np.ndarray,
    conf: np.ndarray,
    verdicts: np.ndarray | None = None,
) -> tuple:
    """Replay ``plan`` on one task's stored outcomes: (score, cost, answering arm)."""
    spent = 0.0
    for position, arm in enumerate(plan.arms):
        spent += float(costs[arm])
        verdict = None if verdicts is None else float(verdicts[arm])
        if keeps(plan, position, float(conf[arm]), verdict):
            return float(scores[arm]), spent, arm
    raise AssertionError("unreachable: the last arm always answers")  # pragma: no cover


class RoutingPolicy(ABC):
    """Choose the workflow (arm) for each question; everything a policy is lives here.

    Subclasses implement :meth:`_fit` and :meth:`_plan`, and :meth:`_update` if they
    learn online; :meth:`get_state`/:meth:`set_state` make an exported router whole.
    The base class standardises features, keeps the cap and finds the *safe* arms
    (those no worse than the best on the training rows, within one standard error),
    whose cheapest allowed one is the fallback when the policy is unsure.
    """

    name: ClassVar[str] = "policy"

    def __init__(self, *, objective: Objective | None = None, min_rows: int = 8) -> None:
        """``min_rows``: below this many training rows the policy always falls back."""
        self.objective = objective or Objective()
        self.min_rows = min_rows
        self.mean = np.zeros(0)
        self.scale = np.ones(0)
        self.safe: list[int] = []
        self.arm_cost = np.zeros(0)
        self.arm_value = np.zeros(0)
        self.arm_latency = np.zeros(0)
        self.rows = 0

    # --- the extension point ----------------------------------------------------------

    @abstractmethod
    def _fit(self, z: np.ndarray, data: TrainingData) -> None:
        """Learn from standardised features ``z`` (with a leading 1) and the outcomes."""

    @abstractmethod
    def _plan(
        self,
        z: np.ndarray,
        allowed: np.ndarray,
        worst: np.ndarray,
        cap: float | None,
        explore: bool,
    ) -> Plan:
        """The plan for one standardised feature row among the allowed arms."""

    def _update(self, z: np.ndarray, arm: int, score: float, cost: float) -> None:  # noqa: B027
        """Learn from one delayed outcome; the default learns nothing."""

    def _get(self) -> dict[str, Any]:
        """The subclass's learned state as JSON data."""
        return {}

    def _set(self, state: dict[str, Any]) -> None:  # noqa: B027
        """Restore what :meth:`_get` returned."""

    # --- the public face --------------------------------------------------------------

    def fit(self, data: TrainingData) -> RoutingPolicy:
        """Learn from stored outcomes; returns ``self``."""
        if data.n == 0:
            raise ValueError("no training rows: the arms share no search task with results")
        self.mean = data.features.mean(axis=0)
        spread = data.features.std(axis=0)
        self.scale = np.where(spread > 1e-12, spread, 1.0)
        self.rows = data.n
        per_task = rewards(self.objective, data.scores, data.costs)
        self.arm_value = per_task.mean(axis=0)
        self.arm_cost = data.costs.mean(axis=0)
        self.arm_latency = np.quantile(data.latency, LATENCY_QUANTILE, axis=0)
        best = int(np.lexsort((self.arm_cost, -self.arm_value))[0])
        safe = []
        for arm in range(data.arms):
            diff = per_task[:, arm] - per_task[:, best]
            se = float(diff.std(ddof=1) / math.sqrt(data.n)) if data.n > 1 else 0.0
            if diff.mean() + se >= -1e-12:
                safe.append(arm)
        self.safe = sorted(safe, key=lambda a: (self.arm_cost[a], -self.arm_value[a]))
        self._fit(self.standardise(data.features), data)
        return self

    def standardise(self, features: np.ndarray) -> np.ndarray:
        """Features scaled by the training rows, with a leading column of ones."""
        scaled = (np.atleast_2d(features) - self.mean) / self.scale
        return np.hstack([np.ones((scaled.shape[0], 1)), scaled])

    def fallback(self, allowed: np.ndarray) -> int:
        """The cheapest allowed safe arm; else the allowed arm of best training value."""
        for arm in self.safe:
            if allowed[arm]:
                return arm
        candidates = [a for a in range(len(allowed)) if allowed[a]]
        return max(candidates, key=lambda a: (self.arm_value[a], -self.arm_cost[a]))

    def decide(
        self,
        features: Sequence[float] | np.ndarray,
        *,
        worst: Sequence[float] | np.ndarray,
        cap: float | None = None,
        deadline: float | None = None,
        explore: bool = False,
    ) -> Plan:
        """The plan for one question's features, every arm in it within ``cap``.

        With a ``deadline`` (seconds), arms whose expected latency (the 90th percentile of
        their stored run times) is over it are never chosen, and a cascade is cut where
        its running sum of expected latencies would pass it.

        Raises:
            CostCapError: No arm's worst case fits the cap.
            DeadlineError: No arm within the cap is expected to answer by the deadline.
        """
        bound = np.asarray(worst, dtype=float)
        allowed = allowed_arms(bound, cap)
        if deadline is not None and len(self.arm_latency) == len(allowed):
            in_time = self.arm_latency <= deadline
            if not (allowed & in_time).any():
                fastest = float(self.arm_latency[allowed].min())
                raise DeadlineError(
                    f"no arm within the cost cap is expected to answer within {deadline:.3g} s "
                    f"(the fastest takes {fastest:.3g} s at its 90th percentile)"
                )
            allowed = allowed & in_time
        if self.rows < self.min_rows:
            return Plan(arms=(self.fallback(allowed),), fallback=True)
        z = self.standardise(np.asarray(features, dtype=float))[0]
        plan = self._plan(z, allowed, bound, cap, explore)
        if deadline is not None and len(plan.arms) > 1:
            plan = self._in_time(plan, deadline)
        spent = sum(float(bound[a]) for a in plan.arms)
        if any(not allowed[a] for a in plan.arms) or (cap is not None and spent > cap + 1e-15):
            raise AssertionError(f"policy {self.name} broke the cost cap")  # pragma: no cover
        return plan

    def _in_time(self, plan: Plan, deadline: float) -> Plan:
        """``plan`` cut where its running sum of expected latencies would pass ``deadline``."""
        kept, elapsed = 0, 0.0
        for arm in plan.arms:
            elapsed += float(self.arm_latency[arm])
            if kept and elapsed > deadline:
                break
            kept += 1
        if kept == len(plan.arms):
            return plan
        return plan.model_copy(
            update={
                "arms": plan.arms[:kept],
                "thresholds": plan.thresholds[: kept - 1],
                "verified": plan.verified[: kept - 1],
            }
        )

    def update(
        self, features: Sequence[float] | np.ndarray, *, arm: int, score: float, cost: float
    ) -> None:
        """Learn from one delayed outcome: the arm that answered, its score and cost."""
        z = self.standardise(np.asarray(features, dtype=float))[0]
        self._update(z, arm, float(score), float(cost))

    def get_state(self) -> dict[str, Any]:
        """Everything learned, as JSON data."""
        return {
            "policy": self.name,
            "objective": self.objective.model_dump(mode="json"),
            "min_rows": self.min_rows,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "safe": list(self.safe),
            "arm_cost": self.arm_cost.tolist(),
            "arm_value": self.arm_value.tolist(),
            "arm_latency": self.arm_latency.tolist(),
            "rows": self.rows,
            "learned": self._get(),
        }

    def set_state(self, state: dict[str, Any]) -> RoutingPolicy:
        """Restore :meth:`get_state`'s data; returns ``self``."""
        self.objective = Objective.model_validate(state["objective"])
        self.min_rows = int(state["min_rows"])
        self.mean = np.asarray(state["mean"], dtype=float)
        self.scale = np.asarray(state["scale"], dtype=float)
        self.safe = [int(a) for a in state["safe"]]
        self.arm_cost = np.asarray(state["arm_cost"], dtype=float)
        self.arm_value = np.asarray(state["arm_value"], dtype=float)
        self.arm_latency = np.asarray(state.get("arm_latency", []), dtype=float)
        self.rows = int(state["rows"])
        self._set(state["learned"])
        return self

    def options(self) -> dict[str, Any]:
        """Constructor options besides the objective (for rebuilding it by name)."""
        return {"min_rows": self.min_rows}
