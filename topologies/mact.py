"""Plan, execute, judge and answer agents, with bounded send-backs, as in MACT."""

from __future__ import annotations

from typing import Literal

from orchestrator import Workflow, WorkflowSpec
from topologies._teams import ModelLike, TeamLike, expand_team
from topologies.params import Categorical, Integer, ModelSlot, ModelTeam
from topologies.registry import topology
from topologies.structure import Structure

__all__ = ["plan_execute_judge"]


@topology(
    space=[
        ModelSlot(name="planner", description="The planning agent's model."),
        Integer(name="executors", low=1, high=3, description="Number of execution agents."),
        ModelTeam(
            name="models",
            size="executors",
            min_size=1,
            max_size=3,
            description="Execution agents' models.",
        ),
        ModelSlot(name="judge", description="The judgment agent's model (a verifier)."),
        Integer(name="revisions", low=1, high=2, description="Most send-backs to the planner."),
        Categorical(
            name="answer_role",
            choices=("aggregator", "solver"),
            description="The answer agent: combine the judged answer, or re-solve with it.",
        ),
        ModelSlot(name="answerer", description="The answer agent's model."),
    ],
    structure=Structure(
        team="models",
        combine="vote",
        checker="judge",
        loop="revisions",
        planner="planner",
        toggles=("answer_role",),
    ),
)
def plan_execute_judge(
    *,
    planner: ModelLike = "sim:atlas-mini",
    executors: int = 1,
    models: TeamLike = "sim:atlas-nano",
    judge: ModelLike = "sim:atlas-mini",
    revisions: int = 1,
    answer_role: Literal["aggregator", "solver"] = "aggregator",
    answerer: ModelLike = "sim:atlas-nano",
    temperature: float = 0.7,
) -> WorkflowSpec:
    """Planning, execution and judgment agents, then an answer agent: the MACT shape.

    MACT (Multi-Agent Collaboration with Test-time scaling, 2025) splits a
    task between a planning agent, execution agents, a judgment agent that
    checks the result and can send the work back, and an answer agent. Here
    the judge is a verifier: when it rejects, the work goes back to the
    planner (which sees the critique) at most ``revisions`` times. Several
    executors are pooled by a model-free vote before judgment.
    """
    team = expand_team(models, executors)
    wf = Workflow("plan_execute_judge")
    wf.add_agent("planner", role="planner", model=planner)
    names = [f"executor{i + 1}" for i in range(executors)]
    for name, model in zip(names, team, strict=True):
        wf.add_agent(name, role="solver", model=model, temperature=temperature)
        wf.add_edge("planner", name)
    checked = names[0]
    if executors > 1:
        wf.add_agent("pool", role="vote")
        wf.add_edge(names, "pool")
        checked = "pool"
    wf.add_agent("judge", role="verifier", model=judge)
    wf.add_edge(checked, "judge")
    wf.add_loop("judge", "planner", max_rounds=revisions)
    wf.add_agent("answer", role=answer_role, model=answerer)
    wf.add_edge(["planner", "judge"], "answer")
    return wf.build()
