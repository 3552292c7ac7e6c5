"""The simulated model's calling contract: sample identity, temperature 0, max_tokens."""

import pytest

from orchestrator import deploy
from orchestrator.parsing import OutputParseError, parse_reply, parse_text
from orchestrator.roles import RoleInputs, SolverOutput, get_role
from orchestrator.sim import SimChatModel, arithmetic_tasks
from topologies import vote_ensemble

TASKS = arithmetic_tasks(40, seed=21, levels=["hard"])


def prompt(question: str):
    return get_role("solver").render(RoleInputs(question=question))


def reply_text(model: SimChatModel, question: str, **metadata) -> str:
    return str(model.invoke(prompt(question), config={"metadata": metadata}).content)


def answer_of(text: str) -> str:
    try:
        return parse_text(text, SolverOutput).answer
    except OutputParseError:
        return text  # an unreadable reply counts as its own answer


def replies(model: SimChatModel, **metadata) -> list[str]:
    return [reply_text(model, task["question"], **metadata) for task in TASKS]


# --- temperature 0 ----------------------------------------------------------------------------


def test_temperature_zero_depends_only_on_model_and_prompt():
    greedy = SimChatModel(model="atlas-nano", temperature=0.0)
    base = replies(greedy)
    assert replies(greedy, rolegraph_agent="x", rolegraph_seed=3, rolegraph_round=2) == base
    assert replies(greedy, rolegraph_sample="7:4:1") == base
    assert replies(SimChatModel(model="atlas-nano", temperature=0.0, seed=99)) == base
    assert replies(SimChatModel(model="lynx-small", temperature=0.0)) != base


def test_temperature_zero_vote_gives_identical_answers():
    workflow = deploy(vote_ensemble(n=5, models="sim:atlas-nano", temperature=0.0))
    for task in TASKS[:15]:
        result = workflow.invoke(task["question"])
        answers = {n.answer for n in result.nodes if n.role == "solver"}
        assert len(answers) == 1


# --- sampled calls ----------------------------------------------------------------------------


def test_rolegraph_sample_names_the_draw_whatever_the_agent():
    sampler = SimChatModel(model="atlas-nano", temperature=0.7)
    one = replies(sampler, rolegraph_sample="0:1:1", rolegraph_agent="solver1")
    assert replies(sampler, rolegraph_sample="0:1:1", rolegraph_agent="candidate3") == one
    assert replies(sampler, rolegraph_sample="0:2:1", rolegraph_agent="solver1") != one
    # The model's own seed still separates draws.
    other_seed = SimChatModel(model="atlas-nano", temperature=0.7, seed=5)
    assert replies(other_seed, rolegraph_sample="0:1:1") != one


def test_without_rolegraph_sample_the_agent_seed_and_round_name_the_draw():
    sampler = SimChatModel(model="atlas-nano", temperature=0.7)
    base = replies(sampler, rolegraph_agent="a", rolegraph_seed=0, rolegraph_round=1)
    assert replies(sampler, rolegraph_agent="a", rolegraph_seed=0, rolegraph_round=1) == base
    assert replies(sampler, rolegraph_agent="b", rolegraph_seed=0, rolegraph_round=1) != base
    assert replies(sampler, rolegraph_agent="a", rolegraph_seed=1, rolegraph_round=1) != base
    assert replies(sampler, rolegraph_agent="a", rolegraph_seed=0, rolegraph_round=2) != base


def test_higher_temperature_gives_more_diverse_samples():
    def distinct(temperature: float) -> float:
        model = SimChatModel(model="atlas-nano", temperature=temperature)
        counts = []
        for task in TASKS:
            answers = {
                answer_of(reply_text(model, task["question"], rolegraph_sample=f"0:{k}:1"))
                for k in range(6)
            }
            counts.append(len(answers))
        return sum(counts) / len(counts)

    assert distinct(0.0) == 1.0
    assert 1.0 < distinct(0.3) < distinct(1.0)


# --- max_tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("cap", [1, 5, 20, 60])
def test_output_never_exceeds_max_tokens(cap):
    model = SimChatModel(model="atlas-pro", max_tokens=cap)
    for task in TASKS[:10]:
        reply = model.invoke(prompt(task["question"]))
        assert reply.usage_metadata["output_tokens"] <= cap
        assert reply.response_metadata["finish_reason"] == "length"
        assert len(str(reply.content)) <= 4 * cap


def test_max_tokens_as_a_call_argument_and_room_to_finish():
    model = SimChatModel(model="atlas-pro")
    question = TASKS[0]["question"]
    capped = model.bind(max_tokens=8).invoke(prompt(question))
    assert capped.usage_metadata["output_tokens"] <= 8
    roomy = model.bind(max_tokens=4000).invoke(prompt(question))
    assert roomy.response_metadata["finish_reason"] == "stop"
    assert roomy.content == model.invoke(prompt(question)).content


def test_a_truncated_structured_reply_loses_its_tool_call():
    structured = SimChatModel(model="atlas-pro", max_tokens=60).bind_tools(
        [SolverOutput], tool_choice="SolverOutput"
    )
    reply = structured.invoke(prompt(TASKS[1]["question"]))
    assert reply.tool_calls == []
    assert reply.response_metadata["finish_reason"] == "length"
    assert reply.usage_metadata["output_tokens"] <= 60
    with pytest.raises(OutputParseError):
        parse_reply(reply, SolverOutput)


def test_temperature_above_one_costs_accuracy():
    def accuracy(temperature: float) -> float:
        model = SimChatModel(model="atlas-nano", temperature=temperature)
        hits = [
            answer_of(reply_text(model, task["question"], rolegraph_sample=f"0:{k}:1"))
            == task["answer"]
            for task in TASKS
            for k in range(3)
        ]
        return sum(hits) / len(hits)

    assert accuracy(1.8) < accuracy(0.0) - 0.05
