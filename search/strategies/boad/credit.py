"""Credit per component: UCB1 arm selection and hindsight helpfulness read from traces.

The mechanics of BOAD (arXiv 2512.23631) with models as the sub-agent arms,
plus DyLAN's agent importance score (arXiv 2310.02170) as a second,
unsupervised signal. :class:`~search.strategies.boad.BOADStrategy`
runs them as a search strategy.

Per task, with the team's members read from the run's trace:

- **pivotal** (hindsight helpfulness, the default reward): a member is
  helpful when its answer is right, the team's answer is right, and the team
  would likely have been wrong without it. "Without it" is the plurality
  vote of the other members' answers, a tie counting as the share of it the
  right answer would win: ``right * max(0, team_score - P(right without it))``.
  It covers both "turned a wrong answer right" and "its vote carried the
  day"; a member whose right answer was not needed earns nothing, which is
  what rewards diverse teams over redundant ones.
- **share** (contribution to the final vote): a right team's credit split
  over the members that gave its answer, by vote weight.
- **importance** (DyLAN): ``I_i = w_i / sum of w_j over members agreeing
  with the final answer`` if member ``i`` agrees with it, else 0, with the
  team's own final answer as the reference, right or wrong. For a
  single-round team this is DyLAN's last-round score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.answers import normalize_answer, plurality
from orchestrator.trace import NodeTrace
from search.store import EvalRecord

__all__ = [
    "Reward",
    "MEMBER_ROLES",
    "ucb_scores",
    "select_arms",
    "TaskCredit",
    "credit_record",
    "ArmCredit",
    "CreditLedger",
]

Reward = Literal["pivotal", "share", "importance"]
"""Which per-task credit a bandit learns from."""

MEMBER_ROLES: tuple[str, ...] = ("solver", "blind_solver")
"""Roles whose answers are a team's ballots; planners, judges and aggregators orchestrate."""


# --- UCB1 -----------------------------------------------------------------------------------


def ucb_scores(
    helpfulness: Mapping[str, float],
    counts: Mapping[str, int],
    t: int,
    *,
    exploration: float = 1.0,
) -> dict[str, float]:
    """UCB1 per arm: ``h_a / n_a + exploration * sqrt(2 ln t / n_a)``; untried arms get inf.

    Args:
        helpfulness: Summed credit ``h_a`` per arm.
        counts: Tasks ``n_a`` each arm has been chosen for.
        t: Experiments so far (as in BOAD); values below 1 count as 1.
        exploration: Weight of the exploration bonus.
    """
    log_t = math.log(max(t, 1))
    scores: dict[str, float] = {}
    for arm, n in counts.items():
        if n <= 0:
            scores[arm] = math.inf
        else:
            bonus = exploration * math.sqrt(2.0 * log_t / n)
            scores[arm] = helpfulness.get(arm, 0.0) / n + bonus
    return scores


def select_arms(
    arms: Sequence[str],
    helpfulness: Mapping[str, float],
    counts: Mapping[str, int],
    t: int,
    k: int,
    *,
    exploration: float = 1.0,
) -> list[str]:
    """The ``k`` arms with the highest UCB1, untried ones first; ties go to the earlier arm.

    Example:
        >>> select_arms(["a", "b", "c"], {"a": 3.0, "b": 1.0}, {"a": 4, "b": 4, "c": 0}, t=2, k=2)
        ['c', 'a']
    """
    scores = ucb_scores(
        helpfulness, {a: counts.get(a, 0) for a in arms}, t, exploration=exploration
    )
    ranked = sorted(range(len(arms)), key=lambda i: (-scores[arms[i]], i))
    return [arms[i] for i in ranked[: max(0, k)]]


# --- credit from one run's trace -----------------------------------------------------------


class TaskCredit(BaseModel):
    """Credit of each chosen arm on one task."""

    model_config = ConfigDict(frozen=True)

    task_id: str = Field(description="The task.")
    team_score: float = Field(description="The team's score on it (0 when the run failed).")
    answers: dict[str, str | None] = Field(
        description="Each arm's answer (its members' plurality); None when it gave none."
    )
    pivotal: dict[str, float] = Field(description="Hindsight helpfulness per arm, in [0, 1].")
    share: dict[str, float] = Field(description="Share of a right team's vote per arm.")
    importance: dict[str, float] = Field(description="DyLAN importance per arm.")

    def reward(self, kind: Reward) -> dict[str, float]:
        """The credit of the given kind."""
        return {"pivotal": self.pivotal, "share": self.share, "importance": self.importance}[kind]


def _members(trace: Sequence[NodeTrace], roles: Collection[str]) -> dict[str, NodeTrace]:
    """Each member agent's last run (later rounds replace earlier ones)."""
    last: dict[str, NodeTrace] = {}
    for node in trace:
        if node.role in roles and node.model is not None:
            last[node.agent] = node
    return last


def _weighted(trace: Sequence[NodeTrace]) -> bool:
    return any(node.role == "vote" and bool(node.output.get("weighted")) for node in trace)


