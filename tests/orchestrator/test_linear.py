"""The lean path for chains: same results as the compiled graph, and only where unobserved."""

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import set_debug
from langchain_core.tracers.context import collect_runs
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import RetryPolicy

from orchestrator import Workflow, deploy
from orchestrator.linear import is_chain, unobserved
from orchestrator.testing import FlakyChatModel, RateLimitError
from topologies import debate, plan_solve, self_refine, single, vote_ensemble

QUESTION = "Ava has 12 apples. Ava buys 5 more apples. How many apples does Ava have now?"
_TIMINGS = {"started_s", "elapsed_s", "latency_s"}


class _Seen(BaseCallbackHandler):
    def __init__(self) -> None:
        self.chains = 0

    def on_chain_start(self, *args, **kwargs) -> None:
        self.chains += 1


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in _TIMINGS}
    if isinstance(value, list | tuple):
        return [_without_timings(v) for v in value]
    return value


def test_only_chains_take_the_lean_path():
    assert is_chain(single())
    assert is_chain(plan_solve())
    assert is_chain(self_refine(rounds=1))  # unrolled: no loop
    assert not is_chain(self_refine(rounds=2))  # a loop
    assert not is_chain(vote_ensemble(n=3))  # fan-out and a join
    assert not is_chain(debate())
    assert deploy(single()).chain is not None
    assert deploy(self_refine(rounds=2)).chain is None
    # A checkpointed thread keeps the conversation: it always runs the graph.
    assert deploy(single(), checkpointer=InMemorySaver()).chain is None


@pytest.mark.parametrize("make", [single, plan_solve], ids=["single", "plan_solve"])
async def test_a_chain_gives_what_its_graph_gives(make):
    workflow = deploy(make(), seed=3)
    assert workflow.chain is not None
    lean = await workflow.ainvoke(QUESTION)
    seen = _Seen()
    # A callback observes the run, so it goes through the LangGraph graph.
    full = await workflow.ainvoke(QUESTION, config={"callbacks": [seen]})
    assert seen.chains > 0
    assert _without_timings(lean.model_dump()) == _without_timings(full.model_dump())
    assert [n.step for n in lean.nodes] == list(range(1, len(lean.nodes) + 1))
    sync = workflow.invoke(QUESTION)
    assert _without_timings(sync.model_dump()) == _without_timings(lean.model_dump())


def test_the_lean_path_retries_a_node_as_the_graph_does():
    flaky = FlakyChatModel(schedule=["raise", "ok"])
    spec = Workflow("one").add_agent("solver", role="solver", model=flaky).build()
    retry = RetryPolicy(
        max_attempts=3,
        initial_interval=0.001,
        jitter=False,
        retry_on=lambda exc: isinstance(exc, RateLimitError),
    )
    result = deploy(spec, retry=retry).invoke(QUESTION)
    assert result.answer == "42"
    assert flaky.calls == 2
    no_retry = FlakyChatModel(schedule=["raise", "ok"])
    spec = Workflow("one").add_agent("solver", role="solver", model=no_retry).build()
    with pytest.raises(RateLimitError):
        deploy(spec, retry=None).invoke(QUESTION)


def test_anything_that_watches_a_run_makes_it_observed():
    assert unobserved(None)
    assert not unobserved({"callbacks": [_Seen()]})
    with collect_runs() as runs:  # a tracer registered in the context
        assert not unobserved(None)
        deploy(single()).invoke(QUESTION)
    assert runs.traced_runs  # it saw the graph run
    set_debug(True)
    try:
        assert not unobserved(None)
    finally:
        set_debug(False)
    assert unobserved(None)
