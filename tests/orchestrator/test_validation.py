"""Every invalid workflow fails at construction with an error that names the culprit."""

import pytest

from orchestrator import Agent, Loop, Workflow, WorkflowSpec
from orchestrator.errors import (
    DeadEndError,
    DuplicateAgentError,
    InvalidLoopError,
    JudgeCandidatesError,
    MissingModelError,
    NoExitError,
    RectifierCritiqueError,
    SpecError,
    UnboundedLoopError,
    UndeclaredCycleError,
    UnknownAgentError,
    UnknownModelError,
    UnknownRoleError,
    UnknownToolError,
    UnreachableAgentError,
)

M = "sim:atlas-mini"


def solver(name: str, **kw) -> Agent:
    return Agent(name=name, role="solver", model=M, **kw)


def test_edge_to_unknown_agent_names_the_edge():
    with pytest.raises(UnknownAgentError, match=r"a -> ghost.*'ghost' is not an agent") as err:
        WorkflowSpec(agents=[solver("a")], edges=[("a", "ghost")])
    assert err.value.edge == ("a", "ghost")


def test_loop_to_unknown_agent():
    with pytest.raises(UnknownAgentError, match="ghost"):
        WorkflowSpec(agents=[solver("a")], loops=[Loop(source="a", target="ghost", max_rounds=1)])


def test_undeclared_cycle_names_the_cycle_and_suggests_a_loop():
    with pytest.raises(UndeclaredCycleError, match=r"cycle .*a -> b.* not a declared loop") as e:
        WorkflowSpec(agents=[solver("a"), solver("b")], edges=[("a", "b"), ("b", "a")])
    assert "Loop(source=" in str(e.value)
    assert e.value.edge in {("a", "b"), ("b", "a")}


def test_self_edge_is_a_cycle():
    with pytest.raises(UndeclaredCycleError):
        WorkflowSpec(agents=[solver("a")], edges=[("a", "a")])


def test_declared_loop_makes_the_cycle_legal():
    spec = WorkflowSpec(
        agents=[
            solver("a"),
            Agent(name="v", role="verifier", model=M),
            Agent(name="r", role="rectifier", model=M),
        ],
        edges=[("a", "v"), ("v", "r"), ("r", "v")],  # the back edge is also listed as an edge
        loops=[Loop(source="r", target="v", max_rounds=2)],
    )
    assert spec.structure.exit == "r"


@pytest.mark.parametrize("bound", [None, 0, -1])
def test_loop_without_a_bound(bound):
    with pytest.raises(UnboundedLoopError, match=r"loop r -> v has no bound"):
        WorkflowSpec(
            agents=[
                solver("a"),
                Agent(name="v", role="verifier", model=M),
                Agent(name="r", role="rectifier", model=M),
            ],
            edges=[("a", "v"), ("v", "r")],
            loops=[Loop(source="r", target="v", max_rounds=bound)],
        )


def test_loop_that_goes_forward_is_rejected():
    with pytest.raises(InvalidLoopError, match="does not go back"):
        WorkflowSpec(
            agents=[solver("a"), solver("b"), solver("c"), Agent(name="vote", role="vote")],
            edges=[("a", "vote"), ("b", "vote"), ("c", "vote")],
            loops=[Loop(source="a", target="b", max_rounds=1)],
        )


def test_agent_not_reachable_from_entry():
    with pytest.raises(UnreachableAgentError, match=r"'b' is not reachable from the entry") as e:
        WorkflowSpec(
            agents=[solver("a"), solver("b"), Agent(name="vote", role="vote")],
            edges=[("a", "vote"), ("b", "vote")],
            entry=["a"],
        )
    assert e.value.agent == "b"


def test_several_sinks_means_no_exit():
    with pytest.raises(NoExitError, match=r"no single exit: agents 'a', 'b'"):
        WorkflowSpec(agents=[solver("a"), solver("b")])


