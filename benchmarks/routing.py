"""Routing benchmark: a router over a search's front against the best single workflow.

Simulated benchmark (``sim:`` models; every number describes the simulator, not any LLM).
Each problem is a small space and a task mix of mixed difficulty (the bundled arithmetic
generator's levels). By default: every problem of the search suite's generated set (seed 7)
whose tasks mix more than one level (seven; nobody tuned them for routing), and one
hand-made. For each problem:

1. A grid search on the search split (60% of the tasks) fills the store.
2. ``route()`` builds routers from the search split's records only: one with the search's
   objective (accuracy) and policy ``"auto"`` (the default router), the same with a
   verifier after the cheapest arm (so a cascade can escalate on its rejection), and each
   of those again per cost weight (``point_value``) to trace the router's accuracy-cost
   curve. The verifiers offered are, by one rule for every problem, the pool's models the
   cheapest arm does not use (a verifier of the same model shares its errors); the
   cascade's fit on the search split keeps one of them, or none.
3. Every router and every arm is judged on the held-out split (40%).

Reported per problem: the default router's held-out accuracy and cost against the best
single workflow (the search's pick), the oracle and random choice, with the paired
bootstrap interval of the accuracy difference; then, from the curve, the router's cost at
the best single's accuracy (``cost_ratio``: the cheapest router on the curve at least as
accurate, over the best single's cost) and its accuracy at the best single's cost (``gain``,
in points). The curve's points are judged on the held-out split, so reading the equal-
accuracy and equal-cost points off it picks among a few routers with hindsight.

    python benchmarks/routing.py [--tasks 100] [--problems gen-02 gen-07 mixed] [--no-verifier]

The last line is ``RESULT routed_cost_ratio_at_equal_accuracy=<median> accuracy_gain_at_
equal_cost=<median points> regret_vs_oracle=<median points> problems=<N>``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from search_suite import MENU, Problem, generated  # noqa: E402

from search import Objective, SearchResult, create_search  # noqa: E402
from search.evaluation import bundled_dataset  # noqa: E402
from search.routing import RoutingEvaluation, evaluate_routing, route  # noqa: E402
from search.store import get_store  # noqa: E402

POINT_VALUES = (None, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5)


def mixed_levels() -> list[str]:
    """The generated problems (seed 7) whose tasks mix levels, and the hand-made one."""
    return [p.name for p in generated(7, 12) if len(p.levels) > 1] + ["mixed"]


def verifiers(result: SearchResult, store: Path, pool: tuple[str, ...]) -> list[str]:
    """The pool's models the cheapest arm does not use (one of its own shares its errors)."""
    cheapest = min(result.front, key=lambda s: (s.cost_per_task, -s.mean))
    spec = get_store(store).get_workflow(cheapest.workflow)
    used = {a.model for a in spec.agents} if spec is not None else set()
    return [m for m in pool if m not in used]


def problems(names: list[str]) -> list[Problem]:
    """Generated problems with mixed levels and small spaces, and one hand-made."""
    mixed = Problem(
        name="mixed",
        description="nano, mini and a medium model; single or a vote of three",
        topologies=("single", "vote_ensemble"),
        pool=("sim:atlas-nano", "sim:atlas-mini", "sim:orca-medium"),
        fixed={t: MENU[t] for t in ("single", "vote_ensemble")},
        levels=("easy", "medium", "hard"),
        data_seed=21,
    )
    pool = {p.name: p for p in [*generated(7, 12), mixed]}
    return [pool[name] for name in names]


