"""Small user graphs, written the ordinary LangGraph way, for the graph-search tests."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from typing_extensions import TypedDict

from orchestrator.sim import SimChatModel
from search import load_dataset
from search.graphs import GraphSpace
from topologies.params import Categorical

TASKS = [
    ("What is 17 + 25?", "42"),
    ("What is (6 + 4) * 7?", "70"),
    ("What is 144 // 12 - 3?", "9"),
    ("What is 9 * 9 + 19?", "100"),
    ("What is (50 - 14) // 6?", "6"),
    ("What is 8 * (3 + 4) - 6?", "50"),
    ("What is 13 * 4 + 8?", "60"),
    ("What is 96 // (2 + 6)?", "12"),
]


class QA(TypedDict, total=False):
    question: str
    draft: str
    answer: str


def _text(reply) -> str:
    import json

    try:
        return str(json.loads(reply.content).get("answer", ""))
    except (ValueError, AttributeError):
        return str(reply.content)


def build_pair(models: Mapping[str, BaseChatModel], *, check: str = "yes") -> object:
    """A solver and, when ``check == "yes"``, a checker that re-solves with the draft in view."""

    def solve(state: QA) -> dict:
        reply = models["solver"].invoke(
            f"Task: solve the question.\n\n## Question\n{state['question']}"
        )
        return {"draft": _text(reply), "answer": _text(reply)}

    def recheck(state: QA) -> dict:
        prompt = (
            f"Task: revise the candidate answer.\n\n## Question\n{state['question']}\n\n"
            f"## Candidate answer\n{state['draft']}\n\n## Critique\nCheck every step."
        )
        return {"answer": _text(models["checker"].invoke(prompt))}

    builder = StateGraph(QA)
    builder.add_node("solver", solve)
    builder.add_node("checker", recheck)
    builder.add_edge(START, "solver")
    builder.add_conditional_edges("solver", lambda s: "checker" if check == "yes" else END)
    builder.add_edge("checker", END)
    return builder.compile()


def build_untracked(models: Mapping[str, BaseChatModel]) -> object:
    """A graph that ignores the models it is given and makes its own client."""
    own = SimChatModel(model="atlas-mini")

    def solve(state: QA) -> dict:
        reply = own.invoke(f"Task: solve the question.\n\n## Question\n{state['question']}")
        return {"answer": _text(reply)}

    builder = StateGraph(QA)
    builder.add_node("solver", solve)
    builder.add_edge(START, "solver")
    return builder.compile()


def build_chat(models: Mapping[str, BaseChatModel]) -> object:
    """A ``messages`` graph: one chat node."""

    def chat(state: MessagesState) -> dict:
        question = state["messages"][-1].content
        prompt = HumanMessage(f"Task: solve the question.\n\n## Question\n{question}")
        return {"messages": [models["assistant"].invoke([prompt])]}

    builder = StateGraph(MessagesState)
    builder.add_node("assistant", chat)
    builder.add_edge(START, "assistant")
    return builder.compile()


@pytest.fixture
def dataset():
    return load_dataset(
        [{"id": f"t{i}", "question": q, "answer": a} for i, (q, a) in enumerate(TASKS)],
        name="graph-math",
    )


@pytest.fixture
def pair_space() -> GraphSpace:
    return GraphSpace(
        build=build_pair,
        slots=["solver", "checker"],
        pool=["sim:atlas-nano", "sim:atlas-mini"],
        params=[Categorical(name="check", choices=("yes", "no"))],
        name="pair",
        version="1",
        max_tokens=256,
    )
