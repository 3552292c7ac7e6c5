"""A FrugalGPT-style cascade: the cheap arm first, escalating on low confidence or rejection.

An answer is passed on when its stated confidence is low or when a verifier after the arm
rejected it; feedback can tighten the thresholds.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import numpy as np

from search.routing.policy import Plan, RoutingPolicy, TrainingData, rewards

__all__ = ["CascadePolicy"]


class CascadePolicy(RoutingPolicy):
    """Try arms from cheap to dear; keep an answer its verifier accepts and it is sure of.

    An answer is kept when its arm's verifier (if the level is verified) accepted it and
    its stated confidence clears the level's threshold.

    The chain is the arms that raise the training value as cost grows (at most
    ``depth``); an arm whose exit agent is a verifier (its stored records carry verdicts)
    is placed before the dearer arms it can pass a rejected answer on to. Each level's
    rule (escalate on a rejection or not, and a threshold among quantiles of the stored
    confidences) is the one that maximises the objective on the training rows, replaying
    the stored outcomes. A chain is cut where the running sum of worst cases would pass
    the request's cap. It ignores the features.

    Online, it tallies feedback on the answers each level kept: once ``patience`` of
    them have come back and their mean score (shrunk towards the training rows', which
    weigh as ``2 * patience`` answers at most) falls
    below what escalating those rows earned on the training rows, the level's threshold
    moves one step up its grid, so it keeps fewer answers. Feedback never loosens it.
    """

    name: ClassVar[str] = "cascade"

    def __init__(
        self, *, depth: int = 3, grid: int = 9, patience: int = 10, **options: Any
    ) -> None:
        """Set the chain's shape and how feedback moves it.

        ``depth``: most arms in the chain; ``grid``: candidate thresholds per level;
        ``patience``: feedback on kept answers before a level's threshold may move.
        """
        super().__init__(**options)
        self.depth = depth
        self.grid = grid
        self.patience = patience
        self.chain: list[int] = []
        self.thresholds: list[float] = []
        self.verified: list[bool] = []
        self.ladders: list[list[float]] = []  # per level, the candidate thresholds
        self.kept_score: list[float] = []  # per level, training mean score of kept answers
        self.kept_rows: list[int] = []  # per level, training rows it kept
        self.escalated_value: list[float] = []  # per level, value escalating those earned
        self.tally: list[list[float]] = []  # per level, [feedback count, summed score]

    def options(self) -> dict[str, Any]:
        """Constructor options."""
        return {
            "min_rows": self.min_rows,
            "depth": self.depth,
            "grid": self.grid,
            "patience": self.patience,
        }

    def _fit(self, z: np.ndarray, data: TrainingData) -> None:
        best: tuple[list[int], list[float], list[bool]] = (
            [int(np.argmax(self.arm_value))],
            [],
            [],
        )
        best_key = (-np.inf, 0.0)
        for chain in self._chains(data):
            for start in range(len(chain)):
                levels = chain[start:]
                options = [self._rules(data, arm) for arm in levels[:-1]]
                for rules in itertools.product(*options):
                    plan = Plan(
                        arms=tuple(levels),
                        thresholds=tuple(t for t, _ in rules),
                        verified=tuple(v for _, v in rules),
                    )
                    key = self._value(plan, data)
                    if key > best_key:
                        best_key = key
                        best = (list(levels), [t for t, _ in rules], [v for _, v in rules])
        self.chain, self.thresholds, self.verified = best
        self.ladders = [self._levels(data, arm) for arm in self.chain[:-1]]
        self._kept_stats(data)
        self.tally = [[0.0, 0.0] for _ in self.chain[:-1]]

    def _chains(self, data: TrainingData) -> list[list[int]]:
        """Chains of arms that raise the training value as cost grows.

        An arm that states verdicts and scores as a chain member does on every row (that
        member with a verifier after it) makes one more chain, in that member's place.
        """
        order = sorted(range(data.arms), key=lambda a: (self.arm_cost[a], -self.arm_value[a]))
        plain: list[int] = []
        for arm in order:
            if not plain or self.arm_value[arm] > self.arm_value[plain[-1]] + 1e-12:
                plain.append(arm)
        chains = [plain]
        for arm in order:
            if arm in plain or not self._has_verdicts(data, arm):
                continue
            for position, member in enumerate(plain):
                if not self._has_verdicts(data, member) and np.allclose(
                    data.scores[:, arm], data.scores[:, member]
                ):
                    chains.append([*plain[:position], arm, *plain[position + 1 :]])
                    break
        return [c[-self.depth :] if len(c) > self.depth else c for c in chains]

    @staticmethod
    def _has_verdicts(data: TrainingData, arm: int) -> bool:
        return bool((~np.isnan(data.verdict[:, arm])).mean() >= 0.5)

    def _rules(self, data: TrainingData, arm: int) -> list[tuple[float, bool]]:
        levels = self._levels(data, arm)
        rules = [(t, False) for t in levels]
        if self._has_verdicts(data, arm):
            rules += [(t, True) for t in [0.0, *levels]]
        return rules

    def _levels(self, data: TrainingData, arm: int) -> list[float]:
        stated = data.confidences[:, arm]
        stated = stated[~np.isnan(stated)]
        if stated.size == 0:
            return [2.0]  # never trusted: always escalate
        qs = np.linspace(0.0, 1.0, self.grid)
        return sorted({float(v) for v in np.quantile(stated, qs) if v > 0} | {2.0})

    @staticmethod
    def _replay(plan: Plan, data: TrainingData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`run_plan` on every row at once: (scores, costs, answering arms)."""
        scores, costs = np.zeros(data.n), np.zeros(data.n)
        answered = np.full(data.n, -1, dtype=int)
        open_rows = np.ones(data.n, dtype=bool)
        for position, arm in enumerate(plan.arms):
            costs[open_rows] += data.costs[open_rows, arm]
            if position == len(plan.arms) - 1:
                keep = open_rows.copy()
            else:
                keep = open_rows.copy()
                if position < len(plan.verified) and plan.verified[position]:
                    verdict = data.verdict[:, arm]
                    keep &= ~np.isnan(verdict) & (np.nan_to_num(verdict) >= 0.5)
                threshold = plan.thresholds[position]
                if threshold > 0:
                    stated = data.confidences[:, arm]
                    keep &= ~np.isnan(stated) & (np.nan_to_num(stated) >= threshold)
            scores[keep] = data.scores[keep, arm]
            answered[keep] = arm
            open_rows &= ~keep
        return scores, costs, answered

    def _outcomes(self, plan: Plan, data: TrainingData) -> list[tuple[float, float, int]]:
        scores, costs, answered = self._replay(plan, data)
        return list(zip(scores.tolist(), costs.tolist(), answered.tolist(), strict=True))

    def _value(self, plan: Plan, data: TrainingData) -> tuple[float, float]:
        """The plan's mean objective value on the rows (to 1e-9), then less cost first."""
        scores, costs, _ = self._replay(plan, data)
        value = float(rewards(self.objective, scores, costs).mean())
        return round(value, 9), -float(costs.mean())

    def _kept_stats(self, data: TrainingData) -> None:
        """Per level: the training rows it keeps, their score, and escalating them instead."""
        plan = Plan(
            arms=tuple(self.chain),
            thresholds=tuple(self.thresholds),
            verified=tuple(self.verified),
        )
        answered = np.array([o[2] for o in self._outcomes(plan, data)], dtype=int)
        self.kept_score, self.kept_rows, self.escalated_value = [], [], []
        for level, arm in enumerate(self.chain[:-1]):
            rows = np.flatnonzero(answered == arm)
            self.kept_rows.append(int(rows.size))
            if rows.size == 0:
                self.kept_score.append(0.0)
                self.escalated_value.append(0.0)
                continue
            self.kept_score.append(float(data.scores[rows, arm].mean()))
            onward = Plan(
                arms=tuple(self.chain[level + 1 :]),
                thresholds=tuple(self.thresholds[level + 1 :]),
                verified=tuple(self.verified[level + 1 :]),
            )
            sub = data.subset(rows)
            later = self._outcomes(onward, sub)
            # what escalating would have earned, in score points, net of its extra cost
            score = np.array([o[0] for o in later])
            extra = np.array([o[1] for o in later])
            gain = rewards(self.objective, score, extra) - rewards(
                self.objective, score, np.zeros_like(extra)
            )
            self.escalated_value.append(float(score.mean() + gain.mean()))

    def _plan(
        self,
        z: np.ndarray,
        allowed: np.ndarray,
        worst: np.ndarray,
        cap: float | None,
        explore: bool,
    ) -> Plan:
        arms: list[int] = []
        spent = 0.0
        for arm in self.chain:
            if not allowed[arm] or (cap is not None and spent + float(worst[arm]) > cap):
                break
            arms.append(arm)
            spent += float(worst[arm])
        if not arms:
            return Plan(arms=(self.fallback(allowed),), fallback=True)
        n = len(arms) - 1
        return Plan(
            arms=tuple(arms),
            thresholds=tuple(self.thresholds[:n]),
            verified=tuple(self.verified[:n]),
        )

    def _update(self, z: np.ndarray, arm: int, score: float, cost: float) -> None:
        """Tally feedback on a kept answer; tighten its level when escalating pays more."""
        if arm not in self.chain[:-1]:
            return  # the last level (or an arm outside the chain) has nowhere to go
        level = self.chain.index(arm)
        tally = self.tally[level]
        tally[0] += 1
        tally[1] += score
        if tally[0] < self.patience:
            return
        # the training rows weigh as at most twice the patience: live feedback can overrule
        prior = max(min(self.kept_rows[level], 2 * self.patience), 1)
        shrunk = (tally[1] + self.kept_score[level] * prior) / (tally[0] + prior)
        if shrunk >= self.escalated_value[level] - 1e-12:
            return
        ladder = self.ladders[level]
        higher = [t for t in ladder if t > self.thresholds[level] + 1e-12]
        if not higher:
            return
        self.thresholds[level] = higher[0]
        self.tally[level] = [0.0, 0.0]  # judge the new threshold on its own feedback
        self.kept_score[level] = shrunk
        self.kept_rows[level] = max(1, prior // 2)

    def _get(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "thresholds": self.thresholds,
            "verified": self.verified,
            "ladders": self.ladders,
            "kept_score": self.kept_score,
            "kept_rows": self.kept_rows,
            "escalated_value": self.escalated_value,
            "tally": self.tally,
        }

    def _set(self, state: dict[str, Any]) -> None:
        self.chain = [int(a) for a in state["chain"]]
        self.thresholds = [float(t) for t in state["thresholds"]]
        levels = len(self.chain) - 1
        self.verified = [bool(v) for v in state.get("verified", [False] * levels)]
        self.ladders = [[float(t) for t in ts] for ts in state.get("ladders", [[]] * levels)]
        self.kept_score = [float(v) for v in state.get("kept_score", [0.0] * levels)]
        self.kept_rows = [int(v) for v in state.get("kept_rows", [0] * levels)]
        self.escalated_value = [
            float(v) for v in state.get("escalated_value", [math.inf] * levels)
        ]
        self.tally = [[float(x) for x in t] for t in state.get("tally", [[0.0, 0.0]] * levels)]
