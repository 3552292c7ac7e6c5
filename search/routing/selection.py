"""Policies by name, and the choice among them by cross-validation on the search split."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from search.objective import Objective
from search.routing.cascade import CascadePolicy
from search.routing.linear import LinUCBPolicy, LogisticPolicy, RidgePolicy, SingleArmPolicy
from search.routing.policy import RoutingPolicy, TrainingData, rewards, run_plan

__all__ = [
    "POLICIES",
    "register_policy",
    "make_policy",
    "policy_from_state",
    "replay",
    "CrossValidation",
    "choose_policy",
]

PolicyFactory = Callable[..., RoutingPolicy]
POLICIES: dict[str, PolicyFactory] = {
    "single": SingleArmPolicy,
    "ridge": RidgePolicy,
    "logistic": LogisticPolicy,
    "linucb": LinUCBPolicy,
    "cascade": CascadePolicy,
}
"""Policies by name; ``"auto"`` chooses among them by cross-validation."""


def register_policy(name: str, factory: PolicyFactory, *, replace: bool = False) -> None:
    """Name a policy class (or factory taking ``objective=`` and its options)."""
    if name in POLICIES and not replace:
        raise ValueError(f"a routing policy named {name!r} exists; pass replace=True")
    POLICIES[name] = factory


def make_policy(name: str, *, objective: Objective, **options: Any) -> RoutingPolicy:
    """A new policy by name."""
    if name not in POLICIES:
        raise ValueError(f"unknown routing policy {name!r}; known: auto, {', '.join(POLICIES)}")
    return POLICIES[name](objective=objective, **options)


def policy_from_state(state: dict[str, Any], *, options: dict[str, Any]) -> RoutingPolicy:
    """Rebuild a fitted policy from :meth:`RoutingPolicy.get_state` and its options."""
    objective = Objective.model_validate(state["objective"])
    return make_policy(state["policy"], objective=objective, **options).set_state(state)


def replay(
    policy: RoutingPolicy,
    data: TrainingData,
    *,
    cap: float | None,
    deadline: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's (score, cost, answering arm) when ``policy`` routes it, from stored outcomes."""
    scores, costs, arms = np.zeros(data.n), np.zeros(data.n), np.zeros(data.n, dtype=int)
    for i in range(data.n):
        plan = policy.decide(data.features[i], worst=data.worst[i], cap=cap, deadline=deadline)
        scores[i], costs[i], arms[i] = run_plan(
            plan, data.scores[i], data.costs[i], data.confidences[i], data.verdict[i]
        )
    return scores, costs, arms


class CrossValidation(BaseModel):
    """How each policy did on held-out folds of the search split, and the one chosen."""

    model_config = ConfigDict(frozen=True)

    chosen: str = Field(description="The policy chosen.")
    folds: int = Field(description="Folds used.")
    value: dict[str, float] = Field(description="Mean objective value per policy.")
    score: dict[str, float] = Field(description="Mean score per policy.")
    cost: dict[str, float] = Field(description="Mean dollars per task per policy.")
    rule: str = Field(description="How the choice was made, in words.")


def choose_policy(
    data: TrainingData,
    *,
    objective: Objective,
    cap: float | None,
    deadline: float | None = None,
    candidates: Sequence[str] = ("single", "ridge", "logistic", "linucb", "cascade"),
    options: dict[str, dict[str, Any]] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> CrossValidation:
    """Cross-validate each candidate on the rows; choose by the one-standard-error rule.

    Among the policies whose mean value is within one paired standard error of the
    best's, the cheapest per task is chosen: a difference the folds cannot show is not
    worth paying for, and ``"single"`` (no routing) is always a candidate.
    """
    options = options or {}
    folds = max(2, min(folds, data.n))
    order = np.random.default_rng(seed).permutation(data.n)
    parts = [order[i::folds] for i in range(folds)]
    per_task: dict[str, np.ndarray] = {}
    score: dict[str, float] = {}
    cost: dict[str, float] = {}
    for name in candidates:
        s, c = np.zeros(data.n), np.zeros(data.n)
        for part in parts:
            train = np.setdiff1d(order, part)
            policy = make_policy(name, objective=objective, **options.get(name, {}))
            policy.fit(data.subset(train))
            held = data.subset(part)
            s[part], c[part], _ = replay(policy, held, cap=cap, deadline=deadline)
        per_task[name] = rewards(objective, s, c)
        score[name], cost[name] = float(s.mean()), float(c.mean())
    value = {name: float(v.mean()) for name, v in per_task.items()}
    best = max(candidates, key=lambda n: (value[n], -cost[n]))
    near = []
    for name in candidates:
        diff = per_task[name] - per_task[best]
        se = float(diff.std(ddof=1) / math.sqrt(data.n)) if data.n > 1 else 0.0
        if diff.mean() + se >= -1e-12:
            near.append(name)
    chosen = min(near, key=lambda n: (cost[n], -value[n], list(candidates).index(n)))
    return CrossValidation(
        chosen=chosen,
        folds=folds,
        value=value,
        score=score,
        cost=cost,
        rule=f"{folds}-fold cross-validation on {data.n} search tasks; the cheapest policy "
        f"within one standard error of the best ({best})",
    )
