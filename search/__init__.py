"""Topology search: find the workflow that scores best per dollar on your data, under a budget.

The face of the package. Build a search with :func:`create_search` over a
:class:`SearchSpace` (registered topologies x their parameters x a pool of
models), run it, and deploy ``result.best``. Deeper layers have their own
faces: :mod:`search.evaluation` (datasets, metrics, budgets, the evaluator,
statistics), :mod:`search.store` (the SQLite store) and
:mod:`search.strategies` (the strategy families and their registry).

Example:
    >>> from search import Budget, Objective, SearchSpace, create_search
    >>> search = create_search(
    ...     space=SearchSpace(topologies=["single", "vote_ensemble"],
    ...                       pool=["sim:atlas-nano", "sim:lynx-small"]),
    ...     dataset="bundled:arithmetic", budget=Budget(dollars=1.0),
    ...     objective=Objective(max_cost_per_task=0.001), store=":memory:")
    >>> result = search.run()  # doctest: +SKIP
"""

from search.errors import SearchError, SettingsError, StoreError
from search.evaluation import (
    Benchmark,
    BenchmarkSpec,
    Budget,
    Dataset,
    EvalSettings,
    EvalSummary,
    Evaluator,
    Metric,
    RetrySettings,
    ScoreSummary,
    Task,
    bundled_dataset,
    get_metric,
    list_benchmarks,
    list_metrics,
    load_benchmark,
    load_dataset,
    register_benchmark,
    register_metric,
)
from search.objective import Objective
from search.results import CandidateStats, SearchResult, TestReport
from search.runner import Search, create_search
from search.settings import SearchSettings
from search.space import Candidate, ComponentPool, SearchSpace
from search.store import Store
from search.strategies import (
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    get_strategy,
    list_strategies,
    register_strategy,
)

__all__ = [
    "create_search",
    "Search",
    "SearchSpace",
    "ComponentPool",
    "Candidate",
    "Objective",
    "Budget",
    "SearchResult",
    "CandidateStats",
    "TestReport",
    "ScoreSummary",
    "Evaluator",
    "EvalSummary",
    "Dataset",
    "Task",
    "load_dataset",
    "bundled_dataset",
    "load_benchmark",
    "list_benchmarks",
    "register_benchmark",
    "Benchmark",
    "BenchmarkSpec",
    "Metric",
    "get_metric",
    "register_metric",
    "list_metrics",
    "SearchSettings",
    "EvalSettings",
    "RetrySettings",
    "Store",
    "SearchStrategy",
    "SearchContext",
    "Proposal",
    "Outcome",
    "get_strategy",
    "register_strategy",
    "list_strategies",
    "SearchError",
    "SettingsError",
    "StoreError",
]
