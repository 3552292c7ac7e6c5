"""Deployed workflows behave like LangGraph graphs: schemas, threads, output, streams, nesting."""

import json
import operator
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated

import pytest
from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from orchestrator import Agent, NodeTrace, RunResult, Usage, Workflow, WorkflowSpec, deploy
from orchestrator.testing import ScriptedChatModel

QUESTION = "Ben has 20 coins. Ben gives 4 coins to a friend. How many coins does Ben have now?"
ROOT = Path(__file__).resolve().parents[2]
SOLVED = '{"answer": "42", "confidence": 0.9}'
PICKED = '{"choice": 2, "confidence": 0.8}'


def team() -> WorkflowSpec:
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


def refine(*, rounds: int = 2) -> WorkflowSpec:
    """A verifier that always rejects, so the fix -> check loop runs its full bound."""
    reject = ScriptedChatModel(replies=['{"verdict": "reject", "critique": "check step 2"}'])
    fixer = ScriptedChatModel(replies=['{"answer": "16", "confidence": 0.7}'])
    return (
        Workflow("refine")
        .add_agent("solver", role="solver", model="sim:atlas-mini")
        .add_agent("check", role="verifier", model=reject)
        .add_agent("fix", role="rectifier", model=fixer)
        .add_edge("solver", "check")
        .add_edge("check", "fix")
        .add_loop("fix", "check", max_rounds=rounds)
        .build()
    )


def retry_from_the_start() -> WorkflowSpec:
    """A loop back to the entry agent: fix -> solver, taken once per run."""
    reject = ScriptedChatModel(replies=['{"verdict": "reject", "critique": "check step 2"}'])
    fixer = ScriptedChatModel(replies=['{"answer": "16", "confidence": 0.7}'])
    return (
        Workflow("retry")
        .add_agent("solver", role="solver", model="sim:atlas-mini")
        .add_agent("check", role="verifier", model=reject)
        .add_agent("fix", role="rectifier", model=fixer)
        .add_edge("solver", "check")
        .add_edge("check", "fix")
        .add_loop("fix", "solver", max_rounds=1, when="always")
        .build()
    )


def scripted_team() -> tuple[WorkflowSpec, ScriptedChatModel]:
    """Two scripted solvers and a scripted judge, all of which stream word by word."""
    judge = ScriptedChatModel(replies=[PICKED])
    spec = WorkflowSpec(
        name="scripted",
        agents=[
            Agent(name="a", role="solver", model=ScriptedChatModel(replies=[SOLVED])),
            Agent(
                name="b",
                role="solver",
                model=ScriptedChatModel(replies=['{"answer": "41", "confidence": 0.4}']),
            ),
            Agent(name="judge", role="judge", model=judge),
        ],
        edges=[("a", "judge"), ("b", "judge")],
    )
    return spec, judge


def strict_serde() -> JsonPlusSerializer:
    """What LANGGRAPH_STRICT_MSGPACK=true gives: only LangGraph's safe types load."""
    return JsonPlusSerializer(allowed_msgpack_modules=None)


@pytest.fixture(params=["memory", "memory-strict", "sqlite-strict"])
def saver(request, tmp_path):
    if request.param == "memory":
        yield InMemorySaver()
        return
    if request.param == "memory-strict":
        yield InMemorySaver(serde=strict_serde())
        return
    with SqliteSaver.from_conn_string(str(tmp_path / "threads.db")) as sqlite:
        sqlite.serde = strict_serde()
        yield sqlite


def thread(name: str) -> dict:
    return {"configurable": {"thread_id": name}}


# --- state schema -------------------------------------------------------------------------


def test_input_and_output_json_schemas_describe_question_answer_and_trace():
    graph = deploy(team()).graph
    inp = graph.get_input_jsonschema()
    assert inp["required"] == ["question"]
    assert inp["properties"]["question"]["type"] == "string"
    assert set(inp["properties"]) == {"question"}

    out = graph.get_output_jsonschema()
    assert {"answer", "confidence", "usage", "cost", "trace"} <= set(out["properties"])
    assert "outputs" not in out["properties"]  # the agents' working state stays inside
    answer_types = {t["type"] for t in out["properties"]["answer"]["anyOf"]}
    assert answer_types == {"string", "null"}
    defs = out["$defs"]
    trace_item = out["properties"]["trace"]["items"]["$ref"].split("/")[-1]
    assert {"agent", "role", "model", "cost", "usage", "latency_s"} <= set(
        defs[trace_item]["properties"]
    )
    usage = out["properties"]["usage"]["$ref"].split("/")[-1]
    assert "total_tokens" in defs[usage]["properties"]


