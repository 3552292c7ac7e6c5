"""No winner without evidence, for graph searches: a failing graph crowns nothing, and a
tool-calling chatbot's sentences and JSON replies are read as answers."""

from __future__ import annotations

from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from search import Budget, create_search
from search.evaluation.datasets import Task
from search.evaluation.metrics import get_metric
from search.graphs import GraphSpace
from tests.search.graphs.lg_tools import add


def build_broken(models):
    """A tutorial chatbot whose node always raises."""

    def chatbot(state: MessagesState) -> dict:
        raise RuntimeError("the vector store is down")

    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", chatbot)
    builder.add_edge(START, "chatbot")
    return builder.compile()


def build_tool_chatbot(models):
    """LangGraph's tool-calling chatbot: MessagesState, ToolNode and tools_condition."""
    llm = models["assistant"].bind_tools([add])

    def chatbot(state: MessagesState) -> dict:
        return {"messages": [llm.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", chatbot)
    builder.add_node("tools", ToolNode([add]))
    builder.add_edge(START, "chatbot")
    builder.add_conditional_edges("chatbot", tools_condition)
    builder.add_edge("tools", "chatbot")
    return builder.compile()


def search(build, dataset, tmp_path):
    space = GraphSpace(build=build, slots=["assistant"], name=build.__name__,
                       pool=["sim:atlas-nano", "sim:atlas-mini"])  # fmt: skip
    return create_search(space=space, dataset=dataset, strategy="grid", test_size=0.25,
                         budget=Budget(dollars=0.05), store=tmp_path / "rg.db").run()  # fmt: skip


def test_a_graph_whose_node_always_raises_has_no_winner(dataset, tmp_path):
    result = search(build_broken, dataset, tmp_path)
    assert result.best_graph is None and result.best_stats is None and result.test is None
    certificate = result.certificate
    assert certificate is not None and certificate.verdict == "no_winner"
    assert "every run of all" in certificate.reason
    assert "confidence" not in " ".join(certificate.lines) + result.stop_reason


def test_the_numeric_metric_reads_sentences_and_json():
    numeric = get_metric("numeric")
    task = Task(id="t", question="What is 17 + 25?", answer="42")
    assert numeric("17 + 25 = 42", task) == 1.0
    assert numeric('{"answer": "42", "confidence": 0.9}', task) == 1.0


def test_a_tool_calling_chatbot_is_scored_and_crowned(dataset, tmp_path):
    result = search(build_tool_chatbot, dataset, tmp_path)
    assert result.certificate is not None and result.certificate.verdict != "no_winner"
    assert result.best_graph is not None and result.best_stats is not None
    assert result.best_stats.mean > 0.5
