"""A built-in strategy that finishes on its own says why, in the search's stop reason."""

import pytest

from search.strategies import get_strategy
from tests.search.strategies.helpers import run, single_space

CASES = {
    "tpe": ({"n_trials": 3, "n_startup_trials": 2}, "3 trials done (n_trials)"),
    "bandit": ({"arms": 4, "min_tasks": 5}, "the race is over"),
    "mcts": ({"iterations": 2, "min_tasks": 5}, "2 expansions done (iterations)"),
    "auto": ({}, "every other candidate is out against the leader"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_stop_reason_names_why_the_strategy_finished(tmp_path, name) -> None:
    options, expected = CASES[name]
    result = run(tmp_path, get_strategy(name, **options), space=single_space())
    assert result.stop_reason.startswith("strategy finished: "), result.stop_reason
    assert expected in result.stop_reason, result.stop_reason