def test_state_schema_is_json_schema_too():
    from pydantic import TypeAdapter

    graph = deploy(team()).graph
    schema = TypeAdapter(graph.builder.state_schema).json_schema()
    assert {"question", "messages", "answer", "trace", "outputs"} <= set(schema["properties"])


def test_trace_record_type_matches_node_trace():
    from orchestrator.trace import NodeTraceRecord, UsageRecord

    assert set(NodeTraceRecord.__annotations__) == set(NodeTrace.model_fields)
    assert set(UsageRecord.__annotations__) == set(Usage.model_fields)


# --- output shape -------------------------------------------------------------------------


def test_the_langgraph_api_returns_answer_cost_and_trace():
    wf = deploy(team())
    out = wf.graph.invoke({"question": QUESTION})
    assert out["answer"] == "16"
    assert 0 < out["confidence"] <= 1
    assert out["trace"][0]["agent"] == "planner"
    assert {n["agent"] for n in out["trace"]} == {"planner", "a", "b", "judge"}
    assert out["cost"] == pytest.approx(sum(n["cost"] for n in out["trace"])) and out["cost"] > 0
    assert out["usage"]["total_tokens"] == sum(n["usage"]["total_tokens"] for n in out["trace"])
    assert "outputs" not in out
    # The output is JSON, and it is what the output schema says.
    from pydantic import TypeAdapter

    from orchestrator.runtime import WorkflowOutput

    again = TypeAdapter(WorkflowOutput).validate_python(json.loads(json.dumps(out)))
    assert again["trace"][-1]["agent"] == "judge"
    # The same run through the Runnable face costs and answers the same.
    result = wf.invoke(QUESTION)
    assert result.answer == out["answer"] and result.cost == pytest.approx(out["cost"])
    read = RunResult.from_state(out, question=QUESTION)
    assert read.answer == "16" and read.cost == pytest.approx(out["cost"])
    assert [NodeTrace.model_validate(n).agent for n in out["trace"]] == [
        n.agent for n in read.nodes
    ]


async def test_the_async_langgraph_api_returns_the_answer():
    out = await deploy(team()).graph.ainvoke({"question": QUESTION})
    assert out["answer"] == "16" and len(out["trace"]) == 4


# --- checkpointers and reused threads -----------------------------------------------------


def test_each_run_on_a_reused_thread_has_its_own_trace_and_cost(saver):
    fresh = deploy(team()).invoke(QUESTION)
    wf = deploy(team(), checkpointer=saver)
    questions = [QUESTION, "What is 6 * 7?", QUESTION]
    results = [wf.invoke(q, config=thread("t1")) for q in questions]
    assert [r.answer for r in results] == ["16", "42", "16"]
    assert [len(r.nodes) for r in results] == [4, 4, 4]
    assert results[0].cost == pytest.approx(fresh.cost)
    assert results[2].cost == pytest.approx(fresh.cost)  # not the sum of the thread's runs
    assert results[2].calls == fresh.calls
    # The thread keeps the conversation: a question and an answer per run, in order.
    state = wf.graph.get_state(thread("t1")).values
    messages = state["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage] * 3
    assert [m.content for m in messages] == [
        QUESTION,
        "16",
        "What is 6 * 7?",
        "42",
        QUESTION,
        "16",
    ]
    assert len(state["trace"]) == 4 and state["answer"] == "16"


def test_loops_run_in_full_on_every_run_of_a_thread(saver):
    wf = deploy(refine(rounds=2), checkpointer=saver)
    for _ in range(3):
        result = wf.invoke(QUESTION, config=thread("loops"))
        fixes = result.by_agent()["fix"]
        assert [n.loop_to for n in fixes] == ["check", "check", None]
        assert [n.round for n in fixes] == [1, 2, 3]
        assert len(result.nodes) == 7


def test_a_loop_back_to_the_entry_agent_is_told_from_a_new_run(saver):
    wf = deploy(retry_from_the_start(), checkpointer=saver)
    for _ in range(2):
        result = wf.invoke(QUESTION, config=thread("entry-loop"))
        assert [n.agent for n in result.nodes] == ["solver", "check", "fix"] * 2
        solver = result.by_agent()["solver"]
        assert [n.round for n in solver] == [1, 2]
        # The second round saw this run's fix; the first saw nothing of the thread's last run.
        assert solver[1].inputs["candidate"]["agent"] == "fix"
        assert "candidate" not in solver[0].inputs
        assert len({n.run for n in result.nodes}) == 1


def test_a_self_loop_on_the_only_agent_restarts_on_each_run(saver):
    spec = (
        Workflow("rounds")
        .add_agent("s", role="solver", model="sim:atlas-mini")
        .add_loop("s", "s", max_rounds=2, when="always")
        .build()
    )
    wf = deploy(spec, checkpointer=saver)
    for _ in range(2):
        result = wf.invoke("What is 6 * 7?", config=thread("self"))
        assert [(n.round, n.loop_to) for n in result.nodes] == [(1, "s"), (2, "s"), (3, None)]


def test_a_paused_run_shows_its_own_progress_and_resumes(saver):
    graph = deploy(team(), checkpointer=saver).graph
    graph.invoke({"question": QUESTION}, thread("pause"))
    graph.invoke({"question": "What is 6 * 7?"}, thread("pause"), interrupt_before=["judge"])
    paused = graph.get_state(thread("pause"))
    assert paused.next == ("judge",)
    assert [n["agent"] for n in paused.values["trace"]] == ["planner", "a", "b"]
    assert paused.values["answer"] is None  # not the thread's last answer, "16"
    done = graph.invoke(None, thread("pause"))
    assert done["answer"] == "42" and len(done["trace"]) == 4


def test_the_raw_graph_on_a_thread_returns_only_the_latest_run(saver):
    graph = deploy(team(), checkpointer=saver).graph
    first = graph.invoke({"question": QUESTION}, thread("raw"))
    second = graph.invoke({"question": "What is 6 * 7?"}, thread("raw"))
    assert second["answer"] == "42" and len(second["trace"]) == 4
    assert second["cost"] == pytest.approx(sum(n["cost"] for n in second["trace"]))
    assert min(n["run"] for n in second["trace"]) > max(n["run"] for n in first["trace"])


async def test_async_runs_on_a_sqlite_thread_in_strict_mode(tmp_path):
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "a.db")) as sqlite:
        sqlite.serde = strict_serde()
        wf = deploy(refine(rounds=1), checkpointer=sqlite)
        first = await wf.ainvoke(QUESTION, config=thread("a"))
        second = await wf.ainvoke(QUESTION, config=thread("a"))
        assert len(first.nodes) == len(second.nodes) == 5
        assert second.cost == pytest.approx(first.cost)
        state = (await wf.graph.aget_state(thread("a"))).values
        assert len(state["messages"]) == 4


