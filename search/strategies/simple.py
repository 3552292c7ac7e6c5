"""Baselines: exhaustive grid and uniform random search."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from search.ranking import ranked
from search.space import Candidate
from search.strategies.base import (
    Handover,
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    StrategyOptions,
)
from search.strategies.plan import PlanRequest, StagePlan

__all__ = ["GridStrategy", "RandomStrategy", "RandomOptions"]


def _ranked(strategy: SearchStrategy, candidates: dict[str, Candidate], k: int) -> Handover:
    scored = [(strategy.context.stats(c), c) for c in candidates.values()]
    best = ranked(
        ((s, c) for s, c in scored if s is not None),
        key=lambda pair: strategy.context.objective.key(pair[0]),
        tiebreak=lambda pair: pair[1].hash,
    )
    return Handover(candidates=[c for _, c in best[:k]])


class GridStrategy(SearchStrategy):
    """Evaluate every candidate of the space (or of a handed-over shortlist) on every task."""

    name = "grid"

    def setup(self, context: SearchContext) -> None:
        """Enumerate the candidates."""
        super().setup(context)
        source = context.candidates or tuple(context.space.grid())
        self._queue: Iterator[Candidate] = iter(source)
        self._seen: dict[str, Candidate] = {}

    def ask(self) -> Proposal | None:
        """The next candidate, or None when all were proposed."""
        candidate = next(self._queue, None)
        if candidate is None:
            return None
        self._seen[candidate.hash] = candidate
        return Proposal(candidate=candidate)

    def tell(self, outcome: Outcome) -> None:
        """Nothing to learn."""

    def handover(self, k: int = 5) -> Handover:
        """The best ``k`` candidates."""
        return _ranked(self, self._seen, k)

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        """Every candidate (or every one handed over) on every task."""
        if request.handed is None:
            summary = f"every one of {request.size} candidates on every task"
            return [
                StagePlan.every_task(
                    self.name, summary, candidates=request.size, tasks=request.tasks
                )
            ]
        summary = f"the {request.handed} candidates handed over, on every task"
        # Handed-over candidates were evaluated by the stage before: no new ones.
        return [
            StagePlan(
                name=self.name,
                summary=summary,
                high_slots=(),
                low_slots=(),
                proposals=request.handed,
            )
        ]


class RandomOptions(StrategyOptions):
    """:class:`RandomStrategy`'s settings."""

    n_candidates: int | None = Field(
        default=None, ge=1, description="Distinct candidates to try; None: until the budget ends."
    )
    max_draws: int = Field(
        default=200, ge=1, description="Draws allowed to find a candidate not tried yet."
    )


class RandomStrategy(SearchStrategy):
    """Uniform random candidates, each evaluated on every task: the baseline to beat.

    Args:
        n_candidates: Distinct candidates to try; ``None`` means until the budget ends.
        max_draws: Draws allowed to find a candidate not tried yet.
    """

    name = "random"

    def __init__(self, *, n_candidates: int | None = None, max_draws: int = 200) -> None:
        """Configure the baseline."""
        self.options: RandomOptions = RandomOptions(n_candidates=n_candidates, max_draws=max_draws)

    def setup(self, context: SearchContext) -> None:
        """Reset the record of candidates tried."""
        super().setup(context)
        self._seen: dict[str, Candidate] = {}
        self._pool = list(context.candidates)

    def ask(self) -> Proposal | None:
        """A candidate not tried yet, or None when none is left."""
        limit = self.options.n_candidates
        if limit is not None and len(self._seen) >= limit:
            return None
        rng = self.context.rng
        if not hasattr(self, "_size"):
            self._size = len(self._pool) or self.context.space.size()
        if len(self._seen) >= self._size:
            return None
        for _ in range(self.options.max_draws):
            if self._pool:
                candidate = self._pool.pop(rng.randrange(len(self._pool)))
            else:
                candidate = self.context.space.sample(rng, origin="random")
            if candidate.hash not in self._seen:
                self._seen[candidate.hash] = candidate
                return Proposal(candidate=candidate)
        return None

    def tell(self, outcome: Outcome) -> None:
        """Nothing to learn."""

    def handover(self, k: int = 5) -> Handover:
        """The best ``k`` candidates."""
        return _ranked(self, self._seen, k)

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        """``n_candidates`` candidates on every task, or open-ended without it."""
        limit = self.options.n_candidates
        if limit is None:
            summary = "random candidates until the budget ends"
            return [StagePlan.open_ended(self.name, summary, request.tasks)]
        n = min(limit, request.size)
        summary = f"{n} random candidates on every task"
        return [StagePlan.every_task(self.name, summary, candidates=n, tasks=request.tasks)]
