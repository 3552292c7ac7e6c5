"""The topology registry: custom builders with their spaces, metadata and rebuilds."""

import random

import pytest

from orchestrator import Workflow, WorkflowSpec
from topologies import (
    Categorical,
    Integer,
    ModelSlot,
    ModelTeam,
    SpaceError,
    Topology,
    get_topology,
    list_topologies,
    register_topology,
    topology,
)

from .helpers import POOL, answered, run

BUILTIN = {
    "single",
    "plan_solve",
    "self_refine",
    "vote_ensemble",
    "best_of_n",
    "debate",
    "supervisor",
    "tree",
    "plan_execute_judge",
}


@topology(
    "test_chain",
    space=[
        Integer(name="length", low=1, high=3, description="Solvers in a row."),
        ModelTeam(name="models", size="length", max_size=3),
        Categorical(name="check", choices=(False, True)),
        ModelSlot(name="verifier", when={"check": (True,)}),
    ],
    replace=True,
)
def chain(
    *,
    length: int = 2,
    models: str | list[str] = "sim:atlas-nano",
    check: bool = False,
    verifier: str = "sim:atlas-mini",
    name: str = "chain",
) -> WorkflowSpec:
    """Solvers in a row, each refining the last, optionally checked at the end."""
    team = [models] * length if isinstance(models, str) else list(models)
    wf = Workflow(name)
    for i, model in enumerate(team):
        wf.add_agent(f"s{i}", role="solver", model=model)
        if i:
            wf.add_edge(f"s{i - 1}", f"s{i}")
    if check:
        wf.add_agent("check", role="verifier", model=verifier).add_edge(f"s{length - 1}", "check")
    return wf.build()


def test_the_library_is_registered():
    assert set(list_topologies()) >= BUILTIN
    assert get_topology("debate").description.startswith("``n`` agents answer")


def test_unknown_topology_names_the_known_ones():
    with pytest.raises(KeyError, match=r"known: .*debate"):
        get_topology("no_such_shape")


def test_a_custom_builder_and_its_space():
    topo = get_topology("test_chain")
    assert topo.builder.__name__ == "chain"
    assert topo.space.size(POOL) == (3 + 6 + 10) * (1 + 3)
    spec = chain(length=3, check=True)
    assert [a.role for a in spec.agents] == ["solver"] * 3 + ["verifier"]
    assert spec.metadata == {
        "topology": "test_chain",
        "params": {
            "length": 3,
            "models": ["sim:atlas-nano"] * 3,
            "check": True,
            "verifier": "sim:atlas-mini",
        },
    }
    assert answered(run(spec))


def test_every_grid_point_of_a_custom_space_builds():
    topo = get_topology("test_chain")
    hashes = {topo.build(values, pool=POOL).hash for values in topo.grid(POOL)}
    assert len(hashes) == topo.space.size(POOL)


def test_metadata_params_rebuild_the_same_spec():
    topo = get_topology("test_chain")
    rng = random.Random(3)
    for _ in range(10):
        spec = topo.build(topo.sample(rng, POOL), pool=POOL)
        assert topo.build(spec.metadata["params"], pool=POOL) == spec


def test_builds_are_checked_against_the_space_and_pool():
    topo = get_topology("test_chain")
    with pytest.raises(SpaceError, match=r"outside 1\.\.3"):
        topo.build(length=4)
    with pytest.raises(SpaceError, match="not in"):
        topo.build(check=True, verifier="sim:orca-small", pool=POOL)
    with pytest.raises(SpaceError, match="inactive"):
        topo.build(verifier="sim:atlas-pro")  # check defaults to False
    with pytest.raises(SpaceError, match="has no parameters"):
        topo.build(rounds=2)
    with pytest.raises(SpaceError, match=r"outside 1\.\.3"):
        chain(models=["sim:atlas-nano"] * 4)


def test_fixed_builder_arguments_pass_through_unsearched():
    spec = chain(name="my-chain")
    assert spec.name == "my-chain"
    assert spec.metadata["params"]["name"] == "my-chain"
    assert "name" not in get_topology("test_chain").space.names


def test_builders_must_be_keyword_only_and_declare_every_param():
    with pytest.raises(TypeError, match="keyword-only"):

        @topology("test_positional", space=[])
        def positional(model: str = "sim:atlas-nano") -> WorkflowSpec:
            raise AssertionError

    with pytest.raises(SpaceError, match="no arguments for parameters"):

        @topology("test_undeclared", space=[Integer(name="rounds", low=1, high=2)])
        def undeclared(*, model: str = "sim:atlas-nano") -> WorkflowSpec:
            raise AssertionError


def test_names_cannot_be_taken_twice_unless_replaced():
    entry = get_topology("test_chain")
    other = Topology(name="test_chain", builder=lambda **_: chain(), space=entry.space)
    with pytest.raises(ValueError, match="already registered"):
        register_topology(other)
    assert register_topology(entry) is entry  # the same builder again is fine
