"""supervisor and tree: planners split, workers solve, aggregators combine."""

import pytest

from topologies import SpaceError, supervisor, tree, tree_size

from .helpers import answered, edges, roles, run

CHEAP = ["sim:atlas-nano", "sim:lynx-small", "sim:orca-small"]


def test_supervisor_structure():
    spec = supervisor(workers=3, models=CHEAP, aggregator="sim:atlas-pro")
    workers = ["worker1", "worker2", "worker3"]
    assert roles(spec) == {
        "planner": "planner",
        **dict.fromkeys(workers, "solver"),
        "aggregator": "aggregator",
    }
    assert edges(spec) == (
        {("planner", w) for w in workers}
        | {(w, "aggregator") for w in workers}
        | {("planner", "aggregator")}
    )
    assert spec.structure.entries == ("planner",) and spec.structure.exit == "aggregator"
    focuses = [spec.agent(w).options["focus"] for w in workers]
    assert len(set(focuses)) == 3 and "part 2 of 3" in focuses[1]


def test_supervisor_takes_its_own_sub_tasks():
    spec = supervisor(workers=2, focuses=["Count the apples.", "Count the pears."])
    assert spec.agent("worker2").options == {"focus": "Count the pears."}
    with pytest.raises(SpaceError, match="2 sub-tasks for 3 workers"):
        supervisor(workers=3, focuses=["a", "b"])


def test_supervisor_runs_on_the_simulator():
    result = run(supervisor(models=CHEAP))
    assert answered(result) and result.calls == 5


def test_tree_structure_depth_two_breadth_two():
    spec = tree(depth=2, breadth=2, workers=["sim:atlas-nano", "sim:lynx-small"])
    r = roles(spec)
    assert [n for n in r if r[n] == "planner"] == ["plan", "plan_1", "plan_2"]
    assert sorted(n for n in r if r[n] == "aggregator") == ["combine", "combine_1", "combine_2"]
    leaves = ["worker_1_1", "worker_1_2", "worker_2_1", "worker_2_2"]
    assert sorted(n for n in r if r[n] == "solver") == leaves
    assert {("plan", "plan_1"), ("plan_1", "worker_1_2"), ("worker_1_2", "combine_1")} <= edges(
        spec
    )
    assert {("combine_1", "combine"), ("combine_2", "combine"), ("plan", "combine")} <= edges(spec)
    assert spec.structure.entries == ("plan",) and spec.structure.exit == "combine"
    # the i-th child of every node uses the i-th worker model
    assert spec.agent("worker_2_1").model == "sim:atlas-nano"
    assert spec.agent("worker_1_2").model == "sim:lynx-small"


@pytest.mark.parametrize("breadth", [2, 3])
def test_tree_cost_grows_with_depth_and_breadth(breadth):
    sizes = [len(tree(depth=d, breadth=breadth).agents) for d in (1, 2, 3)]
    assert sizes == [tree_size(d, breadth) for d in (1, 2, 3)]
    assert sizes[0] < sizes[1] < sizes[2]
    assert len(tree(depth=2, breadth=3).agents) > len(tree(depth=2, breadth=2).agents)
    assert tree_size(1, 3) == 5 and tree_size(2, 2) == 10 and tree_size(3, 2) == 22


def test_tree_calls_grow_with_its_size_on_the_simulator():
    small, large = run(tree(depth=1, breadth=2)), run(tree(depth=2, breadth=3))
    assert answered(small) and answered(large)
    # One call per agent; a reply that broke the format adds a re-ask, counted apart.
    for result, size in ((small, tree_size(1, 2)), (large, tree_size(2, 3))):
        assert len(result.nodes) == size
        assert result.calls == size + sum(node.parse_failures for node in result.nodes)
    assert large.cost > small.cost


@pytest.mark.parametrize(
    ("builder", "params", "message"),
    [
        (supervisor, {"workers": 1}, "outside 2..4"),
        (supervisor, {"workers": 5}, "outside 2..4"),
        (tree, {"depth": 4}, "outside 1..3"),
        (tree, {"depth": 0}, "outside 1..3"),
        (tree, {"breadth": 4}, "outside 2..3"),
        (tree, {"breadth": 2, "workers": CHEAP}, "3 members but breadth=2"),
    ],
)
def test_bounds(builder, params, message):
    with pytest.raises(SpaceError, match=message):
        builder(**params)
