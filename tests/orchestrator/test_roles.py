"""Roles: templates as data, typed contracts, and custom roles."""

import pytest
from pydantic import BaseModel

from orchestrator import Agent, Role, WorkflowSpec, deploy, get_role, register_role
from orchestrator.roles import CandidateAnswer, RoleInputs, list_roles
from orchestrator.testing import ScriptedChatModel


def test_builtin_roles_are_registered():
    assert {"solver", "planner", "verifier", "judge", "rectifier", "aggregator", "vote"} <= set(
        list_roles()
    )


def test_templates_are_rendered_verbatim_with_optional_sections():
    inputs = RoleInputs(
        question="Is 3 < 5 & 5 > 2?",
        plan=("Compare.",),
        candidates=(CandidateAnswer(index=1, agent="x", answer="yes", confidence=0.7),),
    )
    _, user = get_role("solver").render(inputs)
    assert "Is 3 < 5 & 5 > 2?" in user.content  # no HTML escaping
    assert "## Plan\n1. Compare." in user.content
    assert "- x: yes (confidence 0.70)" in user.content
    bare = get_role("solver").render(RoleInputs(question="q"))[1].content
    assert "## Plan" not in bare and "Answers from other agents" not in bare


def test_agent_prompt_replaces_the_system_prompt():
    messages = get_role("solver").render(RoleInputs(question="q"), system="Be terse.")
    assert messages[0].content == "Be terse."


def test_fingerprint_follows_the_template():
    solver = get_role("solver")
    assert solver.fingerprint != solver.model_copy(update={"user": solver.user + "!"}).fingerprint


class Critique(BaseModel):
    answer: str
    severity: int


def test_custom_role_in_a_workflow():
    critic = Role(
        name="test-critic",
        description="Answers and rates severity.",
        system="You are a critic.",
        user="Task: critique.\n## Question\n{{question}}\nReply with JSON.",
        output=Critique,
    )
    register_role(critic, replace=True)
    model = ScriptedChatModel(replies=['{"answer": "7", "severity": 2}'])
    spec = WorkflowSpec(agents=[Agent(name="c", role="test-critic", model=model)])
    result = deploy(spec).invoke("What is 3 + 4?")
    assert result.answer == "7"
    assert result.nodes[0].output == {"answer": "7", "severity": 2}


def test_role_names_cannot_be_taken_twice():
    with pytest.raises(ValueError, match="already registered"):
        register_role(Role(name="solver"))


def test_a_role_that_calls_a_model_needs_an_output_contract():
    with pytest.raises(ValueError, match="'mute' calls a model but has no output contract"):
        register_role(Role(name="mute", user="{{question}}"))
    register_role(Role(name="relay", uses_model=False), replace=True)  # no model: no contract