def run(problem: Problem, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    data = bundled_dataset(
        "arithmetic", n=args.tasks, seed=problem.data_seed, levels=problem.levels
    )
    store = folder / f"{problem.name}.db"
    search = create_search(
        space=problem.space,
        dataset=data,
        strategy="grid",
        store=store,
        name=problem.name,
        test_size=0.4,
    )
    result = search.run()
    checkers: list[str] = [] if args.no_verifier else verifiers(result, store, problem.pool)
    judged: dict[str, RoutingEvaluation] = {}
    points = []
    for checker in [None, checkers] if checkers else [None]:
        for value in POINT_VALUES:
            objective = Objective(point_value=value) if value is not None else None
            routed = route(
                result,
                tasks=data.tasks,
                store=store,
                objective=objective,
                verifier=checker,
                name=f"{problem.name}-{value}-{bool(checker)}",
            )
            held = evaluate_routing(routed, result, tasks=data.tasks, store=store)
            if value is None:
                judged["verified" if checker else "default"] = held
            r = held.contender("router")
            label = routed.policy.name + ("+v" if checker else "")
            points.append((r.score.mean, r.cost_per_task, label))
    default = judged["default"]
    best = default.contender("best single")
    at_accuracy = [c for a, c, _ in points if a >= best.score.mean - 1e-12]
    ratio = min(at_accuracy) / best.cost_per_task if at_accuracy else math.nan
    at_cost = [a for a, c, _ in points if c <= best.cost_per_task + 1e-15]
    gain = (max(at_cost) - best.score.mean) * 100 if at_cost else math.nan
    print(
        f"\n{problem.name}: {problem.description}; {default.n_tasks} held-out tasks "
        f"(simulated); verifiers {', '.join(checkers) or 'none'}"
    )
    for c in default.contenders:
        print(
            f"  {c.name:<12} {c.score.mean:6.3f} [{c.score.low:.3f}, {c.score.high:.3f}]  "
            f"${c.cost_per_task:.7f}/task"
        )
    worse = 0.0
    for kind, held in judged.items():
        d, r = held.score_vs_best, held.contender("router")
        beyond = d.high < 0
        worse = max(worse, float(beyond))
        print(
            f"  {kind} router ({held.policy}): {r.score.mean:.3f} at ${r.cost_per_task:.7f}; "
            f"minus best single {d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
            f"{'  WORSE beyond the interval' if beyond else ''}; regret "
            f"{held.regret_vs_oracle * 100:.1f} points; share "
            + ", ".join(f"{k[:40]}: {v:.0%}" for k, v in held.share.items())
        )
    print("  curve: " + ", ".join(f"{a:.3f}@${c:.7f}({p})" for a, c, p in points))
    hit = (not math.isnan(ratio) and ratio <= 0.7) or (not math.isnan(gain) and gain >= 2)
    print(
        f"  cost_ratio={ratio:.3f} gain={gain:+.1f} points "
        f"regret={default.regret_vs_oracle * 100:.1f} points; target {'met' if hit else 'NOT met'}"
    )
    return {
        "ratio": ratio,
        "gain": gain,
        "regret": default.regret_vs_oracle * 100,
        "worse": worse,
        "hit": float(hit),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--problems", nargs="+", default=mixed_levels())
    parser.add_argument(
        "--stores", help="keep the problems' stores in this folder (reruns reuse them)"
    )
    parser.add_argument("--no-verifier", action="store_true", help="no verified-cascade routers")
    args = parser.parse_args()
    started = time.perf_counter()
    print("Simulated models (sim:): the numbers describe the simulator, not any real LLM.")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.stores or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        rows = [run(p, args, folder) for p in problems(args.problems)]

    def median(key: str) -> float:
        values = [row[key] for row in rows if not math.isnan(row[key])]
        return statistics.median(values) if values else math.nan

    worse = int(sum(row["worse"] for row in rows))
    hits = int(sum(row["hit"] for row in rows))
    print(
        f"\nwall {time.perf_counter() - started:.0f}s; target (cost ratio <= 0.7 or +2 points) "
        f"met on {hits} of {len(rows)} problems; a router at the search's objective worse "
        f"than the best single beyond the interval on {worse} of {len(rows)}"
    )
    print(
        f"RESULT routed_cost_ratio_at_equal_accuracy={median('ratio'):.3f} "
        f"accuracy_gain_at_equal_cost={median('gain'):.2f} "
        f"regret_vs_oracle={median('regret'):.2f} problems={len(rows)}"
    )


if __name__ == "__main__":
    main()
