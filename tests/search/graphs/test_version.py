"""A graph's automatic version covers everything that decides what it does, and nothing else."""

from __future__ import annotations

import functools
import importlib
import sys
from pathlib import Path

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, create_react_agent, tools_condition

from search.graphs import GraphSpace
from search.graphs.version import SlotPlaceholder
from tests.search.graphs import lg_tools
from tests.search.graphs.conftest import build_pair

TOOLS_SOURCE = Path(lg_tools.__file__).read_text(encoding="utf-8")


@pytest.fixture
def tools_module(tmp_path, monkeypatch):
    """The tools module written again (edited) under a new name, and imported."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names = iter(f"lg_tools_edit_{i}" for i in range(100))

    def load(source: str):
        name = next(names)
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
        importlib.invalidate_caches()
        return importlib.import_module(name)

    yield load
    for name in [n for n in sys.modules if n.startswith("lg_tools_edit_")]:
        del sys.modules[name]


def agent_version(prompt: str, tool) -> str:
    """The version of a create_react_agent factory with this prompt and tool."""

    def build(models):
        return create_react_agent(models["agent"], tools=[tool], prompt=prompt)

    return GraphSpace(build=build, slots=["agent"], pool=["sim:atlas-mini"], name="agent").version


def chatbot_version(tool) -> str:
    """The version of a tutorial chatbot (MessagesState, ToolNode, tools_condition)."""

    def build(models):
        llm = models["assistant"].bind_tools([tool])

        def chatbot(state: MessagesState) -> dict:
            return {"messages": [llm.invoke(state["messages"])]}

        builder = StateGraph(MessagesState)
        builder.add_node("chatbot", chatbot)
        builder.add_node("tools", ToolNode([tool]))
        builder.add_edge(START, "chatbot")
        builder.add_conditional_edges("chatbot", tools_condition)
        builder.add_edge("tools", "chatbot")
        return builder.compile()

    space = GraphSpace(build=build, slots=["assistant"], pool=["sim:atlas-mini"], name="bot")
    return space.version


def test_the_version_is_stable():
    assert agent_version("Be terse.", lg_tools.add) == agent_version("Be terse.", lg_tools.add)
    first = GraphSpace(build=build_pair, slots=["solver", "checker"], pool=["sim:atlas-nano"])
    pool = GraphSpace(build=build_pair, slots=["solver", "checker"], pool=["sim:atlas-mini"])
    assert first.version.startswith("code-") and first.version == pool.version


def test_a_prebuilt_agents_prompt_changes_the_version():
    assert agent_version("Be terse.", lg_tools.add) != agent_version("Be brief.", lg_tools.add)


def test_a_tool_body_in_another_module_changes_the_version(tools_module):
    edited = tools_module(TOOLS_SOURCE.replace("return a + b", "return a - b"))
    assert agent_version("Be terse.", lg_tools.add) != agent_version("Be terse.", edited.add)
    assert chatbot_version(lg_tools.add) != chatbot_version(edited.add)


def test_a_comment_or_formatting_edit_keeps_the_version(tools_module):
    edited = tools_module(
        TOOLS_SOURCE.replace("# the sum, exactly", "# add them up (a longer comment)").replace(
            "return a + b", "return (a +   b)"
        )
    )
    assert agent_version("Be terse.", lg_tools.add) == agent_version("Be terse.", edited.add)
    assert chatbot_version(lg_tools.add) == chatbot_version(edited.add)


def test_the_structure_counts():
    def build(models, *, extra: bool):
        def chatbot(state: MessagesState) -> dict:
            return {"messages": [models["assistant"].invoke(state["messages"])]}

        builder = StateGraph(MessagesState)
        builder.add_node("chatbot", chatbot)
        builder.add_edge(START, "chatbot")
        if extra:
            builder.add_node("again", chatbot)
            builder.add_edge("chatbot", "again")
        return builder.compile()

    def version(extra: bool) -> str:
        partial = functools.partial(build, extra=extra)
        return GraphSpace(build=partial, slots=["assistant"], pool=["sim:atlas-mini"],
                          name="g").version  # fmt: skip

    assert version(True) != version(False)


def test_an_explicit_version_wins():
    space = GraphSpace(build=build_pair, slots=["solver", "checker"], pool=["sim:atlas-nano"],
                       version="2024-06")  # fmt: skip
    assert space.version == "2024-06"


def test_a_configurable_agents_prompt_and_tools_change_the_version(tools_module):
    pytest.importorskip("langchain")
    from langchain.agents import create_agent
    from langchain.chat_models import init_chat_model

    def version(prompt: str, tool, make=create_react_agent) -> str:
        model = init_chat_model(configurable_fields=("model", "model_provider"),
                                config_prefix="agent")  # fmt: skip
        kwargs = {"prompt": prompt} if make is create_react_agent else {"system_prompt": prompt}
        graph = make(model, tools=[tool], name="agent", **kwargs)
        return GraphSpace(graph=graph, slots=["agent"], pool=["sim:atlas-mini"]).version

    edited = tools_module(TOOLS_SOURCE.replace("return a + b", "return b + a"))
    for make in (create_react_agent, create_agent):
        base = version("Be terse.", lg_tools.add, make)
        assert base == version("Be terse.", lg_tools.add, make)
        assert base != version("Be brief.", lg_tools.add, make)
        assert base != version("Be terse.", edited.add, make)


FACTORY = """
from langgraph.graph import START, MessagesState, StateGraph

