"""The LangGraph 1.x runtime: context and config reach the run, interrupts and loops fail
the evaluation with their reason, and an async-only graph can be called synchronously."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from search import Evaluator
from search.graphs import GraphSpace


@dataclass
class Ctx:
    """What the tutorial's nodes read as ``runtime.context``."""

    persona: str


def build_with_context(models):
    def assistant(state: MessagesState, runtime: Runtime[Ctx], config: RunnableConfig) -> dict:
        persona, tag = runtime.context.persona, config["configurable"]["tag"]
        reply = models["assistant"].invoke([("system", f"You are {persona}."), *state["messages"]])
        reply.content = f"{reply.content} [{persona}/{tag}]"
        return {"messages": [reply]}

    builder = StateGraph(MessagesState, context_schema=Ctx)
    builder.add_node("assistant", assistant)
    builder.add_edge(START, "assistant")
    return builder.compile()


def build_with_review(models):
    """A human-in-the-loop graph: a review node waits for approval with interrupt()."""

    def draft(state: MessagesState) -> dict:
        return {"messages": [models["assistant"].invoke(state["messages"])]}

    def review(state: MessagesState) -> dict:
        approved = interrupt({"draft": state["messages"][-1].content})
        return {"messages": [("ai", str(approved))]}

    builder = StateGraph(MessagesState)
    builder.add_node("draft", draft)
    builder.add_node("review", review)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    return builder.compile(checkpointer=InMemorySaver())


def build_looping(models, *, call: bool = True):
    """A graph whose exit condition is never met."""

    def think(state: MessagesState) -> dict:
        if call:
            return {"messages": [models["assistant"].invoke(state["messages"])]}
        return {"messages": [("ai", "still thinking")]}

    builder = StateGraph(MessagesState)
    builder.add_node("think", think)
    builder.add_edge(START, "think")
    builder.add_conditional_edges("think", lambda s: "think" if s["messages"] else END)
    return builder.compile()


def build_async(models):
    """An async-only graph with a checkpointer, as in LangGraph's async tutorials."""

    async def assistant(state: MessagesState) -> dict:
        return {"messages": [await models["assistant"].ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("assistant", assistant)
    builder.add_edge(START, "assistant")
    return builder.compile(checkpointer=InMemorySaver())


def space(build, **kwargs) -> GraphSpace:
    return GraphSpace(build=build, slots=["assistant"], pool=["sim:atlas-mini"],
                      name=build.__name__, **kwargs)  # fmt: skip


def deployed(build, **kwargs):
    s = space(build, **kwargs)
    return s.deploy(s.config({"assistant": "sim:atlas-mini"}))


def test_context_and_config_reach_every_run():
    dg = deployed(build_with_context, context=Ctx(persona="a tutor"),
                  config={"configurable": {"tag": "static"}})  # fmt: skip
    assert dg("What is 17 + 25?").endswith("[a tutor/static]")
    per_question = deployed(
        build_with_context,
        context=lambda question: Ctx(persona=f"tutor of {len(question)}"),
        config=lambda question: {"configurable": {"tag": question.split()[-1]}},
    )
    assert per_question("What is 17 + 25?").endswith("[tutor of 16/25?]")


def test_the_static_context_is_part_of_the_version():
    one = space(build_with_context, context=Ctx(persona="a tutor"))
    other = space(build_with_context, context=Ctx(persona="a pirate"))
    assert one.version != other.version


def test_an_interrupted_run_is_a_failed_evaluation(dataset, tmp_path):
    target = space(build_with_review).point(assistant="sim:atlas-mini").graph
    summary = Evaluator(dataset, "numeric", store=tmp_path / "rg.db").evaluate(target)
    assert all(r.failed for r in summary.records) and summary.mean == 0
    assert all("interrupted at review" in (r.error or "") for r in summary.records)


@pytest.mark.parametrize(
    ("call", "reason"), [(True, "model call cap"), (False, "recursion limit")]
)
def test_a_looping_graph_fails_fast_with_its_reason(dataset, tmp_path, call, reason):
    def build(models):
        return build_looping(models, call=call)

    target = (
        space(build, max_calls_per_run=3, recursion_limit=12)
        .point(assistant="sim:atlas-mini")
        .graph
    )
    tasks = list(dataset.tasks[:2])
    started = time.perf_counter()
    summary = Evaluator(dataset, "numeric", store=tmp_path / "rg.db").evaluate(target, tasks=tasks)
    assert time.perf_counter() - started < 30
    assert all(r.failed and reason in (r.error or "") for r in summary.records)
    assert summary.calls <= 3 * len(tasks)


def test_an_async_only_graph_can_be_called_synchronously():
    dg = deployed(build_async)
    assert dg("What is 17 + 25?")
    result = dg.invoke("What is 17 + 25?")
    assert result.calls == 1 and result.nodes[0].agent == "assistant"

    async def inside_a_loop() -> str | None:
        return dg("What is 17 + 25?")

    assert asyncio.run(inside_a_loop())


@pytest.mark.filterwarnings("ignore:no price for model")
def test_a_sync_only_slot_model_times_out_from_when_its_thread_starts():
    # A CPU model holds a thread per call: 8 calls of 0.2 s on 2 threads, the last waits
    # 0.6 s for one. A 0.35 s limit is longer than a call and shorter than that wait.
    # The node is async: the time limit is for async runs.
    from tests.orchestrator.test_thread_bound import CpuModel, _on_small_pool

    model = CpuModel(label="graph-slot", seconds=0.2)
    ref = "openai:local-cpu"  # any known reference; the instance given for it is used
    s = GraphSpace(build=build_async, slots=["assistant"], pool=[ref], name="async")
    graph = s.deploy(s.config({"assistant": ref}), models={ref: model}, call_timeout=0.35)

    async def run() -> list:
        return await asyncio.gather(
            *(graph.ainvoke(f"What is {i} + 1?") for i in range(8)), return_exceptions=True
        )

    results = asyncio.run(_on_small_pool(2, run()))
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert model.calls == 8


@pytest.mark.filterwarnings("ignore:no price for model")
def test_a_sync_node_s_slot_model_times_out_too():
    # A graph whose node calls its model synchronously (LangGraph runs it on a thread) had
    # no time limit: a hung local model held the run for as long as it took.
    from tests.orchestrator.test_thread_bound import CpuModel
    from tests.search.graphs.conftest import build_chat

    model = CpuModel(label="graph-sync-slot", seconds=0.6)
    ref = "openai:local-cpu"
    s = GraphSpace(build=build_chat, slots=["assistant"], pool=[ref], name="sync-chat")
    graph = s.deploy(s.config({"assistant": ref}), models={ref: model}, call_timeout=0.1)
    with pytest.raises(Exception, match=r"slot 'assistant': model .* did not answer within 0\.1s"):
        graph.invoke("What is 2 + 3?")  # before: answered after 0.6 s, no limit