def test_checkpoints_hold_no_unregistered_types():
    # LangGraph's serde events, unlike its log warnings, are not deduplicated per process.
    from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

    events: list[dict] = []
    unregister = register_serde_event_listener(events.append)
    try:
        wf = deploy(refine(rounds=1), checkpointer=InMemorySaver())
        for _ in range(2):
            wf.invoke(QUESTION, config=thread("warn"))
        list(wf.graph.get_state_history(thread("warn")))
    finally:
        unregister()
    assert [(e["module"], e["name"]) for e in events] == []


@pytest.mark.slow
def test_strict_msgpack_environment(tmp_path):
    script = tmp_path / "strict.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from langgraph.checkpoint.memory import InMemorySaver
            from langgraph.checkpoint.sqlite import SqliteSaver
            from orchestrator import Workflow, deploy

            spec = (
                Workflow("refine")
                .add_agent("solver", role="solver", model="sim:atlas-mini")
                .add_agent("check", role="verifier", model="sim:atlas-mini")
                .add_agent("fix", role="rectifier", model="sim:atlas-mini")
                .add_edge("solver", "check")
                .add_edge("check", "fix")
                .add_loop("fix", "check", max_rounds=2)
                .build()
            )
            config = {{"configurable": {{"thread_id": "t"}}}}
            with SqliteSaver.from_conn_string({str(tmp_path / "s.db")!r}) as sqlite:
                for saver in (InMemorySaver(), sqlite):
                    wf = deploy(spec, checkpointer=saver)
                    sizes = [len(wf.invoke({QUESTION!r}, config=config).nodes) for _ in range(3)]
                    assert len(set(sizes)) == 1, sizes
                    assert len(wf.graph.get_state(config).values["messages"]) == 6
            print("ok")
            """
        )
    )
    env = {**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
    assert "Blocked deserialization" not in done.stderr


# --- token streaming ----------------------------------------------------------------------


def test_stream_messages_yields_the_exit_agents_tokens_then_the_result():
    spec, judge = scripted_team()
    items = list(deploy(spec).stream("What is 6 * 7?", stream_mode="messages"))
    *chunks, result = items
    assert isinstance(result, RunResult) and result.answer == "41"  # the judge picked b
    assert len(chunks) == 4 and all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(c.content for c in chunks) == PICKED  # the judge's reply, token by token
    assert judge.calls == 1
    # Streaming changes nothing in the accounting.
    assert result.usage == deploy(scripted_team()[0]).invoke("What is 6 * 7?").usage


async def test_astream_messages():
    spec, _ = scripted_team()
    items = [i async for i in deploy(spec).astream("What is 6 * 7?", stream_mode="messages")]
    assert "".join(i.content for i in items[:-1]) == PICKED
    assert items[-1].answer == "41"


def test_raw_messages_stream_is_tagged_by_node_and_answer():
    from orchestrator.runtime import ANSWER_TAG

    spec, _ = scripted_team()
    graph = deploy(spec).graph
    parts = list(graph.stream({"question": "What is 6 * 7?"}, stream_mode="messages"))
    tokens = [(m, meta) for m, meta in parts if isinstance(m, AIMessageChunk)]
    by_node: dict[str, str] = {}
    for message, meta in tokens:
        by_node[meta["langgraph_node"]] = by_node.get(meta["langgraph_node"], "") + message.content
        assert meta["rolegraph_agent"] == meta["langgraph_node"]
        assert (ANSWER_TAG in (meta.get("tags") or ())) == (meta["langgraph_node"] == "judge")
    assert by_node == {"a": SOLVED, "b": '{"answer": "41", "confidence": 0.4}', "judge": PICKED}
    # The run's turn of the conversation is streamed as messages too, as LangGraph does.
    final = [m for m, _ in parts if isinstance(m, AIMessage) and not isinstance(m, AIMessageChunk)]
    assert [m.content for m in final] == ["41"]


def test_stream_messages_from_a_model_that_does_not_stream():
    *messages, result = deploy(team()).stream(QUESTION, stream_mode="messages")
    assert len(messages) == 1  # the judge's whole reply, as one message
    assert result.answer == "16"


def test_default_stream_still_yields_node_traces():
    *nodes, result = deploy(team()).stream(QUESTION)
    assert nodes[0].agent == "planner" and len(nodes) == 4
    assert all(isinstance(n, NodeTrace) for n in nodes) and result.answer == "16"


def test_unknown_stream_mode_is_refused():
    with pytest.raises(ValueError, match="stream_mode"):
        list(deploy(team()).stream(QUESTION, stream_mode="tokens"))


# --- composition --------------------------------------------------------------------------


class Outer(TypedDict, total=False):
    question: str
    answer: str | None
    cost: Annotated[float, operator.add]
    trace: list[dict]
    report: str


def _report(state: Outer) -> dict:
    return {"report": f"{state['answer']} (${state['cost']:.6f})"}


def outer_graph(inner, *, checkpointer=None):
    builder = StateGraph(Outer)
    builder.add_node("team", inner)
    builder.add_node("report", _report)
    builder.add_edge(START, "team")
    builder.add_edge("team", "report")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=checkpointer)


def test_a_deployed_graph_as_a_subgraph_reports_answer_and_cost():
    wf = deploy(team())
    expected = wf.invoke(QUESTION)
    out = outer_graph(wf.graph).invoke({"question": QUESTION})
    assert out["answer"] == "16"
    assert out["cost"] == pytest.approx(expected.cost) and out["cost"] > 0
    assert {n["agent"] for n in out["trace"]} == {"planner", "a", "b", "judge"}
    assert out["report"] == f"16 (${expected.cost:.6f})"


def test_a_subgraph_on_a_checkpointed_thread_in_strict_mode():
    wf = deploy(team())
    once = wf.invoke(QUESTION).cost
    outer = outer_graph(wf.graph, checkpointer=InMemorySaver(serde=strict_serde()))
    outer.invoke({"question": QUESTION}, thread("outer"))
    out = outer.invoke({"question": "What is 6 * 7?"}, thread("outer"))
    assert out["answer"] == "42" and len(out["trace"]) == 4
    assert out["cost"] > once  # the outer graph adds up both runs, as its reducer says


def test_a_deployed_workflow_as_a_node_writes_its_result_fields():
    wf = deploy(team())
    out = outer_graph(wf).invoke({"question": QUESTION})
    assert out["answer"] == "16"
    assert out["cost"] == pytest.approx(wf.invoke(QUESTION).cost)


def test_inner_model_calls_reach_the_outer_callbacks():
    wf = deploy(team())
    inner = wf.invoke(QUESTION)
    with get_usage_metadata_callback() as usage:
        outer_graph(wf.graph).invoke({"question": QUESTION})
    assert sum(u["total_tokens"] for u in usage.usage_metadata.values()) == (
        inner.usage.total_tokens
    )


def test_inner_answer_tokens_stream_through_the_outer_graph():
    from orchestrator.runtime import ANSWER_TAG

    spec, _ = scripted_team()
    outer = outer_graph(deploy(spec).graph)
    parts = list(
        outer.stream({"question": "What is 6 * 7?"}, stream_mode="messages", subgraphs=True)
    )
    answer = "".join(
        m.content
        for _, (m, meta) in parts
        if isinstance(m, AIMessageChunk) and ANSWER_TAG in (meta.get("tags") or ())
    )
    assert answer == PICKED
