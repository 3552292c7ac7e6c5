"""Bandit racing: UCB or Thompson batches, successive halving, confidence-interval elimination."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from search.evaluation.stats import wilson_interval
from search.ranking import best, ranked
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

__all__ = ["BanditStrategy", "BanditOptions", "Arm"]


@dataclass
class Arm:
    """One candidate in the race."""

    candidate: Candidate
    scores: list[float] = field(default_factory=list)
    cost: float = 0.0
    alive: bool = True
    busy: bool = False
    out_reason: str = ""

    @property
    def n(self) -> int:
        """Tasks evaluated so far (a prefix of the shared task order)."""
        return len(self.scores)

    @property
    def mean(self) -> float:
        """Mean score so far."""
        return sum(self.scores) / self.n if self.scores else 0.0

    @property
    def cost_per_task(self) -> float:
        """Mean dollars per task so far."""
        return self.cost / self.n if self.scores else 0.0


class BanditOptions(StrategyOptions):
    """:class:`BanditStrategy`'s settings (see its arguments)."""

    policy: Literal["ucb", "thompson"] = Field(default="ucb", description="Batch policy.")
    arms: int = Field(default=16, description="Candidates to race when none are handed over.")
    batch: int = Field(default=5, description="Tasks per pull.")
    min_tasks: int = Field(default=10, description="Tasks every arm gets in the first round.")
    eta: int = Field(default=2, description="Each round keeps 1/eta of the arms.")
    confidence: float = Field(default=0.95, description="Coverage of elimination intervals.")
    exploration: float = Field(default=1.0, description="UCB exploration constant.")


