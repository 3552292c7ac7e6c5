"""examples/existing_langgraph.py: an ordinary LangGraph graph, searched under a budget."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

from search import Store

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "existing_langgraph.py"


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("existing_langgraph")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", [str(EXAMPLE), str(folder)])  # the folder it writes into
        first = runpy.run_path(str(EXAMPLE), run_name="__main__")
        again = runpy.run_path(str(EXAMPLE), run_name="__main__")
    return folder, first, again


def test_example_searches_within_budget_with_a_held_out_test(example_runs):
    folder, first, _ = example_runs
    result = first["result"]
    assert result.budget is not None and result.budget.dollars is not None
    assert 0 < result.spend.dollars <= result.budget.dollars
    assert result.best_graph is not None and result.best_graph.graph == "research-team"
    assert result.test is not None and result.test.n_tasks == result.n_test_tasks > 0
    assert result.front and result.simulated
    # The graph's own model calls were charged to the search and cached in its store.
    assert result.spend.calls > 0
    assert len(Store(folder / "existing_langgraph.db").llm_cache()) >= result.spend.calls
    best = result.best_stats
    assert best is not None and best.cost_per_task > 0
    # The deployed winner is the user's graph, traced call by call.
    run = first["run"]
    assert run.calls >= 2 and {n.agent for n in run.nodes} >= {"researcher", "writer"}
    assert (folder / "best_graph.json").exists()
    # The exported LangGraph app builds the user's graph with the chosen models.
    app = json.loads((folder / "app" / "langgraph.json").read_text())
    assert app["graphs"] == {"research_team": "./research_team.py:graph"}
    assert result.best_graph.version.startswith("code-")  # versioned by its code


def test_example_rerun_costs_zero_model_calls(example_runs):
    _, first, again = example_runs
    assert again["result"].spend_this_run.calls == 0
    assert again["result"].spend_this_run.dollars == 0
    assert again["result"].best_graph == first["result"].best_graph
