"""vote_ensemble and best_of_n: n answers, then a vote or a judge."""

import pytest

from orchestrator.testing import ScriptedChatModel
from topologies import SpaceError, best_of_n, vote_ensemble

from .helpers import answered, edges, roles, run

CHEAP = ["sim:atlas-nano", "sim:lynx-small", "sim:orca-small"]


def _say(answer: str, confidence: float, name: str) -> ScriptedChatModel:
    reply = f'{{"answer": "{answer}", "confidence": {confidence}}}'
    return ScriptedChatModel(model_name=name, replies=[reply])


def test_vote_structure_with_a_heterogeneous_team():
    spec = vote_ensemble(models=[*CHEAP, "sim:atlas-nano"])
    solvers = [f"solver{i}" for i in range(1, 5)]
    assert roles(spec) == {**dict.fromkeys(solvers, "solver"), "vote": "vote"}
    assert edges(spec) == {(s, "vote") for s in solvers}
    assert spec.structure.exit == "vote" and set(spec.structure.entries) == set(solvers)
    assert sorted(spec.agent(s).model for s in solvers) == sorted([*CHEAP, "sim:atlas-nano"])
    assert all(spec.agent(s).temperature > 0 for s in solvers)
    assert spec.metadata["params"]["n"] == 4  # the team sets the size


def test_one_model_fills_the_team():
    spec = vote_ensemble(n=5, models="sim:atlas-mini", weighted=True)
    assert [a.model for a in spec.agents if a.role == "solver"] == ["sim:atlas-mini"] * 5
    assert spec.agent("vote").options == {"weighted": True}


def test_the_vote_rule_decides():
    models = [_say("7", 0.2, "a"), _say("7", 0.2, "b"), _say("9", 0.95, "c")]
    assert run(vote_ensemble(models=models)).answer == "7"
    assert run(vote_ensemble(models=models, weighted=True)).answer == "9"


def test_vote_runs_on_the_simulator():
    result = run(vote_ensemble(models=CHEAP))
    assert answered(result) and result.calls == 3


def test_best_of_n_structure_and_the_judge_picks():
    spec = best_of_n(n=4, judge="sim:atlas-pro")
    candidates = [f"candidate{i}" for i in range(1, 5)]
    assert roles(spec) == {**dict.fromkeys(candidates, "solver"), "judge": "judge"}
    assert edges(spec) == {(c, "judge") for c in candidates}
    assert spec.agent("judge").model == "sim:atlas-pro"
    judge = ScriptedChatModel(replies=['{"choice": 2, "reason": "checked"}'])
    models = [_say("7", 0.9, "a"), _say("9", 0.1, "b"), _say("7", 0.9, "c")]
    result = run(best_of_n(models=models, judge=judge))
    assert result.answer == "9" and judge.calls == 1


def test_best_of_n_runs_on_the_simulator():
    result = run(best_of_n(models=CHEAP, judge="sim:atlas-mini"))
    assert answered(result) and result.calls == 4


@pytest.mark.parametrize(
    ("builder", "params", "message"),
    [
        (vote_ensemble, {"n": 2}, "outside 3..5"),
        (vote_ensemble, {"n": 6}, "outside 3..5"),
        (vote_ensemble, {"models": ["sim:atlas-nano"] * 6}, "outside 3..5"),
        (vote_ensemble, {"n": 3, "models": CHEAP[:2]}, "2 members but n=3"),
        (best_of_n, {"n": 1}, "outside 2..5"),
        (best_of_n, {"models": ["sim:atlas-nano"] * 6}, "outside 2..5"),
    ],
)
def test_bounds(builder, params, message):
    with pytest.raises(SpaceError, match=message):
        builder(**params)
