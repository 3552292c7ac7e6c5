"""A library of workflow shapes from the multi-agent literature, each with a parameter space."""

from topologies.basic import plan_solve, single
from topologies.registry import (
    Topology,
    get_topology,
    list_topologies,
    register_topology,
    topology,
)
from topologies.space import (
    Categorical,
    Float,
    Integer,
    ModelSlot,
    ModelTeam,
    Param,
    ParamSpace,
    SpaceError,
)

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
    "single",
    "plan_solve",
]
