"""Self-refine: solve, verify, rectify, until the verifier accepts or the rounds run out."""

from __future__ import annotations

from orchestrator import Workflow, WorkflowSpec
from topologies._teams import ModelLike
from topologies.params import Categorical, Integer, ModelSlot
from topologies.registry import topology
from topologies.structure import Structure

__all__ = ["self_refine"]


@topology(
    space=[
        ModelSlot(name="solver", description="The first answer's model."),
        ModelSlot(name="verifier", description="The model that accepts or rejects the answer."),
        ModelSlot(name="rectifier", description="The model that revises a rejected answer."),
        Integer(name="rounds", low=1, high=3, description="Most verify-and-revise rounds."),
        Categorical(name="plan", choices=(False, True), description="A planner goes first."),
        ModelSlot(name="planner", when={"plan": (True,)}, description="The planner's model."),
    ],
    structure=Structure(
        solver="solver",
        checker="verifier",
        fixer="rectifier",
        loop="rounds",
        planner="planner",
        planner_switch="plan",
    ),
)
def self_refine(
    *,
    solver: ModelLike = "sim:atlas-mini",
    verifier: ModelLike = "sim:atlas-pro",
    rectifier: ModelLike = "sim:atlas-mini",
    rounds: int = 2,
    plan: bool = False,
    planner: ModelLike = "sim:atlas-mini",
) -> WorkflowSpec:
    """A solver answers, a verifier checks, a rectifier revises: Self-Refine with a critic.

    The iterate-with-feedback loop of Self-Refine (Madaan et al., 2023) with
    the feedback given by a separate verifier, as in review-and-revise
    operators (AFlow, 2024). The verifier judges the answer at most
    ``rounds`` times; once it accepts, the rectifier passes the answer through
    without a model call and the loop stops. A verdict that cannot be read (after
    one re-ask) is ``no_verdict``, never an accept: the rectifier then checks the
    unverified answer itself and the loop verifies its revision again, so a garbled
    verifier cannot wave a wrong answer through. Whether refinement helps depends
    on the verifier: one that rejects correct answers invites the rectifier
    to break them (Huang et al., 2024, "LLMs cannot self-correct reasoning
    yet"). With ``plan``, a planner writes steps for the solver first.
    """
    wf = Workflow("self_refine")
    if plan:
        wf.add_agent("planner", role="planner", model=planner)
        wf.add_edge("planner", "solver")
    wf.add_agent("solver", role="solver", model=solver)
    wf.add_agent("verifier", role="verifier", model=verifier)
    wf.add_agent("rectifier", role="rectifier", model=rectifier)
    wf.add_edge("solver", "verifier").add_edge("verifier", "rectifier")
    if rounds > 1:
        wf.add_loop("rectifier", "verifier", max_rounds=rounds - 1)
    return wf.build()
