"""Orchestration overhead of rolegraph over hand-written LangGraph, and branch overlap.

Both sides run the same workflow shapes on the same zero-latency chat model:
every node renders a prompt, calls the model, parses its JSON reply and writes
to the graph state. rolegraph additionally validates inputs, records a full
trace (tokens, cost, latency) and handles loops, joins and budgets. The
difference in wall time, divided by the number of agent runs, is the overhead
per node. Both sides are timed in one process, interleaved, best of several
repeats, so the ratio is robust to machine speed.

Then 8 parallel agents that each wait 100 ms are run through rolegraph; the
wall time divided by 100 ms shows whether the branches overlap (ideal 1.0).

Run: ``python benchmarks/overhead.py``. The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import operator
import statistics
import time
from typing import Annotated, Any, TypedDict

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph

from orchestrator import Agent, WorkflowSpec, deploy
from orchestrator.testing import ScriptedChatModel, SlowChatModel

QUESTION = "Ava has 12 apples. Ava buys 5 more apples. How many apples does Ava have now?"
REPLY = '{"answer": "17", "confidence": 0.9}'


# --- the same shapes, hand-written in raw LangGraph ---------------------------------------


class RawState(TypedDict, total=False):
    question: str
    answers: Annotated[dict[str, str], lambda a, b: {**a, **b}]
    log: Annotated[list[str], operator.add]


def _raw_node(name: str, model: Any, preds: list[str]) -> Any:
    async def node(state: RawState) -> dict[str, Any]:
        peers = "\n".join(f"- {p}: {state['answers'][p]}" for p in preds)
        messages = [
            SystemMessage("You are a careful problem solver."),
            HumanMessage(f"Task: solve the question.\n## Question\n{state['question']}\n{peers}"),
        ]
        reply = await model.ainvoke(messages)
        answer = json.loads(reply.content)["answer"]
        return {"answers": {name: answer}, "log": [name]}

    return node


def raw_chain(model: Any, n: int) -> Any:
    graph = StateGraph(RawState)
    names = [f"s{i}" for i in range(n)]
    for i, name in enumerate(names):
        graph.add_node(name, _raw_node(name, model, names[i - 1 : i] if i else []))
    graph.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)
    return graph.compile()


def raw_fan_out(model: Any, n: int) -> Any:
    graph = StateGraph(RawState)
    names = [f"s{i}" for i in range(n)]
    for name in names:
        graph.add_node(name, _raw_node(name, model, []))
        graph.add_edge(START, name)

    async def vote(state: RawState) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for name in names:
            counts[state["answers"][name]] = counts.get(state["answers"][name], 0) + 1
        return {"answers": {"vote": max(counts, key=counts.__getitem__)}, "log": ["vote"]}

    graph.add_node("vote", vote)
    graph.add_edge(names, "vote")
    graph.add_edge("vote", END)
    return graph.compile()


# --- the same shapes in rolegraph ---------------------------------------------------------


def rolegraph_chain(model: Any, n: int) -> WorkflowSpec:
    agents = [Agent(name=f"s{i}", role="solver", model=model) for i in range(n)]
    return WorkflowSpec(agents=agents, edges=[(f"s{i}", f"s{i + 1}") for i in range(n - 1)])


def rolegraph_fan_out(model: Any, n: int) -> WorkflowSpec:
    agents = [Agent(name=f"s{i}", role="solver", model=model) for i in range(n)]
    return WorkflowSpec(
        agents=[*agents, Agent(name="vote", role="vote")],
        edges=[(f"s{i}", "vote") for i in range(n)],
    )


async def _time(run: Any, runs: int) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        await run()
    return (time.perf_counter() - start) / runs


async def measure_overhead(runs: int, repeats: int) -> list[dict[str, Any]]:
    model = ScriptedChatModel(replies=[REPLY])
    rows = []
    for shape, n, nodes, raw_build, rg_build in [
        ("chain", 8, 8, raw_chain, rolegraph_chain),
        ("fan-out + vote", 8, 9, raw_fan_out, rolegraph_fan_out),
    ]:
        raw = raw_build(model, n)
        wf = deploy(rg_build(model, n), record_prompts=False)

        async def run_raw(raw: Any = raw) -> None:
            await raw.ainvoke({"question": QUESTION, "answers": {}, "log": []})

        async def run_rolegraph(wf: Any = wf) -> None:
            await wf.ainvoke(QUESTION)

        await run_raw()
        await run_rolegraph()  # warm-up: imports, caches
        raw_times, rg_times = [], []
        for _ in range(repeats):  # interleaved so both see the same machine state
            raw_times.append(await _time(run_raw, runs))
            rg_times.append(await _time(run_rolegraph, runs))
        raw_s, rg_s = min(raw_times), min(rg_times)
        rows.append(
            {
                "shape": shape,
                "nodes": nodes,
                "raw_ms": raw_s * 1e3,
                "rolegraph_ms": rg_s * 1e3,
                "overhead_ms_per_node": (rg_s - raw_s) * 1e3 / nodes,
            }
        )
    return rows


async def measure_parallel(delay: float, repeats: int) -> float:
    model = SlowChatModel(delay=delay, reply=REPLY)
    wf = deploy(rolegraph_fan_out(model, 8), record_prompts=False)
    await wf.ainvoke(QUESTION)
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        await wf.ainvoke(QUESTION)
        walls.append(time.perf_counter() - start)
    assert model.peak_in_flight == 8, "branches did not overlap"
    return statistics.median(walls) / delay


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per timing")
    parser.add_argument("--repeats", type=int, default=5, help="timings per side (best kept)")
    args = parser.parse_args()

    rows = await measure_overhead(args.runs, args.repeats)
    print(
        f"{'shape':<16}{'nodes':>6}{'raw LangGraph ms':>18}{'rolegraph ms':>14}"
        f"{'overhead ms/node':>18}"
    )
    for row in rows:
        print(
            f"{row['shape']:<16}{row['nodes']:>6}{row['raw_ms']:>18.3f}"
            f"{row['rolegraph_ms']:>14.3f}{row['overhead_ms_per_node']:>18.3f}"
        )
    overhead = max(row["overhead_ms_per_node"] for row in rows)
    ratio = await measure_parallel(0.1, args.repeats)
    print(f"8 parallel agents x 100 ms: wall / 100 ms = {ratio:.3f} (ideal 1.0, target < 1.5)")
    print(f"overhead per node (worst shape): {overhead:.3f} ms (target < 1 ms)")
    print(f"RESULT overhead_ms_per_node={overhead:.4f} parallel_ratio={ratio:.4f}")


if __name__ == "__main__":
    asyncio.run(main())
