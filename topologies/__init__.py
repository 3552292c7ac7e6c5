"""A library of workflow shapes from the multi-agent literature, each with a parameter space.

Every builder is a keyword-only function that returns a validated
:class:`~orchestrator.WorkflowSpec` and is registered with its
:class:`ParamSpace`, so a search can enumerate, sample or suggest its
parameters: ``get_topology("debate").build({...}, pool=[...])``.
"""

from topologies.basic import plan_solve, single
from topologies.debate import debate
from topologies.ensembles import best_of_n, vote_ensemble
from topologies.hierarchy import supervisor, tree, tree_size
from topologies.mact import plan_execute_judge
from topologies.params import (
    Categorical,
    Float,
    Integer,
    ModelSlot,
    ModelTeam,
    Param,
    ParamSpace,
    SpaceError,
)
from topologies.pictures import mermaid, mermaid_markdown, save_png
from topologies.refine import self_refine
from topologies.registry import (
    Topology,
    get_topology,
    list_topologies,
    register_topology,
    topology,
)
from topologies.structure import Structure

__all__ = [
    "Topology",
    "topology",
    "register_topology",
    "get_topology",
    "list_topologies",
    "Param",
    "ParamSpace",
    "Categorical",
    "Integer",
    "Float",
    "ModelSlot",
    "ModelTeam",
    "SpaceError",
    "Structure",
    "single",
    "plan_solve",
    "self_refine",
    "vote_ensemble",
    "best_of_n",
    "debate",
    "supervisor",
    "tree",
    "tree_size",
    "plan_execute_judge",
    "mermaid",
    "mermaid_markdown",
    "save_png",
]
