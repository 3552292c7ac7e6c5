"""Scores with reasons, and scoring off the event loop.

A metric may explain a score: its ``explain(prediction, task)`` and
``aexplain(prediction, task)`` return a :class:`MetricScore` with a ``reason``
(why a program failed its tests, why no choice letter could be read). The
evaluator records it in the evaluation record (``error`` and ``error_type``,
with ``failed`` left false: the workflow ran and its answer was scored).
Metrics that run programs are awaited through ``aexplain``, so other
evaluations go on meanwhile; plain metrics are called as they are.
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from search.evaluation.datasets import Task

__all__ = ["MetricScore", "ascore", "score_of"]


class MetricScore(BaseModel):
    """A score with, when the metric says, why it is what it is."""

    model_config = ConfigDict(frozen=True)

    score: float = Field(description="The score, in [0, 1].")
    reason: str | None = Field(
        default=None,
        description="Why the answer lost points (the failed test, the limit hit); None when "
        "the metric gives no reason.",
    )
    outcome: str | None = Field(
        default=None,
        description="A short label of what happened: 'wrong', 'unreadable' (no answer could "
        "be read), or a code run's status: 'failed', 'timeout', 'memory_limit', 'forbidden', ...",
    )


def score_of(metric: Any, prediction: str | None, task: Task) -> MetricScore:
    """Score now: with ``metric.explain`` when it has one, else ``metric(prediction, task)``."""
    explain = getattr(metric, "explain", None)
    if callable(explain):
        result = explain(prediction, task)
        return result if isinstance(result, MetricScore) else MetricScore(score=float(result))
    return MetricScore(score=float(metric(prediction, task)))


async def ascore(metric: Any, prediction: str | None, task: Task) -> MetricScore:
    """Score without blocking the event loop when the metric supports it.

    ``metric.aexplain`` is awaited when the metric has one (code execution
    runs in a subprocess meanwhile); otherwise the metric is called in place,
    as plain metrics are quick.
    """
    explain = getattr(metric, "aexplain", None)
    if explain is not None and inspect.iscoroutinefunction(explain):
        result = await explain(prediction, task)
        if isinstance(result, MetricScore):
            return result
        return MetricScore(score=float(result))
    return score_of(metric, prediction, task)
