"""The simplest shapes: one solver, and a planner followed by a solver."""

from __future__ import annotations

from orchestrator import Workflow, WorkflowSpec
from topologies.params import Float, ModelSlot
from topologies.registry import topology
from topologies.structure import Structure

__all__ = ["single", "plan_solve"]


@topology(
    space=[
        ModelSlot(name="model", description="The solver's model."),
        Float(name="temperature", low=0.0, high=1.0, description="Solver temperature."),
    ],
    structure=Structure(solver="model"),
)
def single(*, model: str = "sim:atlas-mini", temperature: float = 0.0) -> WorkflowSpec:
    """One solver answers alone: the baseline every other shape must beat."""
    return (
        Workflow("single")
        .add_agent("solver", role="solver", model=model, temperature=temperature)
        .build()
    )


@topology(
    space=[
        ModelSlot(name="planner", description="The planner's model."),
        ModelSlot(name="solver", description="The solver's model."),
    ],
    structure=Structure(solver="solver", planner="planner"),
)
def plan_solve(*, planner: str = "sim:atlas-mini", solver: str = "sim:atlas-mini") -> WorkflowSpec:
    """A planner writes steps; a solver follows them."""
    return (
        Workflow("plan_solve")
        .add_agent("planner", role="planner", model=planner)
        .add_agent("solver", role="solver", model=solver)
        .add_edge("planner", "solver")
        .build()
    )
