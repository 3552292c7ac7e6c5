"""Search efficiency: evaluations each strategy needs to get within one point of the optimum.

Simulated benchmark (the ``sim:`` models; its numbers describe the simulator,
not any LLM). For each setting (a pool of simulated models, a set of
topologies, a per-task cost ceiling and a task mix):

1. every candidate of the space is evaluated on every search task, once, into
   a benchmark store (``benchmarks/.cache/``). That exhaustive table gives each
   candidate's true accuracy and cost, and the true optimum: the most
   accurate candidate under the cost ceiling;
2. each strategy then searches the same space over the same tasks, several
   times with different seeds. Its evaluations are served from the store, so
   re-running costs nothing, but every workflow x task evaluation it asks for
   is counted, with the dollars that evaluation would cost. After each step
   the search's incumbent (its best candidate evaluated on every task) is
   looked up in the exhaustive table;
3. the effort to reach within 1 accuracy point of the optimum is the number of
   evaluations (and dollars) asked for when the incumbent first gets there;
   simple regret is the optimum's accuracy minus the incumbent's at fixed
   budgets.

Speed-up is median evaluations of random search (or plain TPE) over those of
the strategy, per setting; the summary takes the geometric mean over settings.

    python benchmarks/search_efficiency.py [--seeds 5] [--tasks 160] [--only random tpe mcts]

The last line is ``RESULT best_strategy=<name> speedup_vs_random=<float>
speedup_vs_tpe=<float>``.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import optuna

from search import Evaluator, bundled_dataset
from search.objective import Objective
from search.runner import Search, create_search
from search.settings import SearchSettings
from search.space import SearchSpace
from search.strategies import Outcome, SearchStrategy, get_strategy

CACHE = Path(__file__).resolve().parent / ".cache"
TARGET = 0.01  # "within 1 accuracy point"


@dataclass(frozen=True)
class Setting:
    """One benchmark problem: a space, an objective and a task mix."""

    name: str
    description: str
    space: SearchSpace
    objective: Objective
    levels: tuple[str, ...] = ("easy", "medium", "hard")
    data_seed: int = 11


def settings() -> list[Setting]:
    """The problems; each space is small enough to evaluate exhaustively."""
    return [
        Setting(
            name="cheap-teams",
            description="four cheap-to-mid models from three families; voting and judged "
            "ensembles; $0.0006 per task ceiling",
            space=SearchSpace(
                topologies=["single", "vote_ensemble", "best_of_n"],
                pool=["sim:atlas-nano", "sim:lynx-small", "sim:orca-small", "sim:atlas-mini"],
                fixed={"single": {"temperature": 0.0}, "best_of_n": {"n": 3}},
            ),
            objective=Objective(max_cost_per_task=0.0006),
        ),
        Setting(
            name="refine-or-vote",
            description="mid and large models; self-refine, plan-solve and voting; "
            "$0.0025 per task ceiling",
            space=SearchSpace(
                topologies=["single", "plan_solve", "self_refine", "vote_ensemble"],
                pool=["sim:atlas-nano", "sim:atlas-mini", "sim:orca-medium", "sim:lynx-large"],
                fixed={
                    "single": {"temperature": 0.0},
                    "self_refine": {"plan": False, "rounds": 2},
                    "vote_ensemble": {"n": 3, "weighted": True},
                },
            ),
            objective=Objective(max_cost_per_task=0.0025),
        ),
        Setting(
            name="hard-premium",
            description="hard tasks only; the premium model is in the pool but alone "
            "over the $0.003 ceiling",
            space=SearchSpace(
                topologies=["single", "self_refine", "best_of_n"],
                pool=["sim:atlas-nano", "sim:lynx-small", "sim:atlas-mini", "sim:atlas-pro"],
                fixed={
                    "single": {"temperature": 0.0},
                    "self_refine": {"plan": False, "rounds": 1},
                    "best_of_n": {"n": 2},
                },
            ),
            objective=Objective(max_cost_per_task=0.003),
            levels=("hard",),
        ),
    ]


def strategies() -> dict[str, Callable[[], SearchStrategy]]:
    """Strategies to compare, with settings fixed up front (not tuned per setting)."""

    def memory() -> optuna.storages.InMemoryStorage:
        return optuna.storages.InMemoryStorage()

    return {
        "random": lambda: get_strategy("random"),
        "tpe": lambda: get_strategy("tpe", n_trials=400, pruner="none", storage=memory()),
        "tpe+wilcoxon": lambda: get_strategy("tpe", n_trials=400, storage=memory()),
        "bandit": lambda: get_strategy("bandit", arms=64, min_tasks=10),
        "tpe+bandit": lambda: get_strategy(
            "tpe+bandit", tpe__n_trials=60, tpe__storage=memory(), bandit__min_tasks=10
        ),
        # The tree searches run until the evaluation cap, like random search.
        "mcts": lambda: get_strategy("mcts", iterations=10_000, persist=False),
        "aflow": lambda: get_strategy("aflow", iterations=10_000, persist=False),
        # Variant: progressive widening (a node's children grow with its visits) and max backup.
        "mcts-widen": lambda: get_strategy(
            "mcts", iterations=10_000, persist=False, widening=1.0, backup="max"
        ),
        "knapsack+tpe": lambda: get_strategy(
            "knapsack+tpe", tpe__n_trials=400, tpe__storage=memory()
        ),
        "knapsack+bandit": lambda: get_strategy(
            "knapsack+bandit", bandit__arms=64, bandit__min_tasks=10
        ),
        "mcts+bandit": lambda: get_strategy(
            "mcts+bandit", mcts__iterations=60, mcts__persist=False, bandit__min_tasks=10
        ),
        "aflow+bandit": lambda: get_strategy(
            "aflow+bandit", aflow__iterations=60, aflow__persist=False, bandit__min_tasks=10
        ),
    }


# --- exhaustive ground truth ------------------------------------------------------------


@dataclass
class Truth:
    """The exhaustive table of one setting."""

    accuracy: dict[str, float]
    cost: dict[str, float]
    feasible: dict[str, bool]
    optimum: str
    evaluations: int

    @property
    def best(self) -> float:
        """The optimum's accuracy."""
        return self.accuracy[self.optimum]


