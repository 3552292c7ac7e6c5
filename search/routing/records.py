"""What a router learns from: the front's arms and their stored per-task outcomes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.pricing import PriceTable
from orchestrator.spec import Agent, WorkflowSpec
from orchestrator.worst_case import worst_case_run
from search.errors import SearchError
from search.objective import Objective
from search.results import SearchResult
from search.routing.features import Features, question_text
from search.routing.policy import TrainingData
from search.store import Store

__all__ = [
    "Arm",
    "Query",
    "pick_arms",
    "verified_arm",
    "VERIFIER_AGENT",
    "queries",
    "outcomes",
    "worst_cases",
]

VERIFIER_AGENT = "route_verifier"
"""The name of the verifier :func:`verified_arm` puts after an arm's exit."""


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
    result: SearchResult,
    *,
    store: Store,
    k: int | None,
    objective: Objective,
    scores: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Arm]:
    """Up to ``k`` arms from the front (default 3), chosen to complement each other.

    First the cheapest member of the front and the strongest (highest mean, the cheaper
    if tied): a router gains most from a cheap arm for what it can answer and a strong
    one for the rest, not from near neighbours on the front, which agree on most
    questions. Then the shipped workflow, then the member that adds most to what the arms
    chosen so far get right (with ``scores``, per workflow hash and task id, on the
    search split; else by the objective).
    """
    if not result.front:
        raise SearchError(f"search {result.name!r} has no front of complete candidates to route")
    limit = k if k is not None else 3
    if limit < 1:
        raise ValueError("k must be at least 1")
    front = list(result.front)
    cheapest = min(front, key=lambda s: (s.cost_per_task, -s.mean))
    strongest = max(front, key=lambda s: (s.mean, -s.cost_per_task))
    shipped = [s for s in front if result.best is not None and s.workflow == result.best.hash]
    ranked = sorted(front, key=objective.key, reverse=True)
    chosen: list[Any] = []
    for stats in [cheapest, strongest, *shipped]:
        if stats not in chosen:
            chosen.append(stats)
    while len(chosen) < min(limit, len(front)):
        rest = [s for s in ranked if s not in chosen]
        if scores:
            rest.sort(key=lambda s: (-_adds(s.workflow, chosen, scores), s.cost_per_task))
        chosen.append(rest[0])
    arms = []
    for stats in chosen[:limit]:
        spec = store.get_workflow(stats.workflow)
        if spec is None:
            raise SearchError(f"workflow {stats.workflow} of the front is not in {store.path}")
        arms.append(
            Arm(spec=spec, label=stats.label, mean=stats.mean, cost_per_task=stats.cost_per_task)
        )
    return arms


def _adds(
    workflow: str, chosen: Sequence[Any], scores: Mapping[str, Mapping[str, float]]
) -> float:
    """Mean over tasks of how much ``workflow`` beats the best of ``chosen`` there."""
    mine = scores.get(workflow, {})
    gains = [
        max(0.0, value - max(scores.get(c.workflow, {}).get(task, 0.0) for c in chosen))
        for task, value in mine.items()
    ]
    return float(np.mean(gains)) if gains else 0.0


def verified_arm(arm: Arm, verifier: str | Agent) -> Arm:
    """``arm`` with a verifier after its exit: the same answer, and a verdict on it.

    A cascade escalates on the verdict (FrugalGPT's scorer). ``verifier`` is a model
    reference (``"provider:model"``) or a full :class:`~orchestrator.Agent` with the
    ``verifier`` role.
    """
    agent = (
        verifier
        if isinstance(verifier, Agent)
        else Agent(name=VERIFIER_AGENT, role="verifier", model=verifier)
    )
    if agent.role != "verifier":
        raise ValueError(f"a cascade's verifier has the 'verifier' role, not {agent.role!r}")
    spec = arm.spec
    if any(a.name == agent.name for a in spec.agents):
        raise ValueError(f"arm {arm.label!r} already has an agent named {agent.name!r}")
    exit_agent = spec.structure.exit
    checked = spec.model_copy(
        update={
            "name": f"{spec.name}-verified"[:100],
            "agents": [*(a.model_dump() for a in spec.agents), agent.model_dump()],
            "edges": [
                *(e.model_dump() for e in spec.edges),
                {"source": exit_agent, "target": agent.name},
            ],
            "exit": agent.name,
        }
    )
    return Arm(
        spec=checked,
        label=f"{arm.label} + verifier({agent.model})",
        mean=arm.mean,
        cost_per_task=arm.cost_per_task,
    )


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
    per_arm: list[dict[str, tuple[float, ...]]] = []
    for arm in arms:
        exit_agent = arm.spec.structure.exit
        checks = any(a.name == exit_agent and a.role == "verifier" for a in arm.spec.agents)
        seen: dict[str, list[tuple[float, ...]]] = {}
        for record in store.evaluations(workflow=arm.hash, dataset=dataset, with_trace=True):
            if record.task_id not in wanted:
                continue
            last = [n for n in record.trace if n.agent == exit_agent]
            stated = last[-1].confidence if last else None
            confidence = stated if stated is not None else math.nan
            verdict = math.nan
            if checks and last:
                said = last[-1].output.get("verdict")
                verdict = 1.0 if said == "accept" else 0.0 if said == "reject" else math.nan
            seen.setdefault(record.task_id, []).append(
                (record.score, record.cost, confidence, verdict, record.latency_s)
            )
        per_arm.append({t: tuple(_mean(v)) for t, v in seen.items()})
    kept = [q for q in rows if all(q.id in table for table in per_arm)]
    if not kept:
        raise SearchError("no task has stored results for every arm; run the search again")
    n, k = len(kept), len(arms)
    table = np.array([[per_arm[a][q.id] for a in range(k)] for q in kept]).reshape(n, k, 5)
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
        verdicts=table[:, :, 3],
        latencies=table[:, :, 4],
    )


def _mean(rows: list[tuple[float, ...]]) -> list[float]:
    """Column means over seeds; a verdict is the share of seeds that accepted (nan if none)."""
    values = np.asarray(rows, dtype=float)
    means = values.mean(axis=0)
    verdicts = values[:, 3][~np.isnan(values[:, 3])]
    means[3] = float(verdicts.mean()) if verdicts.size else math.nan
    return [float(v) for v in means]