class BanditStrategy(SearchStrategy):
    """Race candidates on a shared task order, spending more tasks on promising ones.

    Successive halving sets the budget per arm: in round ``r`` only the best
    ``1/eta**r`` of the surviving arms (by the objective, ties to the less
    explored) are evaluated up to ``min_tasks * eta**r`` tasks; the others
    wait, and come back if the leaders fall below them. Within a round,
    batches go first to the arm with the highest upper confidence bound
    (``"ucb"``) or Thompson draw (``"thompson"``), which matters when the
    budget ends mid-round. Only confidence intervals put an arm out: once its
    upper bound falls below the best arm's lower bound. The race ends when
    the leader has seen every task. The arms are the candidates a previous
    stage handed over, else up to ``arms`` drawn from the space.

    Args:
        policy: ``"ucb"`` or ``"thompson"``.
        arms: Candidates to race when none are handed over.
        batch: Tasks per pull.
        min_tasks: Tasks every arm gets in the first round.
        eta: Each round keeps ``1/eta`` of the arms and multiplies their tasks by ``eta``.
        confidence: Coverage of the elimination intervals.
        exploration: UCB exploration constant.
    """

    name = "bandit"

    def __init__(
        self,
        *,
        policy: Literal["ucb", "thompson"] = "ucb",
        arms: int = 16,
        batch: int = 5,
        min_tasks: int = 10,
        eta: int = 2,
        confidence: float = 0.95,
        exploration: float = 1.0,
    ) -> None:
        """Configure the race."""
        if policy not in ("ucb", "thompson"):
            raise ValueError(f"policy must be 'ucb' or 'thompson', got {policy!r}")
        if arms < 2 or batch < 1 or min_tasks < 1 or eta < 2:
            raise ValueError("need arms >= 2, batch >= 1, min_tasks >= 1 and eta >= 2")
        self.options: BanditOptions = BanditOptions(
            policy=policy,
            arms=arms,
            batch=batch,
            min_tasks=min_tasks,
            eta=eta,
            confidence=confidence,
            exploration=exploration,
        )
        self.name = "bandit" if policy == "ucb" else "thompson"

    def setup(self, context: SearchContext) -> None:
        """Pick the arms and start the first round."""
        super().setup(context)
        candidates = list(context.candidates)
        if not candidates:
            size = context.space.size()
            if size <= self.options.arms:
                candidates = list(context.space.grid(origin=self.name))
            else:
                seen: dict[str, Candidate] = {}
                for _ in range(self.options.arms * 20):
                    candidate = context.space.sample(context.rng, origin=self.name)
                    seen.setdefault(candidate.hash, candidate)
                    if len(seen) == self.options.arms:
                        break
                candidates = list(seen.values())
        self.arms: dict[str, Arm] = {}
        for candidate in candidates:
            self.arms.setdefault(candidate.hash, Arm(candidate))
        self.n_tasks = len(context.tasks)
        self.round = 0
        self.pulls = 0

    # --- decisions --------------------------------------------------------------------

    def _interval(self, arm: Arm) -> tuple[float, float]:
        if not arm.scores:
            return 0.0, 1.0
        return wilson_interval(sum(arm.scores), arm.n, confidence=self.options.confidence)

    def _value(self, mean: float, arm: Arm) -> float:
        return self.context.objective.value(mean, arm.cost_per_task)

    def _priority(self, arm: Arm) -> float:
        if not arm.scores:
            return math.inf
        if self.options.policy == "thompson":
            hits = sum(arm.scores)
            draw = self.context.rng.betavariate(1.0 + hits, 1.0 + arm.n - hits)
            return self._value(draw, arm)
        bonus = self.options.exploration * math.sqrt(2.0 * math.log(max(self.pulls, 2)) / arm.n)
        return self._value(min(1.0, arm.mean + bonus), arm)

    def _alive(self) -> list[Arm]:
        return [arm for arm in self.arms.values() if arm.alive]

    def _rank_key(self, arm: Arm) -> tuple[float, float, float]:
        # Best value first; among ties the less explored (more optimistic), then the cheaper.
        return (self._value(arm.mean, arm) if arm.scores else math.inf, -arm.n, -arm.cost_per_task)

    def _eliminate_by_interval(self) -> None:
        alive = [arm for arm in self._alive() if arm.scores]
        if len(alive) < 2:
            return
        lows = {arm.candidate.hash: self._value(self._interval(arm)[0], arm) for arm in alive}
        top = best(alive, key=lambda arm: (lows[arm.candidate.hash],), tiebreak=_hash)
        assert top is not None
        for arm in alive:
            if arm is top:
                continue
            if self._value(self._interval(arm)[1], arm) < lows[top.candidate.hash]:
                arm.alive = False
                arm.out_reason = f"interval below {top.candidate.label}'s after {arm.n} tasks"

    def _round_plan(self) -> tuple[list[Arm], int]:
        """The arms this round evaluates, and up to how many tasks."""
        alive = ranked(self._alive(), key=self._rank_key, tiebreak=_hash)
        keep = max(1, math.ceil(len(alive) / self.options.eta**self.round))
        target = min(self.n_tasks, self.options.min_tasks * self.options.eta**self.round)
        if keep == 1:
            target = self.n_tasks
        return alive[:keep], target

    def ask(self) -> Proposal | None:
        """The next batch for the most promising arm still short of its round's target."""
        while True:
            leaders, target = self._round_plan()
            if not leaders:
                self._finished = "no arm is left in the race"
                return None
            short = [arm for arm in leaders if arm.n < target]
            if not short:
                if leaders[0].n >= self.n_tasks and len(leaders) == 1:
                    self._finished = self._race_summary("its leader has run on every task")
                    return None
                if any(arm.busy for arm in self._alive()):
                    return None
                if target >= self.n_tasks and all(arm.n >= self.n_tasks for arm in leaders):
                    self._finished = self._race_summary("every arm left has run on every task")
                    return None
                self.round += 1
                continue
            ready = [arm for arm in short if not arm.busy]
            if not ready:
                return None
            arm = max(ready, key=self._priority)
            end = min(target, arm.n + self.options.batch)
            ids = tuple(self.context.task_ids[arm.n : end])
            arm.busy = True
            return Proposal(candidate=arm.candidate, tasks=ids, ordered=True)

    def _race_summary(self, why: str) -> str:
        arms = list(self.arms.values())
        out = sum(not arm.alive for arm in arms)
        waiting = sum(arm.alive and arm.n < self.n_tasks for arm in arms)
        return (
            f"the race is over: {why}; {out} of {len(arms)} arms were put out by "
            f"confidence intervals, {waiting} were never run to the end (successive halving "
            "kept them below the leaders)"
        )

    def finished(self) -> str | None:
        """Why the race ended, once it has."""
        return getattr(self, "_finished", None)

    def tell(self, outcome: Outcome) -> None:
        """Add the batch's scores and costs, then drop arms that are clearly worse."""
        arm = self.arms[outcome.proposal.candidate.hash]
        arm.busy = False
        expected = outcome.proposal.tasks or ()
        by_task = {record.task_id: record for record in outcome.records}
        for task_id in expected:
            record = by_task.get(task_id)
            if record is None:  # the budget stopped the batch: keep the prefix it got
                break
            arm.scores.append(record.score)
            arm.cost += record.cost
            self.pulls += 1
        if not self.context.objective.feasible(arm.cost_per_task) and arm.scores:
            arm.alive = False
            arm.out_reason = f"costs ${arm.cost_per_task:.6f} per task, over the ceiling"
        self._eliminate_by_interval()

    def handover(self, k: int = 5) -> Handover:
        """Surviving arms first, then the rest, by value."""
        order = ranked(
            self.arms.values(),
            key=lambda arm: (float(arm.alive), self._value(arm.mean, arm)),
            tiebreak=_hash,
        )
        return Handover(candidates=[arm.candidate for arm in order[:k]])

    def _pulls(self, tasks: int) -> int:
        """Batches one arm takes at most to reach every task: a round's target cuts one short."""
        options = self.options
        targets: list[int] = []
        r = 0
        while not targets or targets[-1] < tasks:
            targets.append(min(tasks, options.min_tasks * options.eta**r))
            r += 1
        edges = [0, *targets]
        return sum(math.ceil((b - a) / options.batch) for a, b in itertools.pairwise(edges))

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        """Its arms on every task at most; the leader on every task and one batch each at least."""
        tasks = request.tasks
        options = self.options
        pulls = self._pulls(tasks)
        if request.handed is not None:
            summary = f"races the {request.handed} candidates handed over (stored results: free)"
            return [
                StagePlan(
                    name=self.name,
                    summary=summary,
                    high_slots=(),
                    low_slots=(),
                    proposals=request.handed * pulls,
                )
            ]
        arms = min(options.arms, request.size)
        summary = (
            f"races {arms} candidates: {options.min_tasks} tasks each first, x{options.eta} for "
            f"the best 1/{options.eta} each round, up to {tasks}"
        )
        return [
            StagePlan(
                name=self.name,
                summary=summary,
                high_slots=(tasks,) * arms,
                low_slots=(tasks,) + (min(options.batch, tasks),) * (arms - 1),
                proposals=arms * pulls,
            )
        ]


def _hash(arm: Arm) -> str:
    return arm.candidate.hash
