"""single and plan_solve: the baselines."""

import pytest

from topologies import SpaceError, plan_solve, single

from .helpers import answered, edges, roles, run


def test_single_is_one_solver():
    spec = single(model="sim:atlas-pro", temperature=0.5)
    assert roles(spec) == {"solver": "solver"}
    assert spec.agents[0].model == "sim:atlas-pro" and spec.agents[0].temperature == 0.5
    assert run(spec).answer == "17"
    with pytest.raises(SpaceError, match="outside"):
        single(temperature=1.5)


def test_plan_solve_feeds_the_plan_to_the_solver():
    spec = plan_solve(planner="sim:atlas-pro", solver="sim:atlas-nano")
    assert roles(spec) == {"planner": "planner", "solver": "solver"}
    assert edges(spec) == {("planner", "solver")}
    assert spec.structure.exit == "solver"
    assert answered(run(spec))
