"""The search frame: strategies find the known best, budgets stop, resumes are free."""

import json

import pytest

from orchestrator import deploy
from orchestrator.sim import get_profile, register_profile
from search import Budget
from search.errors import SettingsError
from search.objective import Objective
from search.results import SearchResult
from search.runner import SearchError, create_search
from search.settings import SearchSettings
from search.space import SearchSpace
from search.store import Store
from search.strategies import (
    RandomStrategy,
    get_strategy,
)
from topologies import single

# The calibrated simulator's tiers are as close as real ones (atlas-pro errs about half as
# often as atlas-nano), too close to rank reliably on 42 tasks; these tests need a clear best,
# so the top of the pool is atlas-pro made near-perfect (same price).
register_profile(
    get_profile("atlas-pro").model_copy(
        update={"name": "runner-ace", "reasoning": 0.999, "arithmetic": 0.9995}
    ),
    replace=True,
)
POOL = ["sim:atlas-nano", "sim:orca-small", "sim:atlas-mini", "sim:runner-ace"]
BEST = single(model="sim:runner-ace").hash
DATA = "bundled:arithmetic"


def small_space() -> SearchSpace:
    """Four single solvers; runner-ace is clearly the most accurate (simulated)."""
    return SearchSpace(topologies=["single"], pool=POOL, fixed={"single": {"temperature": 0.0}})


def run(tmp_path, strategy, **kw):
    kw.setdefault("store", tmp_path / "rg.db")
    return create_search(
        space=kw.pop("space", small_space()),
        dataset=DATA,
        strategy=strategy,
        seed=kw.pop("seed", 1),
        **kw,
    ).run()


@pytest.mark.parametrize(
    ("strategy", "options"),
    [
        ("grid", {}),
        ("random", {}),
        ("tpe", {"n_trials": 10, "n_startup_trials": 3}),
        ("nsga2", {"n_trials": 10}),
        ("bandit", {"min_tasks": 6, "batch": 3}),
        ("thompson", {"min_tasks": 6, "batch": 3}),
        ("tpe+bandit", {"tpe__n_trials": 8, "tpe__n_startup_trials": 3, "bandit__min_tasks": 6}),
    ],
)
def test_each_strategy_finds_the_known_best(tmp_path, strategy, options):
    result = run(tmp_path, get_strategy(strategy, **options))
    assert result.best is not None and result.best.hash == BEST
    assert result.best_stats.complete
    assert result.simulated


def test_result_holds_front_candidates_test_and_spend(tmp_path):
    result = run(tmp_path, "grid")
    assert result.candidates[0].workflow == BEST
    costs = [f.cost_per_task for f in result.front]
    means = [f.mean for f in result.front]
    assert costs == sorted(costs) and means == sorted(means)  # cheaper and worse, then dearer
    assert result.front[-1].workflow == BEST
    assert result.test is not None and result.test.n_tasks == result.n_test_tasks
    assert result.n_search_tasks + result.n_test_tasks == 60
    assert result.spend.dollars > 0 and result.spend.calls > 0
    assert result.stop_reason == "strategy finished"


def test_the_test_split_is_never_searched(tmp_path):
    search = create_search(
        space=small_space(), dataset=DATA, strategy="grid", store=tmp_path / "rg.db"
    )
    searched = {task.id for task in search.search_tasks}
    held_out = {task.id for task in search.test_tasks}
    assert not searched & held_out
    search.run()
    store = Store(tmp_path / "rg.db")
    evaluated_on_test = {
        r.task_id for r in store.evaluations(dataset=search.dataset.name) if r.task_id in held_out
    }
    best_only = {
        r.workflow for r in store.evaluations(dataset=search.dataset.name) if r.task_id in held_out
    }
    assert evaluated_on_test <= held_out and best_only == {BEST}


def test_results_are_saved_exported_and_deployable(tmp_path):
    result = run(tmp_path, "grid", name="saved")
    stored = Store(tmp_path / "rg.db").get_search("saved")
    assert stored.status == "complete" and stored.result["best_stats"]["workflow"] == BEST
    path = result.save(tmp_path / "result.json")
    again = SearchResult.load(path)
    assert again.best == result.best
    assert json.loads(path.read_text())["strategy"] == "grid"
    assert deploy(again)("What is 6 * 7?") == "42"


