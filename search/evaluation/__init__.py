"""The evaluation layer: datasets, metrics, budgets, the evaluator and statistics.

Example:
    >>> from search.evaluation import Budget, Evaluator, bundled_dataset
    >>> from topologies import single
    >>> data = bundled_dataset("arithmetic", n=30, seed=1).split(seed=1)
    >>> ev = Evaluator(data.train, "numeric", budget=Budget(dollars=0.10))
    >>> ev.evaluate(single(model="sim:atlas-mini")).mean  # doctest: +SKIP
"""

from orchestrator.budget import Budget, BudgetLedger, Spend
from orchestrator.worst_case import Estimate, estimate_evaluation
from search.evaluation.benchmarks import (
    Benchmark,
    BenchmarkSpec,
    PackageData,
    get_benchmark,
    list_benchmarks,
    load_benchmark,
    register_benchmark,
)
from search.evaluation.datasets import (
    Dataset,
    DatasetError,
    Splits,
    Task,
    bundled_dataset,
    load_dataset,
)
from search.evaluation.evaluator import EvalStream, EvalSummary, Evaluator, SyncEvalStream
from search.evaluation.metrics import (
    ExactMatch,
    FunctionMetric,
    Metric,
    MetricError,
    NumericMatch,
    TokenF1,
    get_metric,
    list_metrics,
    register_metric,
)
from search.evaluation.settings import EvalSettings, RetrySettings
from search.evaluation.stats import (
    Interval,
    PairedComparison,
    ScoreSummary,
    bootstrap_interval,
    mean_interval,
    paired_bootstrap,
    summarize,
    wilson_interval,
)

__all__ = [
    "Task",
    "Dataset",
    "Splits",
    "DatasetError",
    "load_dataset",
    "bundled_dataset",
    "load_benchmark",
    "Benchmark",
    "BenchmarkSpec",
    "PackageData",
    "register_benchmark",
    "get_benchmark",
    "list_benchmarks",
    "Metric",
    "MetricError",
    "NumericMatch",
    "ExactMatch",
    "TokenF1",
    "FunctionMetric",
    "get_metric",
    "register_metric",
    "list_metrics",
    "EvalSettings",
    "RetrySettings",
    "Budget",
    "BudgetLedger",
    "Spend",
    "Estimate",
    "estimate_evaluation",
    "Evaluator",
    "EvalSummary",
    "EvalStream",
    "SyncEvalStream",
    "ScoreSummary",
    "summarize",
    "Interval",
    "PairedComparison",
    "wilson_interval",
    "bootstrap_interval",
    "mean_interval",
    "paired_bootstrap",
]
