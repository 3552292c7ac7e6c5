"""A strategy written outside rolegraph: the conformance suite, an estimate and a refusal for free.

Both strategies below are defined here, registered by name, and never named by
rolegraph's own modules: the estimate reads their plan hook, a graph space
reads their capabilities.
"""

from __future__ import annotations

import math

import pytest
from pydantic import Field

from search import create_search
from search.estimate import estimate_search
from search.evaluation import Budget, bundled_dataset
from search.graphs import GraphSpace, GraphSpaceError
from search.space import Candidate, SearchSpace
from search.strategies import (
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    get_strategy,
    list_strategies,
    register_strategy,
)
from search.strategies.base import Capabilities, StrategyOptions
from search.strategies.plan import PlanRequest, StagePlan
from search.testing import StrategyTestCase

SPACE = SearchSpace.model_validate(
    {
        "topologies": ["single", "self_refine"],
        "pool": ["sim:atlas-nano", "sim:lynx-small", "sim:atlas-mini"],
        "fixed": {"single": {"temperature": 0.0}, "self_refine": {"rounds": 1, "plan": False}},
    }
)
DATA = bundled_dataset("arithmetic", n=16, seed=4)


class StrideOptions(StrategyOptions):
    """Settings of :class:`StrideStrategy`."""

    stride: int = Field(default=2, ge=1, description="Take every stride-th candidate.")
    limit: int = Field(default=5, ge=1, description="Candidates at most.")


class StrideStrategy(SearchStrategy):
    """Every ``stride``-th candidate of the grid, at most ``limit``, each on every task."""

    name = "outside-stride"

    def __init__(self, *, stride: int = 2, limit: int = 5) -> None:
        self.options: StrideOptions = StrideOptions(stride=stride, limit=limit)

    def setup(self, context: SearchContext) -> None:
        super().setup(context)
        grid = list(context.candidates or context.space.grid(origin=self.name))
        self._queue: list[Candidate] = grid[:: self.options.stride][: self.options.limit]

    def ask(self) -> Proposal | None:
        return Proposal(candidate=self._queue.pop(0)) if self._queue else None

    def tell(self, outcome: Outcome) -> None:
        pass

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        n = min(self.options.limit, math.ceil(request.size / self.options.stride))
        summary = f"every {self.options.stride}th of the grid, {n} candidates on every task"
        return [StagePlan.every_task(self.name, summary, candidates=n, tasks=request.tasks)]


class RewireStrategy(StrideStrategy):
    """The same proposals, but it says it edits topologies (as a topology mutator would)."""

    name = "outside-rewire"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(edits_topologies=True)


class PlanlessStrategy(StrideStrategy):
    """The same proposals with no plan hook: only the budget bounds its estimate."""

    name = "outside-planless"

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        return SearchStrategy.plan(self, request)


register_strategy("outside-stride", StrideStrategy)
register_strategy("outside-rewire", RewireStrategy)


class TestAnOutsideStrategyConforms(StrategyTestCase):
    def create_strategy(self) -> SearchStrategy:
        return get_strategy("outside-stride", stride=3)


class TestAnOutsideTopologyEditorConforms(StrategyTestCase):
    def create_strategy(self) -> SearchStrategy:
        return get_strategy("outside-rewire", limit=4)


def test_its_options_are_recorded_with_the_search() -> None:
    strategy = get_strategy("outside-stride", stride=3)
    assert strategy.describe() == {"strategy": "outside-stride", "stride": 3, "limit": 5}
    with pytest.raises(Exception, match="greater than or equal to 1"):
        StrideStrategy(stride=0)


def test_it_gets_an_estimate_from_its_plan_and_the_run_stays_inside_it() -> None:
    search = create_search(
        space=SPACE, dataset=DATA, strategy="outside-stride", stride=2, limit=3, store=None
    )
    estimate = estimate_search(search)
    tasks, test = len(search.search_tasks), len(search.test_tasks)
    assert [plan.summary for plan in estimate.plan] == [
        "every 2th of the grid, 3 candidates on every task"
    ]
    assert estimate.candidates.high == 3 and estimate.bound == "plan"
    # Its three candidates on every task, the baselines every search runs, the test split.
    assert estimate.evaluations.high >= 3 * tasks + test
    assert estimate.dollars.high is not None and math.isfinite(estimate.dollars.high)
    result = search.run()
    assert result.stages[search.strategy.name].evaluations == 3 * tasks
    assert estimate.evaluations.contains(result.evaluations + test)
    assert estimate.dollars.contains(result.spend.dollars), (estimate.dollars, result.spend)


def test_without_a_plan_only_the_budget_bounds_the_estimate() -> None:
    search = create_search(
        space=SPACE,
        dataset=DATA,
        strategy=PlanlessStrategy(),
        budget=Budget(dollars=0.5),
        store=None,
    )
    estimate = estimate_search(search)
    assert estimate.plan[0].summary == "no plan known: the budget bounds it"
    assert estimate.candidates.high is None
    assert estimate.dollars.high == 0.5 and estimate.bound == "budget"


def _graph_space() -> GraphSpace:
    def build(models, **params):  # never called: the space is refused or not run
        raise AssertionError("not built")

    return GraphSpace.model_validate(
        {
            "build": build,
            "slots": ["solver"],
            "pool": ["sim:atlas-nano"],
            "name": "g",
            "version": "1",
        }
    )


def test_a_graph_space_refuses_it_by_capability_and_names_who_can() -> None:
    with pytest.raises(GraphSpaceError, match="'outside-rewire' edits rolegraph workflow") as info:
        create_search(space=_graph_space(), dataset=DATA, strategy="outside-rewire", store=None)
    usable = str(info.value).split("use one of ")[1]
    assert "outside-stride" in usable and "outside-rewire" not in usable
    assert "mcts" not in usable and "tpe" in usable
    with pytest.raises(GraphSpaceError, match="'outside-stride\\+outside-rewire' edits"):
        create_search(
            space=_graph_space(),
            dataset=DATA,
            strategy="outside-stride+outside-rewire",
            store=None,
        )
    # One that does not edit topologies is taken.
    create_search(space=_graph_space(), dataset=DATA, strategy="outside-stride", store=None)
    assert "outside-rewire" in list_strategies(edits_topologies=True)
