"""Judging a router on the held-out split: against the best single arm, an oracle, random."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.budget import Budget
from orchestrator.pricing import PriceTable
from search.errors import SearchError
from search.evaluation.datasets import Dataset
from search.evaluation.evaluator import Evaluator
from search.evaluation.stats import Interval, PairedComparison, mean_interval, paired_bootstrap
from search.results import SearchResult
from search.routing.policy import TrainingData, allowed_arms, rewards
from search.routing.records import outcomes, queries
from search.routing.selection import replay
from search.routing.workflow import RoutedWorkflow
from search.store import Store, get_store

__all__ = ["Contender", "RoutingEvaluation", "evaluate_routing", "judge"]


class Contender(BaseModel):
    """One way of answering the held-out tasks: its accuracy (with interval) and cost."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="'router', 'best single', 'oracle' or 'random'.")
    score: Interval = Field(description="Mean held-out score with its interval.")
    cost_per_task: float = Field(description="Mean dollars per held-out task.")


class RoutingEvaluation(BaseModel):
    """A router's held-out numbers beside the best single arm, an oracle and random choice."""

    model_config = ConfigDict(frozen=True)

    router: str = Field(description="The router's id.")
    policy: str = Field(description="Its policy.")
    simulated: bool = Field(default=False, description="Whether the arms use sim: models.")
    n_tasks: int = Field(description="Held-out tasks judged.")
    arms: tuple[str, ...] = Field(description="The arms' labels.")
    best_single: str = Field(description="Label of the best single arm (chosen on the search).")
    contenders: tuple[Contender, ...] = Field(description="Router, best single, oracle, random.")
    score_vs_best: PairedComparison = Field(description="Router minus best single, score.")
    cost_vs_best: PairedComparison = Field(description="Router minus best single, dollars.")
    regret_vs_oracle: float = Field(description="Oracle's mean value minus the router's.")
    share: dict[str, float] = Field(description="Share of tasks each arm answered.")
    cost_cap: float | None = Field(default=None, description="The per-request cap.")

    def contender(self, name: str) -> Contender:
        """One contender by name."""
        return next(c for c in self.contenders if c.name == name)


def judge(routed: RoutedWorkflow, data: TrainingData, *, best: int) -> dict[str, Any]:
    """Per-task scores and costs of the router, the best single arm, oracle and random."""
    policy, cap = routed.policy, routed.config.cost_cap
    scores, costs, answered = replay(policy, data, cap=cap, deadline=routed.config.deadline)
    value = rewards(policy.objective, data.scores, data.costs)
    oracle_s, oracle_c, random_s, random_c = (np.zeros(data.n) for _ in range(4))
    for i in range(data.n):
        allowed = allowed_arms(data.worst[i], cap)
        arms = [a for a in range(data.arms) if allowed[a]]
        top = max(arms, key=lambda a: (value[i, a], -data.costs[i, a]))
        oracle_s[i], oracle_c[i] = data.scores[i, top], data.costs[i, top]
        random_s[i] = data.scores[i, arms].mean()
        random_c[i] = data.costs[i, arms].mean()
    return {
        "router": (scores, costs),
        "best single": (data.scores[:, best], data.costs[:, best]),
        "oracle": (oracle_s, oracle_c),
        "random": (random_s, random_c),
        "answered": answered,
    }


def evaluate_routing(
    routed: RoutedWorkflow,
    result: SearchResult,
    *,
    tasks: Iterable[Any],
    store: Store | str | Path,
    metric: Any = None,
    models: Mapping[str, BaseChatModel] | None = None,
    prices: PriceTable | None = None,
    budget: Budget | None = None,
    seed: int = 0,
) -> RoutingEvaluation:
    """Run every arm on the held-out split (stored results are free) and judge the router.

    The router decides from each question's text; the held-out answers only score the
    arms' stored outcomes afterwards.
    """
    db = get_store(store)
    ids = result.test_task_ids
    if not ids:
        raise SearchError(f"search {result.name!r} has no recorded held-out split to judge on")
    wanted = set(ids)
    held = [task for task in tasks if task.id in wanted]
    dataset = Dataset(name=result.dataset, tasks=tuple(held), partition="test")
    evaluator = Evaluator(
        dataset,
        metric if metric is not None else result.metric_ref,
        store=db,
        allow_test=True,
        models=models,
        prices=prices,
        budget=budget,
    )
    arms = routed.config.arms
    evaluator.evaluate_many([arm.spec for arm in arms])
    data = outcomes(
        db,
        dataset=result.dataset,
        arms=arms,
        rows=queries(held, ids),
        features=routed.features,
        models=models,
        prices=prices,
    )
    hashes = [arm.hash for arm in arms]
    if result.best is not None and result.best.hash in hashes:
        best = hashes.index(result.best.hash)
    else:
        policy = routed.policy
        best = max(range(len(arms)), key=lambda a: (policy.arm_value[a], -policy.arm_cost[a]))
    outcome = judge(routed, data, best=best)
    contenders = tuple(
        Contender(
            name=name,
            score=mean_interval(list(outcome[name][0]), seed=seed),
            cost_per_task=float(outcome[name][1].mean()),
        )
        for name in ("router", "best single", "oracle", "random")
    )
    ids_kept = data.task_ids

    def per_task(values: np.ndarray) -> dict[str, float]:
        return {t: float(v) for t, v in zip(ids_kept, values, strict=True)}

    router_s, router_c = outcome["router"]
    best_s, best_c = outcome["best single"]
    objective = routed.policy.objective
    oracle_value = rewards(objective, *outcome["oracle"]).mean()
    router_value = rewards(objective, router_s, router_c).mean()
    answered = outcome["answered"]
    return RoutingEvaluation(
        router=routed.router_id,
        policy=routed.policy.name,
        simulated=any(
            (agent.model or "").startswith("sim:") for arm in arms for agent in arm.spec.agents
        ),
        n_tasks=data.n,
        arms=tuple(arm.label for arm in arms),
        best_single=arms[best].label,
        contenders=contenders,
        score_vs_best=paired_bootstrap(per_task(router_s), per_task(best_s), seed=seed),
        cost_vs_best=paired_bootstrap(per_task(router_c), per_task(best_c), seed=seed),
        regret_vs_oracle=float(oracle_value - router_value),
        share={arm.label: float((answered == a).mean()) for a, arm in enumerate(arms)},
        cost_cap=routed.config.cost_cap,
    )
