"""The simulated model: a real chat model, deterministic, and realistic where it matters."""

import asyncio
import json

import pytest
from langchain_core.messages import HumanMessage
from langchain_tests.unit_tests import ChatModelUnitTests

from orchestrator import Agent, WorkflowSpec, deploy
from orchestrator.answers import normalize_answer
from orchestrator.parsing import OutputParseError, parse_text
from orchestrator.roles import RoleInputs, SolverOutput, get_role
from orchestrator.sim import (
    SimChatModel,
    SimProfile,
    SimProfileError,
    arithmetic_tasks,
    get_profile,
    read_problem,
    register_profile,
)
from orchestrator.sim.tasks import LEVELS, plan_steps, read_plan


class TestSimChatModelStandard(ChatModelUnitTests):
    """langchain-tests' standard unit tests for chat models."""

    @property
    def chat_model_class(self) -> type[SimChatModel]:
        return SimChatModel

    @property
    def chat_model_params(self) -> dict:
        return {"model": "atlas-mini"}


def solve_prompt(question: str):
    return get_role("solver").render(RoleInputs(question=question))


# --- tasks -----------------------------------------------------------------------------


def test_generated_tasks_are_deterministic_and_levelled():
    first = arithmetic_tasks(30, seed=7)
    assert first == arithmetic_tasks(30, seed=7)
    assert first != arithmetic_tasks(30, seed=8)
    for task in first:
        low, high = LEVELS[task["metadata"]["level"]]
        assert low <= task["metadata"]["steps"] <= high
    assert len({t["id"] for t in first}) == 30


def test_the_simulator_reads_the_answer_from_the_question_alone():
    for task in arithmetic_tasks(200, seed=1):
        assert str(read_problem(task["question"]).answer) == task["answer"]
    assert read_problem("What is (3 + 4) * 2?").answer == 14
    assert read_problem("Tell me a joke.") is None


def test_plans_round_trip():
    problem = read_problem(arithmetic_tasks(1, seed=2, levels=["hard"])[0]["question"])
    plan = read_plan("\n".join(plan_steps(problem.start, problem.steps)))
    assert plan.answer == problem.answer


def test_unknown_levels_are_rejected():
    with pytest.raises(ValueError, match="unknown levels"):
        arithmetic_tasks(3, levels=["impossible"])


# --- the model ---------------------------------------------------------------------------


def test_replies_are_deterministic():
    prompt = solve_prompt(arithmetic_tasks(1, seed=3, levels=["hard"])[0]["question"])
    model = SimChatModel(model="atlas-nano")
    assert model.invoke(prompt).content == SimChatModel(model="atlas-nano").invoke(prompt).content


def test_reports_usage_latency_and_model_name():
    reply = SimChatModel(model="atlas-pro").invoke(solve_prompt("What is 2 + 3?"))
    usage = reply.usage_metadata
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_token_details"]["reasoning"] > 0
    assert reply.response_metadata["model_name"] == "sim:atlas-pro"
    assert reply.response_metadata["simulated_latency_s"] > 0


async def test_latency_is_really_waited_when_scaled():
    model = SimChatModel(model="atlas-nano", latency_scale=0.05)
    loop = asyncio.get_running_loop()
    start = loop.time()
    reply = await model.ainvoke(solve_prompt("What is 2 + 3?"))
    expected = reply.response_metadata["simulated_latency_s"] * 0.05
    assert loop.time() - start >= expected * 0.9


def test_plain_questions_get_an_answer():
    reply = SimChatModel(model="atlas-pro").invoke([HumanMessage("What is 12 * 12?")])
    assert '"144"' in reply.content


def test_structured_output():
    parsed = (
        SimChatModel(model="atlas-pro")
        .with_structured_output(SolverOutput)
        .invoke(solve_prompt("What is 6 * 7?"))
    )
    assert parsed.answer == "42" and 0 <= parsed.confidence <= 1


def _accuracy(model: str, tasks, **agent) -> float:
    spec = WorkflowSpec(agents=[Agent(name="s", role="solver", model=model, **agent)])
    wf = deploy(spec, record_prompts=False)
    results = wf.batch([t["question"] for t in tasks])
    return sum(
        normalize_answer(r.answer) == t["answer"] for r, t in zip(results, tasks, strict=True)
    ) / len(tasks)


