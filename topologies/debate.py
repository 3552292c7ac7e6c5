"""Multi-agent debate: n agents over r rounds, each seeing its peers' answers."""

from __future__ import annotations

from typing import Literal

from orchestrator import Workflow, WorkflowSpec
from topologies._teams import ModelLike, TeamLike, expand_team
from topologies.params import Categorical, Integer, ModelSlot, ModelTeam
from topologies.registry import topology
from topologies.structure import Structure

__all__ = ["debate"]


@topology(
    space=[
        Integer(name="n", low=2, high=4, description="Number of debating agents."),
        ModelTeam(
            name="models", size="n", min_size=2, max_size=4, description="One model per agent."
        ),
        Integer(
            name="rounds", low=1, high=3, description="Update rounds after the first answers."
        ),
        Categorical(
            name="init",
            choices=("plain", "diverse"),
            description="'diverse': oversample first answers and keep the most different.",
        ),
        Integer(
            name="oversample",
            low=2,
            high=3,
            when={"init": ("diverse",)},
            description="Diverse start: draw oversample x n first answers.",
        ),
        Categorical(
            name="confidence",
            choices=(False, True),
            description="Agents see their peers' stated confidences (confidence-modulated).",
        ),
        Categorical(
            name="aggregate", choices=("vote", "judge"), description="How the debate ends."
        ),
        Categorical(
            name="weighted",
            choices=(False, True),
            when={"aggregate": ("vote",)},
            description="Weight the final vote by confidence.",
        ),
        ModelSlot(
            name="judge", when={"aggregate": ("judge",)}, description="The final judge's model."
        ),
    ],
    structure=Structure(
        team="models",
        rounds="rounds",
        combine_switch="aggregate",
        combine_kinds={"vote": "vote", "judge": "judge"},
        judge="judge",
        weighted="weighted",
    ),
)
def debate(
    *,
    n: int = 3,
    models: TeamLike = "sim:atlas-nano",
    rounds: int = 2,
    init: Literal["plain", "diverse"] = "plain",
    oversample: int = 2,
    confidence: bool = False,
    aggregate: Literal["vote", "judge"] = "vote",
    weighted: bool = False,
    judge: ModelLike = "sim:atlas-mini",
    temperature: float = 0.7,
) -> WorkflowSpec:
    """``n`` agents answer, then revise over ``rounds`` rounds after reading each other.

    Multi-agent debate (Du et al., 2023) unrolled into rounds as in DyLAN
    (Liu et al., 2024): every round-``r`` agent is fed by all round ``r-1``
    agents and sees their answers. It ends in a majority vote or a judge.
    Two options follow "Demystifying Multi-Agent Debate" (2026):

    * ``init="diverse"``: a diversity-aware start. ``oversample * n`` agents
      answer first and ``n`` model-free ``select`` agents keep the ``n`` most
      different answers, which open the debate.
    * ``confidence=True``: confidence-modulated updates. Agents see each
      peer's answer with its stated confidence (role ``solver``); when off,
      they see the answers only (role ``blind_solver``), as in vanilla debate.
    """
    team = expand_team(models, n)
    role = "solver" if confidence else "blind_solver"
    wf = Workflow("debate")
    if init == "diverse":
        first = [f"draft{j + 1}" for j in range(oversample * n)]
        for j, name in enumerate(first):
            wf.add_agent(name, role="solver", model=team[j % n], temperature=temperature)
        previous = [f"keep{i + 1}" for i in range(n)]
        for i, name in enumerate(previous):
            wf.add_agent(name, role="select", options={"rank": i + 1})
            wf.add_edge(first, name)
    else:
        previous = [f"agent{i + 1}_r0" for i in range(n)]
        for name, model in zip(previous, team, strict=True):
            wf.add_agent(name, role="solver", model=model, temperature=temperature)
    for r in range(1, rounds + 1):
        current = [f"agent{i + 1}_r{r}" for i in range(n)]
        for name, model in zip(current, team, strict=True):
            wf.add_agent(name, role=role, model=model, temperature=temperature)
            wf.add_edge(previous, name)
        previous = current
    if aggregate == "judge":
        wf.add_agent("judge", role="judge", model=judge)
        wf.add_edge(previous, "judge")
    else:
        wf.add_agent("vote", role="vote", options={"weighted": weighted})
        wf.add_edge(previous, "vote")
    return wf.build()
