"""create_search over a GraphSpace: strategies, budget, held-out test, front, reruns."""

from __future__ import annotations

import pytest

from search import Budget, SearchResult, Store, create_search
from search.graphs import GraphConfig


@pytest.mark.parametrize(
    ("strategy", "options"),
    [
        ("random", {"n_candidates": 3}),
        ("grid", {}),
        ("tpe", {"n_trials": 4, "n_startup_trials": 2}),
        ("bandit", {"arms": 3, "min_tasks": 2, "batch": 2}),
        ("tpe+bandit", {"tpe__n_trials": 3, "tpe__n_startup_trials": 2, "bandit__min_tasks": 2}),
    ],
)
def test_strategies_search_a_graph(pair_space, dataset, tmp_path, strategy, options):
    budget = Budget(dollars=0.05)
    search = create_search(
        space=pair_space,
        dataset=dataset,
        strategy=strategy,
        budget=budget,
        store=tmp_path / "rg.db",
        test_size=0.25,
        **options,
    )
    result = search.run()
    assert result.best is None and isinstance(result.best_graph, GraphConfig)
    assert result.best_graph.graph == "pair" and set(result.best_graph.models) == {
        "solver",
        "checker",
    }
    assert result.best_stats is not None and result.best_stats.complete
    assert result.test is not None and result.test.n_tasks == result.n_test_tasks == 2
    assert result.test.workflow == result.best_stats.workflow
    assert result.front and all(s.complete for s in result.front)
    assert result.spend.dollars <= budget.dollars and result.spend.calls > 0
    assert result.simulated
    # The result and its settings survive JSON.
    assert SearchResult.model_validate_json(result.to_json()).best_graph == result.best_graph


def test_a_rerun_costs_zero_calls_and_finds_the_same_winner(pair_space, dataset, tmp_path):
    def run():
        return create_search(
            space=pair_space,
            dataset=dataset,
            strategy="tpe",
            n_trials=4,
            budget=Budget(dollars=0.05),
            store=tmp_path / "rg.db",
            name="pair-search",
        ).run()

    first = run()
    again = run()
    assert first.spend_this_run.calls > 0
    assert again.spend_this_run.calls == 0 and again.spend_this_run.dollars == 0
    assert again.best_graph == first.best_graph
    assert again.spend.dollars == pytest.approx(first.spend.dollars)  # the same search's spend
    record = Store(tmp_path / "rg.db").get_search("pair-search")
    assert record is not None and record.result["best_graph"]["models"] == first.best_graph.models
