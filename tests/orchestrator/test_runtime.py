"""Compiled workflows: loops, joins, parallelism, accounting, faults and caching."""

import asyncio

import pytest
from langchain_core.caches import InMemoryCache
from langgraph.types import RetryPolicy

from orchestrator import Agent, Workflow, WorkflowSpec, deploy
from orchestrator.errors import BudgetExhaustedError, ModelTimeoutError
from orchestrator.testing import FlakyChatModel, RateLimitError, ScriptedChatModel, SlowChatModel

QUESTION = "Ava has 12 apples. Ava buys 5 more apples. How many apples does Ava have now?"
FAST_RETRY = RetryPolicy(
    max_attempts=3,
    initial_interval=0.001,
    jitter=False,
    retry_on=lambda exc: isinstance(exc, RateLimitError | TimeoutError),
)


def refine_spec(solver, checker, fixer, *, rounds=2, when="rejected") -> WorkflowSpec:
    return (
        Workflow("refine")
        .add_agent("solver", role="solver", model=solver)
        .add_agent("check", role="verifier", model=checker)
        .add_agent("fix", role="rectifier", model=fixer)
        .add_edge("solver", "check")
        .add_edge("check", "fix")
        .add_loop("fix", "check", max_rounds=rounds, when=when)
        .build()
    )


def test_loop_stops_at_its_bound_when_the_verifier_never_accepts():
    reject = ScriptedChatModel(replies=['{"verdict": "reject", "critique": "Step 1 is wrong"}'])
    fixer = ScriptedChatModel(replies=['{"answer": "17", "confidence": 0.6}'])
    spec = refine_spec("sim:atlas-mini", reject, fixer, rounds=2)
    result = deploy(spec).invoke(QUESTION)
    runs = result.by_agent()
    assert len(runs["check"]) == 3  # first check, then one per loop round
    assert len(runs["fix"]) == 3
    assert [n.loop_to for n in runs["fix"]] == ["check", "check", None]
    assert reject.calls == 3 and fixer.calls == 3
    assert result.answer == "17"


def test_loop_ends_early_when_the_verifier_accepts():
    accept = ScriptedChatModel(replies=['{"verdict": "accept", "critique": ""}'])
    fixer = ScriptedChatModel()
    result = deploy(refine_spec("sim:atlas-pro", accept, fixer, rounds=3)).invoke(QUESTION)
    assert [n.agent for n in result.nodes] == ["solver", "check", "fix"]
    assert result.nodes[-1].skipped and fixer.calls == 0  # an accepted answer passes through
    assert result.answer == "17"


def test_always_loop_runs_exactly_max_rounds_more_times():
    spec = WorkflowSpec(
        agents=[
            Agent(name="a", role="solver", model="sim:atlas-mini"),
            Agent(name="b", role="solver", model="sim:atlas-mini"),
        ],
        edges=[("a", "b")],
        loops=[{"source": "b", "target": "a", "max_rounds": 3, "when": "always"}],
    )
    result = deploy(spec).invoke(QUESTION)
    assert len(result.by_agent()["a"]) == 4 and len(result.by_agent()["b"]) == 4


def test_totals_equal_the_sum_over_nodes():
    spec = refine_spec("sim:atlas-nano", "sim:atlas-nano", "sim:atlas-nano", rounds=3)
    result = deploy(spec).invoke(QUESTION)
    assert result.usage.input_tokens == sum(n.usage.input_tokens for n in result.nodes)
    assert result.usage.output_tokens == sum(n.usage.output_tokens for n in result.nodes)
    assert result.usage.total_tokens == sum(n.usage.total_tokens for n in result.nodes)
    assert result.cost == pytest.approx(sum(n.cost for n in result.nodes))
    assert result.calls == sum(n.calls for n in result.nodes)
    assert result.cost > 0 and result.usage.total_tokens > 0


def test_parse_failures_are_recorded_not_raised():
    garbage = ScriptedChatModel(replies=["I refuse to answer in any format."])
    spec = WorkflowSpec(agents=[Agent(name="a", role="solver", model=garbage)])
    result = deploy(spec).invoke(QUESTION)
    node = result.nodes[0]
    assert node.parse_error and "could not parse SolverOutput" in node.parse_error
    assert node.raw == "I refuse to answer in any format."
    assert result.answer is None and result.parse_errors == 1


