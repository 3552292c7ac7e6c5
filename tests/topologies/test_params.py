"""Parameter spaces: grids, conditions, team sizing, Optuna suggestions and bounds."""

import math
import random

import optuna
import pytest

from orchestrator.testing import ScriptedChatModel
from topologies import (
    Categorical,
    Float,
    Integer,
    ModelSlot,
    ModelTeam,
    ParamSpace,
    SpaceError,
)

POOL = ["sim:a", "sim:b", "sim:c"]


def space(*params) -> ParamSpace:
    return ParamSpace(params=tuple(params))


# --- values and grids ------------------------------------------------------------------


def test_param_values():
    assert Integer(name="n", low=1, high=7, step=3).values() == [1, 4, 7]
    assert Categorical(name="c", choices=("x", True, None)).values() == ["x", True, None]
    assert Float(name="t", low=0.0, high=1.0, grid_points=5).values() == [0, 0.25, 0.5, 0.75, 1]
    log = Float(name="lr", low=0.01, high=1.0, log=True).values()
    assert log[0] == pytest.approx(0.01) and log[1] == pytest.approx(0.1) and log[2] == 1.0
    assert ModelSlot(name="m").values(POOL) == POOL
    assert ModelSlot(name="m", choices=("sim:z",)).values(POOL) == ["sim:z"]


def test_grid_size_is_the_product_of_independent_params():
    s = space(Integer(name="n", low=1, high=3), Categorical(name="w", choices=(False, True)))
    assert s.size() == 6
    assert next(iter(s.grid())) == {"n": 1, "w": False}
    assert s.size(POOL) == len({tuple(sorted(v.items())) for v in s.grid(POOL)})


def test_model_team_grid_is_multisets():
    team = ModelTeam(name="team", min_size=2, max_size=3)
    # multisets of size 2 and 3 from 3 models: C(4,2) + C(5,3)
    assert len(team.values(POOL)) == 6 + 10
    assert ("sim:a", "sim:b") in team.values(POOL) and ("sim:b", "sim:a") not in team.values(POOL)


def test_sized_team_has_exactly_that_many_members():
    s = space(Integer(name="n", low=2, high=3), ModelTeam(name="team", size="n", max_size=3))
    grid = list(s.grid(POOL))
    assert len(grid) == 6 + 10
    assert all(len(v["team"]) == v["n"] for v in grid)


def test_conditional_params_exist_only_when_their_condition_holds():
    s = space(
        Categorical(name="agg", choices=("vote", "judge")),
        Categorical(name="weighted", choices=(False, True), when={"agg": ("vote",)}),
        ModelSlot(name="judge", when={"agg": ("judge",)}),
    )
    grid = list(s.grid(POOL))
    assert len(grid) == 2 + 3
    assert all(("weighted" in v) == (v["agg"] == "vote") for v in grid)
    assert all(("judge" in v) == (v["agg"] == "judge") for v in grid)


# Declaration errors are raised inside pydantic validators, which wrap them in a
# ValidationError (a ValueError, like SpaceError); the message is kept.


def test_a_condition_must_follow_the_param_it_names():
    with pytest.raises(SpaceError, match="must come before"):
        space(ModelSlot(name="judge", when={"agg": ("judge",)}))
    with pytest.raises(SpaceError, match="undeclared"):
        space(ModelTeam(name="team", size="n"))
    with pytest.raises(SpaceError, match="twice"):
        space(Integer(name="n", low=1, high=2), Integer(name="n", low=1, high=2))


def test_empty_pools_and_bad_declarations_are_errors():
    with pytest.raises(SpaceError, match="give a pool"):
        ModelSlot(name="m").values()
    with pytest.raises(SpaceError, match="give a pool"):
        ModelTeam(name="t").values()
    with pytest.raises(SpaceError, match="low > high"):
        Integer(name="n", low=3, high=1)
    with pytest.raises(SpaceError, match="no choices"):
        Categorical(name="c", choices=())


def test_samples_are_grid_points():
    s = space(
        Integer(name="n", low=2, high=3),
        ModelTeam(name="team", size="n", max_size=3),
        Categorical(name="agg", choices=("vote", "judge")),
        ModelSlot(name="judge", when={"agg": ("judge",)}),
    )
    grid = [tuple(sorted(v.items())) for v in s.grid(POOL)]
    rng = random.Random(0)
    for _ in range(50):
        assert tuple(sorted(s.sample(rng, POOL).items())) in grid


# --- Optuna ----------------------------------------------------------------------------


def test_suggest_with_a_real_optuna_study():
    s = space(
        Integer(name="n", low=2, high=4),
        ModelTeam(name="team", size="n", max_size=4),
        Float(name="temperature", low=0.0, high=1.0),
        Categorical(name="agg", choices=("vote", "judge")),
        ModelSlot(name="judge", when={"agg": ("judge",)}),
    )
    seen: list[dict] = []

    def objective(trial: optuna.Trial) -> float:
        values = s.suggest(trial, POOL, prefix="debate.")
        seen.append(values)
        assert s.validate_values(values, POOL, partial=False) == values
        return float(values["n"])

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective, n_trials=25)
    assert {v["agg"] for v in seen} == {"vote", "judge"}
    for values, trial in zip(seen, study.trials, strict=True):
        assert trial.params["debate.n"] == values["n"] == len(values["team"])
        assert values["team"] == tuple(sorted(values["team"]))
        assert ("debate.judge" in trial.params) == (values["agg"] == "judge")
        assert 0.0 <= values["temperature"] <= 1.0


