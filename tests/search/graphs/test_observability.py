"""Tracked slot models stream tokens, keep the wrapped model's LangSmith metadata, and
name the node (and the worker around it) that made each call."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import create_react_agent

from orchestrator.sim import SimChatModel
from orchestrator.testing import ScriptedChatModel
from orchestrator.tracked import GraphRun, TrackedChatModel, running
from search.graphs import GraphSpace
from tests.search.graphs.lg_tools import add

REPLY = "17 plus 25 makes 42 , so the answer is 42 ."
QUESTION = {"messages": [("user", "What is 17 + 25?")]}


def chatbot(model: BaseChatModel) -> Any:
    def chat(state: MessagesState) -> dict:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", chat)
    builder.add_edge(START, "chatbot")
    return builder.compile()


def tracked(model: BaseChatModel) -> TrackedChatModel:
    return TrackedChatModel.wrap(model, slot="assistant", ref="test:scripted", output_cap=256)


def test_tokens_stream_through_a_tracked_model():
    plain = list(
        chatbot(ScriptedChatModel(replies=[REPLY])).stream(QUESTION, stream_mode="messages")
    )
    assert len(plain) > 5
    graph = chatbot(tracked(ScriptedChatModel(replies=[REPLY])))
    assert len(list(graph.stream(QUESTION, stream_mode="messages"))) == len(plain)
    run = GraphRun()
    with running(run):  # metered, as in a search
        chunks = list(graph.stream(QUESTION, stream_mode="messages"))
    assert len(chunks) == len(plain)
    assert "".join(c.content for c, _ in chunks) == REPLY
    assert len(run.nodes) == 1 and run.nodes[0].usage.total_tokens > 0


def test_astream_events_stream_through_a_tracked_model():
    graph = chatbot(tracked(ScriptedChatModel(replies=[REPLY])))

    async def events() -> list[str]:
        return [e["event"] async for e in graph.astream_events(QUESTION, version="v2")]

    assert asyncio.run(events()).count("on_chat_model_stream") > 5


class _Seen(BaseCallbackHandler):
    def __init__(self) -> None:
        self.metadata: list[dict[str, Any]] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.metadata.append(dict(kwargs.get("metadata") or {}))


def test_langsmith_sees_the_wrapped_model():
    inner = SimChatModel(model="atlas-mini")
    model = tracked(inner)
    assert model._get_ls_params() == inner._get_ls_params()
    seen = _Seen()
    model.invoke("What is 2 + 3?", {"callbacks": [seen]})
    assert seen.metadata[0]["ls_provider"] == "sim"
    assert seen.metadata[0]["ls_model_name"] == "atlas-mini"


def build_team(models):
    """A parent graph whose worker is a prebuilt agent (its own node is called 'agent')."""
    researcher = create_react_agent(models["researcher"], tools=[add], name="researcher")
    builder = StateGraph(MessagesState)
    builder.add_node("researcher", researcher)
    builder.add_edge(START, "researcher")
    return builder.compile()


def test_traces_name_the_worker_that_made_the_call():
    space = GraphSpace(build=build_team, slots=["researcher"], pool=["sim:atlas-mini"],
                       name="team")  # fmt: skip
    result = space.deploy(space.config({"researcher": "sim:atlas-mini"})).invoke("What is 2 + 3?")
    assert [n.agent for n in result.nodes] == ["researcher/agent"]
    assert result.nodes[0].role == "researcher"


def test_a_node_that_streams_is_metered_once():
    from orchestrator.budget import Budget, BudgetLedger

    for inner in (ScriptedChatModel(replies=[REPLY]), SimChatModel(model="atlas-mini")):
        model = tracked(inner)
        ledger = BudgetLedger(Budget(dollars=1.0))
        run = GraphRun(ledger=ledger)
        with running(run):
            chunks = list(model.stream("What is 17 + 25?"))
        assert len(run.nodes) == 1 and run.nodes[0].usage.total_tokens > 0
        assert ledger.spent.calls == 1 and ledger.spent.dollars == run.nodes[0].charged > 0
        if isinstance(inner, ScriptedChatModel):
            assert len(chunks) > 5 and "".join(str(c.content) for c in chunks) == REPLY

        async def astream(model=model, run=run) -> int:
            with running(run):
                return len([c async for c in model.astream("What is 17 + 25?")])

        assert asyncio.run(astream()) >= 1 and len(run.nodes) == 2 and ledger.spent.calls == 2
