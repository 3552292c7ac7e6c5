"""A deployed workflow is a callable, a Runnable and an inspectable LangGraph graph."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import Runnable
from langgraph.graph.state import CompiledStateGraph

from orchestrator import NodeTrace, RunResult, Workflow, WorkflowSpec, deploy

QUESTION = "Ben has 20 coins. Ben gives 4 coins to a friend. How many coins does Ben have now?"
ROOT = Path(__file__).resolve().parents[2]


def spec() -> WorkflowSpec:
    return (
        Workflow("plan-solve-judge")
        .add_agent("planner", role="planner", model="sim:atlas-mini")
        .add_agent("a", role="solver", model="sim:atlas-mini")
        .add_agent("b", role="solver", model="sim:lynx-large")
        .add_agent("judge", role="judge", model="sim:atlas-pro")
        .add_edge("planner", "a")
        .add_edge("planner", "b")
        .add_edge(["a", "b"], "judge")
        .build()
    )


def test_call_returns_the_answer():
    assert deploy(spec())(QUESTION) == "16"


def test_invoke_returns_answer_and_trace():
    result = deploy(spec()).invoke(QUESTION)
    assert isinstance(result, RunResult)
    assert result.answer == "16"
    assert result.nodes[0].agent == "planner"
    assert {n.agent for n in result.nodes} == {"planner", "a", "b", "judge"}
    solver = result.by_agent()["a"][0]
    assert solver.inputs["plan"]  # the solver saw the plan
    assert "## Plan" in solver.prompt[-1]["content"]
    assert solver.output["answer"] == solver.answer
    assert solver.usage.total_tokens > 0 and solver.cost > 0 and solver.latency_s >= 0
    assert result.workflow == spec().hash


def test_dict_input_and_seed_override():
    wf = deploy(spec())
    assert wf.invoke({"question": QUESTION}, seed=4).seed == 4


async def test_ainvoke_and_acall():
    wf = deploy(spec())
    assert (await wf.ainvoke(QUESTION)).answer == "16"
    assert await wf.acall(QUESTION) == "16"


def test_batch_and_abatch_keep_order():
    wf = deploy(spec())
    questions = [QUESTION, "What is 6 * 7?", "What is (2 + 3) * 4?"]
    assert [r.answer for r in wf.batch(questions)] == ["16", "42", "20"]


async def test_abatch():
    wf = deploy(spec())
    results = await wf.abatch([QUESTION, "What is 6 * 7?"])
    assert [r.answer for r in results] == ["16", "42"]


def test_stream_yields_each_agent_then_the_result():
    items = list(deploy(spec()).stream(QUESTION))
    assert all(isinstance(item, NodeTrace) for item in items[:-1])
    assert items[0].agent == "planner"
    assert items[-2].agent == "judge"
    assert isinstance(items[-1], RunResult) and items[-1].answer == "16"


async def test_astream():
    items = [item async for item in deploy(spec()).astream(QUESTION)]
    assert len(items) == 5 and items[-1].answer == "16"


def test_is_a_runnable_backed_by_a_compiled_langgraph_graph():
    wf = deploy(spec())
    assert isinstance(wf, Runnable)
    assert isinstance(wf.graph, CompiledStateGraph)
    nodes = set(wf.get_graph().nodes)
    assert {"planner", "a", "b", "judge"} <= nodes
    mermaid = wf.draw_mermaid()
    assert "planner" in mermaid and "judge" in mermaid


def test_runnable_composition():
    from langchain_core.runnables import RunnableLambda

    chain = deploy(spec()) | RunnableLambda(lambda result: result.answer)
    assert chain.invoke(QUESTION) == "16"


def test_callbacks_reach_every_model_call():
    class Counter(BaseCallbackHandler):
        def __init__(self):
            self.starts = []

        def on_chat_model_start(self, serialized, messages, **kwargs):
            self.starts.append(kwargs.get("metadata", {}).get("rolegraph_agent"))

    counter = Counter()
    deploy(spec()).invoke(QUESTION, config={"callbacks": [counter]})
    assert sorted(counter.starts) == ["a", "b", "judge", "planner"]


def test_export_module_runs_standalone(tmp_path):
    path = deploy(spec()).export(tmp_path / "flow.py")
    text = path.read_text()
    assert "graph = workflow.graph" in text
    done = subprocess.run(
        [sys.executable, str(path), QUESTION],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert done.stdout.strip() == "16"


def test_export_json_and_deploy_from_path(tmp_path):
    path = deploy(spec()).export(tmp_path / "flow.json")
    assert deploy(path)(QUESTION) == "16"
    assert deploy(str(path)).hash == spec().hash


def test_checkpointer_is_passed_through():
    from langgraph.checkpoint.memory import InMemorySaver

    wf = deploy(spec(), checkpointer=InMemorySaver())
    result = wf.invoke(QUESTION, config={"configurable": {"thread_id": "t1"}})
    assert result.answer == "16"
    assert wf.graph.get_state({"configurable": {"thread_id": "t1"}}).values["question"] == QUESTION


@pytest.mark.filterwarnings("ignore:no price for model")
def test_a_saved_spec_deploys_with_the_instances_given_for_its_references(tmp_path):
    # A reference that names an unregistered instance is known through models= itself.
    from orchestrator import SimChatModel, Workflow, deploy

    ref = "sim-given:atlas-mini@0123456789ab"
    spec = Workflow("given").add_agent("s", role="solver", model="sim:atlas-mini").build()
    data = json.loads(spec.to_json())
    data["agents"][0]["model"] = ref
    path = tmp_path / "winner.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    workflow = deploy(path, models={ref: SimChatModel(model="atlas-mini")})
    assert workflow("What is 6 * 7?") == "42"
