"""Knapsack composition: the exact solver, the ZCL rule and the online composer."""

import itertools
import math
import random
from fractions import Fraction

import pytest

from orchestrator import register_model
from orchestrator.testing import FaultyChatModel, ScriptedChatModel
from search.objective import Objective
from search.runner import create_search
from search.settings import SearchSettings
from search.space import SearchSpace
from search.store import EvalRecord
from search.strategies import KnapsackStrategy, OptunaStrategy, Pipeline, get_strategy
from search.strategies.knapsack.solver import (
    Item,
    label_record,
    solve_knapsack,
    zcl_admits,
    zcl_bounds,
    zcl_threshold,
)

DATA = "bundled:arithmetic"
SIM_POOL = [
    "sim:atlas-nano",
    "sim:lynx-small",
    "sim:orca-small",
    "sim:atlas-mini",
    "sim:atlas-pro",
]
BUDGET = 0.001  # dollars per task: atlas-pro (about $0.003 per task) can never fit

# Test models are told apart (and cached) by model_name, so each needs its own.
BROKEN = register_model(
    FaultyChatModel(faults={"": ["garbage"]}, model_name="ks-broken"), name="test:ks-broken"
)
POOR = register_model(
    ScriptedChatModel(replies=['{"answer": "-1", "confidence": 0.9}'], model_name="ks-poor"),
    name="test:ks-poor",
)


# --- the exact solver ---------------------------------------------------------------------


def brute_force(items, budget):
    """Every subset; the same tie rule: value, then cheaper, then fewer, then earlier items."""
    best = None
    for size in range(len(items) + 1):
        for picks in itertools.combinations(range(len(items)), size):
            cost = sum((Fraction(items[i].cost) for i in picks), Fraction(0))
            if cost > Fraction(budget):
                continue
            value = sum((Fraction(items[i].value) for i in picks), Fraction(0))
            key = (-value, cost, len(picks), picks)
            if best is None or key < best:
                best = key
    return best


def random_items(rng, n, *, integers):
    if integers:  # small ranges: many ties
        return [
            Item(name=f"i{k}", value=rng.randint(-2, 6), cost=rng.randint(0, 5)) for k in range(n)
        ]
    return [
        Item(name=f"i{k}", value=rng.uniform(-0.5, 10), cost=rng.choice([0.0, rng.uniform(0, 3)]))
        for k in range(n)
    ]


@pytest.mark.parametrize("integers", [True, False])
def test_the_exact_solver_matches_brute_force_on_random_instances(integers):
    rng = random.Random(7 if integers else 8)
    for _ in range(200):
        items = random_items(rng, rng.randint(0, 10), integers=integers)
        total = sum(item.cost for item in items)
        budget = rng.choice([0.0, total * rng.random(), total, total + 1.0, rng.uniform(0, 3)])
        chosen = solve_knapsack(items, budget)
        expected = brute_force(items, budget)
        picks = tuple(i for i, item in enumerate(items) if item in chosen.items)
        assert picks == expected[3], (items, budget)
        assert chosen.value == float(-expected[0])
        assert chosen.cost == float(expected[1]) <= budget


def test_edge_cases_empty_nothing_fits_everything_fits():
    assert solve_knapsack([], 5.0).items == ()
    dear = [Item(name="a", value=5, cost=3), Item(name="b", value=4, cost=2)]
    nothing = solve_knapsack(dear, 1.0)
    assert nothing.items == () and nothing.value == 0.0 and nothing.cost == 0.0
    everything = solve_knapsack(dear, 10.0)
    assert everything.names == ["a", "b"] and everything.value == 9.0


def test_ties_go_to_cheaper_then_fewer_then_earlier_items():
    same = [Item(name=n, value=1, cost=1) for n in "abcd"]
    assert solve_knapsack(same, 2).names == ["a", "b"]
    cheaper = [Item(name="dear", value=3, cost=2), Item(name="cheap", value=3, cost=1)]
    assert solve_knapsack(cheaper, 2).names == ["cheap"]
    fewer = [
        Item(name="x", value=1, cost=1),
        Item(name="y", value=1, cost=1),
        Item(name="xy", value=2, cost=2),
    ]
    assert solve_knapsack(fewer, 2).names == ["xy"]


def test_free_and_worthless_items():
    items = [
        Item(name="free", value=2, cost=0),
        Item(name="harmful", value=-1, cost=0),
        Item(name="useless", value=0, cost=0),
    ]
    assert solve_knapsack(items, 0).names == ["free"]


def test_float_sums_are_exact():
    items = [
        Item(name="a", value=1, cost=0.1),
        Item(name="b", value=1, cost=0.2),
        Item(name="c", value=1.5, cost=0.3),
    ]
    # The floats 0.1 and 0.2 add up to more than the float 0.3: a and b do not fit in 0.3.
    assert solve_knapsack(items, 0.3).names == ["c"]
    assert solve_knapsack(items, 0.1 + 0.2).names == ["a", "b"]


