"""The winner's settings: export, load, deploy; and the default input/output adapters."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from search.graphs import (
    GraphConfig,
    GraphSpace,
    GraphSpaceError,
    answer_output,
    default_adapters,
    load_config,
    messages_input,
    messages_output,
    question_input,
)
from tests.search.graphs.conftest import build_chat, build_pair


def test_export_and_load_round_trip(pair_space, tmp_path):
    config = pair_space.point(solver="sim:atlas-mini", checker="sim:atlas-nano", check="no")
    settings = config.graph.config
    path = settings.save(tmp_path / "best.json")
    loaded = load_config(path)
    assert loaded == settings
    assert loaded.models == {"solver": "sim:atlas-mini", "checker": "sim:atlas-nano"}
    assert loaded.params == {"check": "no"}
    # The user's own code: the factory with the chosen models, no search around it.
    graph = loaded.build(build_pair)
    assert graph.invoke({"question": "What is 6 * 7?"})["answer"] == "42"
    # ... or deployed through the space, from the file.
    deployed = pair_space.deploy(path)
    run = deployed.invoke("What is 6 * 7?")
    assert run.answer == "42" and run.calls == 1 and run.nodes[0].model == "sim:atlas-mini"
    assert deployed("What is 6 * 7?") == "42"


def test_settings_of_another_version_are_refused(pair_space):
    settings = GraphConfig(graph="pair", version="0", models={"solver": "sim:atlas-mini"})
    with pytest.raises(GraphSpaceError, match="version '0'"):
        pair_space.deploy(settings)


def test_runnable_config_names_each_slot_prefix():
    settings = GraphConfig(
        graph="g",
        version="1",
        models={"writer": "openai:gpt-4o-mini", "critic": "sim:atlas-pro"},
        params={"rounds": 2},
        form="configurable",
        prefixes={"critic": "review"},
    )
    assert settings.runnable_config() == {
        "configurable": {
            "writer_model": "openai:gpt-4o-mini",
            "review_model": "sim:atlas-pro",
            "rounds": 2,
        }
    }


def test_messages_adapters():
    state = messages_input("What is 2 + 3?")
    assert state["messages"][0] == HumanMessage("What is 2 + 3?")
    out = {"messages": [HumanMessage("q"), AIMessage("first"), AIMessage(" 5 ")]}
    assert messages_output(out) == "5"
    assert messages_output({"messages": [HumanMessage("q")]}) is None


def test_question_answer_adapters():
    assert question_input("What is 2 + 3?") == {"question": "What is 2 + 3?"}
    assert answer_output({"answer": 5}) == "5"
    assert answer_output({"answer": AIMessage("5")}) == "5"
    assert answer_output({}) is None


def test_defaults_follow_the_graph_state(pair_space):
    chat = GraphSpace(
        build=build_chat, slots=["assistant"], pool=["sim:atlas-mini"], name="chat", version="1"
    )
    assert (chat.source.input, chat.source.output) == (messages_input, messages_output)
    assert (pair_space.source.input, pair_space.source.output) == (question_input, answer_output)
    run = chat.deploy(chat.point(assistant="sim:atlas-mini").graph.config).invoke("What is 6 * 7?")
    assert '"42"' in (run.answer or "") and run.calls == 1


def test_a_state_without_known_keys_needs_adapters():
    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict

    class Odd(TypedDict):
        prompt: str

    builder = StateGraph(Odd)
    builder.add_node("n", lambda s: s)
    builder.add_edge(START, "n")
    with pytest.raises(GraphSpaceError, match="neither a 'messages' nor a 'question'"):
        default_adapters(builder.compile())
