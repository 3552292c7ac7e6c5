"""Evaluation throughput: how close the evaluator gets to the ideal wall time.

Runs W workflows x T tasks (1,000 evaluations by default) through one
Evaluator at concurrency 64 on a simulated model that waits a fixed 100 ms per
call, into a fresh SQLite store. The ideal wall time is
``model calls x latency / concurrency``; the throughput fraction is ideal /
measured (median of several passes). A new Evaluator then runs the same
evaluations again and is served from the store: that pass gives cached lookups
per second. For scale, the same runs also go straight through
``deploy(spec).ainvoke`` with a semaphore (no store, cache, budget or metric):
what the harness is measured against is the framework's own ceiling on the
machine at hand.

    python benchmarks/throughput.py [--workflows 10] [--tasks 100] [--concurrency 64]

The simulated model's numbers describe the simulator, not any LLM. The last
line is ``RESULT throughput_fraction=<float> cache_lookups_per_s=<float>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from orchestrator import DeployedWorkflow, SimChatModel, Store, Workflow, WorkflowSpec, deploy
from orchestrator.sim import get_profile, register_profile
from search import Evaluator, bundled_dataset

PROFILE = "bench-fixed-latency"


def workflows(n: int) -> list[WorkflowSpec]:
    """N single-solver workflows that differ in temperature: N distinct hashes, one call each."""
    return [
        Workflow(f"solver-t{i}")
        .add_agent("solver", role="solver", model=f"sim:{PROFILE}", temperature=round(0.1 * i, 2))
        .build()
        for i in range(n)
    ]


def setup(latency: float) -> SimChatModel:
    register_profile(
        get_profile("atlas-mini").model_copy(
            update={"name": PROFILE, "latency_s": latency, "seconds_per_token": 0.0}
        ),
        replace=True,
    )
    return SimChatModel(model=PROFILE, latency_scale=1.0)  # really waits latency_s per call


async def evaluator_pass(
    args: argparse.Namespace, model: SimChatModel, db: Path
) -> tuple[float, int, int, int]:
    """One pass through a new Evaluator: (wall seconds, evaluated, cached, model calls)."""
    data = bundled_dataset("arithmetic", n=args.tasks, seed=0)
    ev = Evaluator(
        data,
        "numeric",
        store=db,
        max_concurrency=args.concurrency,
        models={f"sim:{PROFILE}": model},
    )
    started = time.perf_counter()
    summaries = await ev.aevaluate_many(workflows(args.workflows))
    wall = time.perf_counter() - started
    return (
        wall,
        sum(s.evaluated for s in summaries),
        sum(s.cached for s in summaries),
        sum(s.calls for s in summaries),
    )


async def raw_pass(args: argparse.Namespace, model: SimChatModel) -> float:
    """The same runs straight through deploy().ainvoke: no store, cache, budget or metric."""
    data = bundled_dataset("arithmetic", n=args.tasks, seed=0)
    deployed = [
        deploy(spec, models={f"sim:{PROFILE}": model}, record_prompts=False)
        for spec in workflows(args.workflows)
    ]
    limit = asyncio.Semaphore(args.concurrency)

    async def one(workflow: DeployedWorkflow, question: str) -> None:
        async with limit:
            await workflow.ainvoke(question)

    started = time.perf_counter()
    await asyncio.gather(*(one(w, task.question) for w in deployed for task in data))
    return time.perf_counter() - started


def llm_lookups_per_s(db: Path) -> float:
    with sqlite3.connect(db) as conn:
        entries = conn.execute("SELECT prompt, llm_string FROM llm_calls LIMIT 1000").fetchall()
    cache = Store(db).llm_cache()
    started = time.perf_counter()
    hits = sum(cache.lookup(prompt, llm) is not None for prompt, llm in entries)
    return hits / (time.perf_counter() - started)


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    model = setup(args.latency)
    fresh, cached, raw = [], [], []
    evaluations = calls = served = 0
    for i in range(args.repeats):
        db = tmp / f"throughput-{i}.db"
        wall, evaluations, _, calls = asyncio.run(evaluator_pass(args, model, db))
        fresh.append(wall)
        # A new evaluator on the same store: everything is served from the store.
        wall, evaluated, served, again = asyncio.run(evaluator_pass(args, model, db))
        assert evaluated == 0 and again == 0, "the cached pass ran evaluations"
        cached.append(wall)
        raw.append(asyncio.run(raw_pass(args, model)))
    ideal = calls * args.latency / args.concurrency
    return {
        "evaluations": evaluations,
        "calls": calls,
        "ideal": ideal,
        "wall": statistics.median(fresh),
        "wall_min": min(fresh),
        "wall_max": max(fresh),
        "fraction": ideal / statistics.median(fresh),
        "raw_wall": statistics.median(raw),
        "raw_fraction": ideal / statistics.median(raw),
        "served": served,
        "cached_wall": statistics.median(cached),
        "lookups_per_s": served / statistics.median(cached),
        "llm_lookups_per_s": llm_lookups_per_s(tmp / "throughput-0.db"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workflows", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per model call")
    parser.add_argument("--repeats", type=int, default=3, help="passes; medians are reported")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        r = measure(args, Path(tmp))

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(
        f"{args.workflows} workflows x {args.tasks} tasks, concurrency {args.concurrency}, "
        f"{args.latency * 1000:.0f} ms per simulated call, fresh SQLite store per pass, "
        f"median of {args.repeats} passes"
    )
    rows = [
        ("evaluations per pass", f"{r['evaluations']:.0f}"),
        ("model calls per pass", f"{r['calls']:.0f}"),
        ("ideal wall time (calls x latency / concurrency)", f"{r['ideal']:.3f} s"),
        ("Evaluator wall time (median)", f"{r['wall']:.3f} s"),
        ("Evaluator wall time (best .. worst)", f"{r['wall_min']:.2f} .. {r['wall_max']:.2f} s"),
        ("Evaluator throughput fraction (ideal / measured)", f"{r['fraction']:.3f}"),
        ("raw deploy().ainvoke, same runs: wall (median)", f"{r['raw_wall']:.3f} s"),
        ("raw deploy().ainvoke: throughput fraction", f"{r['raw_fraction']:.3f}"),
        ("Evaluator / raw throughput", f"{r['raw_wall'] / r['wall']:.3f}"),
        ("cached pass: evaluations served from the store", f"{r['served']:.0f}"),
        ("cached pass: wall time (median)", f"{r['cached_wall']:.3f} s"),
        ("cached evaluation lookups per second", f"{r['lookups_per_s']:.0f}"),
        ("LLM-call cache lookups per second", f"{r['llm_lookups_per_s']:.0f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>14}")
    print(
        f"RESULT throughput_fraction={r['fraction']:.4f} "
        f"cache_lookups_per_s={r['lookups_per_s']:.1f}"
    )


if __name__ == "__main__":
    main()
