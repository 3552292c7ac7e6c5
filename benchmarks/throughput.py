"""Evaluation throughput: how close the evaluator gets to the ideal wall time, and to DSPy.

Runs W workflows x T tasks (1,000 evaluations by default) through one
Evaluator at concurrency 64 on a simulated model that waits a fixed 100 ms per
call, into a fresh SQLite store, at the evaluator's default settings with
prompts recorded in every stored trace. The ideal wall time is
``model calls x latency / concurrency``; the throughput fraction is ideal /
measured. A new Evaluator then runs the same evaluations again and is served
from the store: that pass gives cached lookups per second. For scale, the same
runs also go straight through ``deploy(spec).ainvoke`` with a semaphore (no
store, cache, budget or metric).

When ``dspy`` is installed (``pip install 'rolegraph[bench]'``), the same run
goes through DSPy's ``Evaluate`` in the same process, interleaved pass by pass
with rolegraph's so both see the same machine load:

- **rolegraph, per evaluation:** compute the store key, look the result up,
  hold the budget, render the solver role's prompt, call the model through the
  LLM-call cache (a miss: the simulated model waits 100 ms and answers by
  working out the arithmetic in the question), parse the reply, build the
  per-agent trace with its prompt, score it with the numeric metric, and
  commit the record and the model call to SQLite before it counts.
- **DSPy, per evaluation:** ``dspy.Predict("question -> answer")`` (one of ten,
  at temperatures 0.0 .. 0.9, like the ten workflows) formats the
  ChatAdapter prompt, calls a ``dspy.LM`` whose custom engine waits 100 ms and
  returns a fixed ``[[ ## answer ## ]]`` reply (DSPy's cache off, its history on
  as by default), parses it, and the same numeric metric scores it;
  ``Evaluate(num_threads=64)`` keeps the results in memory.

So DSPy does less per evaluation (no store, no cache, no budget, a reply it
does not have to compute); the comparison is conservative for rolegraph.

    python benchmarks/throughput.py [--workflows 10] [--tasks 100] [--concurrency 64]

The simulated model's numbers describe the simulator, not any LLM. The last
line is ``RESULT throughput_fraction=<x> cache_lookups_per_s=<x> vs_dspy=<x>``,
where ``vs_dspy`` is rolegraph's throughput over DSPy's (median wall times; it
is left out when DSPy is not installed).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from orchestrator import DeployedWorkflow, SimChatModel, Workflow, WorkflowSpec, deploy
from orchestrator.concurrency import AIMDSettings, ModelConcurrency
from orchestrator.sim import get_profile, register_profile
from orchestrator.testing import SlowChatModel
from search import Evaluator, bundled_dataset
from search.evaluation.metrics import get_metric
from search.store import Store

PROFILE = "bench-fixed-latency"
FIXED_REPLY = "[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]"


def workflows(n: int, models: Sequence[str | BaseChatModel] = ()) -> list[WorkflowSpec]:
    """N single-solver workflows that differ in temperature: N distinct hashes, one call each.

    Their models are ``models[i]``, by default the fixed-latency simulated profile.
    """
    return [
        Workflow(f"solver-t{i}")
        .add_agent(
            "solver",
            role="solver",
            model=models[i] if models else f"sim:{PROFILE}",
            temperature=round(0.1 * i, 2),
        )
        .build()
        for i in range(n)
    ]


def fixed_models(args: argparse.Namespace) -> list[BaseChatModel]:
    """One fixed-reply test model per workflow (distinct names: distinct cache entries)."""
    return [
        SlowChatModel(
            model_name=f"fixed-latency-{i}",
            delay=args.latency,
            reply='{"answer": "42", "confidence": 0.9}',
        )
        for i in range(args.workflows)
    ]


def setup(latency: float) -> SimChatModel:
    register_profile(
        get_profile("atlas-mini").model_copy(
            update={"name": PROFILE, "latency_s": latency, "seconds_per_token": 0.0}
        ),
        replace=True,
    )
    return SimChatModel(model=PROFILE, latency_scale=1.0)  # really waits latency_s per call


def timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of ``run()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


async def evaluator_pass(
    args: argparse.Namespace,
    model: BaseChatModel | list[BaseChatModel],
    db: Path,
    *,
    steady: bool = False,
) -> tuple[int, int, int]:
    """One pass through a new Evaluator: (evaluated, cached, model calls).

    ``model``: the simulated model, or the workflows' own model instances.
    ``steady``: each model's adaptive limit starts at the concurrency instead of
    ramping up from 2 in slow start (as an evaluator that has run a while has).
    """
    start = AIMDSettings(start=args.concurrency) if steady else None
    data = bundled_dataset("arithmetic", n=args.tasks, seed=0)
    ev = Evaluator(
        data,
        "numeric",
        store=db,
        max_concurrency=args.concurrency,
        record_prompts=True,
        models=None if isinstance(model, list) else {f"sim:{PROFILE}": model},
        concurrency=ModelConcurrency(args.concurrency, settings=start),
    )
    instances = model if isinstance(model, list) else []
    summaries = await ev.aevaluate_many(workflows(args.workflows, instances))
    return (
        sum(s.evaluated for s in summaries),
        sum(s.cached for s in summaries),
        sum(s.calls for s in summaries),
    )


async def raw_pass(args: argparse.Namespace, model: SimChatModel) -> None:
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

    await asyncio.gather(*(one(w, task.question) for w in deployed for task in data))


def dspy_setup(args: argparse.Namespace) -> Callable[[], float] | None:
    """DSPy's Evaluate on the same tasks, or ``None`` when dspy is not installed."""
    try:
        import dspy
        from dspy.lm15 import Message, Response, TextPart, Usage
    except ImportError:
        return None
    logging.getLogger("dspy").setLevel(logging.WARNING)

    class FixedLatencyEngine:
        """A DSPy engine (``complete(Request) -> Response``) that waits, then answers."""

        def complete(self, request: Any) -> Any:
            time.sleep(args.latency)
            return Response(
                id=None,
                model="fixed-latency",
                message=Message.assistant([TextPart(FIXED_REPLY)]),
                finish_reason="stop",
                usage=Usage(input_tokens=60, output_tokens=8, total_tokens=68),
            )

        def stream(self, request: Any) -> Any:
            raise NotImplementedError

        def close(self) -> None:
            pass

    class Variants(dspy.Module):
        """Ten predictors at ten temperatures, like the ten workflows."""

        def __init__(self, n: int) -> None:
            super().__init__()
            self.predictors = [
                dspy.Predict("question -> answer", temperature=round(0.1 * i, 2)) for i in range(n)
            ]

        def forward(self, question: str, variant: int) -> Any:
            return self.predictors[variant](question=question)

    dspy.configure(lm=dspy.LM("fixed/latency", engine=FixedLatencyEngine(), cache=False))
    data = bundled_dataset("arithmetic", n=args.tasks, seed=0)
    tasks = {task.id: task for task in data}
    metric = get_metric("numeric")
    devset = [
        dspy.Example(question=task.question, variant=v, task_id=task.id).with_inputs(
            "question", "variant"
        )
        for v in range(args.workflows)
        for task in data
    ]
    program = Variants(args.workflows)

    def score(example: Any, prediction: Any, trace: Any = None) -> float:
        return metric(prediction.answer, tasks[example.task_id])

    def run() -> float:
        evaluate = dspy.Evaluate(
            devset=devset, metric=score, num_threads=args.concurrency, display_progress=False
        )
        return float(evaluate(program).score)

    return run


