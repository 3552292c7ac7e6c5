"""The configurable form: a compiled graph whose models are init_chat_model(configurable...)."""

from __future__ import annotations

import pytest
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

from search import Budget, Evaluator, create_search
from search.graphs import GraphSpace, register_providers
from tests.search.graphs.conftest import _text

pytest.importorskip("langchain")
from langchain.chat_models import init_chat_model


class QA(TypedDict, total=False):
    question: str
    answer: str


def _compiled():
    writer = init_chat_model(
        configurable_fields=("model", "model_provider"), config_prefix="writer"
    )

    def write(state: QA, config) -> dict:
        reply = writer.invoke(f"Task: solve the question.\n\n## Question\n{state['question']}")
        answer = _text(reply)
        suffix = config["configurable"].get("suffix", "")
        return {"answer": f"{answer}{suffix}"}

    builder = StateGraph(QA)
    builder.add_node("writer", write)
    builder.add_edge(START, "writer")
    return builder.compile(name="configurable-writer")


@pytest.fixture
def space():
    from topologies.params import Categorical

    return GraphSpace(
        graph=_compiled(),
        slots=["writer"],
        pool=["sim:atlas-nano", "sim:atlas-mini"],
        params=[Categorical(name="suffix", choices=("",))],
        version="1",
    )


def test_configurable_graph_calls_are_tracked(space, dataset, tmp_path):
    assert space.name == "configurable-writer"
    target = space.point(writer="sim:atlas-mini", suffix="").graph
    evaluator = Evaluator(dataset, "numeric", store=tmp_path / "rg.db", budget=Budget(dollars=1))
    summary = evaluator.evaluate(target)
    assert summary.calls == len(dataset) and summary.charged > 0
    assert all(r.trace[0].model == "sim:atlas-mini" for r in summary.records)
    assert summary.mean > 0.5
    assert evaluator.spent.calls == summary.calls
    again = Evaluator(dataset, "exact", store=tmp_path / "rg.db").evaluate(target)
    assert again.calls == 0 and again.cached_calls == len(dataset)  # the call cache served it


def test_configurable_search_and_the_config_outside_rolegraph(space, dataset, tmp_path):
    result = create_search(
        space=space,
        dataset=dataset,
        strategy="grid",
        budget=Budget(dollars=0.05),
        store=tmp_path / "rg.db",
    ).run()
    settings = result.best_graph
    assert settings is not None and settings.form == "configurable"
    # The user's code: the same compiled graph, with the chosen model in its config.
    register_providers()  # lets init_chat_model build sim: models
    out = _compiled().invoke({"question": "What is 6 * 7?"}, settings.runnable_config())
    assert out["answer"] == "42"
