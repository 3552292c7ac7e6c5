"""Predict a candidate's accuracy and cost from its parts before paying for it.

A candidate is described by what it is made of: its topology, each scalar
parameter's value, and the share of its agents that each model serves. A
ridge regression over those features, fitted on what the search has measured
(each candidate weighted by its tasks), predicts the mean score and the log
cost per task of candidates not run yet. Parts carry over between candidates:
``vote(a, b, c)`` is predicted from what ``single(a)``, ``single(b)`` and other
votes showed, which is how a search can rank hundreds of candidates after
measuring a few dozen.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from search.space import Candidate

__all__ = ["features", "Prediction", "ValueModel"]


def features(candidate: Candidate) -> dict[str, float]:
    """The parts of ``candidate`` as named features (indicator or share)."""
    out: dict[str, float] = {f"topology={candidate.topology or candidate.target.name}": 1.0}
    for key, value in candidate.params.items():
        if isinstance(value, bool | int | float | str) and isinstance(value, Hashable):
            out[f"{key}={value}"] = 1.0
    models = candidate.models
    for model in models:
        out[f"model={model}"] = out.get(f"model={model}", 0.0) + 1.0 / len(models)
    return out


@dataclass(frozen=True)
class Prediction:
    """A predicted mean score and cost per task, with the score's uncertainty."""

    mean: float
    """Predicted mean score, clipped to [0, 1]."""
    sd: float
    """Standard deviation of the candidate's score around the prediction."""
    cost: float
    """Predicted mean dollars per task."""


class ValueModel:
    """Ridge regressions of score and log cost on a candidate's parts.

    The uncertainty of a prediction adds the fit's own to how far measured candidates
    stray from what their parts predict (at least ``min_structural``).

    Args:
        ridge: The L2 penalty; larger values shrink towards the mean of what was seen.
        min_structural: Least standard deviation of a candidate's score around its parts'
            prediction.
    """

    def __init__(self, ridge: float = 1.0, min_structural: float = 0.04) -> None:
        """Start with nothing seen."""
        self.ridge = ridge
        self.min_structural = min_structural
        self._names: dict[str, int] = {}
        self._rows: dict[str, tuple[dict[str, float], float, float, float]] = {}
        self._fit: tuple[np.ndarray, np.ndarray, np.ndarray, float, float, float] | None = None
        self._parts: dict[str, dict[str, float]] = {}  # features by candidate hash
        self._rows_of: dict[str, tuple[int, np.ndarray]] = {}  # (columns then, row) by hash
        self._seen: set[str] = set()  # candidates all of whose parts have been measured

    def _features(self, candidate: Candidate) -> dict[str, float]:
        found = self._parts.get(candidate.hash)
        if found is None:
            found = self._parts[candidate.hash] = features(candidate)
        return found

    def _known(self, candidate: Candidate) -> bool:
        """Whether every part of ``candidate`` has been seen (once true, it stays true)."""
        if candidate.hash in self._seen:
            return True
        if all(name in self._names for name in self._features(candidate)):
            self._seen.add(candidate.hash)
            return True
        return False

    def _row(self, candidate: Candidate) -> np.ndarray:
        """A candidate's design row; rebuilt only when new features have appeared since."""
        cached = self._rows_of.get(candidate.hash)
        if cached is not None and cached[0] == len(self._names):
            return cached[1]
        row = self._matrix([self._features(candidate)])[0]
        self._rows_of[candidate.hash] = (len(self._names), row)
        return row

    def __len__(self) -> int:
        return len(self._rows)

    def observe(self, candidate: Candidate, *, mean: float, cost: float, n: int) -> None:
        """Record (or update) a candidate's measured mean score and cost over ``n`` tasks."""
        if n <= 0:
            return
        parts = self._features(candidate)
        for name in parts:
            self._names.setdefault(name, len(self._names))
        self._rows[candidate.hash] = (parts, mean, math.log(max(cost, 1e-12)), float(n))
        self._fit = None

    def _matrix(self, rows: Iterable[dict[str, float]]) -> np.ndarray:
        rows = list(rows)
        matrix = np.zeros((len(rows), len(self._names) + 1))
        matrix[:, 0] = 1.0
        for i, parts in enumerate(rows):
            for name, value in parts.items():
                column = self._names.get(name)
                if column is not None:
                    matrix[i, column + 1] = value
        return matrix

    def _fitted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, float]:
        if self._fit is not None:
            return self._fit
        rows = list(self._rows.values())
        x = self._matrix(r[0] for r in rows)
        weights = np.array([r[3] for r in rows])
        scores = np.array([r[1] for r in rows])
        costs = np.array([r[2] for r in rows])
        penalty = self.ridge * np.eye(x.shape[1])
        penalty[0, 0] = 1e-9  # the intercept is not shrunk
        gram = x.T @ (weights[:, None] * x) + penalty
        inverse = np.linalg.pinv(gram)
        beta_score = inverse @ (x.T @ (weights * scores))
        beta_cost = inverse @ (x.T @ (weights * costs))
        # Two kinds of error: per-task noise (how far a measured mean strays from the
        # candidate's own), and how far a candidate's own mean strays from what its parts
        # predict (interactions the additive model misses). A new candidate's bound needs both.
        residual = scores - x @ beta_score
        dof = max(1.0, float(weights.sum()) - x.shape[1])
        noise = max(0.05, float((weights * residual**2).sum() / dof))
        # Leave-one-out residuals (r / (1 - leverage)): how far a candidate the fit has not
        # seen strays, which is what a bound on an unrun candidate needs.
        leverage = weights * ((x @ inverse) * x).sum(axis=1)
        held_out = residual / np.maximum(1.0 - leverage, 0.05)
        sampling = np.clip(scores * (1 - scores), 0.01, 0.25) / weights
        excess = held_out**2 - sampling
        structural = max(self.min_structural**2, float(excess.mean()) if len(rows) > 1 else 0.0)
        self._fit = (beta_score, beta_cost, inverse, noise, float(costs.max()), structural)
        return self._fit

    def predict(self, candidates: Sequence[Candidate]) -> list[Prediction | None]:
        """Predictions for ``candidates``; ``None`` for each while nothing has been seen."""
        arrays = self.predict_arrays(candidates)
        if arrays is None:
            return [None] * len(candidates)
        return [
            Prediction(mean=float(m), sd=float(s), cost=float(c))
            for m, s, c in zip(*arrays, strict=True)
        ]

    def predict_arrays(
        self, candidates: Sequence[Candidate]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """:meth:`predict` as arrays (means, standard deviations, costs); ``None`` before data."""
        if not self._rows or not candidates:
            return None
        beta_score, beta_cost, inverse, noise, log_cost_max, structural = self._fitted()
        x = np.stack([self._row(c) for c in candidates])
        means = np.clip(x @ beta_score, 0.0, 1.0)
        fitted = np.maximum(noise * ((x @ inverse) * x).sum(axis=1), 0.0)
        spread = np.sqrt(fitted + structural)
        # A part never seen has no column: its uncertainty is the prior's (about +-0.5).
        unseen = np.array([not self._known(c) for c in candidates])
        spread = np.where(unseen, 0.5, spread)
        costs = np.exp(np.minimum(x @ beta_cost, log_cost_max + 3.0))
        return means, spread, costs
