"""Runs one search, for the tests of resuming, sharing budgets and killing.

Usage: python tests/search/_search_worker.py STORE NAME --calls FILE [--budget D]
       [--latency S] [--seed N] [--trials N]
Every model call appends a line to FILE; the result is printed as JSON at the end.
"""

import argparse
from pathlib import Path

from pydantic import Field

from orchestrator.sim import SimChatModel
from search import Budget, SearchSpace, create_search
from search.evaluation import bundled_dataset
from search.settings import SearchSettings

POOL = ["sim:atlas-nano", "sim:lynx-small", "sim:atlas-mini"]


class LoggedSim(SimChatModel):
    """A simulated model that appends a line to a file for every call it answers."""

    log: str = Field(default="", exclude=True)

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
        result = await super()._agenerate(messages, stop, run_manager, **kwargs)
        with open(self.log, "a") as out:
            out.write("1\n")
        return result


def make_search(
    store: str | Path,
    name: str,
    *,
    calls: Path,
    budget: float | None = None,
    latency: float = 0.0,
    seed: int = 0,
    n_trials: int = 14,
):
    """The search every test of this kind runs: small, simulated, and counted."""
    models = {ref: LoggedSim(model=ref[4:], latency_scale=latency, log=str(calls)) for ref in POOL}
    return create_search(
        space=SearchSpace(
            topologies=["single", "self_refine", "vote_ensemble"],
            pool=POOL,
            fixed={
                "single": {"temperature": 0.0},
                "self_refine": {"rounds": 1, "plan": False},
                "vote_ensemble": {"n": 3, "weighted": False},
            },
        ),
        dataset=bundled_dataset("arithmetic", n=40, seed=2),
        strategy="tpe",
        n_trials=n_trials,
        n_startup_trials=5,
        budget=Budget(dollars=budget) if budget else None,
        store=store,
        name=name,
        seed=seed,
        settings=SearchSettings(parallel=2, test_size=0.25),
        max_concurrency=4,
        models=models,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("name")
    parser.add_argument("--calls", required=True, type=Path)
    parser.add_argument("--budget", type=float)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=14)
    args = parser.parse_args()
    search = make_search(
        args.store,
        args.name,
        calls=args.calls,
        budget=args.budget,
        latency=args.latency,
        seed=args.seed,
        n_trials=args.trials,
    )
    print("READY", flush=True)
    result = search.run()
    fields = {"best", "spend", "spend_this_run", "stop_reason", "evaluations", "budget", "account"}
    print(result.model_dump_json(include=fields), flush=True)


if __name__ == "__main__":
    main()
