"""Every built-in strategy passes the conformance suite a user's strategy can run too."""

import pytest

from orchestrator.errors import MissingIntegrationError
from search.strategies import SearchStrategy, get_strategy, list_strategies
from search.testing import StrategyTestCase

# Small settings where a default would take long on the suite's 18-candidate space.
OPTIONS = {
    "tpe": {"n_trials": 8, "n_startup_trials": 4},
    "nsga2": {"n_trials": 8},
    "gp": {"n_trials": 6, "n_startup_trials": 3},
    "mcts": {"iterations": 6, "min_tasks": 6},
    "aflow": {"iterations": 6, "min_tasks": 6},
    "bandit": {"arms": 6, "min_tasks": 6},
    "ucb": {"arms": 6, "min_tasks": 6},
    "thompson": {"arms": 6, "min_tasks": 6},
    "boad": {"iterations": 3, "batch": 6},
    "knapsack": {"probe_tasks": 6, "budget_per_task": 0.002},
    "random": {"n_candidates": 6},
}


def _case(name: str) -> type[StrategyTestCase]:
    def create_strategy(self: StrategyTestCase) -> SearchStrategy:
        try:
            return get_strategy(name, **OPTIONS.get(name, {}))
        except MissingIntegrationError as exc:
            pytest.skip(str(exc))

    title = "".join(part.title() for part in name.replace("-", "_").split("_"))
    return type(
        f"Test{title}Conformance", (StrategyTestCase,), {"create_strategy": create_strategy}
    )


for _name in list_strategies():
    globals()[_case(_name).__name__] = _case(_name)


class TestAPipelineConforms(StrategyTestCase):
    """A user composes stages; the pipeline is a strategy like any other."""

    def create_strategy(self) -> SearchStrategy:
        return get_strategy("random+bandit", random__n_candidates=4, bandit__min_tasks=6)
