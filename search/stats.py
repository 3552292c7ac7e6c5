"""Confidence intervals for a workflow's mean score, and paired comparisons of two workflows.

Scores are per task. With repetitions, average each task's scores first: tasks,
not repetitions, are the independent samples. Every resampling function takes
a ``seed``, so results are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Interval",
    "PairedComparison",
    "wilson_interval",
    "bootstrap_interval",
    "mean_interval",
    "paired_bootstrap",
    "task_means",
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
