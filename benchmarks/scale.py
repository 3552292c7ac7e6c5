"""CPU-bound evaluations: the local executor against Ray at 1 and 2 workers.

Each evaluation is one call to a simulated model that first burns CPU (a pure
Python loop of ``--burn-ms`` milliseconds per call, standing in for a local
model or a code-execution metric), then answers as the simulator does. On
one process such work is bound by the GIL: concurrency does not help it.
Ray workers are separate processes, so two of them use two cores.

The same workflow runs on the same tasks with the same seed through the
local executor and through ``executor="ray"`` with ``ray_workers`` 1 and 2,
each with its own fresh store. Each evaluator first runs a warm-up pass (so the
Ray workers exist and have compiled; it is not timed), then ``--repeats``
timed passes with new seeds (new keys, the same work). ``ray_identical`` is 1
when every pass's records (task, seed, answer, score, cost) are the same
under all three.

    python benchmarks/scale.py [--tasks 60] [--burn-ms 25] [--repeats 3]

Needs ``pip install 'rolegraph[ray]'``. Results are on simulated models. The
last line is ``RESULT ray_identical=<0|1> ray_speedup_2_workers=<x>``: the
local executor's median wall time over Ray's at 2 workers.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from orchestrator import SimChatModel, Workflow, WorkflowSpec
from search import Evaluator, bundled_dataset
from search.store import EvalRecord


class BurningSimModel(SimChatModel):
    """A simulated model that spends ``burn_ms`` of CPU on each call before answering."""

    burn_ms: float = 25.0

    def _burn(self) -> None:
        deadline = time.thread_time() + self.burn_ms / 1000
        x = 0
        while time.thread_time() < deadline:
            for i in range(2_000):
                x = (x * 31 + i) % 1_000_003

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._burn()
        return await super()._agenerate(messages, stop, run_manager, **kwargs)


def workflow() -> WorkflowSpec:
    """A one-solver workflow."""
    return Workflow("cpu-bound").add_agent("solver", role="solver", model="sim:atlas-mini").build()


def essence(records: Sequence[EvalRecord]) -> list[tuple[Any, ...]]:
    return sorted((r.task_id, r.seed, r.answer, r.score, r.cost, r.failed) for r in records)


def evaluator(args: argparse.Namespace, tmp: Path, workers: int | None) -> Evaluator:
    """An evaluator on a fresh store: local (``workers=None``) or on that many Ray workers."""
    model = BurningSimModel(model="atlas-mini", latency_scale=0.0, burn_ms=args.burn_ms)
    options: dict[str, Any] = {}
    if workers is not None:
        options = {"executor": "ray", "ray_workers": workers}
    ev = Evaluator(
        bundled_dataset("arithmetic", n=args.tasks, seed=0),
        "numeric",
        store=tmp / f"workers-{workers}.db",
        models={"sim:atlas-mini": model},
        max_concurrency=args.concurrency,
        cache_calls=False,  # every pass makes its calls (and burns their CPU) again
        **options,
    )
    ev.evaluate(workflow(), seeds=[0])  # warm-up: workers started, workflow compiled
    return ev


class Timing(NamedTuple):
    wall: float
    driver_ms: float  # this process's CPU per evaluation
    records: list[tuple[Any, ...]]


def timed_pass(args: argparse.Namespace, ev: Evaluator, seed: int) -> Timing:
    started, cpu = time.perf_counter(), time.process_time()
    summary = ev.evaluate(workflow(), seeds=[seed])  # new keys, the same work
    wall = time.perf_counter() - started
    assert summary.evaluated == args.tasks and summary.stop_reason == "completed"
    return Timing(wall, 1000 * (time.process_time() - cpu) / args.tasks, essence(summary.records))


def paired(args: argparse.Namespace, tmp: Path, workers: int) -> tuple[list[Timing], list[Timing]]:
    """Local and Ray passes taken in turn (A B B A ...), so both see the same machine load."""
    local, remote = evaluator(args, tmp / "local", None), evaluator(args, tmp / "ray", workers)
    here: list[Timing] = []
    there: list[Timing] = []
    try:
        for seed in range(1, args.repeats + 1):
            order = [(local, here), (remote, there)]
            for ev, into in order if seed % 2 else order[::-1]:
                into.append(timed_pass(args, ev, seed))
    finally:
        remote.close()
    return here, there


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.2f} .. {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--burn-ms", type=float, default=25.0, help="CPU per model call")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; medians reported")
    args = parser.parse_args()

    import ray

    load = os.getloadavg()[0]
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    ray_start = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for sub in ("one/local", "one/ray", "two/local", "two/ray"):
                (Path(tmp) / sub).mkdir(parents=True)
            local_1, one = paired(args, Path(tmp) / "one", 1)
            local_2, two = paired(args, Path(tmp) / "two", 2)
    finally:
        ray.shutdown()

    by_seed: dict[int, list[list[tuple[Any, ...]]]] = {}
    for timing_list in (local_1, one, local_2, two):
        for seed, t in enumerate(timing_list, start=1):
            by_seed.setdefault(seed, []).append(t.records)
    identical = int(bool(by_seed) and all(len(set(map(str, r))) == 1 for r in by_seed.values()))
    ratio_1 = [a.wall / b.wall for a, b in zip(local_1, one, strict=True)]
    ratio_2 = [a.wall / b.wall for a, b in zip(local_2, two, strict=True)]
    speedup_2 = statistics.median(ratio_2)
    work = args.tasks * args.burn_ms / 1000
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {python}")
    print(
        f"{args.tasks} evaluations per pass, one simulated call each burning "
        f"{args.burn_ms:.0f} ms of CPU ({work:.2f} s of CPU per pass), "
        f"concurrency {args.concurrency}; median (best .. worst) of {args.repeats} passes, "
        f"local and Ray in turn; Ray started in {ray_start:.1f} s (not timed); "
        f"1-minute load average before: {load:.2f}, after: {os.getloadavg()[0]:.2f}; "
        "results on simulated models"
    )
    rows = [
        ("local executor wall time, s", spread([t.wall for t in [*local_1, *local_2]])),
        ("Ray, 1 worker: wall time, s", spread([t.wall for t in one])),
        ("Ray, 2 workers: wall time, s", spread([t.wall for t in two])),
        ("driver CPU per evaluation, ms: local", spread([t.driver_ms for t in local_2])),
        ("driver CPU per evaluation, ms: Ray, 2 workers", spread([t.driver_ms for t in two])),
        ("speedup over local, 1 worker (paired)", spread(ratio_1)),
        ("speedup over local, 2 workers (paired)", spread(ratio_2)),
        ("same records, seed by seed, under all three", "yes" if identical else "NO"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>22}")
    print(f"RESULT ray_identical={identical} ray_speedup_2_workers={speedup_2:.4f}")


if __name__ == "__main__":
    main()
