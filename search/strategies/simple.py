"""Baselines: exhaustive grid and uniform random search."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from search.space import Candidate
from search.strategies.base import Handover, Outcome, Proposal, SearchContext, SearchStrategy

__all__ = ["GridStrategy", "RandomStrategy"]


def _ranked(strategy: SearchStrategy, candidates: dict[str, Candidate], k: int) -> Handover:
    scored = [(strategy.context.stats(c), c) for c in candidates.values()]
    ranked = sorted(
        ((s, c) for s, c in scored if s is not None),
        key=lambda pair: strategy.context.objective.key(pair[0]),
        reverse=True,
    )
    return Handover(candidates=[c for _, c in ranked[:k]])


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


class RandomStrategy(SearchStrategy):
    """Uniform random candidates, each evaluated on every task: the baseline to beat.

    Args:
        n_candidates: Distinct candidates to try; ``None`` means until the budget ends.
        max_draws: Draws allowed to find a candidate not tried yet.
    """

    name = "random"

    def __init__(self, *, n_candidates: int | None = None, max_draws: int = 200) -> None:
        """Configure the baseline."""
        self.n_candidates = n_candidates
        self.max_draws = max_draws

    def setup(self, context: SearchContext) -> None:
        """Reset the record of candidates tried."""
        super().setup(context)
        self._seen: dict[str, Candidate] = {}
        self._pool = list(context.candidates)

    def ask(self) -> Proposal | None:
        """A candidate not tried yet, or None when none is left."""
        if self.n_candidates is not None and len(self._seen) >= self.n_candidates:
            return None
        rng = self.context.rng
        if not hasattr(self, "_size"):
            self._size = len(self._pool) or self.context.space.size()
        if len(self._seen) >= self._size:
            return None
        for _ in range(self.max_draws):
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

    def describe(self) -> dict[str, Any]:
        """Settings."""
        return {"strategy": self.name, "n_candidates": self.n_candidates}
