"""Declared structure: what part each parameter plays, and the shapes it gives."""

import pytest

from topologies import SpaceError, Structure, get_topology, list_topologies


def test_every_built_in_topology_declares_its_structure():
    for name in list_topologies():
        topology = get_topology(name)
        if topology.builder.__module__.startswith("topologies."):
            assert topology.structure is not None, name


@pytest.mark.parametrize(
    ("name", "params", "shape"),
    [
        ("single", {"model": "m"}, {"solver"}),
        ("plan_solve", {"planner": "p", "solver": "s"}, {"solver", "planner"}),
        ("self_refine", {"solver": "s", "rounds": 2, "plan": False}, {"solver", "check"}),
        (
            "self_refine",
            {"solver": "s", "rounds": 2, "plan": True, "planner": "p"},
            {"solver", "check", "planner"},
        ),
        ("vote_ensemble", {"n": 3, "models": ["a", "b", "c"]}, {"team", "vote"}),
        ("best_of_n", {"n": 2, "models": ["a", "b"], "judge": "j"}, {"team", "judge"}),
        (
            "debate",
            {"n": 2, "models": ["a", "b"], "rounds": 1, "aggregate": "judge"},
            {"team", "judge", "debate"},
        ),
        (
            "tree",
            {"depth": 2, "breadth": 2, "workers": ["a", "b"], "planner": "p"},
            {"team", "aggregator", "planner", "deep"},
        ),
        (
            "plan_execute_judge",
            {"planner": "p", "executors": 1, "models": ["a"], "revisions": 1},
            {"solver", "planner", "check"},  # a team of one is a solver
        ),
    ],
)
def test_shapes_follow_the_parameter_values(name, params, shape):
    assert get_topology(name).structure.shape(params) == shape


def test_inconsistent_structures_are_rejected():
    with pytest.raises(SpaceError, match="not both"):
        Structure(solver="a", team="b")
    with pytest.raises(SpaceError, match="combine_kinds"):
        Structure(team="t", combine_switch="how")
    with pytest.raises(SpaceError, match="declare the checker"):
        Structure(solver="s", fixer="f")
