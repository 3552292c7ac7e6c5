"""What a search returns: the best spec, the Pareto front, statistics, spend and test numbers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from orchestrator import WorkflowSpec
from orchestrator.budget import Budget, Spend
from search.candidate_stats import CandidateStats
from search.certificate import Certificate
from search.evaluation.stats import Scored
from search.graphs.config import GraphConfig
from search.stops import Stop

__all__ = ["CandidateStats", "TestReport", "Step", "SearchResult", "pareto_front"]


class TestReport(Scored):
    """The final pick's numbers on the held-out test split, which the search never saw."""

    model_config = ConfigDict(frozen=True)

    workflow: str = Field(description="Content hash of the evaluated spec.")
    spent: float = Field(description="Dollars spent on the test evaluation now (cache misses).")
    stop_reason: str = Field(description="'completed', or why it stopped early.")


class Step(BaseModel):
    """One point of a search's history: after an outcome was told to the strategy."""

    model_config = ConfigDict(frozen=True)

    evaluations: int = Field(description="Evaluations the search had asked for, stored included.")
    dollars: float = Field(
        description="List-price dollars of every evaluation the search had asked for, stored "
        "ones included: the cost of its course so far, the same on a rerun."
    )
    spent: float = Field(
        default=0.0,
        description="What the evaluations the search had used cost when they ran (cache "
        "misses, each once): its real spend so far, the same on a rerun.",
    )
    candidate: str = Field(description="Hash of the workflow whose outcome this was.")
    stage: str = Field(description="The strategy (or pipeline stage) that proposed it.")
    n_tasks: int = Field(description="Search tasks the candidate had results on then.")
    mean: float = Field(description="Its mean score on them.")
    pruned: bool = Field(default=False, description="Whether it was stopped early.")
    best: str | None = Field(default=None, description="The incumbent's hash after this step.")
    best_mean: float | None = Field(default=None, description="The incumbent's mean score.")


class SearchResult(BaseModel):
    """Everything a search found and spent."""

    model_config = ConfigDict(frozen=True)

    search_id: int | None = Field(default=None, description="Row id in the store.")
    name: str = Field(description="The search's name.")
    strategy: str = Field(description="Strategy, e.g. 'tpe' or 'bandit'.")
    dataset: str = Field(description="Dataset name.")
    metric: str = Field(description="Metric name.")
    objective: str = Field(description="The objective, in words.")
    simulated: bool = Field(description="Whether any model was a simulated 'sim:' model.")
    best: WorkflowSpec | None = Field(
        description="The shipped workflow (see ``certificate``); deploy it. None: no winner."
    )
    best_graph: GraphConfig | None = Field(
        default=None,
        description="In a search over your own LangGraph graph (search.graphs.GraphSpace), "
        "the chosen settings: slot models and parameters. Deploy it with the space.",
    )
    best_stats: CandidateStats | None = Field(description="Its search-task statistics.")
    certificate: Certificate | None = Field(
        default=None,
        description="What the search can claim: the winner or 'no winner' and why, the "
        "candidates it cannot tell apart, baselines, cost per correct answer, break-even.",
    )
    test: TestReport | None = Field(default=None, description="Its held-out test numbers.")
    front: tuple[CandidateStats, ...] = Field(
        default=(), description="Pareto front of accuracy vs cost among complete candidates."
    )
    candidates: tuple[CandidateStats, ...] = Field(
        default=(), description="Every candidate evaluated, best first."
    )
    n_search_tasks: int = Field(description="Tasks in the search split.")
    n_test_tasks: int = Field(description="Tasks in the held-out test split.")
    search_task_ids: tuple[str, ...] = Field(
        default=(), description="Ids of the search split's tasks (a router trains on these only)."
    )
    test_task_ids: tuple[str, ...] = Field(
        default=(), description="Ids of the held-out test split's tasks."
    )
    evaluations: int = Field(description="Workflow x task evaluations the search asked for.")
    spend: Spend = Field(
        description="What the search (and its test) spent over all its runs: cache misses only."
    )
    spend_this_run: Spend = Field(
        default_factory=Spend, description="What this run of the search spent."
    )
    budget: Budget | None = Field(
        default=None, description="The search's budget (search and held-out test together)."
    )
    stages: dict[str, Spend] = Field(
        default_factory=dict,
        description="What each strategy stage's evaluations cost when they ran (cache misses, "
        "each once): the whole search, the same on a rerun.",
    )
    history: tuple[Step, ...] = Field(
        default=(), description="Every outcome told to the strategy, in order, with the incumbent."
    )
    account: tuple[str, ...] = Field(
        default=(),
        description="How the winner was found, in a few lines: stages, spend, rejections.",
    )
    stop_reason: str = Field(description="Why the search stopped.")
    wall_s: float = Field(description="Wall-clock seconds.")

    @property
    def stop(self) -> Stop:
        """:attr:`stop_reason` as a :class:`~search.stops.Stop`: a reason to test, and a detail."""
        return Stop.from_text(self.stop_reason)

    @property
    def metric_ref(self) -> str:
        """The metric's registered name, without the arguments :attr:`metric` shows."""
        return self.metric.split("(")[0]

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text of the whole result."""
        return self.model_dump_json(indent=indent)

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path``."""
        target = Path(path)
        target.write_text(self.to_json(), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> SearchResult:
        """Read a result written by :meth:`save`."""
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))


def pareto_front(stats: Iterable[CandidateStats]) -> list[CandidateStats]:
    """Candidates no other beats on both accuracy (higher) and cost (lower); cheapest first."""
    ordered: Sequence[CandidateStats] = sorted(stats, key=lambda s: (s.cost_per_task, -s.mean))
    front: list[CandidateStats] = []
    best = -1.0
    for item in ordered:
        if item.mean > best:
            front.append(item)
            best = item.mean
    return front
