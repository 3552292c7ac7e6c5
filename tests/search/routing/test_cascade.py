"""The cascade escalates on a verifier's rejection, learns from feedback; deadlines hold."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from search.objective import Objective
from search.routing import CascadePolicy, DeadlineError, Plan
from search.routing.graph import RoutedState, _next
from search.routing.policy import run_plan
from search.routing.selection import make_policy, policy_from_state, replay

from .conftest import verified

PRICED = Objective(point_value=3e-5)


def test_cascade_escalates_on_a_verifiers_rejection() -> None:
    train, held = verified(seed=0), verified(seed=1)
    policy = make_policy("cascade", objective=PRICED).fit(train)
    assert policy.chain == [0, 1] and policy.verified == [True]
    scores, costs, arms = replay(policy, held, cap=None)
    rejected = held.verdict[:, 0] < 0.5
    assert (arms[rejected] == 1).all()  # every rejected answer went on to the dear arm
    assert (arms[~rejected] == 0).all()  # confidence says nothing here: accepted ones stay
    assert scores.mean() >= 0.93  # the verifier catches most of the cheap arm's errors
    assert costs.mean() < 0.5e-3  # at under half the dear arm's cost


def test_without_verdicts_the_cascade_cannot_tell() -> None:
    blind = verified(seed=0)
    blind = type(blind)(**{**blind.__dict__, "verdicts": np.full(blind.scores.shape, np.nan)})
    policy = make_policy("cascade", objective=PRICED).fit(blind)
    assert policy.verified in ([], [False])
    scores, costs, _ = replay(policy, verified(seed=1), cap=None)
    assert scores.mean() < 0.93 or costs.mean() >= 0.5e-3


def _state(**values: Any) -> RoutedState:
    base: dict[str, Any] = {
        "plan": [0, 1],
        "thresholds": [0.0],
        "verified": [True],
        "step": 1,
        "confidence": 0.99,
        "verdict": 1.0,
        "deadline_at": None,
        "expected": [0.0, 0.0],
    }
    return RoutedState(**{**base, **values})  # type: ignore[typeddict-item]


def test_the_graph_escalates_on_rejection_and_stops_at_the_deadline() -> None:
    assert _next(_state()) == "finish"  # accepted
    assert _next(_state(verdict=0.0)) == "arm_1"  # rejected, however sure it said it was
    assert _next(_state(verdict=None)) == "arm_1"  # no verdict is no accept
    assert _next(_state(verdict=0.0, verified=[False])) == "finish"  # an unverified level
    late = time.time() + 0.5
    assert _next(_state(verdict=0.0, deadline_at=late, expected=[0.1, 0.1])) == "arm_1"
    assert _next(_state(verdict=0.0, deadline_at=late, expected=[0.1, 5.0])) == "finish"


def test_deadline_excludes_slow_arms_and_cuts_the_cascade() -> None:
    data = verified(seed=0)
    latency = np.stack([np.full(data.n, 0.2), np.full(data.n, 3.0)], axis=1)
    data = type(data)(**{**data.__dict__, "latencies": latency})
    worst = data.worst[0]
    for name in ("ridge", "single", "linucb", "logistic"):
        policy = make_policy(name, objective=Objective()).fit(data)
        assert policy.decide(data.features[0], worst=worst, deadline=1.0).arms == (0,)
    with pytest.raises(DeadlineError):
        policy.decide(data.features[0], worst=worst, deadline=0.1)
    # each arm fits a deadline of 1 s alone, but not one after the other
    latency = np.stack([np.full(data.n, 0.6), np.full(data.n, 0.7)], axis=1)
    data = type(data)(**{**data.__dict__, "latencies": latency})
    cascade = make_policy("cascade", objective=PRICED).fit(data)
    assert cascade.decide(data.features[0], worst=worst).arms == (0, 1)
    assert cascade.decide(data.features[0], worst=worst, deadline=2.0).arms == (0, 1)
    cut = cascade.decide(data.features[0], worst=worst, deadline=1.0)
    assert cut.arms == (0,) and cut.thresholds == () and cut.verified == ()
    again = policy_from_state(cascade.get_state(), options=cascade.options())
    assert again.decide(data.features[0], worst=worst, deadline=1.0) == cut


def test_cascade_feedback_tightens_a_level_that_keeps_wrong_answers() -> None:
    data = verified(seed=0)
    policy = make_policy("cascade", objective=PRICED, patience=5).fit(data)
    start = policy.thresholds[0]
    sure = np.array([0.0, 0.0])
    for _ in range(4):
        policy.update(sure, arm=0, score=0.0, cost=1e-4)
    assert policy.thresholds[0] == start  # not yet: patience
    for _ in range(40):  # kept answers keep turning out wrong
        policy.update(sure, arm=0, score=0.0, cost=1e-4)
    assert policy.thresholds[0] > start
    plan = policy.decide(sure, worst=data.worst[0])
    assert isinstance(plan, Plan) and plan.thresholds[0] == policy.thresholds[0]
    right = make_policy("cascade", objective=PRICED, patience=5).fit(data)
    for _ in range(40):  # kept answers turn out right: nothing to tighten
        right.update(sure, arm=0, score=1.0, cost=1e-4)
    assert right.thresholds[0] == start


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.95, 2.0])
@pytest.mark.parametrize("checked", [False, True])
def test_the_cascades_fast_replay_is_run_plan(threshold: float, checked: bool) -> None:
    data = verified(seed=3)
    cascade = make_policy("cascade", objective=PRICED)
    assert isinstance(cascade, CascadePolicy)
    for arms in ((0, 1), (1, 0), (0,)):
        levels = len(arms) - 1
        plan = Plan(arms=arms, thresholds=(threshold,) * levels, verified=(checked,) * levels)
        slow = [
            run_plan(plan, data.scores[i], data.costs[i], data.confidences[i], data.verdict[i])
            for i in range(data.n)
        ]
        assert np.allclose(np.array(slow), np.array(cascade._outcomes(plan, data)))