def test_prose_replies_are_parsed_leniently():
    prose = ScriptedChatModel(replies=["Working... The final answer is 17. Confidence: 80%"])
    spec = WorkflowSpec(agents=[Agent(name="a", role="solver", model=prose)])
    result = deploy(spec).invoke(QUESTION)
    assert result.answer == "17" and result.confidence == pytest.approx(0.8)
    assert result.nodes[0].parse_error is None


def test_unreadable_verdict_is_no_verdict_and_the_rectifier_checks_the_answer():
    garbled = ScriptedChatModel(replies=["???"])
    fixer = ScriptedChatModel(replies=['{"answer": "17", "confidence": 0.7}'])
    result = deploy(refine_spec("sim:atlas-pro", garbled, fixer, rounds=1)).invoke(QUESTION)
    check = result.by_agent()["check"][0]
    assert check.parse_error and check.output["verdict"] == "no_verdict"
    assert check.fallback and "no verdict" in check.fallback
    assert check.parse_failures == 2
    # An unverified answer is not accepted: the rectifier checks it, and the loop verifies
    # the revision again (two checks, each re-asked once; two revisions).
    assert len(result.by_agent()["check"]) == 2 and garbled.calls == 4
    assert fixer.calls == 2 and result.answer == "17"
    fix = result.by_agent()["fix"][0]
    assert fix.skipped is None and "unverified" in fix.prompt[-1]["content"]


def test_no_answer_is_not_verified_and_the_rectifier_answers():
    # The solver's replies cannot be read, so no answer reaches the verifier: it makes no
    # call (there is nothing to check) and hands on no verdict, and the rectifier answers.
    garbled = ScriptedChatModel(replies=["I refuse."])
    checker = ScriptedChatModel(replies=['{"verdict": "accept", "critique": ""}'])
    fixer = ScriptedChatModel(replies=['{"answer": "17", "confidence": 0.7}'])
    result = deploy(refine_spec(garbled, checker, fixer, rounds=1)).invoke(QUESTION)
    first = result.by_agent()["check"][0]
    assert first.calls == 0 and first.skipped == "no candidate answer to verify"
    assert first.output["verdict"] == "no_verdict"
    fix = result.by_agent()["fix"][0]
    assert "No answer was given" in fix.prompt[-1]["content"]
    # The revision is checked like any answer: one verifier call, on "17".
    assert checker.calls == 1 and fixer.calls == 1 and result.answer == "17"


def _fan_out(model, n=8) -> WorkflowSpec:
    agents = [Agent(name=f"s{i}", role="solver", model=model) for i in range(n)]
    return WorkflowSpec(
        agents=[*agents, Agent(name="vote", role="vote")],
        edges=[(f"s{i}", "vote") for i in range(n)],
    )


async def test_parallel_branches_overlap_async():
    slow = SlowChatModel(delay=0.05)
    result = await deploy(_fan_out(slow)).ainvoke(QUESTION)
    assert slow.peak_in_flight == 8
    vote = result.by_agent()["vote"][0]
    assert len(vote.inputs["candidates"]) == 8  # the join saw every branch


def test_parallel_branches_overlap_sync():
    slow = SlowChatModel(delay=0.05)
    deploy(_fan_out(slow, n=4)).invoke(QUESTION)
    assert slow.peak_in_flight == 4


def test_join_waits_for_unequal_branches():
    spec = WorkflowSpec(
        agents=[
            Agent(name="quick", role="solver", model="sim:atlas-mini"),
            Agent(name="plan", role="planner", model="sim:atlas-mini"),
            Agent(name="slow", role="solver", model="sim:atlas-mini"),
            Agent(name="judge", role="judge", model="sim:atlas-pro"),
        ],
        edges=[("quick", "judge"), ("plan", "slow"), ("slow", "judge")],
    )
    result = deploy(spec).invoke(QUESTION)
    judge = result.by_agent()["judge"]
    assert len(judge) == 1
    assert {c["agent"] for c in judge[0].inputs["candidates"]} == {"quick", "slow"}


