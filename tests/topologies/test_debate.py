"""debate: rounds of peers' answers, a diversity-aware start and confidence modulation."""

import pytest

from orchestrator import deploy
from orchestrator.roles import CandidateAnswer, RoleInputs, get_role
from orchestrator.roles.builtin import diverse_order
from orchestrator.testing import ScriptedChatModel
from topologies import SpaceError, debate

from .helpers import QUESTION, answered, edges, roles, run

CHEAP = ["sim:atlas-nano", "sim:lynx-small", "sim:orca-small"]


def _say(answer: str, name: str, confidence: float = 0.8) -> ScriptedChatModel:
    reply = f'{{"answer": "{answer}", "confidence": {confidence}}}'
    return ScriptedChatModel(model_name=name, replies=[reply])


def test_rounds_are_unrolled_and_every_agent_sees_the_last_round():
    spec = debate(n=3, rounds=2, models=CHEAP)
    assert len(spec.agents) == 3 * 3 + 1
    r0, r1, r2 = ([f"agent{i}_r{r}" for i in (1, 2, 3)] for r in range(3))
    assert {roles(spec)[a] for a in r0} == {"solver"}
    assert {roles(spec)[a] for a in r1 + r2} == {"blind_solver"}  # vanilla debate by default
    assert edges(spec) == (
        {(a, b) for a in r0 for b in r1}
        | {(a, b) for a in r1 for b in r2}
        | {(a, "vote") for a in r2}
    )
    assert set(spec.structure.entries) == set(r0) and spec.structure.exit == "vote"
    for i, model in enumerate(sorted(CHEAP), 1):  # agent i keeps its model in every round
        assert {spec.agent(f"agent{i}_r{r}").model for r in range(3)} == {model}


def test_confidence_modulation_shows_peers_confidences():
    def prompt(spec, agent):
        result = deploy(spec).invoke(QUESTION)
        return result.by_agent()[agent][0].prompt[-1]["content"]

    modulated = debate(n=2, rounds=1, confidence=True)
    assert roles(modulated)["agent1_r1"] == "solver"
    assert "(confidence " in prompt(modulated, "agent1_r1")
    vanilla = debate(n=2, rounds=1, confidence=False)
    text = prompt(vanilla, "agent1_r1")
    assert "## Answers from other agents" in text and "(confidence " not in text


def test_blind_solver_hides_confidences_only():
    inputs = RoleInputs(
        question="q", candidates=(CandidateAnswer(index=1, agent="x", answer="5", confidence=0.9),)
    )
    text = get_role("blind_solver").render(inputs)[1].content
    assert "- x: 5\n" in text and "confidence 0.90" not in text
    assert get_role("blind_solver").output is get_role("solver").output


def test_diverse_start_oversamples_and_keeps_the_most_different():
    models = [_say("5", "a"), _say("5", "b"), _say("9", "c")]
    spec = debate(models=models, n=3, rounds=1, init="diverse", oversample=2)
    drafts = [f"draft{j}" for j in range(1, 7)]
    keeps = ["keep1", "keep2", "keep3"]
    assert {roles(spec)[d] for d in drafts} == {"solver"}
    assert [spec.agent(k).options for k in keeps] == [{"rank": 1}, {"rank": 2}, {"rank": 3}]
    assert {(d, k) for d in drafts for k in keeps} <= edges(spec)
    assert {(k, f"agent{i}_r1") for k in keeps for i in (1, 2, 3)} <= edges(spec)
    result = deploy(spec).invoke(QUESTION)
    kept = [result.by_agent()[k][0].answer for k in keeps]
    assert kept == ["5", "9", "5"]  # both distinct answers first, then the best supported
    assert all(result.by_agent()[k][0].calls == 0 for k in keeps)  # selection is model-free


def test_diverse_order_prefers_distinct_then_supported_then_confident():
    answers = [("5", 0.6), ("7", 0.9), ("5", 0.8), ("9", 0.5), ("5", 0.7)]
    candidates = [
        CandidateAnswer(index=i, agent=f"a{i}", answer=a, confidence=c)
        for i, (a, c) in enumerate(answers, 1)
    ]
    order = [(c.agent, c.answer) for c in diverse_order(candidates)]
    assert order == [("a3", "5"), ("a2", "7"), ("a4", "9"), ("a5", "5"), ("a1", "5")]
    assert diverse_order([]) == []


def test_a_judge_can_end_the_debate():
    spec = debate(aggregate="judge", judge="sim:atlas-pro", models=CHEAP)
    assert roles(spec)["judge"] == "judge" and spec.structure.exit == "judge"
    assert "vote" not in roles(spec)
    with pytest.raises(SpaceError, match="inactive"):
        debate(aggregate="judge", weighted=True)
    with pytest.raises(SpaceError, match="inactive"):
        debate(oversample=3)  # only with init="diverse"


@pytest.mark.parametrize(
    "params",
    [
        {"models": CHEAP},
        {"models": CHEAP, "confidence": True, "weighted": True},
        {"models": CHEAP, "init": "diverse", "oversample": 3, "rounds": 1},
        {"n": 2, "models": "sim:atlas-mini", "aggregate": "judge"},
    ],
)
def test_runs_on_the_simulator(params):
    result = run(debate(**params))
    assert answered(result)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n": 1}, "outside 2..4"),
        ({"n": 5}, "outside 2..4"),
        ({"rounds": 0}, "outside 1..3"),
        ({"rounds": 4}, "outside 1..3"),
        ({"init": "diverse", "oversample": 4}, "outside 2..3"),
        ({"init": "random"}, "outside"),
    ],
)
def test_bounds(params, message):
    with pytest.raises(SpaceError, match=message):
        debate(**params)
