"""Each policy on constructed data where the best arm depends on a feature; the cost cap."""

from __future__ import annotations

import numpy as np
import pytest

from search.objective import Objective
from search.routing import CostCapError, choose_policy
from search.routing.selection import POLICIES, make_policy, policy_from_state, replay

from .conftest import constructed

CONTEXTUAL = ("ridge", "logistic", "linucb", "cascade")
# A point is worth $3e-5 per task: the dear arm's extra $9e-4 buys 30 points, so the cheap
# arm is better wherever it is right more than 70% of the time (short questions).
PRICED = Objective(point_value=3e-5)


@pytest.mark.parametrize("name", CONTEXTUAL)
def test_policy_sends_each_question_to_the_arm_that_suits_it(name: str) -> None:
    train, held = constructed(seed=0), constructed(seed=1)
    policy = make_policy(name, objective=PRICED).fit(train)
    scores, costs, arms = replay(policy, held, cap=None)
    length = held.features[:, 0]
    assert scores.mean() >= 0.85  # most long questions still go to the dear arm
    assert costs.mean() < 0.8 * 1e-3  # and short ones to the cheap arm
    if name != "cascade":  # the cascade starts every question on the cheap arm
        assert (arms[length < 3] == 0).mean() > 0.9
        assert (arms[length > 7] == 1).mean() > 0.9


def test_single_arm_policy_ignores_the_question() -> None:
    policy = make_policy("single", objective=Objective()).fit(constructed())
    _, _, arms = replay(policy, constructed(seed=1), cap=None)
    assert set(arms.tolist()) == {1}


@pytest.mark.parametrize("name", tuple(POLICIES))
def test_cost_cap_holds_on_every_request(name: str) -> None:
    data = constructed(seed=2)
    rng = np.random.default_rng(3)
    worst = np.stack([rng.uniform(1e-4, 3e-4, data.n), rng.uniform(1e-4, 3e-3, data.n)], axis=1)
    data = type(data)(**{**data.__dict__, "worst": worst})
    cap = 1.5e-3
    policy = make_policy(name, objective=Objective()).fit(data)
    for i in range(data.n):
        plan = policy.decide(data.features[i], worst=data.worst[i], cap=cap)
        assert sum(data.worst[i, a] for a in plan.arms) <= cap


def test_no_arm_within_the_cap_refuses_before_any_call() -> None:
    policy = make_policy("ridge", objective=Objective()).fit(constructed())
    with pytest.raises(CostCapError):
        policy.decide([1.0, 0.0], worst=[1e-3, 1e-2], cap=1e-4)


def test_unsure_policy_falls_back_to_the_cheapest_safe_arm() -> None:
    policy = make_policy("ridge", objective=Objective()).fit(constructed())
    plan = policy.decide([1e6, 0.0], worst=[1e-4, 1e-3])  # far outside the training rows
    assert plan.fallback and plan.arms == (1,)  # only the dear arm is as good as the best


def test_state_round_trip_decides_the_same() -> None:
    data = constructed()
    for name in POLICIES:
        policy = make_policy(name, objective=Objective()).fit(data)
        again = policy_from_state(policy.get_state(), options=policy.options())
        assert (
            replay(policy, data, cap=None)[2].tolist() == replay(again, data, cap=None)[2].tolist()
        )


def test_cross_validation_prefers_routing_when_it_pays() -> None:
    chosen = choose_policy(constructed(), objective=PRICED, cap=None)
    assert chosen.chosen != "single"
    assert chosen.cost[chosen.chosen] < chosen.cost["single"]


def test_linucb_exploration_stops_at_its_budget() -> None:
    policy = make_policy("linucb", objective=PRICED, alpha=50.0, explore_budget=3)
    policy.fit(constructed(n=20))
    for x in np.linspace(0, 10, 300):  # the dear arm is well known, the cheap one is not
        policy.update([x, 0.0], arm=1, score=1.0, cost=1e-3)
    explored = sum(
        policy.decide([x, 0.0], worst=[1e-4, 1e-3], explore=True).explored
        for x in np.linspace(7, 10, 50)
    )
    assert explored == 3
    assert not policy.decide([9.0, 0.0], worst=[1e-4, 1e-3], explore=False).explored


def test_feedback_moves_linucb() -> None:
    policy = make_policy("linucb", objective=PRICED).fit(constructed(n=20))
    before = policy.decide([2.0, 0.0], worst=[1e-4, 1e-3]).arms
    for _ in range(200):  # the cheap arm turns out wrong on short questions
        policy.update([2.0, 0.0], arm=0, score=0.0, cost=1e-4)
    assert before == (0,)
    assert policy.decide([2.0, 0.0], worst=[1e-4, 1e-3]).arms == (1,)
