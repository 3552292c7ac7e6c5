"""Lenient parsing: JSON anywhere, then field patterns, else a clear error."""

import pytest
from langchain_core.messages import AIMessage

from orchestrator.parsing import OutputParseError, parse_reply, parse_text
from orchestrator.roles import (
    JudgeOutput,
    PlannerOutput,
    RectifierOutput,
    SolverOutput,
    VerifierOutput,
)


@pytest.mark.parametrize(
    "text",
    [
        '{"answer": "42", "confidence": 0.9}',
        'Sure! ```json\n{"answer": 42, "confidence": 9}\n```',
        'Thinking {not json} ... {"answer": "42", "confidence": "90%"} done',
        "The final answer is 42. Confidence: 90%",
        "answer: 42\nconfidence: 0.9",
        "**Final answer:** 42",
    ],
)
def test_solver_replies(text):
    parsed = parse_text(text, SolverOutput)
    assert parsed.answer == "42"


def test_confidence_scales_are_normalised():
    assert parse_text('{"answer": "1", "confidence": 8}', SolverOutput).confidence == 0.8
    assert parse_text('{"answer": "1", "confidence": 85}', SolverOutput).confidence == 0.85
    assert parse_text('{"answer": "1", "confidence": "70%"}', SolverOutput).confidence == 0.7
    assert parse_text('{"answer": "1"}', SolverOutput).confidence == 0.5


def test_decimal_answers_survive_sentence_splitting():
    assert parse_text("The answer is 3.5. I am sure.", SolverOutput).answer == "3.5"


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ('{"verdict": "ACCEPT", "critique": ""}', "accept"),
        ('{"verdict": "incorrect", "critique": "step 2"}', "reject"),
        ("Verdict: REJECT. Step 3 subtracts instead of adding.", "reject"),
        ("I checked it and it is correct.", "accept"),
    ],
)
def test_verdicts(text, verdict):
    assert parse_text(text, VerifierOutput).verdict == verdict


def test_judge_choice_from_prose():
    assert parse_text("I pick candidate 2 because it is right.", JudgeOutput).choice == 2
    assert parse_text('{"choice": "Candidate 3", "reason": "x"}', JudgeOutput).choice == 3


def test_planner_steps_from_a_numbered_list():
    parsed = parse_text("Plan:\n1. Start with 5.\n2. Add 3.\n- Subtract 1.", PlannerOutput)
    assert parsed.steps == ["Start with 5.", "Add 3.", "Subtract 1."]


def test_tool_call_arguments_are_read_first():
    reply = AIMessage(
        content="",
        tool_calls=[
            {"name": "RectifierOutput", "args": {"answer": 7, "confidence": 0.4}, "id": "c1"}
        ],
    )
    assert parse_reply(reply, RectifierOutput).answer == "7"


def test_failure_names_the_contract_and_quotes_the_reply():
    with pytest.raises(OutputParseError, match=r"could not parse VerifierOutput from 'hmm'"):
        parse_text("hmm", VerifierOutput)


def test_json_that_does_not_fit_is_reported():
    with pytest.raises(OutputParseError, match="JSON did not fit"):
        parse_text('{"verdict": "maybe"}', VerifierOutput)
