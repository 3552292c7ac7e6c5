"""Component credit in the style of BOAD: a UCB bandit over models, rewarded by helpfulness."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field

from orchestrator.answers import normalize_answer
from search.evaluation.metrics import Metric, get_metric
from search.ranking import ranked
from search.space import Candidate
from search.store import EvalRecord
from search.strategies.base import (
    Capabilities,
    Handover,
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    StrategyOptions,
)
from search.strategies.boad.credit import (
    ArmCredit,
    CreditLedger,
    Reward,
    TaskCredit,
    credit_record,
)
from search.strategies.plan import PlanRequest, StagePlan
from topologies import ModelSlot, ModelTeam, SpaceError, get_topology

__all__ = ["BOADStrategy", "BOADOptions"]

TEAM_TOPOLOGIES: tuple[str, ...] = ("vote_ensemble", "best_of_n", "supervisor")
"""Team shapes tried in order when none is named: the first one in the space is used."""


class BOADOptions(StrategyOptions):
    """:class:`BOADStrategy`'s settings (see its arguments)."""

    k: int = Field(default=3, description="Arms per team.")
    iterations: int = Field(default=8, description="Experiments.")
    batch: int = Field(default=8, description="Tasks per experiment.")
    exploration: float = Field(default=1.0, description="Weight of the UCB bonus.")
    reward: Reward = Field(default="pivotal", description="How an arm is credited.")
    team: str | None = Field(default=None, description="Team topology; default from the space.")
    keep: int | None = Field(default=None, description="Arms handed over; default k.")
    final: bool = Field(default=True, description="Evaluate the final team on every task.")
    # Any: a metric is a protocol, which pydantic cannot check by isinstance.
    metric: Any = Field(default=None, description="Judges members' answers (name or metric).")
    success: float = Field(default=0.5, description="Score at which an answer is right.")


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
        self.options: BOADOptions = BOADOptions(
            k=k,
            iterations=iterations,
            batch=batch,
            exploration=exploration,
            reward=reward,
            team=team,
            keep=keep,
            final=final,
            metric=metric,
            success=success,
        )
        self._metric = get_metric(metric) if metric is not None else None

    def setup(self, context: SearchContext) -> None:
        """Start every arm untried and check that a team can be built.

        Raises:
            ValueError: The team topology has no model team, or cannot take ``k`` members.
        """
        super().setup(context)
        self.arms: list[str] = list(context.space.pool.models)
        self.topology = self.options.team or next(
            (t for t in TEAM_TOPOLOGIES if t in context.space.topologies), TEAM_TOPOLOGIES[0]
        )
        self.ledger = CreditLedger(
            self.arms, reward=self.options.reward, exploration=self.options.exploration
        )
        self.experiments: list[tuple[Candidate, tuple[str, ...], list[TaskCredit]]] = []
        self.final_outcome: Outcome | None = None
        self._tasks = {task.id: task for task in context.tasks}
        self._busy = False
        self._final_asked = False
        self.build_team(self.arms[: self.options.k])  # fail now, before anything is spent

    # --- teams ------------------------------------------------------------------------

    def build_team(self, arms: Sequence[str]) -> Candidate:
        """The team topology with ``k`` members drawn from ``arms`` (cycled if fewer).

        Raises:
            ValueError: The topology cannot be built that way.
        """
        topology = get_topology(self.topology)
        members = [arms[i % len(arms)] for i in range(self.options.k)]
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
            raise ValueError(
                f"cannot build a {self.topology} team of k={self.options.k}: {exc}"
            ) from None
        return Candidate(
            spec=spec, topology=self.topology, params=spec.metadata["params"], origin=self.name
        )

    def _window(self) -> tuple[str, ...]:
        ids = self.context.task_ids
        if self.options.batch >= len(ids):
            return tuple(ids)
        start = len(self.experiments) * self.options.batch % len(ids)
        return tuple(ids[(start + i) % len(ids)] for i in range(self.options.batch))

    def top_arms(self, k: int | None = None) -> list[str]:
        """The best arms by ``h/n`` (ties: importance, evidence, pool order)."""
        return [s.arm for s in self.ledger.ranking()[: k or self.options.k]]

    def arm_stats(self) -> list[ArmCredit]:
        """Every arm's totals, best first."""
        return self.ledger.ranking()

    # --- ask / tell -------------------------------------------------------------------

    def ask(self) -> Proposal | None:
        """The next experiment, then the final team, then None."""
        if self._busy:
            return None
        if len(self.experiments) < self.options.iterations:
            chosen = tuple(self.ledger.select(self.options.k))
            self._busy = True
            return Proposal(
                candidate=self.build_team(chosen), tasks=self._window(), key=("explore", chosen)
            )
        if self.options.final and not self._final_asked:
            self._final_asked = True
            chosen = tuple(self.top_arms())
            self._busy = True
            return Proposal(candidate=self.build_team(chosen), key=("final", chosen))
        return None

    def _is_right(self, record: EvalRecord) -> Callable[[str | None], bool]:
        task = self._tasks.get(record.task_id)
        metric = self._metric
        if metric is not None and task is not None:
            return lambda a: a is not None and metric(a, task) >= self.options.success
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
            credit_record(r, chosen, is_right=self._is_right(r), success=self.options.success)
            for r in outcome.records
            if r.task_id in expected
        ]
        self.ledger.update(chosen, credits)
        self.experiments.append((outcome.proposal.candidate, chosen, credits))

    # --- results ----------------------------------------------------------------------

    def handover(self, k: int = 5) -> Handover:
        """The pool narrowed to the top arms; the final team, then the explored teams."""
        top = self.top_arms(self.options.keep)
        try:
            space = self.context.space.narrow(top)
        except SpaceError:
            space = None
        teams: dict[str, Candidate] = {}
        final = self.build_team(self.top_arms())
        teams[final.hash] = final
        explored = {c.hash: c for c, _, _ in self.experiments}
        scored = [(self.context.stats(c), c) for c in explored.values()]
        order = ranked(
            ((s, c) for s, c in scored if s is not None),
            key=lambda pair: self.context.objective.key(pair[0]),
            tiebreak=lambda pair: pair[1].hash,
        )
        for _, candidate in order:
            teams.setdefault(candidate.hash, candidate)
        return Handover(space=space, candidates=list(teams.values())[:k])

    @property
    def capabilities(self) -> Capabilities:
        """It builds teams with rolegraph's team topologies: rolegraph workflows only."""
        return Capabilities(edits_topologies=True)

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        """``iterations`` teams on ``batch`` tasks each, then the final team on every task."""
        options = self.options
        batch = min(options.batch, request.tasks)
        final = (request.tasks,) if options.final else ()
        summary = f"{options.iterations} team experiments on {batch} tasks each" + (
            ", then the final team on every task" if options.final else ""
        )
        return [
            StagePlan(
                name=self.name,
                summary=summary,
                high_slots=(batch,) * options.iterations + final,
                low_slots=final or (batch,),  # the final team may be one already tried
                proposals=options.iterations + len(final),
            )
        ]