def test_exit_that_gives_no_answer():
    with pytest.raises(NoExitError, match="produces no answer"):
        WorkflowSpec(agents=[Agent(name="p", role="planner", model=M)])


def test_empty_workflow_has_no_exit():
    with pytest.raises(NoExitError, match="no agents"):
        WorkflowSpec(agents=[])


def test_agent_that_never_reaches_an_explicit_exit():
    with pytest.raises(DeadEndError, match="'b' never leads to the exit 'a'"):
        WorkflowSpec(agents=[solver("a"), solver("b")], edges=[("a", "b")], exit="a")


def test_judge_with_one_candidate():
    with pytest.raises(JudgeCandidatesError, match=r"judge 'j' needs at least 2.*fed 1 \(a\)"):
        WorkflowSpec(
            agents=[solver("a"), Agent(name="j", role="judge", model=M)], edges=[("a", "j")]
        )


def test_judge_fed_only_by_a_planner_has_no_candidates():
    with pytest.raises(JudgeCandidatesError, match="fed 0"):
        WorkflowSpec(
            agents=[
                Agent(name="p", role="planner", model=M),
                Agent(name="j", role="judge", model=M),
            ],
            edges=[("p", "j")],
        )


def test_vote_with_one_candidate():
    with pytest.raises(JudgeCandidatesError, match="vote 'v'"):
        WorkflowSpec(agents=[solver("a"), Agent(name="v", role="vote")], edges=[("a", "v")])


def test_rectifier_without_critique():
    with pytest.raises(RectifierCritiqueError, match="rectifier 'r' has no verifier"):
        WorkflowSpec(
            agents=[solver("a"), Agent(name="r", role="rectifier", model=M)], edges=[("a", "r")]
        )


@pytest.mark.parametrize(
    ("model", "pattern"),
    [
        ("nosuch:model", "unknown model provider 'nosuch'"),
        ("sim:nope", r"unknown simulated model 'sim:nope'"),
        ("mystery-model", "cannot tell the provider of model 'mystery-model'"),
        ("openai:", "no model name"),
    ],
)
def test_unknown_model_string(model, pattern):
    with pytest.raises(UnknownModelError, match=pattern) as e:
        WorkflowSpec(agents=[Agent(name="a", role="solver", model=model)])
    assert e.value.agent == "a"
    assert "agent 'a'" in str(e.value)


def test_unknown_role():
    with pytest.raises(UnknownRoleError, match=r"agent 'a'.*unknown role 'oracle'"):
        WorkflowSpec(agents=[Agent(name="a", role="oracle", model=M)])


def test_missing_model():
    with pytest.raises(MissingModelError, match=r"'a' has role 'solver'.*no model"):
        WorkflowSpec(agents=[Agent(name="a", role="solver")])


def test_unknown_tool():
    with pytest.raises(UnknownToolError, match="unknown tool 'abacus'"):
        WorkflowSpec(agents=[solver("a", tools=("abacus",))])


def test_duplicate_agent_names():
    with pytest.raises(DuplicateAgentError, match="two agents are named 'a'"):
        WorkflowSpec(agents=[solver("a"), solver("a")])


def test_two_loops_from_one_agent():
    with pytest.raises(InvalidLoopError, match="starts two loops"):
        WorkflowSpec(
            agents=[solver("a"), solver("b"), solver("c")],
            edges=[("a", "b"), ("b", "c")],
            loops=[
                Loop(source="c", target="a", max_rounds=1),
                Loop(source="c", target="b", max_rounds=1),
            ],
        )


def test_spec_errors_are_not_wrapped_by_pydantic():
    # A SpecError escapes validation as itself, so callers can catch it by type.
    with pytest.raises(SpecError) as e:
        WorkflowSpec.model_validate({"agents": [{"name": "a", "role": "nope", "model": M}]})
    assert type(e.value) is UnknownRoleError


def test_builder_reports_the_same_errors():
    wf = Workflow().add_agent("a", role="solver", model=M).add_edge("a", "b")
    with pytest.raises(UnknownAgentError):
        wf.build()
