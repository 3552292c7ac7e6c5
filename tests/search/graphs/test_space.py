"""GraphSpace: slots x pool x parameters, candidate keys, versions and strategies."""

from __future__ import annotations

import random

import optuna
import pytest

from search import Budget, create_search
from search.graphs import GraphSpace, GraphSpaceError
from search.space import Candidate
from tests.search.graphs.conftest import build_pair
from topologies.params import Categorical, ModelSlot, SpaceError


def test_space_enumerates_slot_models_and_parameters(pair_space):
    candidates = list(pair_space.grid())
    assert pair_space.size() == len(candidates) == 2 * 2 * 2
    assert len({c.hash for c in candidates}) == 8
    first = candidates[0]
    assert first.spec is None and first.topology == "pair"
    assert set(first.params) == {"solver", "checker", "check"}
    assert first.label.startswith("pair(solver=")


def test_sample_suggest_and_trial_params_agree(pair_space):
    candidate = pair_space.sample(random.Random(3))
    trial = optuna.trial.FixedTrial(pair_space.trial_params(candidate))
    assert pair_space.suggest(trial).hash == candidate.hash


def test_slot_choices_restrict_a_slot():
    space = GraphSpace(
        build=build_pair,
        slots=["solver", ModelSlot(name="checker", choices=("sim:atlas-pro",))],
        pool=["sim:atlas-nano", "sim:atlas-mini"],
        name="pair",
        version="1",
    )
    assert {c.params["checker"] for c in space.grid()} == {"sim:atlas-pro"}


def test_candidate_key_is_identity_plus_settings(pair_space):
    a = pair_space.point(solver="sim:atlas-mini", checker="sim:atlas-nano", check="yes")
    same = pair_space.point(check="yes", checker="sim:atlas-nano", solver="sim:atlas-mini")
    other = pair_space.point(solver="sim:atlas-mini", checker="sim:atlas-nano", check="no")
    v2 = GraphSpace(**{**_fields(pair_space), "version": "2"})
    newer = v2.point(solver="sim:atlas-mini", checker="sim:atlas-nano", check="yes")
    assert a.hash == same.hash
    assert len({a.hash, other.hash, newer.hash}) == 3


def _fields(space: GraphSpace) -> dict:
    return {
        "build": space.build,
        "slots": space.slots,
        "pool": space.pool,
        "params": space.params,
        "name": space.name,
        "version": space.version,
        "max_tokens": space.max_tokens,
    }


def test_without_a_version_the_code_is_hashed():
    space = GraphSpace(build=build_pair, slots=["solver", "checker"], pool=["sim:atlas-nano"])
    again = GraphSpace(build=build_pair, slots=["solver", "checker"], pool=["sim:atlas-nano"])
    assert space.name == "build_pair"
    assert space.version.startswith("code-") and space.version == again.version


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slots": []}, "no model slots"),
        ({"params": [Categorical(name="solver", choices=("a",))]}, "declared twice"),
        ({"params": [ModelSlot(name="judge")]}, "list it in slots"),
        ({"build": None}, "either build="),
        ({"graph": object()}, "either build="),
        ({"prefixes": {"nobody": "x"}}, "unknown slots"),
    ],
)
def test_bad_spaces_are_refused(kwargs, message):
    fields = {
        "build": build_pair,
        "slots": ["solver", "checker"],
        "pool": ["sim:atlas-nano"],
        "name": "pair",
        "version": "1",
        **kwargs,
    }
    with pytest.raises(GraphSpaceError, match=message):
        GraphSpace(**fields)


def test_a_graph_candidate_has_no_workflow(pair_space):
    candidate = pair_space.sample(random.Random(0))
    with pytest.raises(SpaceError, match="is a graph"):
        _ = candidate.workflow
    with pytest.raises(SpaceError, match="either a workflow spec or a graph"):
        Candidate(topology="pair")


@pytest.mark.parametrize("strategy", ["mcts", "knapsack", "tpe+mcts"])
def test_topology_editing_strategies_are_refused(pair_space, dataset, strategy, tmp_path):
    with pytest.raises(GraphSpaceError, match="edits rolegraph workflow topologies"):
        create_search(
            space=pair_space,
            dataset=dataset,
            strategy=strategy,
            budget=Budget(dollars=1.0),
            store=tmp_path / "rg.db",
        )
