"""Component credit in the style of BOAD: a UCB bandit over models, rewarded by helpfulness."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.answers import normalize_answer
from search.evaluation.metrics import Metric, get_metric
from search.space import Candidate
from search.store import EvalRecord
from search.strategies.base import Handover, Outcome, Proposal, SearchContext, SearchStrategy
from search.strategies.boad.credit import (
    ArmCredit,
    CreditLedger,
    Reward,
    TaskCredit,
    credit_record,
)
from topologies import ModelSlot, ModelTeam, SpaceError, get_topology

__all__ = ["BOADStrategy"]

TEAM_TOPOLOGIES: tuple[str, ...] = ("vote_ensemble", "best_of_n", "supervisor")
"""Team shapes tried in order when none is named: the first one in the space is used."""


class BOADStrategy(SearchStrategy):
    """Find the components that help a team, crediting each by its hindsight helpfulness.

    BOAD (arXiv 2512.23631) with the pool's models as the sub-agent arms:

    1. Each experiment chooses ``k`` arms by UCB1 (``h/n + c*sqrt(2 ln t/n)``,
       untried arms first, ``t`` counting experiments) and builds a team of
       them with a team topology (``vote_ensemble`` by default; see ``team``).
    2. The team runs on a minibatch of ``batch`` search tasks (consecutive
       windows of the shared task order, wrapping round).
    3. Each chosen arm's ``n`` grows by the tasks run, invoked or not, and its
       ``h`` by its per-task reward read from the traces (see
       :mod:`search.strategies.boad.credit`): ``"pivotal"`` (right, and the team would likely
       have been wrong without it; default), ``"share"`` (its share of a right
       team's vote) or ``"importance"`` (DyLAN's score, unsupervised). DyLAN
       importance is kept for every arm either way and breaks ties.

    After ``iterations`` experiments the final team is the top ``k`` arms by
    ``h/n``; with ``final=True`` it is evaluated on every search task, so the
    strategy also works alone. :meth:`handover` narrows the pool to the top
    ``keep`` arms and hands over the final team first, then the explored
    teams by their results.

    Args:
        k: Arms per team.
        iterations: Experiments (teams evaluated on a minibatch).
        batch: Tasks per experiment.
        exploration: Weight of the UCB exploration bonus.
        reward: ``"pivotal"``, ``"share"`` or ``"importance"``.
        team: Topology to build teams with: any registered topology with a
            model-team parameter (its single-model slots, such as a judge,
            take the first arm). Default: the first of ``vote_ensemble``,
            ``best_of_n``, ``supervisor`` in the space, else ``vote_ensemble``.
        keep: Arms the handed-over pool keeps; default ``k``.
        final: Evaluate the final team on every search task.
        metric: Judges members' answers (default: normalised match with the
            task's answer; numbers by value).
        success: Score at which an answer counts as right.
    """

    name = "boad"

    def __init__(
        self,
        *,
        k: int = 3,
        iterations: int = 8,
        batch: int = 8,
        exploration: float = 1.0,
        reward: Reward = "pivotal",
        team: str | None = None,
        keep: int | None = None,
        final: bool = True,
        metric: Metric | str | None = None,
        success: float = 0.5,
    ) -> None:
        """Configure the bandit."""
        if k < 1 or iterations < 1 or batch < 1:
            raise ValueError("need k >= 1, iterations >= 1 and batch >= 1")
        if reward not in ("pivotal", "share", "importance"):
            raise ValueError(f"reward must be 'pivotal', 'share' or 'importance', got {reward!r}")
        if keep is not None and keep < 1:
            raise ValueError("keep must be at least 1")
        self.k = k
        self.iterations = iterations
        self.batch = batch
        self.exploration = exploration
        self.reward: Reward = reward
        self.team = team
        self.keep = keep
        self.final = final
        self.metric = get_metric(metric) if metric is not None else None
        self.success = success

    def setup(self, context: SearchContext) -> None:
        """Start every arm untried and check that a team can be built.

        Raises:
            ValueError: The team topology has no model team, or cannot take ``k`` members.
        """
        super().setup(context)
        self.arms: list[str] = list(context.space.pool.models)
        self.topology = self.team or next(
            (t for t in TEAM_TOPOLOGIES if t in context.space.topologies), TEAM_TOPOLOGIES[0]
        )
        self.ledger = CreditLedger(self.arms, reward=self.reward, exploration=self.exploration)
        self.experiments: list[tuple[Candidate, tuple[str, ...], list[TaskCredit]]] = []
        self.final_outcome: Outcome | None = None
        self._tasks = {task.id: task for task in context.tasks}
        self._busy = False
        self._final_asked = False
        self.build_team(self.arms[: self.k])  # fail now, before anything is spent

    # --- teams ------------------------------------------------------------------------

    def build_team(self, arms: Sequence[str]) -> Candidate:
        """The team topology with ``k`` members drawn from ``arms`` (cycled if fewer).

        Raises:
            ValueError: The topology cannot be built that way.
        """
        topology = get_topology(self.topology)
        members = [arms[i % len(arms)] for i in range(self.k)]
        values: dict[str, Any] = {}
        for param in topology.space:
            if isinstance(param, ModelTeam):
                values[param.name] = members
                if param.size is not None:
                    values[param.size] = len(members)
            elif isinstance(param, ModelSlot) and not param.choices:
                values[param.name] = arms[0]
        if not any(isinstance(p, ModelTeam) for p in topology.space):
            raise ValueError(f"team topology {self.topology!r} has no model-team parameter")
        space = self.context.space
        if self.topology in space.topologies:
            try:
                return space.candidate(self.topology, values, origin=self.name)
            except SpaceError:
                pass  # e.g. the space fixes the team size: build it outside the space
        try:
            spec = topology.build(values)
        except SpaceError as exc:
            raise ValueError(f"cannot build a {self.topology} team of k={self.k}: {exc}") from None
        return Candidate(
            spec=spec, topology=self.topology, params=spec.metadata["params"], origin=self.name
        )

    def _window(self) -> tuple[str, ...]:
        ids = self.context.task_ids
        if self.batch >= len(ids):
            return tuple(ids)
        start = len(self.experiments) * self.batch % len(ids)
        return tuple(ids[(start + i) % len(ids)] for i in range(self.batch))

    def top_arms(self, k: int | None = None) -> list[str]:
        """The best arms by ``h/n`` (ties: importance, evidence, pool order)."""
        return [s.arm for s in self.ledger.ranking()[: k or self.k]]

    def arm_stats(self) -> list[ArmCredit]:
        """Every arm's totals, best first."""
        return self.ledger.ranking()

    # --- ask / tell -------------------------------------------------------------------

    def ask(self) -> Proposal | None:
        """The next experiment, then the final team, then None."""
        if self._busy:
            return None
        if len(self.experiments) < self.iterations:
            chosen = tuple(self.ledger.select(self.k))
            self._busy = True
            return Proposal(
                candidate=self.build_team(chosen), tasks=self._window(), key=("explore", chosen)
            )
        if self.final and not self._final_asked:
            self._final_asked = True
            chosen = tuple(self.top_arms())
            self._busy = True
            return Proposal(candidate=self.build_team(chosen), key=("final", chosen))
        return None

    def _is_right(self, record: EvalRecord) -> Callable[[str | None], bool]:
        task = self._tasks.get(record.task_id)
        metric = self.metric
        if metric is not None and task is not None:
            return lambda a: a is not None and metric(a, task) >= self.success
        reference = record.expected
        if reference is None and task is not None:
            reference = task.answer
        if reference is None:
            return lambda a: False
        key = normalize_answer(reference)
        return lambda a: bool(a and a.strip()) and normalize_answer(a) == key

    def tell(self, outcome: Outcome) -> None:
        """Credit every chosen arm from the traces of the experiment's runs."""
        self._busy = False
        kind, chosen = outcome.proposal.key
        if kind == "final":
            self.final_outcome = outcome
            return
        expected = set(outcome.proposal.tasks or ())
        credits = [
            credit_record(r, chosen, is_right=self._is_right(r), success=self.success)
            for r in outcome.records
            if r.task_id in expected
        ]
        self.ledger.update(chosen, credits)
        self.experiments.append((outcome.proposal.candidate, chosen, credits))

    # --- results ----------------------------------------------------------------------

    def handover(self, k: int = 5) -> Handover:
        """The pool narrowed to the top arms; the final team, then the explored teams."""
        top = self.top_arms(self.keep)
        try:
            space = self.context.space.narrow(top)
        except SpaceError:
            space = None
        teams: dict[str, Candidate] = {}
        final = self.build_team(self.top_arms())
        teams[final.hash] = final
        explored = {c.hash: c for c, _, _ in self.experiments}
        scored = [(self.context.stats(c), c) for c in explored.values()]
        ranked = sorted(
            ((s, c) for s, c in scored if s is not None),
            key=lambda pair: self.context.objective.key(pair[0]),
            reverse=True,
        )
        for _, candidate in ranked:
            teams.setdefault(candidate.hash, candidate)
        return Handover(space=space, candidates=list(teams.values())[:k])

    def describe(self) -> dict[str, Any]:
        """Settings."""
        return {
            "strategy": self.name,
            "k": self.k,
            "iterations": self.iterations,
            "batch": self.batch,
            "exploration": self.exploration,
            "reward": self.reward,
            "team": self.team,
            "keep": self.keep,
            "final": self.final,
        }