@pytest.mark.parametrize("budget", [-1.0, math.nan, math.inf])
def test_bad_budgets_are_refused(budget):
    with pytest.raises(ValueError, match="budget"):
        solve_knapsack([Item(name="a", value=1, cost=1)], budget)


def test_bad_items_are_refused():
    with pytest.raises(ValueError):
        Item(name="a", value=1, cost=-1)
    with pytest.raises(ValueError, match="finite"):
        Item(name="a", value=math.nan, cost=1)


# --- the ZCL rule -------------------------------------------------------------------------


def test_the_zcl_threshold_runs_from_l_over_e_to_u():
    lower, upper = 2.0, 500.0
    assert zcl_threshold(0.0, lower, upper) == pytest.approx(lower / math.e)
    assert zcl_threshold(1.0, lower, upper) == upper
    assert zcl_threshold(0.5, lower, upper) == pytest.approx(math.sqrt(upper * lower / math.e))
    values = [zcl_threshold(z / 20, lower, upper) for z in range(21)]
    assert all(a < b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(
    ("z", "lower", "upper"), [(-0.1, 1, 2), (1.1, 1, 2), (0, 0, 2), (0, 3, 2)]
)
def test_the_zcl_threshold_refuses_bad_arguments(z, lower, upper):
    with pytest.raises(ValueError):
        zcl_threshold(z, lower, upper)


def test_zcl_bounds_come_from_the_costs():
    assert zcl_bounds([0.5, 2.0, 0.0], total_value=10) == (0.5, 20.0)
    with pytest.raises(ValueError, match="positive cost"):
        zcl_bounds([0.0], total_value=10)


def test_admission_needs_value_per_cost_above_the_rising_threshold_and_room():
    lower, upper = 1.0, 100.0
    kw = {"budget": 1.0, "lower": lower, "upper": upper}
    assert zcl_admits(1, 1.0, spent=0.0, **kw)  # 1 per dollar >= L/e
    assert not zcl_admits(0.3, 1.0, spent=0.0, **kw)  # below L/e
    assert zcl_admits(2, 0.1, spent=0.5, **kw)  # half full: 20 per dollar >= sqrt(100/e) = 6.07
    assert not zcl_admits(0.5, 0.1, spent=0.5, **kw)  # 5 per dollar < 6.07
    assert zcl_admits(0.5, 0.1, spent=0.0, **kw)  # ... which was enough with nothing spent
    assert not zcl_admits(1000, 0.6, spent=0.5, **kw)  # would exceed the budget
    assert not zcl_admits(0, 0.0, spent=0.0, **kw)  # adds nothing
    assert zcl_admits(1, 0.0, spent=1.0, **kw)  # free and useful


def test_the_online_rule_never_exceeds_its_budget():
    rng = random.Random(3)
    for _ in range(200):
        budget = rng.uniform(0.5, 5)
        costs = [rng.uniform(0.01, 2) for _ in range(15)]
        lower, upper = zcl_bounds(costs, total_value=10)
        spent = 0.0
        for cost in costs:
            value = rng.randint(1, 10)
            if zcl_admits(value, cost, spent=spent, budget=budget, lower=lower, upper=upper):
                spent += cost
        assert spent <= budget


def test_labels():
    base = {"workflow": "w", "dataset": "d", "task_id": "t", "settings": "s"}
    assert label_record(EvalRecord(**base, score=1.0, answer="4")) == "helpful"
    assert label_record(EvalRecord(**base, score=0.0, answer="5")) == "not"
    assert label_record(EvalRecord(**base, score=0.0, failed=True, error="x")) == "broken"
    assert label_record(EvalRecord(**base, score=0.0, answer="  ")) == "broken"


# --- the composer in a search -------------------------------------------------------------


def compose(tmp_path, pool, **options):
    strategy = KnapsackStrategy(**options)
    space = SearchSpace(topologies=["single"], pool=pool, fixed={"single": {"temperature": 0.0}})
    search = create_search(
        space=space,
        dataset=DATA,
        strategy=strategy,
        store=tmp_path / "rg.db",
        objective=Objective(max_cost_per_task=BUDGET),
        settings=SearchSettings(finalists=0),
        seed=1,
    )
    search.result = search.run()
    return strategy, search


def test_the_composer_admits_value_rejects_poor_and_never_retests_broken(tmp_path):
    pool = [BROKEN, POOR, *SIM_POOL]
    strategy, search = compose(tmp_path, pool, order="pool")
    reports = {r.name: r for r in strategy.summary()}
    assert reports[BROKEN].status == "broken"
    assert reports[POOR].status == "rejected" and reports[POOR].value == 0
    first = reports["sim:atlas-nano"]  # the first working component covers most probe tasks
    assert first.status == "admitted" and first.value >= 5 and first.z == 0.0
    assert first.value / first.cost >= first.threshold
    assert BROKEN not in strategy.admitted and POOR not in strategy.admitted
    assert "sim:atlas-pro" not in strategy.admitted
    assert strategy.spent <= BUDGET
    assert sum(reports[m].cost for m in strategy.admitted) == pytest.approx(strategy.spent)
    # The broken component was tested once, on the probe tasks, and never again by the
    # strategy (the single-agent baselines every search runs complete it afterwards).
    assert len(reports[BROKEN].labels) == strategy.options.probe_tasks
    stage = search.result.stages[strategy.name]
    assert stage.evaluations <= strategy.options.probe_tasks * len(pool)


def test_the_threshold_rejects_a_component_worth_less_than_its_price(tmp_path):
    # Bounds set by hand so that the threshold starts at 2e5/e = 73,600 tasks per dollar:
    # atlas-mini solves about 9 of 10 at $0.0002 (45,000 per dollar) and is turned away;
    # atlas-nano solves about 7 at $0.00003 (230,000 per dollar) and is admitted.
    strategy, _ = compose(
        tmp_path, ["sim:atlas-mini", "sim:atlas-nano"], order="pool", bounds=(2e5, 1e7)
    )
    reports = {r.name: r for r in strategy.summary()}
    assert reports["sim:atlas-mini"].status == "rejected"
    assert "below the threshold" in reports["sim:atlas-mini"].reason
    assert reports["sim:atlas-nano"].status == "admitted"


def test_a_dear_component_is_not_tested_once_its_cost_can_be_estimated(tmp_path):
    strategy, _ = compose(tmp_path, SIM_POOL)  # cheapest list price first
    reports = {r.name: r for r in strategy.summary()}
    assert next(iter(reports)) == "sim:orca-small"
    assert reports["sim:atlas-pro"].status in {"too_dear", "untested"}
    assert reports["sim:atlas-pro"].cost is None  # never run


def test_offline_mode_is_the_exact_knapsack_on_probe_results(tmp_path):
    strategy, _ = compose(tmp_path, SIM_POOL, mode="offline")
    reports = {r.name: r for r in strategy.summary()}
    solved = {m: sum(v == "helpful" for v in reports[m].labels.values()) for m in SIM_POOL}
    items = [Item(name=m, value=solved[m], cost=reports[m].cost) for m in SIM_POOL]
    assert strategy.admitted == solve_knapsack(items, BUDGET).names
    assert "sim:atlas-pro" not in strategy.admitted and strategy.spent <= BUDGET


def test_the_handover_narrows_the_pool(tmp_path):
    strategy, _ = compose(tmp_path, [BROKEN, *SIM_POOL], order="pool")
    handed = strategy.handover()
    assert handed.space is not None
    assert handed.space.pool.models == strategy.selected()
    assert set(strategy.selected()) == set(strategy.admitted)
    assert BROKEN not in handed.space.pool.models


def test_nothing_admitted_still_hands_over_one_working_model(tmp_path):
    strategy, _ = compose(tmp_path, [BROKEN, POOR], order="pool")
    assert strategy.admitted == []
    assert strategy.handover().space.pool.models == [POOR]


def test_a_budget_is_required(tmp_path):
    space = SearchSpace(topologies=["single"], pool=SIM_POOL)
    search = create_search(space=space, dataset=DATA, strategy="knapsack", store=tmp_path / "a.db")
    with pytest.raises(ValueError, match="budget"):
        search.run()


def test_knapsack_then_tpe_searches_topologies_over_the_admitted_pool(tmp_path):
    space = SearchSpace(
        topologies=["single", "vote_ensemble"],
        pool=SIM_POOL,
        fixed={"single": {"temperature": 0.0}},
    )
    strategy = get_strategy(
        "knapsack+tpe", tpe__n_trials=6, tpe__n_startup_trials=3, tpe__pruner="none"
    )
    result = create_search(
        space=space,
        dataset=DATA,
        strategy=strategy,
        store=tmp_path / "rg.db",
        objective=Objective(max_cost_per_task=BUDGET),
        seed=1,
    ).run()
    assert isinstance(strategy, Pipeline)
    knapsack, tpe = strategy.stages
    assert isinstance(knapsack, KnapsackStrategy) and isinstance(tpe, OptunaStrategy)
    admitted = knapsack.admitted
    assert admitted and "sim:atlas-pro" not in admitted and knapsack.spent <= BUDGET
    assert tpe.context.space.pool.models == knapsack.selected()
    assert set(knapsack.selected()) == set(admitted)
    best_models = {agent.model for agent in result.best.agents if agent.model}
    assert best_models <= set(admitted)
    assert result.best_stats.complete and result.best_stats.cost_per_task <= BUDGET
    assert result.best_stats.mean >= 0.8
