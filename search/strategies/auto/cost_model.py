"""Predict a candidate's cost per task before paying for it: worst case times a learned scale.

A candidate's worst-case dollars per run (:func:`orchestrator.worst_case.worst_case_run`,
at the search's prices) follow its structure exactly: how many agents call which model,
for how many rounds, with what prompts. What it does not know is how much of that bound a
run uses, and that share is much the same for every candidate of one topology. So the cost
of a candidate never run is predicted as its worst case times its topology's scale, the
geometric mean of ``observed cost / worst case`` over the candidates of that topology run
so far, with an interval from how far that topology's ratios stray (shrunk towards the
spread pooled over topologies, and that towards a prior spread, while there are few).

The strategy asks for no prediction for a workflow whose calls depend on the data (a
loop, or a role that may skip its call, as a rectifier does when its verifier accepts):
its share of the worst case is not a topology's constant (a self-refine whose rectifier
is the premium model uses a third of the share of one with a cheap rectifier).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CostInterval", "CostScale"]


@dataclass(frozen=True)
class CostInterval:
    """A predicted cost per task, with a two-sided interval."""

    point: float
    """Worst case times the topology's scale."""
    low: float
    """Lower end: a candidate is clearly over a ceiling when this is above it."""
    high: float
    """Upper end: a candidate is clearly under a ceiling when this is below it."""


class CostScale:
    """Per-topology scales from worst-case to observed cost, learned from measured candidates.

    Args:
        prior_sd: Spread (in log cost) assumed for a candidate around its topology's scale
            before the data say otherwise.
        prior_weight: How many residuals the prior spread is worth.
        min_sd: Least spread, however tight the data.
    """

    def __init__(
        self, prior_sd: float = 0.25, prior_weight: float = 2.0, min_sd: float = 0.05
    ) -> None:
        """Start with nothing seen."""
        self.prior_sd = prior_sd
        self.prior_weight = prior_weight
        self.min_sd = min_sd
        self._ratios: dict[str, tuple[str, float]] = {}  # key -> (topology, log ratio)
        self._fit: tuple[dict[str, tuple[float, int, float]], float] | None = None

    def __len__(self) -> int:
        return len(self._ratios)

    def observe(self, key: str, topology: str, *, worst: float, cost: float) -> None:
        """Record (or update) one candidate's measured cost per task against its worst case."""
        if worst <= 0 or cost <= 0 or not math.isfinite(worst) or not math.isfinite(cost):
            return
        self._ratios[key] = (topology, math.log(cost / worst))
        self._fit = None

    def _fitted(self) -> tuple[dict[str, tuple[float, int, float]], float]:
        if self._fit is not None:
            return self._fit
        groups: dict[str, list[float]] = {}
        for topology, ratio in self._ratios.values():
            groups.setdefault(topology, []).append(ratio)
        centres = {t: sum(r) / len(r) for t, r in groups.items()}
        squares = {t: sum((r - centres[t]) ** 2 for r in rs) for t, rs in groups.items()}
        dof = len(self._ratios) - len(groups)
        weight = self.prior_weight
        pooled = (weight * self.prior_sd**2 + sum(squares.values())) / (weight + dof)
        fits = {}
        for t, rs in groups.items():
            # The topology's own spread, shrunk towards the pooled one (never below it by
            # more than the data of that topology say).
            own = (weight * pooled + squares[t]) / (weight + len(rs) - 1)
            fits[t] = (centres[t], len(rs), max(self.min_sd, math.sqrt(own)))
        self._fit = (fits, max(self.min_sd, math.sqrt(pooled)))
        return self._fit

    def scale(self, topology: str) -> float | None:
        """The topology's scale (observed over worst case); ``None`` before it was measured."""
        fits, _ = self._fitted()
        found = fits.get(topology)
        return math.exp(found[0]) if found is not None else None

    def predict(self, topology: str, worst: float, z: float) -> CostInterval | None:
        """The cost per task of a candidate of ``topology`` with worst case ``worst``.

        The interval is ``z`` standard deviations either side in log cost, the deviation of
        a new candidate around a scale estimated from ``k`` of its topology's
        (``sd * sqrt(1 + 1/k)``, with the topology's own ``sd``). ``None`` while the
        topology has not been measured, or when there is no worst case to scale.
        """
        if worst <= 0 or not math.isfinite(worst):
            return None
        fits, _ = self._fitted()
        found = fits.get(topology)
        if found is None:
            return None
        log_scale, k, sd = found
        centre = math.log(worst) + log_scale
        width = z * sd * math.sqrt(1.0 + 1.0 / k)
        return CostInterval(
            point=math.exp(centre), low=math.exp(centre - width), high=math.exp(centre + width)
        )