def exhaustive(setting: Setting, search: Search) -> Truth:
    """Evaluate every candidate on every search task (stored; free on later runs)."""
    candidates = list(setting.space.grid())
    evaluator = Evaluator(
        search.evaluator.dataset,
        "numeric",
        store=search.store,
        max_concurrency=64,
    )
    summaries = evaluator.evaluate_many([c.spec for c in candidates])
    accuracy = {s.workflow: s.mean for s in summaries}
    cost = {s.workflow: s.cost_per_task for s in summaries}
    feasible = {h: setting.objective.feasible(c) for h, c in cost.items()}
    optimum = max((h for h in accuracy if feasible[h]), key=lambda h: (accuracy[h], -cost[h]))
    return Truth(accuracy, cost, feasible, optimum, sum(s.n for s in summaries))


# --- one strategy run ---------------------------------------------------------------------


@dataclass
class Trajectory:
    """Evaluations, dollars and the incumbent's true accuracy after each step."""

    points: list[tuple[int, float, float]] = field(default_factory=list)

    def reach(self, target: float) -> tuple[float, float]:
        """Evaluations and dollars when the incumbent first reached ``target`` (inf if never)."""
        for evaluations, dollars, accuracy in self.points:
            if accuracy >= target - 1e-12:
                return evaluations, dollars
        return math.inf, math.inf

    def regret_at(self, budget: int, best: float) -> float:
        """Optimum minus the incumbent's accuracy once ``budget`` evaluations were spent."""
        accuracy = 0.0
        for evaluations, _, incumbent in self.points:
            if evaluations > budget:
                break
            accuracy = incumbent
        return best - accuracy


