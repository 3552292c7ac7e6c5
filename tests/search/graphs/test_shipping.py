"""Shipping the graph a search found: the CLI's export, DeployedGraph.export and get_graph,
and estimates of graph searches."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from typer.testing import CliRunner

from orchestrator.errors import ExportError
from search import Budget, create_search
from search.cli import app
from search.estimate import estimate_search
from search.graphs import GraphSpace
from tests.search.graphs.conftest import build_pair
from topologies.params import Categorical

runner = CliRunner()


def _space() -> GraphSpace:
    return GraphSpace(build=build_pair, slots=["solver", "checker"], name="pair",
                      pool=["sim:atlas-nano", "sim:atlas-mini"],
                      params=[Categorical(name="check", choices=("yes", "no"))])  # fmt: skip


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop(name, None)
    return module


def test_the_cli_exports_a_graph_search_as_a_langgraph_app(dataset, tmp_path):
    store = tmp_path / "rg.db"
    result = create_search(space=_space(), dataset=dataset, strategy="grid", name="pair-search",
                           budget=Budget(dollars=0.05), store=store).run()  # fmt: skip
    best = result.best_graph
    assert best is not None and best.factory == "tests.search.graphs.conftest:build_pair"
    app_dir = tmp_path / "app"
    out = runner.invoke(app, ["export", "pair-search", str(app_dir), "--langgraph",
                              "--store", str(store)])  # fmt: skip
    assert out.exit_code == 0, out.output
    config = json.loads((app_dir / "langgraph.json").read_text())
    assert (
        config["graphs"] == {"pair": "./pair.py:graph"} and "rolegraph" in config["dependencies"]
    )
    module = _load(app_dir / "pair.py", "exported_pair")
    assert module.config == best
    assert set(module.graph.get_graph().nodes) >= {"solver", "checker"}
    state = module.graph.invoke({"question": "What is 17 + 25?"})
    assert state["answer"]
    # The settings alone, as JSON, load back the same.
    settings = tmp_path / "best.json"
    out = runner.invoke(app, ["export", "pair-search", str(settings), "--store", str(store)])
    assert out.exit_code == 0 and json.loads(settings.read_text())["models"] == best.models


def test_a_deployed_graph_exports_and_draws_the_users_graph(tmp_path):
    space = _space()
    dg = space.deploy(space.config({"solver": "sim:atlas-mini", "checker": "sim:atlas-nano",
                                    "check": "yes"}))  # fmt: skip
    assert set(dg.get_graph().nodes) == {"__start__", "solver", "checker", "__end__"}
    path = dg.export(tmp_path / "pair_graph.py")
    module = _load(path, "exported_pair_graph")
    assert module.config.models == {"solver": "sim:atlas-mini", "checker": "sim:atlas-nano"}
    assert module.graph.invoke({"question": "What is 2 + 3?"})["answer"]
    assert dg.export(tmp_path / "app").name == "langgraph.json"


def test_a_nested_factory_cannot_be_exported_and_says_why(tmp_path):
    def build(models):
        return build_pair(models)

    space = GraphSpace(build=build, slots=["solver", "checker"], pool=["sim:atlas-mini"],
                       name="nested")  # fmt: skip
    dg = space.deploy(space.config({"solver": "sim:atlas-mini", "checker": "sim:atlas-mini"}))
    with pytest.raises(ExportError, match="top level of a module"):
        dg.export(tmp_path / "app")


def test_a_graph_search_can_be_estimated(dataset, tmp_path):
    search = create_search(space=_space(), dataset=dataset, strategy="grid",
                           budget=Budget(dollars=0.05), store=tmp_path / "rg.db")  # fmt: skip
    estimate = estimate_search(search)
    from search.cli.output import console, print_estimate

    with console.capture() as shown:
        print_estimate(estimate)
    assert "$" in shown.get()
    assert estimate.space_size == 8 and estimate.candidates.high == 8
    assert estimate.dollars.high is not None and 0 < estimate.dollars.low <= estimate.dollars.high
    assert estimate.calls.low >= 8 * len(search.search_tasks)
    result = search.run()
    assert estimate.dollars.low <= result.spend.dollars <= estimate.dollars.high


GRAPH_MODULE = """
from langgraph.graph import START, MessagesState, StateGraph


def build(models):
    def chatbot(state: MessagesState) -> dict:
        question = state["messages"][-1].content
        prompt = f"Task: solve the question.\\n\\n## Question\\n{question}"
        return {"messages": [models["assistant"].invoke(prompt)]}

    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", chatbot)
    builder.add_edge(START, "chatbot")
    return builder.compile()
"""

CONFIG_SCRIPT = """
from pathlib import Path

from my_chatbot import build

from search import Budget, create_search, load_dataset
from search.graphs import GraphSpace

here = Path(__file__).parent
space = GraphSpace(build=build, slots=["assistant"], pool=["sim:atlas-nano", "sim:atlas-mini"])
tasks = [{"question": f"What is {n} + {42 - n}?", "answer": "42"} for n in range(6)]
search = create_search(space=space, dataset=load_dataset(tasks, name="cli-math"),
                       strategy="grid", budget=Budget(dollars=0.02), name="cli-graph",
                       store=here / "rg.db")
"""


def test_a_cli_config_imports_its_neighbour_and_the_winner_ships(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "my_chatbot.py").write_text(GRAPH_MODULE)
    (project / "search_chatbot.py").write_text(CONFIG_SCRIPT)
    monkeypatch.syspath_prepend(str(tmp_path))  # undone after the test (the CLI adds project/)
    monkeypatch.delitem(sys.modules, "my_chatbot", raising=False)
    store = project / "rg.db"
    done = runner.invoke(app, ["search", "--config", str(project / "search_chatbot.py"),
                               "--no-deploy", "--no-progress"])  # fmt: skip
    assert done.exit_code == 0, done.output
    out = runner.invoke(app, ["export", "cli-graph", str(tmp_path / "app"), "--langgraph",
                              "--store", str(store)])  # fmt: skip
    assert out.exit_code == 0, out.output
    module = _load(next((tmp_path / "app").glob("*.py")), "exported_cli_graph")
    assert module.config.factory == "my_chatbot:build"
    state = module.graph.invoke({"messages": [("user", "What is 17 + 25?")]})
    assert state["messages"][-1].content
    sys.modules.pop("my_chatbot", None)
    if str(project) in sys.path:
        sys.path.remove(str(project))