def test_unsized_team_suggests_its_own_size():
    team = ModelTeam(name="team", min_size=1, max_size=3)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    value = space(team).suggest(trial, POOL)["team"]
    assert 1 <= len(value) == trial.params["team.size"] <= 3


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        (Integer(name="n", low=1, high=3), 4, "outside 1..3"),
        (Integer(name="n", low=1, high=3), 0, "outside 1..3"),
        (Integer(name="n", low=1, high=5, step=2), 2, "step 2"),
        (Integer(name="n", low=1, high=3), True, "must be an integer"),
        (Integer(name="n", low=1, high=3), 2.0, "must be an integer"),
        (Float(name="t", low=0.0, high=1.0), 1.5, "outside"),
        (Categorical(name="c", choices=("a", "b")), "z", "outside"),
        (ModelSlot(name="m"), "sim:zzz", "not in"),
        (ModelSlot(name="m"), 3, "model string"),
        (ModelTeam(name="t", max_size=2), ["sim:a"] * 3, "allowed 1..2"),
        (ModelTeam(name="t"), ["sim:a", "sim:zzz"], "outside the pool"),
        (ModelTeam(name="t"), [1, 2], "model strings"),
    ],
)
def test_out_of_bounds_values_raise(param, value, message):
    with pytest.raises(SpaceError, match=message):
        space(param).validate_values({param.name: value}, POOL)


def test_unknown_inactive_and_missing_params_raise():
    s = space(
        Categorical(name="agg", choices=("vote", "judge")),
        ModelSlot(name="judge", when={"agg": ("judge",)}),
    )
    with pytest.raises(SpaceError, match="unknown parameters"):
        s.validate_values({"rounds": 2})
    with pytest.raises(SpaceError, match="inactive"):
        s.validate_values({"agg": "vote", "judge": "sim:a"}, POOL)
    with pytest.raises(SpaceError, match="missing"):
        s.validate_values({"agg": "judge"}, POOL, partial=False)
    assert s.validate_values({"agg": "judge"}, POOL) == {"agg": "judge"}


def test_defaults_decide_activity_when_the_condition_is_not_given():
    s = space(
        Categorical(name="agg", choices=("vote", "judge")),
        ModelSlot(name="judge", when={"agg": ("judge",)}),
    )
    with pytest.raises(SpaceError, match="inactive"):
        s.validate_values({"judge": "sim:a"})
    assert s.validate_values({"judge": "sim:a"}, defaults={"agg": "judge"}) == {"judge": "sim:a"}


def test_sized_teams_take_one_model_or_set_their_size():
    s = space(Integer(name="n", low=2, high=4), ModelTeam(name="team", size="n", max_size=4))
    assert s.validate_values({"n": 3, "team": "sim:b"}) == {"n": 3, "team": ("sim:b",) * 3}
    assert s.validate_values({"team": "sim:b"}, defaults={"n": 2}) == {"team": ("sim:b",) * 2}
    assert s.validate_values({"team": ["sim:c", "sim:a"]}) == {"n": 2, "team": ("sim:a", "sim:c")}
    with pytest.raises(SpaceError, match="3 members but n=2"):
        s.validate_values({"n": 2, "team": ["sim:a"] * 3})
    with pytest.raises(SpaceError, match=r"outside 2\.\.4"):
        s.validate_values({"team": ["sim:a"] * 5})


def test_model_instances_become_registered_references():
    model = ScriptedChatModel()
    slot = ModelSlot(name="m")
    ref = slot.check(model)
    assert isinstance(ref, str) and ref.startswith("test:")
    assert slot.check(model) == ref
    team = ModelTeam(name="t").check([model, "sim:a"])
    assert ref in team and "sim:a" in team


def test_complete_fills_active_defaults_and_normalises_teams():
    s = space(
        Integer(name="n", low=2, high=4),
        ModelTeam(name="team", size="n", max_size=4),
        Categorical(name="agg", choices=("vote", "judge")),
        ModelSlot(name="judge", when={"agg": ("judge",)}),
    )
    defaults = {"n": 3, "team": "sim:b", "agg": "vote", "judge": "sim:c"}
    assert s.complete({}, defaults) == {"n": 3, "team": ("sim:b",) * 3, "agg": "vote"}
    done = s.complete({"n": 4, "agg": "judge"}, {**defaults, "team": ("sim:b", "sim:a")})
    assert done == {
        "n": 4,
        "team": ("sim:a", "sim:a", "sim:b", "sim:b"),
        "agg": "judge",
        "judge": "sim:c",
    }


def test_float_grid_points_are_inside_bounds():
    values = Float(name="t", low=0.1, high=0.9, grid_points=4).values()
    assert len(values) == 4 and values[0] == 0.1 and math.isclose(values[-1], 0.9)