def run_strategy(
    setting: Setting,
    make: Callable[[], SearchStrategy],
    seed: int,
    truth: Truth,
    args: argparse.Namespace,
) -> Trajectory:
    trajectory = Trajectory()
    dollars = 0.0

    def track(search: Search, outcome: Outcome) -> None:
        nonlocal dollars
        dollars += sum(record.cost for record in outcome.records)
        leader = search.leader()
        feasible = leader is not None and truth.feasible.get(leader.workflow, False)
        accuracy = truth.accuracy[leader.workflow] if leader and feasible else 0.0
        trajectory.points.append((search.evaluations, dollars, accuracy))

    search = create_search(
        space=setting.space,
        dataset=bundled_dataset(
            "arithmetic", n=args.tasks, seed=setting.data_seed, levels=setting.levels
        ),
        strategy=make(),
        store=args.store,
        name=f"{setting.name}-{seed}-{time.time_ns()}",
        objective=setting.objective,
        seed=seed,
        settings=SearchSettings(
            split_seed=0,
            test_size=args.test_size,
            max_evaluations=int(truth.evaluations * args.cap),
            parallel=1,
            isolated=True,  # the store holds the whole table; judge only on what was asked for
        ),
        callbacks=[track],
        # Counts as a sequential run would pay them: a concurrent one also pays for the
        # evaluations in flight when a candidate is stopped early.
        max_concurrency=1,
    )
    result = asyncio.run(search.arun())
    if result.best is not None:  # the end state, after the runner completed finalists
        accuracy = truth.accuracy.get(result.best.hash, 0.0)
        trajectory.points.append((result.evaluations, dollars, accuracy))
    return trajectory