def test_join_after_loops_runs_once_after_every_loop_ends():
    reject = ScriptedChatModel(replies=['{"verdict": "reject", "critique": "Step 2 is wrong"}'])
    agents = []
    edges = []
    loops = []
    for i, rounds in enumerate((1, 3)):
        agents += [
            Agent(name=f"s{i}", role="solver", model="sim:atlas-mini"),
            Agent(name=f"c{i}", role="verifier", model=reject),
            Agent(name=f"f{i}", role="rectifier", model="sim:atlas-mini"),
        ]
        edges += [(f"s{i}", f"c{i}"), (f"c{i}", f"f{i}"), (f"f{i}", "vote")]
        loops.append({"source": f"f{i}", "target": f"c{i}", "max_rounds": rounds})
    spec = WorkflowSpec(
        agents=[*agents, Agent(name="vote", role="vote")], edges=edges, loops=loops
    )
    assert "vote" in spec.structure.deferred
    result = deploy(spec).invoke(QUESTION)
    runs = result.by_agent()
    assert len(runs["vote"]) == 1
    assert len(runs["f0"]) == 2 and len(runs["f1"]) == 4
    assert runs["vote"][0].step > max(n.step for n in runs["f1"])


def test_tools_are_called_and_counted():
    spec = WorkflowSpec(
        agents=[Agent(name="a", role="solver", model="sim:atlas-pro", tools=("calculator",))]
    )
    result = deploy(spec).invoke(QUESTION)
    node = result.nodes[0]
    assert node.calls == 2  # a calculator call, then the answer
    assert result.answer == "17"


def test_llm_cache_hits_are_not_charged():
    cache = InMemoryCache()
    spec = refine_spec("sim:atlas-nano", "sim:atlas-mini", "sim:atlas-mini")
    first = deploy(spec, cache=cache).invoke(QUESTION)
    second = deploy(spec, cache=cache).invoke(QUESTION)
    assert first.cached_calls == 0 and first.charged == pytest.approx(first.cost)
    assert second.cached_calls == second.calls == first.calls
    assert second.charged == 0 and second.cost == pytest.approx(first.cost)
    assert second.answer == first.answer


def test_sampled_agents_do_not_share_cache_entries():
    cache = InMemoryCache()
    spec = _fan_out("sim:atlas-nano", n=3)
    hot = spec.model_copy(
        update={
            "agents": [
                a.model_copy(update={"temperature": 0.8}) if a.role == "solver" else a
                for a in spec.agents
            ]
        }
    )
    result = deploy(hot, cache=cache).invoke(QUESTION)
    assert result.cached_calls == 0  # identical prompts, but three independent samples
    again = deploy(hot, cache=cache).invoke(QUESTION, seed=1)
    assert again.cached_calls == 0  # another seed samples afresh
    same = deploy(hot, cache=cache).invoke(QUESTION)
    assert same.cached_calls == 3


def test_transient_errors_are_retried():
    flaky = FlakyChatModel(schedule=["raise", "ok"])
    spec = WorkflowSpec(agents=[Agent(name="a", role="solver", model=flaky)])
    result = deploy(spec, retry=FAST_RETRY).invoke(QUESTION)
    assert result.answer == "42" and flaky.calls == 2


def test_without_retries_the_error_surfaces():
    flaky = FlakyChatModel(schedule=["raise"])
    spec = WorkflowSpec(agents=[Agent(name="a", role="solver", model=flaky)])
    with pytest.raises(RateLimitError):
        deploy(spec, retry=None).invoke(QUESTION)


async def test_hung_calls_time_out():
    flaky = FlakyChatModel(schedule=["hang"], hang_s=5.0)
    spec = WorkflowSpec(agents=[Agent(name="a", role="solver", model=flaky)])
    wf = deploy(spec, retry=FAST_RETRY, call_timeout=0.02)
    with pytest.raises(ModelTimeoutError, match=r"did not answer within 0\.02s"):
        await asyncio.wait_for(wf.ainvoke(QUESTION), timeout=2)
    assert flaky.calls == 3


class Refusing:
    def __init__(self):
        self.reserved = 0

    def reserve(self, *, tokens, dollars, model=None):
        self.reserved += 1
        raise BudgetExhaustedError("no money left", resource="dollars")

    async def areserve(self, *, tokens, dollars, model=None):
        return self.reserve(tokens=tokens, dollars=dollars, model=model)

    def settle(self, reservation, *, usage, dollars, cached):  # pragma: no cover
        raise AssertionError

    def charge(self, reservation):  # pragma: no cover
        raise AssertionError

    def release(self, reservation):  # pragma: no cover
        raise AssertionError


def test_ledger_refusal_stops_the_run_without_retries():
    ledger = Refusing()
    spec = WorkflowSpec(agents=[Agent(name="a", role="solver", model="sim:atlas-mini")])
    with pytest.raises(BudgetExhaustedError):
        deploy(spec, ledger=ledger).invoke(QUESTION)
    assert ledger.reserved == 1
