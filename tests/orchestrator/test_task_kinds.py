"""Prompt variants per task kind: multiple choice and code, selected by the run's task kind."""

from pathlib import Path

import pytest
import yaml

from orchestrator import Agent, Role, WorkflowSpec, deploy, get_role
from orchestrator.roles import TASK_KINDS, CandidateAnswer, PromptVariant, RoleInputs
from orchestrator.runtime import CONTEXT_KEY, RunContext
from orchestrator.testing import ScriptedChatModel

PROMPTS = Path(__file__).parents[2] / "orchestrator" / "roles" / "prompts"
CANDIDATES = (
    CandidateAnswer(index=1, agent="a", answer="def f(x):\n    return x", confidence=0.6),
    CandidateAnswer(index=2, agent="b", answer="def f(x):\n    return x + 1"),
)

# The exact short-answer prompt the simulator reads: it must not change.
SOLVER_SHORT = (
    "Task: solve the question.\n\n## Question\nWhat is 2 + 3?\n\n"
    'Respond with only a JSON object: {"answer": "<final answer>", '
    '"confidence": <number from 0 to 1>}'
)


def test_the_kinds_are_short_answer_first():
    assert TASK_KINDS == ("short_answer", "multiple_choice", "code")
    assert RoleInputs(question="q").kind == "short_answer"


def test_short_answer_prompts_are_unchanged():
    system, user = get_role("solver").render(RoleInputs(question="What is 2 + 3?"))
    assert user.content == SOLVER_SHORT
    assert system.content.startswith("You are a careful problem solver.")
    for name in ("solver", "planner", "verifier", "rectifier", "judge", "aggregator"):
        data = yaml.safe_load((PROMPTS / f"{name}.yaml").read_text())
        role = get_role(name)
        assert (role.system, role.user) == (data["system"], data["user"])
        assert role.templates("short_answer") == (data["system"], data["user"])


@pytest.mark.parametrize(
    ("role", "kind", "expected"),
    [
        ("solver", "multiple_choice", "Task: solve the multiple-choice question."),
        (
            "solver",
            "code",
            "Task: solve the programming problem by writing the complete function.",
        ),
        ("blind_solver", "code", "Task: solve the programming problem"),
        ("planner", "code", "Task: plan the implementation."),
        ("verifier", "code", "Task: verify the candidate program."),
        ("verifier", "multiple_choice", "Task: verify the candidate choice."),
        ("rectifier", "code", "Task: revise the candidate program."),
        ("judge", "code", "Task: choose the best program."),
        ("judge", "multiple_choice", "Task: choose the best candidate for the multiple-choice"),
        ("aggregator", "code", "Task: combine the workers' programs."),
    ],
)
def test_each_role_renders_the_variant_for_the_kind(role, kind, expected):
    inputs = RoleInputs(
        question="def f(x):\n    '''Add one.'''",
        candidate=CANDIDATES[0],
        candidates=CANDIDATES,
        critique="f(1) returns 1, expected 2",
        verdict="reject",
        kind=kind,
    )
    user = get_role(role).render(inputs)[-1].content
    assert user.startswith(expected)
    assert "def f(x):\n    '''Add one.'''" in user
    assert SOLVER_SHORT.splitlines()[0] not in user


def test_code_prompts_show_programs_as_code_blocks():
    inputs = RoleInputs(question="Write f.", candidates=CANDIDATES, kind="code")
    judge = get_role("judge").render(inputs)[-1].content
    assert "### Program 2\n```python\ndef f(x):\n    return x + 1\n```" in judge
    assert '{"choice": <program number>' in judge
    verifier = get_role("verifier").render(
        RoleInputs(question="Write f.", candidate=CANDIDATES[1], kind="code")
    )
    assert (
        "## Candidate program\n```python\ndef f(x):\n    return x + 1\n```" in verifier[-1].content
    )
    assert "code reviewer" in verifier[0].content
    # An answer a model fenced itself is shown in one fence, not two.
    fenced = CANDIDATES[1].model_copy(
        update={"answer": "```python\ndef f(x):\n    return x + 1\n```"}
    )
    shown = get_role("verifier").render(
        RoleInputs(question="Write f.", candidate=fenced, kind="code")
    )
    assert "```python\ndef f(x):\n    return x + 1\n```" in shown[-1].content
    assert "```python\n```python" not in shown[-1].content
    plain = get_role("verifier").render(RoleInputs(question="q", candidate=fenced))[-1].content
    assert "## Candidate answer\n```python\ndef f(x)" in plain  # short answers: as given


def test_the_agent_prompt_still_replaces_the_system_prompt_of_a_variant():
    messages = get_role("solver").render(RoleInputs(question="q", kind="code"), system="Be terse.")
    assert messages[0].content == "Be terse."
    assert messages[1].content.startswith("Task: solve the programming problem")


def test_a_role_without_a_variant_uses_its_default_templates():
    role = Role(name="t-plain", system="S", user="U {{question}}")
    assert [m.content for m in role.render(RoleInputs(question="q", kind="code"))] == ["S", "U q"]


def test_variants_are_part_of_the_fingerprint():
    solver = get_role("solver")
    edited = dict(solver.variants)
    edited["code"] = PromptVariant(system="x", user=edited["code"].user)
    assert solver.fingerprint != solver.model_copy(update={"variants": edited}).fingerprint
    plain = Role(name="t-fp", user="U")
    variant = plain.model_copy(update={"variants": {"code": PromptVariant(user="C")}})
    assert plain.fingerprint != variant.fingerprint


def test_the_run_context_selects_the_kind_for_every_agent():
    seen: list[str] = []

    def reply(prompt: str) -> str:
        seen.append(prompt)
        if prompt.startswith("Task: verify"):
            return '{"verdict": "accept", "critique": ""}'
        return '{"answer": "B", "confidence": 0.8}'

    model = ScriptedChatModel(replies=reply)
    spec = WorkflowSpec(
        agents=[
            Agent(name="solver", role="solver", model=model),
            Agent(name="check", role="verifier", model=model),
        ],
        edges=[("solver", "check")],
    )
    context = RunContext(task_kind="multiple_choice")
    result = deploy(spec).invoke(
        "Which is prime?\n\nA. 4\nB. 7", config={"configurable": {CONTEXT_KEY: context}}
    )
    assert result.answer == "B"
    assert seen[0].startswith("Task: solve the multiple-choice question.")
    assert seen[1].startswith("Task: verify the candidate choice.")
    assert result.nodes[0].inputs["kind"] == "multiple_choice"
    # Without a context the same workflow renders the short-answer prompts.
    seen.clear()
    deploy(spec).invoke("Which is prime?")
    assert seen[0].startswith("Task: solve the question.")