def test_stronger_profiles_are_more_accurate_and_harder_tasks_are_harder():
    hard = arithmetic_tasks(120, seed=4, levels=["hard"])
    easy = arithmetic_tasks(120, seed=4, levels=["easy"])
    assert _accuracy("sim:atlas-pro", hard) > _accuracy("sim:atlas-nano", hard) + 0.1
    assert _accuracy("sim:atlas-nano", easy) > _accuracy("sim:atlas-nano", hard) + 0.1


def _wrong_answers(model: str, tasks, agent: str) -> list[str | None]:
    sim = SimChatModel(model=model, temperature=0.7)
    wrong = []
    for task in tasks:
        reply = sim.invoke(
            solve_prompt(task["question"]), config={"metadata": {"rolegraph_agent": agent}}
        )
        try:
            answer = normalize_answer(parse_text(reply.content, SolverOutput).answer)
        except OutputParseError:
            answer = None  # a garbled reply is no shared mistake
        wrong.append(None if answer in (None, task["answer"]) else answer)
    return wrong


def test_errors_are_correlated_within_a_family():
    tasks = arithmetic_tasks(300, seed=5, levels=["hard"])
    a = _wrong_answers("atlas-nano", tasks, "x")
    same = _wrong_answers("atlas-nano", tasks, "y")  # same family, another sample
    other = _wrong_answers("orca-small", tasks, "y")  # another family

    def shared_mistakes(left, right):
        return sum(1 for p, q in zip(left, right, strict=True) if p is not None and p == q)

    # Every family falls into a task's canonical wrong answer (Kim et al.), so another
    # family shares many mistakes too; another sample of the same model shares more.
    assert shared_mistakes(a, same) > 1.2 * shared_mistakes(a, other)


def test_verifier_rates_follow_the_profile():
    verifier = get_role("verifier")
    strong, weak = SimChatModel(model="atlas-pro"), SimChatModel(model="orca-small")
    tasks = arithmetic_tasks(150, seed=6, levels=["medium"])

    def reject_rate(model, wrong: bool) -> float:
        rejected = 0
        for task in tasks:
            answer = str(int(task["answer"]) + 7) if wrong else task["answer"]
            inputs = RoleInputs(
                question=task["question"], candidate={"index": 1, "agent": "s", "answer": answer}
            )
            rejected += '"reject"' in model.invoke(verifier.render(inputs)).content
        return rejected / len(tasks)

    # A verifier rejects what its own working disagrees with: a strong one catches more
    # wrong answers and flags fewer right ones.
    assert reject_rate(strong, wrong=True) > reject_rate(weak, wrong=True) + 0.15
    assert reject_rate(strong, wrong=False) < 0.2
    assert reject_rate(strong, wrong=False) + 0.03 < reject_rate(weak, wrong=False)


def test_custom_profiles_are_plain_data():
    profile = get_profile("atlas-mini").model_copy(
        update={
            "name": "test-genius",
            "reasoning": 1.0,
            "arithmetic": 1.0,
            "format_error_rate": 0.0,
            "garble_rate": 0.0,
        }
    )
    register_profile(profile, replace=True)
    tasks = arithmetic_tasks(40, seed=9, levels=["hard"])
    assert _accuracy("sim:test-genius", tasks) == 1.0
    assert SimProfile.model_validate(profile.model_dump()) == profile


def test_profiles_reject_impossible_correlations():
    impossible = get_profile("atlas-mini").model_copy(
        update={"name": "test-impossible", "family_correlation": 0.9, "task_correlation": 0.2}
    )
    with pytest.raises(SimProfileError, match="below 1"):
        register_profile(impossible)


def test_the_simulator_fills_any_schema_a_graph_asks_for():
    from pydantic import BaseModel

    from orchestrator.sim import SimChatModel

    class Result(BaseModel):
        reasoning: str
        value: int

    class Flag(BaseModel):
        correct: bool
        explanation: str

    model = SimChatModel(model="atlas-pro")
    plain = json.loads(model.invoke("What is 3 + 4?").content)["answer"]
    got = model.with_structured_output(Result).invoke("What is 3 + 4?")
    assert isinstance(got, Result) and got.value == int(plain)  # in the answer-like field
    flag = model.with_structured_output(Flag).invoke("What is 3 + 4?")
    assert isinstance(flag, Flag)  # no answer-like field: still a valid object