def _p_right(
    ballots: Sequence[tuple[str | None, float]], is_right: Callable[[str | None], bool]
) -> float:
    """Chance the plurality of ``ballots`` is right, a tie broken at random."""
    _, _, tally = plurality(ballots)
    if not tally:
        return 0.0
    top = max(tally.values())
    leaders = [answer for answer, weight in tally.items() if weight == top]
    first: dict[str, str] = {}
    for answer, _ in ballots:
        if answer is not None:
            first.setdefault(normalize_answer(answer), answer)
    right = sum(1 for key in leaders if is_right(first.get(key, key)))
    return right / len(leaders)


def credit_record(
    record: EvalRecord,
    arms: Sequence[str],
    *,
    is_right: Callable[[str | None], bool],
    success: float = 0.5,
    roles: Collection[str] = MEMBER_ROLES,
) -> TaskCredit:
    """Each arm's pivotal, share and importance credit on one evaluated task.

    Args:
        record: The team's run, with its trace.
        arms: The arms chosen for the team; an arm absent from the trace gets 0.
        is_right: Whether an answer is right for this task.
        success: Team score at which the team counts as right.
        roles: Roles whose agents are members.
    """
    members = _members(record.trace, roles)
    weighted = _weighted(record.trace)

    def weight(node: NodeTrace) -> float:
        if not weighted:
            return 1.0
        return node.confidence if node.confidence is not None else 0.5

    ballots = {
        arm: [(n.answer, weight(n)) for n in members.values() if n.model == arm] for arm in arms
    }
    answers = {arm: plurality(ballots[arm])[0] if ballots[arm] else None for arm in arms}
    team_score = 0.0 if record.failed else record.score
    team_right = team_score >= success
    final = normalize_answer(record.answer) if record.answer else None
    agreeing = sum(
        w for votes in ballots.values() for a, w in votes if a and normalize_answer(a) == final
    )
    pivotal: dict[str, float] = {}
    share: dict[str, float] = {}
    importance: dict[str, float] = {}
    for arm in arms:
        own = sum(w for a, w in ballots[arm] if a and normalize_answer(a) == final)
        importance[arm] = own / agreeing if final and agreeing > 0 else 0.0
        share[arm] = importance[arm] if team_right else 0.0
        if team_right and is_right(answers[arm]):
            others = [b for other, votes in ballots.items() if other != arm for b in votes]
            pivotal[arm] = max(0.0, min(1.0, team_score) - _p_right(others, is_right))
        else:
            pivotal[arm] = 0.0
    return TaskCredit(
        task_id=record.task_id,
        team_score=team_score,
        answers=answers,
        pivotal=pivotal,
        share=share,
        importance=importance,
    )


# --- the running totals --------------------------------------------------------------------


class ArmCredit(BaseModel):
    """One arm's totals."""

    model_config = ConfigDict(frozen=True)

    arm: str = Field(description="The component (a model reference).")
    n: int = Field(description="Tasks it was chosen for, invoked or not.")
    helpful: float = Field(description="Summed reward (the bandit's h).")
    importance: float = Field(description="Summed DyLAN importance.")
    pulls: int = Field(description="Experiments it was chosen for.")

    @property
    def mean(self) -> float:
        """``h / n``, or 0 when never chosen."""
        return self.helpful / self.n if self.n else 0.0


class CreditLedger:
    """Running ``(h, n)`` per arm, as BOAD keeps them.

    Every chosen arm's ``n`` grows by the number of tasks evaluated, even
    when the arm was never invoked on them (a failed run, a skipped branch):
    being chosen and not helping is penalised, which keeps free riders out.

    Example:
        >>> ledger = CreditLedger(["a", "b"])
        >>> ledger.select(1)
        ['a']
    """

    def __init__(
        self, arms: Sequence[str], *, reward: Reward = "pivotal", exploration: float = 1.0
    ) -> None:
        """Start every arm untried."""
        self.arms = list(arms)
        self.reward = reward
        self.exploration = exploration
        self.h = dict.fromkeys(self.arms, 0.0)
        self.n = dict.fromkeys(self.arms, 0)
        self.importance = dict.fromkeys(self.arms, 0.0)
        self.pulls = dict.fromkeys(self.arms, 0)
        self.t = 0

    def select(self, k: int) -> list[str]:
        """The next ``k`` arms by UCB1."""
        return select_arms(self.arms, self.h, self.n, self.t, k, exploration=self.exploration)

    def update(self, chosen: Sequence[str], credits: Sequence[TaskCredit]) -> None:
        """Add one experiment: ``n += len(credits)`` for every chosen arm, ``h`` += its reward."""
        self.t += 1
        for arm in dict.fromkeys(chosen):
            self.n[arm] += len(credits)
            self.pulls[arm] += 1
            for credit in credits:
                self.h[arm] += credit.reward(self.reward).get(arm, 0.0)
                self.importance[arm] += credit.importance.get(arm, 0.0)

    def ranking(self) -> list[ArmCredit]:
        """Arms by ``h / n``, then importance per task, then more evidence, then pool order."""
        stats = [self.stats(arm) for arm in self.arms]
        order = {arm: i for i, arm in enumerate(self.arms)}
        return sorted(
            stats,
            key=lambda s: (-s.mean, -(s.importance / s.n if s.n else 0.0), -s.n, order[s.arm]),
        )

    def stats(self, arm: str) -> ArmCredit:
        """One arm's totals."""
        return ArmCredit(
            arm=arm,
            n=self.n[arm],
            helpful=self.h[arm],
            importance=self.importance[arm],
            pulls=self.pulls[arm],
        )
