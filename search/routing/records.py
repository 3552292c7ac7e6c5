"""What a router learns from: the front's arms and their stored per-task outcomes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.pricing import PriceTable
from orchestrator.spec import WorkflowSpec
from orchestrator.worst_case import worst_case_run
from search.errors import SearchError
from search.objective import Objective
from search.results import SearchResult
from search.routing.features import Features, question_text
from search.routing.policy import TrainingData
from search.store import Store

__all__ = ["Arm", "Query", "pick_arms", "queries", "outcomes", "worst_cases"]


class Arm(BaseModel):
    """One workflow a router may send a question to, with its search-split numbers."""

    model_config = ConfigDict(frozen=True)

    spec: WorkflowSpec = Field(description="The workflow.")
    label: str = Field(description="Short description from the search.")
    mean: float = Field(description="Mean score on the search split.")
    cost_per_task: float = Field(description="Mean dollars per search task.")

    @property
    def hash(self) -> str:
        """The workflow's content hash."""
        return self.spec.hash


class Query(BaseModel):
    """A task as a router may see it: its id and question, never its answer."""

    model_config = ConfigDict(frozen=True)

    id: str
    question: str


def queries(tasks: Iterable[Any], ids: Sequence[str]) -> list[Query]:
    """The tasks with these ids, in that order, reading only ``id`` and ``question``."""
    by_id = {str(task.id): task for task in tasks}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise SearchError(
            f"{len(missing)} of the search's tasks are not in the tasks given (e.g. "
            f"{missing[0]!r}); give the dataset the search ran on"
        )
    return [Query(id=i, question=question_text(by_id[i].question)) for i in ids]


def pick_arms(
    result: SearchResult, *, store: Store, k: int | None, objective: Objective
) -> list[Arm]:
    """Up to ``k`` arms from the front (default 3), specs read from the store.

    The shipped workflow first, then the cheapest, then the best by the objective.
    """
    if not result.front:
        raise SearchError(f"search {result.name!r} has no front of complete candidates to route")
    ranked = sorted(result.front, key=objective.key, reverse=True)
    shipped = [s for s in ranked if result.best is not None and s.workflow == result.best.hash]
    cheapest = min(result.front, key=lambda s: (s.cost_per_task, -s.mean))
    chosen: list[Any] = []
    for stats in [*shipped, cheapest, *ranked]:
        if stats not in chosen:
            chosen.append(stats)
    limit = k if k is not None else 3
    if limit < 1:
        raise ValueError("k must be at least 1")
    arms = []
    for stats in chosen[:limit]:
        spec = store.get_workflow(stats.workflow)
        if spec is None:
            raise SearchError(f"workflow {stats.workflow} of the front is not in {store.path}")
        arms.append(
            Arm(spec=spec, label=stats.label, mean=stats.mean, cost_per_task=stats.cost_per_task)
        )
    return arms


def worst_cases(
    arms: Sequence[Arm],
    question: str,
    *,
    models: Mapping[str, BaseChatModel] | None = None,
    prices: PriceTable | None = None,
) -> list[float]:
    """Each arm's worst-case dollars for one run on ``question``."""
    return [
        worst_case_run(arm.spec, question=question, models=models, prices=prices).dollars
        for arm in arms
    ]


def outcomes(
    store: Store,
    *,
    dataset: str,
    arms: Sequence[Arm],
    rows: Sequence[Query],
    features: Features,
    models: Mapping[str, BaseChatModel] | None = None,
    prices: PriceTable | None = None,
) -> TrainingData:
    """Stored outcomes of every arm on ``rows`` (seeds averaged); rows some arm lacks drop."""
    wanted = {q.id for q in rows}
    per_arm: list[dict[str, tuple[float, float, float]]] = []
    for arm in arms:
        exit_agent = arm.spec.structure.exit
        seen: dict[str, list[tuple[float, float, float]]] = {}
        for record in store.evaluations(workflow=arm.hash, dataset=dataset, with_trace=True):
            if record.task_id not in wanted:
                continue
            stated = [n.confidence for n in record.trace if n.agent == exit_agent]
            confidence = stated[-1] if stated and stated[-1] is not None else math.nan
            seen.setdefault(record.task_id, []).append((record.score, record.cost, confidence))
        per_arm.append({t: tuple(np.mean(v, axis=0)) for t, v in seen.items()})
    kept = [q for q in rows if all(q.id in table for table in per_arm)]
    if not kept:
        raise SearchError("no task has stored results for every arm; run the search again")
    n, k = len(kept), len(arms)
    table = np.array([[per_arm[a][q.id] for a in range(k)] for q in kept]).reshape(n, k, 3)
    worst = np.array(
        [worst_cases(arms, q.question, models=models, prices=prices) for q in kept]
    ).reshape(n, k)
    return TrainingData(
        task_ids=tuple(q.id for q in kept),
        features=features.matrix([q.question for q in kept]),
        scores=table[:, :, 0],
        costs=table[:, :, 1],
        confidences=table[:, :, 2],
        worst=worst,
    )
