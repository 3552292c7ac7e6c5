"""Confidence intervals for a workflow's mean score, and paired comparisons of two workflows.

Scores are per task. With repetitions, average each task's scores first: tasks,
not repetitions, are the independent samples. Every resampling function takes
a ``seed``, so results are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from statistics import NormalDist
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ScoreSummary",
    "Scored",
    "ScoredRow",
    "summarize",
    "Interval",
    "PairedComparison",
    "wilson_interval",
    "bootstrap_interval",
    "mean_interval",
    "paired_bootstrap",
    "task_means",
    "signed_rank_p",
]

IntervalMethod = Literal["wilson", "bootstrap", "none"]


class Interval(BaseModel):
    """A mean with its confidence interval."""

    model_config = ConfigDict(frozen=True)

    mean: float = Field(description="The sample mean; NaN when there are no samples.")
    low: float = Field(description="Lower bound of the interval.")
    high: float = Field(description="Upper bound of the interval.")
    n: int = Field(description="Number of samples (tasks).")
    confidence: float = Field(default=0.95, description="Coverage of the interval.")
    method: IntervalMethod = Field(
        description="'wilson' for 0/1 scores, 'bootstrap' (percentile) otherwise."
    )

    @property
    def half_width(self) -> float:
        """Half the interval's width; a quick 'plus or minus'."""
        return (self.high - self.low) / 2


class PairedComparison(BaseModel):
    """Workflow A against workflow B on the tasks both have seen (``A - B``)."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(description="Number of shared tasks.")
    mean_a: float = Field(description="A's mean score on the shared tasks.")
    mean_b: float = Field(description="B's mean score on the shared tasks.")
    difference: float = Field(description="mean_a - mean_b.")
    low: float = Field(description="Lower bound of the difference's interval.")
    high: float = Field(description="Upper bound of the difference's interval.")
    p_value: float = Field(description="Two-sided bootstrap p-value for 'no difference'.")
    confidence: float = Field(default=0.95, description="Coverage of the interval.")
    n_resamples: int = Field(description="Bootstrap resamples drawn.")

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: float, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; sound for small ``n`` and extreme rates.

    Example:
        >>> low, high = wilson_interval(8, 10)
        >>> round(low, 3), round(high, 3)
        (0.49, 0.943)
    """
    if n <= 0:
        return (0.0, 1.0)
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - spread), min(1.0, centre + spread))


