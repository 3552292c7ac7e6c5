"""plan_execute_judge: the judge sends work back to the planner, at most `revisions` times."""

import pytest

from orchestrator import deploy
from orchestrator.testing import ScriptedChatModel
from topologies import SpaceError, plan_execute_judge

from .helpers import QUESTION, answered, edges, loops, roles, run

REJECT = '{"verdict": "reject", "critique": "Step 2 is wrong: 16 does not follow."}'
ACCEPT = '{"verdict": "accept", "critique": ""}'


def test_structure_with_one_executor():
    spec = plan_execute_judge(revisions=2)
    assert roles(spec) == {
        "planner": "planner",
        "executor1": "solver",
        "judge": "verifier",
        "answer": "aggregator",
    }
    assert edges(spec) == {
        ("planner", "executor1"),
        ("executor1", "judge"),
        ("judge", "answer"),
        ("planner", "answer"),
    }
    assert loops(spec) == {("judge", "planner", 2)}
    assert spec.structure.entries == ("planner",) and spec.structure.exit == "answer"


def test_several_executors_are_pooled_before_judgment():
    spec = plan_execute_judge(executors=3, answer_role="solver")
    executors = ["executor1", "executor2", "executor3"]
    assert roles(spec)["pool"] == "vote" and roles(spec)["answer"] == "solver"
    assert {("planner", e) for e in executors} | {(e, "pool") for e in executors} <= edges(spec)
    assert ("pool", "judge") in edges(spec)


@pytest.mark.parametrize("revisions", [1, 2])
def test_the_judge_sends_work_back_at_most_the_bound(revisions):
    judge = ScriptedChatModel(replies=[REJECT])
    result = deploy(plan_execute_judge(judge=judge, revisions=revisions)).invoke(QUESTION)
    runs = result.by_agent()
    assert len(runs["planner"]) == len(runs["judge"]) == revisions + 1
    assert [n.loop_to for n in runs["judge"]] == ["planner"] * revisions + [None]
    assert len(runs["answer"]) == 1 and judge.calls == revisions + 1
    # the planner sees the critique on its second pass, and rewrites its plan
    second = runs["planner"][1].prompt[-1]["content"]
    assert "## Feedback on the previous attempt" in second and "Step 2 is wrong" in second
    assert runs["planner"][1].output["steps"] != runs["planner"][0].output["steps"]


def test_an_accepting_judge_goes_straight_to_the_answer():
    judge = ScriptedChatModel(replies=[ACCEPT])
    result = run(plan_execute_judge(judge=judge, revisions=2))
    assert [n.agent for n in result.nodes] == ["planner", "executor1", "judge", "answer"]
    assert judge.calls == 1


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"executors": 3, "models": ["sim:atlas-nano", "sim:lynx-small", "sim:orca-small"]},
        {"answer_role": "solver", "answerer": "sim:atlas-mini", "revisions": 2},
    ],
)
def test_runs_on_the_simulator(params):
    assert answered(run(plan_execute_judge(**params)))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"revisions": 0}, "outside 1..2"),
        ({"revisions": 3}, "outside 1..2"),
        ({"executors": 4}, "outside 1..3"),
        ({"answer_role": "judge"}, "outside"),
    ],
)
def test_bounds(params, message):
    with pytest.raises(SpaceError, match=message):
        plan_execute_judge(**params)
