"""Ensembles: n solvers and a majority vote, or n candidates and a judge."""

from __future__ import annotations

from orchestrator import Workflow, WorkflowSpec
from topologies._teams import ModelLike, TeamLike, expand_team
from topologies.params import Categorical, Integer, ModelSlot, ModelTeam
from topologies.registry import topology
from topologies.structure import Structure

__all__ = ["vote_ensemble", "best_of_n"]


@topology(
    space=[
        Integer(name="n", low=3, high=5, description="Number of solvers."),
        ModelTeam(
            name="models", size="n", min_size=3, max_size=5, description="One model per solver."
        ),
        Categorical(
            name="weighted", choices=(False, True), description="Weight votes by confidence."
        ),
    ],
    structure=Structure(team="models", combine="vote", weighted="weighted"),
)
def vote_ensemble(
    *,
    n: int = 3,
    models: TeamLike = "sim:atlas-nano",
    weighted: bool = False,
    temperature: float = 0.7,
) -> WorkflowSpec:
    """``n`` solvers answer independently, then a majority vote picks the answer.

    Self-consistency (Wang et al., 2023) and "More Agents Is All You Need"
    (Li et al., 2024) with one sampled solver per member; a list of models
    makes a heterogeneous team, whose members err independently where one
    model family errs together (K*, 2026: two diverse agents can match many
    homogeneous ones). With ``weighted``, each vote counts its stated
    confidence. ``temperature`` (fixed, not searched) keeps same-model
    members from answering identically.
    """
    team = expand_team(models, n)
    wf = Workflow("vote_ensemble")
    names = [f"solver{i + 1}" for i in range(n)]
    for name, model in zip(names, team, strict=True):
        wf.add_agent(name, role="solver", model=model, temperature=temperature)
    wf.add_agent("vote", role="vote", options={"weighted": weighted})
    wf.add_edge(names, "vote")
    return wf.build()


@topology(
    space=[
        Integer(name="n", low=2, high=5, description="Number of candidates."),
        ModelTeam(
            name="models",
            size="n",
            min_size=2,
            max_size=5,
            description="One model per candidate.",
        ),
        ModelSlot(name="judge", description="The model that picks one candidate."),
    ],
    structure=Structure(team="models", combine="judge", judge="judge"),
)
def best_of_n(
    *,
    n: int = 3,
    models: TeamLike = "sim:atlas-nano",
    judge: ModelLike = "sim:atlas-mini",
    temperature: float = 0.7,
) -> WorkflowSpec:
    """``n`` candidate answers, then a judge picks one: best-of-N with an LLM judge.

    Best-of-N sampling with a learned or LLM verifier as the selector
    (Cobbe et al., 2021; LLM-as-a-judge, Zheng et al., 2023). The judge can
    pick a right minority answer that a vote would lose, but only as often as
    it can tell right from wrong, and it costs a call that a vote does not.
    """
    team = expand_team(models, n)
    wf = Workflow("best_of_n")
    names = [f"candidate{i + 1}" for i in range(n)]
    for name, model in zip(names, team, strict=True):
        wf.add_agent(name, role="solver", model=model, temperature=temperature)
    wf.add_agent("judge", role="judge", model=judge)
    wf.add_edge(names, "judge")
    return wf.build()
