"""Evaluation harness and search: datasets, metrics, budgets, evaluation and statistics.

Example:
    >>> from search import Budget, Evaluator, bundled_dataset
    >>> from topologies import single
    >>> data = bundled_dataset("arithmetic", n=30, seed=1).split(seed=1)
    >>> ev = Evaluator(data.train, "numeric", budget=Budget(dollars=0.10))
    >>> ev.evaluate(single(model="sim:atlas-mini")).mean  # doctest: +SKIP
"""

from search.benchmarks import Benchmark, load_benchmark
from search.budget import Budget, BudgetLedger, Estimate, Spend, estimate_evaluation
from search.datasets import (
    Dataset,
    DatasetError,
    Splits,
    Task,
    bundled_dataset,
    load_dataset,
)
from search.evaluator import EvalStream, EvalSummary, Evaluator, SyncEvalStream
from search.metrics import ExactMatch, FunctionMetric, Metric, NumericMatch, TokenF1, get_metric
from search.stats import (
    Interval,
    PairedComparison,
    bootstrap_interval,
    mean_interval,
    paired_bootstrap,
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
    "Metric",
    "NumericMatch",
    "ExactMatch",
    "TokenF1",
    "FunctionMetric",
    "get_metric",
    "Budget",
    "BudgetLedger",
    "Spend",
    "Estimate",
    "estimate_evaluation",
    "Evaluator",
    "EvalSummary",
    "EvalStream",
    "SyncEvalStream",
    "Interval",
    "PairedComparison",
    "wilson_interval",
    "bootstrap_interval",
    "mean_interval",
    "paired_bootstrap",
]