def _unit(
    setting_name: str, strategy_name: str, seed: int, truth: Truth, args: argparse.Namespace
) -> Trajectory:
    """One strategy run, by names (so it can run in a worker process)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    setting = next(s for s in settings() if s.name == setting_name)
    return run_strategy(setting, strategies()[strategy_name], seed, truth, args)


# --- reporting ----------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.inf


def _fmt(value: float, spec: str = ".0f") -> str:
    return "never" if math.isinf(value) else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=160, help="dataset size per setting")
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument("--store", type=Path, default=CACHE / "search_efficiency.db")
    parser.add_argument("--only", nargs="*", help="strategies to run (default: all)")
    parser.add_argument("--settings", nargs="*", help="settings to run (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="strategy runs in parallel processes")
    parser.add_argument(
        "--cap",
        type=float,
        default=1.0,
        help="stop each run after this share of the exhaustive table's evaluations",
    )
    args = parser.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    chosen = {k: v for k, v in strategies().items() if not args.only or k in args.only}
    started = time.perf_counter()
    print(
        f"# search efficiency (simulated models), {datetime.date.today()}, "
        f"{args.seeds} seeds, {args.tasks} tasks per setting"
    )
    speedups: dict[str, dict[str, float]] = {name: {} for name in chosen}
    tpe_speedups: dict[str, dict[str, float]] = {name: {} for name in chosen}
    chosen_settings = [s for s in settings() if not args.settings or s.name in args.settings]
    truths: dict[str, Truth] = {}
    intro: dict[str, list[str]] = {}
    for setting in chosen_settings:
        probe = create_search(
            space=setting.space,
            dataset=bundled_dataset(
                "arithmetic", n=args.tasks, seed=setting.data_seed, levels=setting.levels
            ),
            strategy="random",
            store=args.store,
            objective=setting.objective,
            settings=SearchSettings(split_seed=0, test_size=args.test_size),
        )
        t0 = time.perf_counter()
        truth = truths[setting.name] = exhaustive(setting, probe)
        feasible = sum(truth.feasible.values())
        near = sum(
            1 for h, a in truth.accuracy.items() if truth.feasible[h] and a >= truth.best - TARGET
        )
        intro[setting.name] = [
            f"\n## {setting.name}: {setting.description}",
            f"{len(truth.accuracy)} candidates ({feasible} under the ceiling, {near} within 1 "
            f"point of the optimum), {len(probe.search_tasks)} search tasks, exhaustive table "
            f"{truth.evaluations} evaluations ({time.perf_counter() - t0:.0f}s)",
            f"optimum: accuracy {truth.best:.3f} at ${truth.cost[truth.optimum]:.6f}/task "
            f"({truth.optimum})",
        ]
    units = [
        (setting.name, name, seed)
        for setting in chosen_settings
        for name in chosen
        for seed in range(args.seeds)
    ]
    if args.jobs > 1:
        with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(_unit, *unit, truths[unit[0]], args) for unit in units]
            runs = dict(zip(units, (f.result() for f in futures), strict=True))
    else:
        runs = {unit: _unit(*unit, truths[unit[0]], args) for unit in units}

    for setting in chosen_settings:
        truth = truths[setting.name]
        print("\n".join(intro[setting.name]))
        budgets = [int(truth.evaluations * share) for share in (0.05, 0.1, 0.25)]
        header = (
            f"{'strategy':<16}{'evals to 1pt (median)':>22}{'IQR':>16}{'$ to 1pt':>11}"
            f"{'reached':>9}" + "".join(f"{f'regret@{b}':>14}" for b in budgets)
        )
        print(header)
        medians: dict[str, float] = {}
        for name in chosen:
            trajectories = [runs[(setting.name, name, seed)] for seed in range(args.seeds)]
            reached = [run.reach(truth.best - TARGET) for run in trajectories]
            evals = sorted(r[0] for r in reached)
            dollars = [r[1] for r in reached]
            medians[name] = _median(evals)
            quartiles = statistics.quantiles(evals, n=4) if len(evals) > 1 else [evals[0]] * 3
            regrets = [
                statistics.mean(run.regret_at(b, truth.best) for run in trajectories)
                for b in budgets
            ]
            print(
                f"{name:<16}{_fmt(medians[name]):>22}"
                f"{_fmt(quartiles[0]) + '-' + _fmt(quartiles[2]):>16}"
                f"{_fmt(_median(dollars), '.4f'):>11}"
                f"{sum(not math.isinf(e) for e in evals):>6}/{len(evals):<2}"
                + "".join(f"{r:>14.3f}" for r in regrets)
            )
        for name in chosen:
            speedups[name][setting.name] = medians.get("random", math.inf) / medians[name]
            tpe_speedups[name][setting.name] = medians.get("tpe", math.inf) / medians[name]

    def geometric(values: dict[str, float]) -> float:
        finite = [v for v in values.values() if 0 < v < math.inf]
        if len(finite) < len(values):
            return 0.0
        return math.exp(statistics.mean(math.log(v) for v in finite))

    print("\n## speed-up (median evaluations to reach 1 point: baseline / strategy)")
    for name in chosen:
        per = ", ".join(f"{k} {v:.2f}" for k, v in speedups[name].items())
        print(
            f"{name:<14} vs random: {geometric(speedups[name]):.2f} ({per}); "
            f"vs tpe: {geometric(tpe_speedups[name]):.2f}"
        )
    candidates = [n for n in chosen if n not in ("random", "tpe")]
    best = max(candidates, key=lambda n: geometric(speedups[n])) if candidates else "random"
    print(f"\nwall time {time.perf_counter() - started:.0f}s")
    print(
        f"RESULT best_strategy={best} speedup_vs_random={geometric(speedups[best]):.2f} "
        f"speedup_vs_tpe={geometric(tpe_speedups[best]):.2f}"
    )


if __name__ == "__main__":
    main()
