"""Every built-in topology: builds, validates, runs on the simulator, and keeps to its space."""

import random

import pytest

from orchestrator import WorkflowSpec, spec_mermaid
from topologies import Categorical, Integer, ModelSlot, SpaceError, get_topology

from .helpers import POOL, answered, run
from .test_registry import BUILTIN

NAMES = sorted(BUILTIN)


@pytest.mark.parametrize("name", NAMES)
def test_defaults_build_a_valid_spec_that_runs_on_the_simulator(name):
    spec = get_topology(name).build()
    assert isinstance(spec, WorkflowSpec)
    assert spec.metadata["topology"] == name
    assert WorkflowSpec.from_json(spec.to_json()) == spec
    assert all(a.model is None or a.model.startswith("sim:") for a in spec.agents)
    result = run(spec)
    assert answered(result) and result.calls >= 1 and result.cost > 0


@pytest.mark.parametrize("name", NAMES)
def test_sampled_settings_build_from_the_pool_and_rebuild_from_metadata(name):
    topo = get_topology(name)
    rng = random.Random(name)
    for _ in range(6):
        values = topo.sample(rng, POOL)
        spec = topo.build(values, pool=POOL)
        assert {a.model for a in spec.agents if a.model} <= set(POOL)
        assert topo.build(spec.metadata["params"], pool=POOL) == spec


@pytest.mark.parametrize("name", NAMES)
def test_spaces_are_small_enough_to_enumerate_for_a_three_model_pool(name):
    assert 1 < get_topology(name).space.size(POOL) <= 3100


def _active_point(topo, param, rng):
    for _ in range(200):
        values = topo.sample(rng, POOL)
        if param.name in values:
            return values
    raise AssertionError(f"{param.name} is never active")


@pytest.mark.parametrize("name", NAMES)
def test_values_outside_the_declared_bounds_raise(name):
    topo = get_topology(name)
    rng = random.Random(0)
    for param in topo.space:
        values = _active_point(topo, param, rng)
        if isinstance(param, Integer):
            bad = [param.low - param.step, param.high + param.step]
        elif isinstance(param, Categorical):
            bad = ["not-a-choice"]
        elif isinstance(param, ModelSlot):
            bad = ["sim:not-in-the-pool"]
        else:
            continue
        for value in bad:
            with pytest.raises(SpaceError):
                topo.build({**values, param.name: value}, pool=POOL)


@pytest.mark.parametrize("name", NAMES)
def test_every_agent_appears_in_the_mermaid_picture(name):
    spec = get_topology(name).build()
    text = spec_mermaid(spec)
    assert text.startswith("flowchart TD")
    for agent in spec.agents:
        assert f"{agent.name}<br/>" in text
    assert text.count(" -. ") == len(spec.loops)
