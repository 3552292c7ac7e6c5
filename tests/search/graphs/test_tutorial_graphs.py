"""Graphs in the styles of LangGraph's tutorials: Send map-reduce, a Command supervisor, and
a subgraph with a reducer; each runs, is traced, fails cleanly and is versioned by its code."""

from __future__ import annotations

import operator
from typing import Annotated, Literal

from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command, Send, interrupt
from typing_extensions import TypedDict

from search import Evaluator
from search.graphs import GraphSpace
from tests.search.graphs.conftest import _text


class MapState(TypedDict, total=False):
    question: str
    parts: Annotated[list[str], operator.add]
    answer: str


class PartState(TypedDict):
    question: str


def build_map_reduce(models, *, copies: int = 2):
    """Send map-reduce: the question fans out to solvers, and a judge picks the answer."""

    def fan_out(state: MapState) -> list[Send]:
        return [Send("solve", {"question": state["question"]}) for _ in range(copies)]

    def solve(state: PartState) -> dict:
        reply = models["solver"].invoke(f"Task: solve the question.\n\n## Question\n"
                                        f"{state['question']}")  # fmt: skip
        return {"parts": [_text(reply)]}

    def reduce(state: MapState) -> dict:
        parts = state.get("parts") or []
        return {"answer": max(set(parts), key=parts.count) if parts else ""}

    builder = StateGraph(MapState)
    builder.add_node("solve", solve)
    builder.add_node("reduce", reduce)
    builder.add_conditional_edges(START, fan_out, ["solve"])
    builder.add_edge("solve", "reduce")
    builder.add_edge("reduce", END)
    return builder.compile()


def build_supervisor(models, *, route: str = "math"):
    """A Command supervisor: it hands the conversation to a worker by name."""

    def supervisor(state: MessagesState) -> Command[Literal["math", "chat"]]:
        return Command(goto=route)

    def math(state: MessagesState) -> dict:
        question = state["messages"][-1].content
        prompt = f"Task: solve the question.\n\n## Question\n{question}"
        return {"messages": [models["worker"].invoke(prompt)]}

    def chat(state: MessagesState) -> dict:
        return {"messages": [models["worker"].invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("supervisor", supervisor)
    builder.add_node("math", math)
    builder.add_node("chat", chat)
    builder.add_edge(START, "supervisor")
    return builder.compile()


class Notes(TypedDict, total=False):
    question: str
    notes: Annotated[list[str], operator.add]
    answer: str


def build_with_subgraph(models, *, ask_human: bool = False):
    """A parent graph whose 'research' node is a compiled subgraph sharing a reducer key."""

    def note(state: Notes) -> dict:
        if ask_human:
            interrupt("which source?")
        reply = models["researcher"].invoke(f"Task: solve the question.\n\n## Question\n"
                                            f"{state['question']}")  # fmt: skip
        return {"notes": [_text(reply)]}

    inner = StateGraph(Notes)
    inner.add_node("note", note)
    inner.add_edge(START, "note")
    research = inner.compile()

    def answer(state: Notes) -> dict:
        return {"answer": (state.get("notes") or [""])[-1]}

    builder = StateGraph(Notes)
    builder.add_node("research", research)
    builder.add_node("answer", answer)
    builder.add_edge(START, "research")
    builder.add_edge("research", "answer")
    return builder.compile()


def _space(build, slot: str, **kwargs) -> GraphSpace:
    return GraphSpace(build=build, slots=[slot], pool=["sim:atlas-mini"], name=build.__name__,
                      **kwargs)  # fmt: skip


def test_send_map_reduce_runs_and_traces_every_branch(dataset, tmp_path):
    target = _space(build_map_reduce, "solver").point(solver="sim:atlas-mini").graph
    summary = Evaluator(dataset, "numeric", store=tmp_path / "rg.db").evaluate(target)
    assert summary.mean > 0.5
    assert all([n.agent for n in r.trace] == ["solve", "solve"] for r in summary.records)


def test_a_command_supervisor_runs_and_its_routing_code_is_versioned():
    space = _space(build_supervisor, "worker")
    run = space.deploy(space.config({"worker": "sim:atlas-mini"})).invoke("What is 17 + 25?")
    assert [n.agent for n in run.nodes] == ["math"] and run.answer

    def build_chat_first(models, *, route: str = "chat"):
        return build_supervisor(models, route=route)

    assert _space(build_chat_first, "worker").version != space.version


def test_a_subgraph_runs_and_is_traced_under_its_node():
    space = _space(build_with_subgraph, "researcher")
    run = space.deploy(space.config({"researcher": "sim:atlas-mini"})).invoke("What is 9 * 9?")
    assert [n.agent for n in run.nodes] == ["research/note"] and run.answer


def test_an_interrupt_inside_a_subgraph_names_the_parent_node(dataset, tmp_path):
    def build(models):
        return build_with_subgraph(models, ask_human=True)

    target = _space(build, "researcher").point(researcher="sim:atlas-mini").graph
    summary = Evaluator(dataset, "numeric", store=tmp_path / "rg.db").evaluate(
        target, tasks=list(dataset.tasks[:2])
    )
    assert all(r.failed and "interrupted at research" in (r.error or "") for r in summary.records)
