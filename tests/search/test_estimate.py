"""Estimates before a search spends: ranges that bracket what searches then spend."""

import pytest

from search import create_search
from search.cli import EXAMPLES, prepare
from search.estimate import estimate_search, strategy_plan

SPACE = {
    "topologies": ["single", "vote_ensemble"],
    "pool": ["sim:atlas-nano", "sim:lynx-small"],
    "fixed": {"single": {"temperature": 0.0}},
}


def _search(**options):
    return create_search(
        space=options.pop("space", SPACE),
        dataset=options.pop("dataset", "bundled:arithmetic"),
        store=options.pop("store", ":memory:"),
        **options,
    )


def _brackets(estimate, result):
    assert estimate.dollars.contains(result.spend.dollars), (estimate.dollars, result.spend)
    assert estimate.calls.contains(result.spend.calls), (estimate.calls, result.spend)
    assert estimate.evaluations.contains(result.spend.evaluations), (
        estimate.evaluations,
        result.spend,
    )


def test_a_grid_is_known_exactly_and_its_spend_is_bracketed():
    search = _search(strategy="grid", space={**SPACE, "topologies": ["single"]})
    estimate = estimate_search(search)
    assert estimate.space_exact and estimate.space_size == 2
    tasks, test = len(search.search_tasks), len(search.test_tasks)
    # The two singles, self-consistency of the better one (a baseline), the held-out test.
    assert estimate.evaluations.low == estimate.evaluations.high == 2 * tasks + tasks + test
    assert estimate.candidates.low == estimate.candidates.high == 2
    assert estimate.proposals == 2
    result = search.run()
    _brackets(estimate, result)
    assert result.spend.evaluations == estimate.evaluations.high


def test_a_pruned_optuna_search_is_bracketed():
    search = _search(strategy="tpe", n_trials=8, n_startup_trials=3, seed=3)
    estimate = estimate_search(search)
    (plan,) = estimate.plan
    assert plan.proposals == 8 and "Wilcoxon" in plan.summary
    assert estimate.dollars.low < estimate.dollars.high
    _brackets(estimate, search.run())


def test_the_budget_caps_the_high_end():
    estimate = estimate_search(_search(strategy="tpe", n_trials=30, budget={"dollars": 0.05}))
    assert estimate.bound == "budget"
    assert estimate.dollars.high == pytest.approx(0.05)
    assert estimate.plan_dollars > 0.05
    assert estimate.search_budget_dollars == pytest.approx(0.04)
    assert estimate.budget_candidates is not None and estimate.budget_candidates.low > 0


def test_max_evaluations_caps_the_evaluations():
    search = _search(strategy="tpe", n_trials=30, max_evaluations=40)
    estimate = estimate_search(search)
    assert estimate.evaluations.high <= 40 + len(search.test_tasks)


def test_an_open_ended_plan_is_bounded_only_by_the_budget():
    unbounded = estimate_search(_search(strategy="random"))
    assert unbounded.dollars.high is None and unbounded.candidates.high is None
    assert unbounded.proposals is None and unbounded.bound == "nothing"
    bounded = estimate_search(_search(strategy="random", budget={"dollars": 0.2}))
    assert bounded.dollars.high == pytest.approx(0.2) and bounded.bound == "budget"


def test_a_pipeline_plans_each_stage():
    search = _search(strategy="tpe+bandit", tpe__n_trials=12, bandit__batch=5)
    tasks = len(search.search_tasks)
    plans = strategy_plan(search.strategy, search.space, tasks)
    assert [plan.name for plan in plans] == ["tpe", "bandit"]
    assert len(plans[0].high_slots) == 12 and plans[1].high_slots == ()
    assert plans[1].proposals == 5 * -(-tasks // 5)  # the handed-over five, batch by batch


def test_a_big_space_is_estimated_from_a_sample():
    search = _search(
        strategy="tpe",
        space={
            "topologies": ["vote_ensemble", "best_of_n"],
            "pool": EXAMPLES["arithmetic"]["space"]["pool"],
        },
    )
    estimate = estimate_search(search, sample=50)
    assert not estimate.space_exact and estimate.sampled <= 50
    assert estimate.space_size == search.space.combinations()


def test_a_rate_limit_sets_a_floor_on_the_time():
    config = {"dataset": "bundled:arithmetic", "space": SPACE, "strategy": "grid"}
    prepared = prepare({**config, "store": ":memory:", "rate_limit": 2.0})
    estimate = estimate_search(prepared.search)
    assert estimate.rate_limit == 2.0
    assert estimate.wall_s.low >= estimate.calls.low / 2.0


@pytest.mark.parametrize(
    ("strategy", "options"),
    [
        ("bandit", {"arms": 6}),
        ("mcts", {"iterations": 8}),
        ("boad", {}),
        ("knapsack+tpe", {"tpe__n_trials": 8, "knapsack__budget_per_task": 0.001}),
        ("nsga2", {"n_trials": 10}),
        ("tpe+bandit", {"tpe__n_trials": 10}),
    ],
)
def test_every_family_is_bracketed(strategy, options):
    space = {
        "topologies": ["single", "vote_ensemble", "self_refine"],
        "pool": ["sim:atlas-nano", "sim:lynx-small", "sim:atlas-mini"],
    }
    search = _search(strategy=strategy, space=space, budget={"dollars": 2.0}, seed=1, **options)
    estimate = estimate_search(search)
    _brackets(estimate, search.run())
