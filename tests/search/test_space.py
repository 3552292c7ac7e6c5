"""Search spaces: topologies x parameters x pool; every candidate is one spec."""

import random

import optuna
import pytest

from search.space import TOPOLOGY_PARAM, Candidate, ComponentPool, SearchSpace
from topologies import SpaceError, get_topology, single

POOL = ["sim:atlas-nano", "sim:atlas-mini", "sim:atlas-pro"]


def space(**kw) -> SearchSpace:
    return SearchSpace(
        topologies=kw.pop("topologies", ["single", "plan_solve"]),
        pool=kw.pop("pool", POOL),
        fixed=kw.pop("fixed", {"single": {"temperature": 0.0}}),
        **kw,
    )


def test_grid_is_every_distinct_candidate():
    candidates = list(space().grid())
    assert len(candidates) == 3 + 9  # 3 single models, 3 x 3 planner/solver pairs
    assert len({c.hash for c in candidates}) == len(candidates)
    assert space().size() == 12


def test_a_candidate_maps_to_exactly_one_spec():
    s = space()
    a = s.candidate("single", {"model": "sim:atlas-pro"})
    b = s.candidate("single", {"model": "sim:atlas-pro", "temperature": 0.0})
    assert a.hash == b.hash == single(model="sim:atlas-pro").hash
    assert a.label == "single(model=atlas-pro, temperature=0.0)"


def test_fixed_parameters_are_not_searched():
    assert all(c.params["temperature"] == 0.0 for c in space().grid() if c.topology == "single")


def test_sample_is_seeded():
    s = space()
    first = [s.sample(random.Random(3)).hash for _ in range(5)]
    assert first == [s.sample(random.Random(3)).hash for _ in range(5)]


def test_optuna_suggest_and_enqueue_round_trip():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = space()
    target = s.candidate("plan_solve", {"planner": "sim:atlas-nano", "solver": "sim:atlas-pro"})
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(s.trial_params(target))
    trial = study.ask()
    assert s.suggest(trial).hash == target.hash
    assert trial.params[TOPOLOGY_PARAM] == "plan_solve"
    assert trial.params["plan_solve.solver"] == "sim:atlas-pro"


def test_hand_designed_specs_are_candidates_too():
    extra = single(model="sim:lynx-large")
    s = space(extra=[extra])
    assert extra.hash in {c.hash for c in s.grid()}
    study = optuna.create_study()
    study.enqueue_trial(s.trial_params(Candidate(spec=extra)))
    assert s.suggest(study.ask()).hash == extra.hash


def test_narrow_restricts_the_pool():
    narrowed = space().narrow(["sim:atlas-nano", "sim:atlas-pro"])
    assert narrowed.pool.models == ["sim:atlas-nano", "sim:atlas-pro"]
    assert narrowed.size() == 2 + 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"topologies": ["nope"]}, "unknown topology 'nope'"),
        ({"topologies": []}, "no topologies"),
        ({"pool": []}, "pool is empty"),
        ({"pool": ["sim:atlas-nano", "sim:nope"]}, r"pool component 'sim:nope'"),
        ({"pool": ["sim:atlas-nano", "sim:atlas-nano"]}, "twice"),
        ({"fixed": {"single": {"rounds": 2}}}, r"fixed parameters \['rounds'\]"),
        ({"fixed": {"debate": {"rounds": 2}}}, "not in the space"),
    ],
)
def test_bad_spaces_fail_clearly(kwargs, message):
    with pytest.raises(SpaceError, match=message):
        space(**kwargs)


def test_out_of_range_parameters_fail_clearly():
    with pytest.raises(SpaceError, match="temperature"):
        space().candidate("single", {"model": "sim:atlas-pro", "temperature": 5.0})
    with pytest.raises(SpaceError, match="not in"):
        space().candidate("single", {"model": "sim:lynx-large"})


def test_pool_prices_feed_the_price_table():
    from orchestrator import Price

    pool = ComponentPool.of(["sim:atlas-nano"])
    assert pool.prices().price("sim:atlas-nano") is not None
    custom = ComponentPool(
        components=[{"name": "sim:atlas-nano", "price": Price(input=9, output=9)}]
    )
    assert custom.prices().price("sim:atlas-nano").input == 9


def test_fixing_a_parameter_others_depend_on():
    s = SearchSpace(topologies=["self_refine"], pool=POOL, fixed={"self_refine": {"plan": False}})
    assert all(c.params["plan"] is False and "planner" not in c.params for c in s.grid())
    study = optuna.create_study()
    candidate = s.suggest(study.ask())
    assert candidate.params["plan"] is False
    assert s.sample(random.Random(0)).params["plan"] is False


def test_fixed_values_are_validated():
    with pytest.raises(SpaceError, match="rounds"):
        SearchSpace(topologies=["self_refine"], pool=POOL, fixed={"self_refine": {"rounds": 9}})


def test_labels_follow_the_topologys_parameter_order():
    space = SearchSpace(topologies=["best_of_n"], pool=["sim:atlas-nano", "sim:lynx-small"])
    built = space.candidate(
        "best_of_n", {"judge": "sim:lynx-small", "models": ["sim:atlas-nano"] * 2, "n": 2}
    )
    restored = Candidate(
        spec=built.spec, topology="best_of_n", params=dict(reversed(built.params.items()))
    )
    assert list(restored.params) != list(built.params)
    assert restored.label == built.label
    names = get_topology("best_of_n").space.names
    shown = [
        part.split("=")[0] for part in built.label.removeprefix("best_of_n(")[:-1].split(", ")
    ]
    assert shown == [name for name in names if name in built.params]


def test_labels_of_unregistered_topologies_are_sorted():
    spec = SearchSpace(topologies=["single"], pool=["sim:atlas-nano"]).candidate("single").spec
    one = Candidate(spec=spec, topology="gone", params={"b": 1, "a": 2})
    two = Candidate(spec=spec, topology="gone", params={"a": 2, "b": 1})
    assert one.label == two.label == "gone(a=2, b=1)"


def test_labels_are_the_same_after_a_resume(tmp_path):
    from search import create_search

    def run():
        return create_search(
            space={
                "topologies": ["vote_ensemble", "self_refine"],
                "pool": ["sim:atlas-nano", "sim:lynx-small"],
            },
            dataset="bundled:arithmetic",
            strategy="random",
            n_candidates=4,
            store=tmp_path / "rg.db",
            name="labels",
        ).run()

    first = {c.workflow: c.label for c in run().candidates}
    again = {c.workflow: c.label for c in run().candidates}
    assert first == again