def llm_lookups_per_s(db: Path) -> float:
    with sqlite3.connect(db) as conn:
        entries = conn.execute("SELECT prompt, llm_string FROM llm_calls LIMIT 1000").fetchall()
    cache = Store(db).llm_cache()
    started = time.perf_counter()
    hits = sum(cache.lookup(prompt, llm) is not None for prompt, llm in entries)
    return hits / (time.perf_counter() - started)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.2f} .. {max(values):.2f})"


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    model = setup(args.latency)
    dspy_run = None if args.no_dspy else dspy_setup(args)
    fixed_model = fixed_models(args)
    fresh, cached, raw, fixed, steady, peer = [], [], [], [], [], []
    cpu_fresh, cpu_fixed, cpu_peer = [], [], []
    evaluations = calls = served = 0
    loads = [os.getloadavg()[0]]
    for i in range(args.repeats):
        db = tmp / f"throughput-{i}.db"
        wall, cpu, (evaluations, _, calls) = timed(
            lambda db=db: asyncio.run(evaluator_pass(args, model, db))
        )
        fresh.append(wall)
        cpu_fresh.append(cpu)
        # A new evaluator on the same store: everything is served from the store.
        wall, _, (evaluated, served, again) = timed(
            lambda db=db: asyncio.run(evaluator_pass(args, model, db))
        )
        assert evaluated == 0 and again == 0, "the cached pass ran evaluations"
        cached.append(wall)
        wall, _, _ = timed(lambda: asyncio.run(raw_pass(args, model)))
        raw.append(wall)
        if dspy_run is not None:
            fixed_db = tmp / f"fixed-{i}.db"
            wall, cpu, _ = timed(
                lambda db=fixed_db: asyncio.run(evaluator_pass(args, fixed_model, db))
            )
            fixed.append(wall)
            cpu_fixed.append(cpu)
            steady_db = tmp / f"steady-{i}.db"
            wall, _, _ = timed(
                lambda db=steady_db: asyncio.run(
                    evaluator_pass(args, fixed_model, db, steady=True)
                )
            )
            steady.append(wall)
            wall, cpu, _ = timed(dspy_run)
            peer.append(wall)
            cpu_peer.append(cpu)
        loads.append(os.getloadavg()[0])
    ideal = calls * args.latency / args.concurrency
    n = args.workflows * args.tasks
    return {
        "evaluations": evaluations,
        "calls": calls,
        "ideal": ideal,
        "fresh": fresh,
        "fractions": [ideal / w for w in fresh],
        "fraction": ideal / statistics.median(fresh),
        "cpu_ms": [1000 * c / n for c in cpu_fresh],
        "raw": raw,
        "raw_fraction": ideal / statistics.median(raw),
        "served": served,
        "cached_wall": statistics.median(cached),
        "lookups_per_s": served / statistics.median(cached),
        "llm_lookups_per_s": llm_lookups_per_s(tmp / "throughput-0.db"),
        "peer": peer,
        "peer_fractions": [n * args.latency / args.concurrency / w for w in peer],
        "peer_cpu_ms": [1000 * c / n for c in cpu_peer],
        "fixed": fixed,
        "fixed_fractions": [n * args.latency / args.concurrency / w for w in fixed],
        "fixed_cpu_ms": [1000 * c / n for c in cpu_fixed],
        "vs_dspy": statistics.median(peer) / statistics.median(fixed) if peer else None,
        "steady": steady,
        "steady_fractions": [n * args.latency / args.concurrency / w for w in steady],
        "vs_dspy_steady": statistics.median(peer) / statistics.median(steady) if peer else None,
        "paired": [p / f for p, f in zip(peer, fixed, strict=False)],
        "vs_dspy_sim": statistics.median(peer) / statistics.median(fresh) if peer else None,
        "loads": loads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workflows", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per model call")
    parser.add_argument("--repeats", type=int, default=5, help="passes; medians are reported")
    parser.add_argument("--no-dspy", action="store_true", help="leave DSPy's row out")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        r = measure(args, Path(tmp))

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(
        f"{args.workflows} workflows x {args.tasks} tasks, concurrency {args.concurrency}, "
        f"{args.latency * 1000:.0f} ms per simulated call, fresh SQLite store per pass, "
        f"prompts recorded; median (best .. worst) of {args.repeats} interleaved passes"
    )
    print(f"1-minute load average during the run: {spread(r['loads'])}")
    rows = [
        ("evaluations per pass", f"{r['evaluations']:.0f}"),
        ("model calls per pass", f"{r['calls']:.0f}"),
        ("ideal wall time (calls x latency / concurrency)", f"{r['ideal']:.3f} s"),
        ("Evaluator wall time, s", spread(r["fresh"])),
        ("Evaluator throughput fraction (ideal / measured)", spread(r["fractions"])),
        ("Evaluator CPU per evaluation, ms", spread(r["cpu_ms"])),
        ("raw deploy().ainvoke, same runs: wall, s", spread(r["raw"])),
        ("raw deploy().ainvoke: throughput fraction", f"{r['raw_fraction']:.3f}"),
        ("cached pass: evaluations served from the store", f"{r['served']:.0f}"),
        ("cached pass: wall time (median)", f"{r['cached_wall']:.3f} s"),
        ("cached evaluation lookups per second", f"{r['lookups_per_s']:.0f}"),
        ("LLM-call cache lookups per second", f"{r['llm_lookups_per_s']:.0f}"),
    ]
    if r["peer"]:
        rows += [
            ("Evaluator, fixed-reply model: wall time, s", spread(r["fixed"])),
            ("Evaluator, fixed-reply model: throughput fraction", spread(r["fixed_fractions"])),
            ("Evaluator, fixed-reply model: CPU per evaluation, ms", spread(r["fixed_cpu_ms"])),
            ("the same, each limit starting at the concurrency: wall, s", spread(r["steady"])),
            (
                "the same, each limit starting at the concurrency: fraction",
                spread(r["steady_fractions"]),
            ),
            ("DSPy Evaluate wall time, s", spread(r["peer"])),
            ("DSPy Evaluate throughput fraction", spread(r["peer_fractions"])),
            ("DSPy CPU per evaluation, ms", spread(r["peer_cpu_ms"])),
            ("rolegraph / DSPy throughput, same model work (medians)", f"{r['vs_dspy']:.3f}"),
            ("rolegraph / DSPy throughput, pass by pass", spread(r["paired"])),
            ("rolegraph / DSPy, limits starting at the concurrency", f"{r['vs_dspy_steady']:.3f}"),
            ("rolegraph on the simulated model / DSPy (medians)", f"{r['vs_dspy_sim']:.3f}"),
        ]
    else:
        rows.append(("DSPy Evaluate", "not installed (pip install 'rolegraph[bench]')"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>24}")
    peer = ""
    if r["vs_dspy"] is not None:
        peer = f" vs_dspy={r['vs_dspy']:.4f} vs_dspy_steady={r['vs_dspy_steady']:.4f}"
    print(
        f"RESULT throughput_fraction={r['fraction']:.4f} "
        f"cache_lookups_per_s={r['lookups_per_s']:.1f}{peer}"
    )


if __name__ == "__main__":
    main()
