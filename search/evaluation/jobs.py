"""One evaluation to run, as the evaluator hands it to an executor."""

from __future__ import annotations

from dataclasses import dataclass

from search.evaluation.datasets import Task
from search.evaluation.target import EvalTarget
from search.store import EvalKey

__all__ = ["EvalJob"]


@dataclass(frozen=True, slots=True)
class EvalJob:
    """A target on one task with one seed, and what its result is stored under.

    Executors receive jobs and run them with
    :meth:`~search.evaluation.Evaluator.run_job`, here or on a worker that
    rebuilt the evaluator; the job carries everything the result depends on.
    """

    position: int
    """Its place in the stream that made it (task order, then seed order)."""
    target: EvalTarget
    task: Task
    seed: int
    key: EvalKey
    config: str
    """Digest of what besides the target and the task decides the result
    (:meth:`~search.evaluation.Evaluator.config_digest`), computed by the driver."""