def test_a_budget_stops_the_search(tmp_path):
    result = run(
        tmp_path, "grid", budget=Budget(evaluations=30), settings=SearchSettings(test_share=0.2)
    )
    assert result.stop_reason.startswith("budget")
    assert result.spend.evaluations <= 30


def test_dollar_budgets_are_never_exceeded(tmp_path):
    budget = Budget(dollars=0.02)
    space = SearchSpace(
        topologies=["single", "plan_solve"], pool=POOL, fixed={"single": {"temperature": 0.0}}
    )
    result = run(tmp_path, RandomStrategy(), space=space, budget=budget)
    assert result.spend.dollars <= 0.02
    assert result.stop_reason.startswith("budget")


def test_a_resumed_search_re_runs_nothing(tmp_path):
    first = run(tmp_path, "tpe", name="resume-me", n_trials=6, n_startup_trials=3)
    second = run(tmp_path, "tpe", name="resume-me", n_trials=6, n_startup_trials=3)
    assert first.spend.calls > 0
    assert second.spend_this_run.calls == 0 and second.spend_this_run.dollars == 0
    assert second.best.hash == first.best.hash


def test_an_isolated_search_judges_only_what_it_asked_for(tmp_path):
    store = tmp_path / "rg.db"
    run(tmp_path, "grid", name="everything", store=store)  # every candidate on every task
    candidate = next(iter(small_space().grid()))

    def fresh(isolated: bool):
        return create_search(
            space=small_space(), dataset=DATA, strategy="grid", store=store, seed=1,
            name=f"probe-{isolated}", settings=SearchSettings(isolated=isolated),
        )  # fmt: skip

    assert fresh(False).stats(candidate).complete  # other searches' results count
    search = fresh(True)
    assert search.stats(candidate) is None
    result = search.run()
    assert result.spend_this_run.calls == 0  # still served from the store
    # The four singles are the space (and the single-agent baselines); self-consistency of
    # the best single model is the one baseline the space lacks.
    assert result.evaluations == 5 * len(search.search_tasks)
    assert search.stats(candidate).n_tasks == len(search.search_tasks)
    assert result.best.hash == BEST


def test_a_cost_ceiling_changes_the_winner(tmp_path):
    objective = Objective(max_cost_per_task=0.0002)  # runner-ace costs more than this
    result = run(tmp_path, "grid", objective=objective)
    assert result.best.hash != BEST
    assert result.best_stats.cost_per_task <= 0.0002


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"budget": Budget(dollars=0)}, SearchError, "allows nothing"),
        ({"test_size": 1.5}, SearchError, "test_size"),
        ({"max_concurrency": 0}, SettingsError, "max_concurrency"),
        ({"max_evaluations": True}, SettingsError, "max_evaluations"),
        ({"strategy": "simulated-annealing"}, SearchError, "unknown strategy"),
        ({"strategy": "tpe+bandit", "n_trials": 3}, SearchError, "names no stage"),
        (
            {"strategy": "tpe", "parallel": 3},
            SearchError,
            "'parallel' is a field of SearchSettings",
        ),
        (
            {"dataset": [{"id": "a", "question": "1+1", "answer": "2"}]},
            SearchError,
            "needs at least 4",
        ),
    ],
)
def test_bad_searches_fail_before_spending(tmp_path, kwargs, error, message):
    args = {"space": small_space(), "dataset": DATA, "store": tmp_path / "rg.db", **kwargs}
    with pytest.raises(error, match=message):
        create_search(**args)
    assert not Store(tmp_path / "rg.db").count_evaluations()


def test_negative_budgets_are_rejected():
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Budget(dollars=-1)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"parallel": 0}, "parallel"),
        ({"finalists": -1}, "finalists"),
        ({"test_share": 1.0}, "test_share"),
        ({"max_evaluations": 0}, "max_evaluations"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_settings_get_a_named_error(settings, message):
    with pytest.raises(SettingsError, match=message):
        SearchSettings(**settings)
