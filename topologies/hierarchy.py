"""Hierarchies: a supervisor with workers, and a depth x breadth decomposition tree."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator import Workflow, WorkflowSpec
from topologies._teams import ModelLike, TeamLike, expand_team
from topologies.params import Integer, ModelSlot, ModelTeam, SpaceError
from topologies.registry import topology
from topologies.structure import Structure

__all__ = ["supervisor", "tree", "tree_size"]


def _worker_focus(label: str, count: int) -> str:
    return (
        f"You handle part {label} of {count} of the plan. Work through the steps of your "
        "part carefully, then carry the calculation through and answer the whole question."
    )


@topology(
    space=[
        ModelSlot(name="planner", description="The model that splits the task."),
        Integer(name="workers", low=2, high=4, description="Number of workers."),
        ModelTeam(
            name="models", size="workers", min_size=2, max_size=4, description="Workers' models."
        ),
        ModelSlot(name="aggregator", description="The model that combines the workers' answers."),
    ],
    structure=Structure(
        team="models", combine="aggregator", aggregator="aggregator", planner="planner"
    ),
)
def supervisor(
    *,
    planner: ModelLike = "sim:atlas-mini",
    workers: int = 3,
    models: TeamLike = "sim:atlas-nano",
    aggregator: ModelLike = "sim:atlas-mini",
    focuses: Sequence[str] | None = None,
) -> WorkflowSpec:
    """A planner splits the task, workers solve the parts, an aggregator combines them.

    The orchestrator-worker (star) shape of LangGraph's supervisor and
    MetaGPT-style role teams: the plan reaches every worker and the
    aggregator, and each worker gets its own sub-task (``focuses``, fixed;
    by default "part i of n of the plan"). The aggregator reads every
    worker's answer and confidence and writes one answer.
    """
    team = expand_team(models, workers)
    if focuses is not None and len(focuses) != workers:
        raise SpaceError(f"focuses lists {len(focuses)} sub-tasks for {workers} workers")
    wf = Workflow("supervisor")
    wf.add_agent("planner", role="planner", model=planner)
    names = [f"worker{i + 1}" for i in range(workers)]
    for i, (name, model) in enumerate(zip(names, team, strict=True)):
        focus = focuses[i] if focuses is not None else _worker_focus(str(i + 1), workers)
        wf.add_agent(name, role="solver", model=model, options={"focus": focus})
        wf.add_edge("planner", name)
    wf.add_agent("aggregator", role="aggregator", model=aggregator)
    wf.add_edge(["planner", *names], "aggregator")
    return wf.build()


def tree_size(depth: int, breadth: int) -> int:
    """Agents in a :func:`tree`: a planner and an aggregator per inner node, plus the leaves."""
    inner = sum(breadth**level for level in range(depth))
    return 2 * inner + breadth**depth


@topology(
    space=[
        Integer(name="depth", low=1, high=3, description="Levels of decomposition."),
        Integer(name="breadth", low=2, high=3, description="Sub-tasks per node."),
        ModelSlot(name="planner", description="Model of every decomposing planner."),
        ModelTeam(
            name="workers",
            size="breadth",
            min_size=2,
            max_size=3,
            description="Leaf models; the i-th child of every node uses the i-th.",
        ),
        ModelSlot(name="aggregator", description="Model of every combining aggregator."),
    ],
    structure=Structure(
        team="workers",
        combine="aggregator",
        aggregator="aggregator",
        planner="planner",
        depth="depth",
    ),
)
def tree(
    *,
    depth: int = 2,
    breadth: int = 2,
    planner: ModelLike = "sim:atlas-mini",
    workers: TeamLike = "sim:atlas-nano",
    aggregator: ModelLike = "sim:atlas-mini",
) -> WorkflowSpec:
    """Hierarchical decomposition ``depth`` levels deep and ``breadth`` wide, as in Static-DRA.

    The static deep-research agent tree (Static-DRA, 2025): each inner node
    is a planner that splits its task into ``breadth`` sub-tasks and an
    aggregator that combines its children's answers; leaves are workers.
    Cost grows as ``breadth ** depth`` (see :func:`tree_size`), so depth and
    breadth are the user's accuracy-for-cost dial. Combining upward also
    makes it a ``breadth``-ary majority tree (budgeted synergy, 2026).
    """
    team = expand_team(workers, breadth, name="workers")
    wf = Workflow("tree")
    leaves = breadth**depth

    def grow(path: tuple[int, ...], parent: str | None) -> str:
        suffix = "".join(f"_{i}" for i in path)
        if len(path) == depth:
            name = f"worker{suffix}"
            label = ".".join(str(i) for i in path)
            wf.add_agent(
                name,
                role="solver",
                model=team[path[-1] - 1],
                options={"focus": _worker_focus(label, leaves)},
            )
            if parent is not None:
                wf.add_edge(parent, name)
            return name
        plan, combine = f"plan{suffix}", f"combine{suffix}"
        wf.add_agent(plan, role="planner", model=planner)
        if parent is not None:
            wf.add_edge(parent, plan)
        children = [grow((*path, i), plan) for i in range(1, breadth + 1)]
        wf.add_agent(combine, role="aggregator", model=aggregator)
        wf.add_edge([plan, *children], combine)
        return combine

    grow((), None)
    return wf.build()
