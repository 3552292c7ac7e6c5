"""Evaluate bundled tasks into a store; the multi-process tests run this as a subprocess.

Usage: python tests/search/evaluation/_worker.py DB --n 40 --models atlas-mini,lynx-small --go FILE
Prints READY once set up, waits for the --go file to exist, then prints each
finished task id and a final DONE line with start and end times.
"""

import argparse
import time
from pathlib import Path

from orchestrator import SimChatModel, Workflow
from search.evaluation import Evaluator, bundled_dataset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--models", default="atlas-mini")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--go", default=None)
    args = parser.parse_args()

    names = args.models.split(",")
    models = {
        f"sim:{name}": SimChatModel(model=name, latency_scale=args.latency) for name in names
    }
    ev = Evaluator(
        bundled_dataset(n=args.n, seed=11),
        "numeric",
        store=args.db,
        max_concurrency=args.concurrency,
        models=models,
    )
    specs = [
        Workflow(f"single-{name}").add_agent("solver", role="solver", model=f"sim:{name}").build()
        for name in names
    ]
    print("READY", flush=True)
    if args.go:
        while not Path(args.go).exists():
            time.sleep(0.01)
    started = time.time()
    for spec in specs:
        for record in ev.stream(spec):
            print("EVAL", spec.hash, record.task_id, flush=True)
    print("DONE", started, time.time(), flush=True)


if __name__ == "__main__":
    main()