PROMPT = "Answer with a number."


def build(models):
    def chatbot(state: MessagesState) -> dict:
        return {"messages": [models["assistant"].invoke([("system", PROMPT), *state["messages"]])]}

    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", chatbot)
    builder.add_edge(START, "chatbot")
    return builder.compile()
"""


def test_a_comment_in_the_factory_module_keeps_the_version_and_code_does_not(tools_module):
    def version(source: str) -> str:
        build = tools_module(source).build
        return GraphSpace(build=build, slots=["assistant"], pool=["sim:atlas-mini"],
                          name="bot").version  # fmt: skip

    base = version(FACTORY)
    commented = FACTORY.replace("def build(models):", "# The graph.\ndef build(models):  # ok")
    assert version(commented) == base
    assert version(FACTORY.replace("a number", "one number")) != base
    assert version(FACTORY.replace("*state[", "state[-1], *state[")) != base


VERSION_IN_A_NEW_PROCESS = """
import warnings
warnings.simplefilter("ignore")
from search.graphs import GraphSpace
from tests.search.graphs.conftest import build_pair
from tests.search.graphs.test_version import agent_version, chatbot_version
from tests.search.graphs import lg_tools
space = GraphSpace(build=build_pair, slots=["solver", "checker"], pool=["sim:atlas-nano"])
print(space.version, agent_version("Be terse.", lg_tools.add), chatbot_version(lg_tools.add))
"""


def test_the_version_is_the_same_in_another_process():
    import subprocess

    here = GraphSpace(build=build_pair, slots=["solver", "checker"], pool=["sim:atlas-nano"])
    expected = [here.version, agent_version("Be terse.", lg_tools.add),
                chatbot_version(lg_tools.add)]  # fmt: skip
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", VERSION_IN_A_NEW_PROCESS], cwd=root,
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert done.stdout.split() == expected


def test_state_that_changes_with_every_run_does_not_count():
    from langchain_core.rate_limiters import InMemoryRateLimiter
    from langgraph.checkpoint.memory import InMemorySaver

    from orchestrator.codehash import code_fingerprint

    limiter, saver = InMemoryRateLimiter(requests_per_second=100), InMemorySaver()

    def build(models):
        graph = create_react_agent(models["agent"], tools=[lg_tools.add], checkpointer=saver)
        return graph, limiter

    before = code_fingerprint(build, libraries=True)
    limiter.acquire()
    graph, _ = build({"agent": SlotPlaceholder(slot="agent")})
    graph.get_state({"configurable": {"thread_id": "1"}})
    saver.put({"configurable": {"thread_id": "1", "checkpoint_ns": ""}},
              empty_checkpoint(), {}, {})  # fmt: skip
    assert code_fingerprint(build, libraries=True) == before