def bootstrap_interval(
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean.

    Example:
        >>> low, high = bootstrap_interval([0.2, 0.4, 0.9, 0.7, 0.5], seed=1)
        >>> low < 0.54 < high
        True
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (math.nan, math.nan)
    if data.size == 1 or np.all(data == data[0]):
        return (float(data[0]), float(data[0]))
    _z(confidence)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n_resamples, data.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return (float(low), float(high))


def _is_binary(values: Iterable[float]) -> bool:
    return all(v == 0.0 or v == 1.0 for v in values)


def mean_interval(
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    method: Literal["auto", "wilson", "bootstrap"] = "auto",
    n_resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """The mean of per-task scores with a confidence interval.

    ``method="auto"`` uses the Wilson interval when every score is 0 or 1 and
    a percentile bootstrap otherwise.

    Example:
        >>> mean_interval([1, 0, 1, 1]).method
        'wilson'
    """
    data = [float(v) for v in values]
    if not data:
        return Interval(
            mean=math.nan, low=math.nan, high=math.nan, n=0, confidence=confidence, method="none"
        )
    mean = sum(data) / len(data)
    if method == "wilson" or (method == "auto" and _is_binary(data)):
        low, high = wilson_interval(sum(data), len(data), confidence=confidence)
        chosen: IntervalMethod = "wilson"
    else:
        low, high = bootstrap_interval(
            data, confidence=confidence, n_resamples=n_resamples, seed=seed
        )
        chosen = "bootstrap"
    return Interval(
        mean=mean, low=low, high=high, n=len(data), confidence=confidence, method=chosen
    )


def task_means(scores: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Average ``(task_id, score)`` pairs per task, keeping first-seen task order."""
    sums: dict[str, list[float]] = {}
    for task_id, score in scores:
        sums.setdefault(task_id, []).append(float(score))
    return {task_id: sum(s) / len(s) for task_id, s in sums.items()}


def paired_bootstrap(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> PairedComparison:
    """Compare two workflows on the tasks both have scores for, resampling tasks in pairs.

    Args:
        a: Per-task scores of workflow A (task id -> score; see :func:`task_means`).
        b: Per-task scores of workflow B.
        confidence: Coverage of the interval on ``mean(A) - mean(B)``.
        n_resamples: Bootstrap resamples.
        seed: Resampling seed.

    Returns:
        The difference, its percentile interval and a two-sided p-value computed
        from the bootstrap distribution shifted to zero difference.

    Raises:
        ValueError: The two workflows share no task.

    Example:
        >>> a = {"t1": 1.0, "t2": 1.0, "t3": 0.0, "t4": 1.0}
        >>> b = {"t1": 0.0, "t2": 1.0, "t3": 0.0, "t4": 0.0}
        >>> paired_bootstrap(a, b).difference
        0.5
    """
    shared = [task for task in a if task in b]
    if not shared:
        raise ValueError("the two workflows share no scored task; evaluate them on the same tasks")
    _z(confidence)
    xa = np.array([float(a[t]) for t in shared])
    xb = np.array([float(b[t]) for t in shared])
    diffs = xa - xb
    observed = float(diffs.mean())
    rng = np.random.default_rng(seed)
    boot = diffs[rng.integers(0, diffs.size, size=(n_resamples, diffs.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = (float(q) for q in np.quantile(boot, [alpha, 1 - alpha]))
    extreme = int(np.count_nonzero(np.abs(boot - observed) >= abs(observed) - 1e-12))
    p_value = min(1.0, (extreme + 1) / (n_resamples + 1))
    return PairedComparison(
        n=len(shared),
        mean_a=float(xa.mean()),
        mean_b=float(xb.mean()),
        difference=observed,
        low=low,
        high=high,
        p_value=p_value,
        confidence=confidence,
        n_resamples=n_resamples,
    )


class ScoredRow(Protocol):
    """One result as :func:`summarize` reads it (an ``EvalRecord`` or a store ``ScoreRow``)."""

    @property
    def task_id(self) -> str:
        """The task."""
        ...

    @property
    def score(self) -> float:
        """Its score in [0, 1]."""
        ...

    @property
    def failed(self) -> bool:
        """Whether the run failed."""
        ...

    @property
    def cost(self) -> float:
        """List-price dollars of its model calls."""
        ...

    @property
    def charged(self) -> float:
        """Dollars paid for it (cache misses)."""
        ...

    @property
    def tokens(self) -> int:
        """Tokens of its model calls."""
        ...

    @property
    def calls(self) -> int:
        """Its model calls."""
        ...


class ScoreSummary(BaseModel):
    """A mean score with its interval, failures and cost: what every report is built on.

    Tasks are the samples: with repetitions, each task's seeds are averaged first.
    """

    model_config = ConfigDict(frozen=True)

    n: int = Field(default=0, description="Results counted (tasks x seeds).")
    n_tasks: int = Field(default=0, description="Distinct tasks counted.")
    mean: float = Field(default=math.nan, description="Mean score over tasks; NaN with none.")
    ci_low: float = Field(default=math.nan, description="Lower bound of the interval.")
    ci_high: float = Field(default=math.nan, description="Upper bound of the interval.")
    ci_method: IntervalMethod = Field(
        default="none", description="'wilson' (0/1 scores), 'bootstrap', or 'none' with no data."
    )
    confidence: float = Field(default=0.95, description="Coverage of the interval.")
    failures: int = Field(default=0, description="Results that failed.")
    cost: float = Field(default=0.0, description="List-price dollars of every counted result.")
    cost_per_task: float = Field(default=0.0, description="Mean list-price dollars per result.")
    charged: float = Field(
        default=0.0, description="Dollars paid for the counted results when they ran."
    )
    tokens: int = Field(default=0, description="Tokens of every counted result.")
    calls: int = Field(default=0, description="Model calls of every counted result.")

    @property
    def tokens_per_task(self) -> float:
        """Mean tokens per result."""
        return self.tokens / self.n if self.n else 0.0

    @property
    def calls_per_task(self) -> float:
        """Mean model calls per result."""
        return self.calls / self.n if self.n else 0.0


class Scored(BaseModel):
    """A report that carries a :class:`ScoreSummary` as ``score`` and reads through to it."""

    model_config = ConfigDict(frozen=True)

    score: ScoreSummary = Field(description="Mean, interval, failures and cost.")

    @property
    def mean(self) -> float:
        """Mean score over tasks."""
        return self.score.mean

    @property
    def ci_low(self) -> float:
        """Lower bound of the interval."""
        return self.score.ci_low

    @property
    def ci_high(self) -> float:
        """Upper bound of the interval."""
        return self.score.ci_high

    @property
    def n_tasks(self) -> int:
        """Distinct tasks counted."""
        return self.score.n_tasks

    @property
    def cost_per_task(self) -> float:
        """Mean list-price dollars per result."""
        return self.score.cost_per_task


def summarize(rows: Iterable[ScoredRow], *, confidence: float = 0.95) -> ScoreSummary:
    """The :class:`ScoreSummary` of some results.

    Example:
        >>> from search.store import ScoreRow
        >>> rows = [ScoreRow("t1", 0, 1.0, False, 0.01, 0.01, 50, 1),
        ...         ScoreRow("t2", 0, 0.0, False, 0.03, 0.0, 70, 1)]
        >>> summary = summarize(rows)
        >>> summary.mean, summary.cost_per_task, summary.ci_method
        (0.5, 0.02, 'wilson')
    """
    listed = list(rows)
    per_task = task_means((row.task_id, row.score) for row in listed)
    interval = mean_interval(list(per_task.values()), confidence=confidence)
    cost = sum(row.cost for row in listed)
    return ScoreSummary(
        n=len(listed),
        n_tasks=len(per_task),
        mean=interval.mean,
        ci_low=interval.low,
        ci_high=interval.high,
        ci_method=interval.method,
        confidence=confidence,
        failures=sum(1 for row in listed if row.failed),
        cost=cost,
        cost_per_task=cost / len(listed) if listed else 0.0,
        charged=sum(row.charged for row in listed),
        tokens=sum(row.tokens for row in listed),
        calls=sum(row.calls for row in listed),
    )


def _ranks(values: list[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of ``values`` and the sizes of tied groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def signed_rank_p(differences: list[float]) -> float:
    """One-sided Wilcoxon signed-rank p-value that the differences lie below zero.

    Zeros are split between the signs (``zsplit``), ties get average ranks, and
    the null distribution is the normal approximation with the tie correction,
    which is what makes it fast: O(n log n), no permutations.
    """
    n = len(differences)
    if n == 0:
        return 1.0
    ranks, ties = _ranks([abs(d) for d in differences])
    positive = sum(r for r, d in zip(ranks, differences, strict=True) if d > 0)
    positive += 0.5 * sum(r for r, d in zip(ranks, differences, strict=True) if d == 0)
    mean = n * (n + 1) / 4
    variance = n * (n + 1) * (2 * n + 1) / 24 - sum(t**3 - t for t in ties) / 48
    if variance <= 0:
        return 0.5
    z = (positive - mean) / math.sqrt(variance)
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
