"""The search suite: how much each strategy pays to find the true optimum, on many problems.

Simulated benchmark (``sim:`` models; every number describes the simulator, not any
LLM). A *problem* is a pool of simulated models (some drawn afresh, with random skill,
price and family, within realistic tiers), a few topologies with their spaces, a task
mix, and a cost ceiling near a quantile of the candidates' true costs. The suite
has 12 problems generated from a seed, nobody tuned anything for, and the three
hand-made ones of the earlier benchmark.

For each problem:

1. **Truth.** Every candidate runs on 1,000 fresh tasks (the truth set, which no search
   sees). Its accuracy and cost there are its true ones; the true optimum is the most
   accurate feasible candidate; the *target set* is every feasible candidate within two
   accuracy points of it. Cached under ``benchmarks/.cache/suite/``.
2. **Search table.** Every candidate also runs once on the search tasks, into the
   problem's store, so strategy runs are served from it (their effort is counted all
   the same: every evaluation asked for, stored or not, in number and in list-price
   dollars).
3. **Runs.** Each strategy searches with several seeds (each search set has its own). It
   *reaches the target* when its incumbent (its best feasible candidate, judged on its own
   evaluations) enters the target set for good: from then on, to its final pick, the
   incumbent stays in the set. Its effort is what it had asked for then. A run whose final
   pick is outside the set never got there and counts the whole allowance (the exhaustive
   table's size). An
   incumbent that passes through the set and is then displaced by one that looks better
   on the search tasks was luck, not a find: exhaustive search on the same tasks would
   not pick it either. The final incumbent is the best finalist of the problem's space: a
   baseline outside it (each search runs some, the same for every strategy) that leads on
   the search tasks is not the strategy's find, and the truth cannot judge it.

Each table also gives the *regret* (true accuracy points below the optimum; the whole
optimum when there is no feasible incumbent) of the incumbent after 5%, 10% and 25% of the
exhaustive table's dollars, and of the strategy's final pick ("final").

Random search's effort is its exact expectation (``random-exact``): it tries distinct
candidates in a uniformly random order, each on every search task, so its run is fixed by
the order and the search table, and 10,000 orders give the mean without a single search (its
seeded runs are still shown, as ``random``). rolegraph's ``random`` strategy does not draw
uniformly, though: it picks a topology first, so a candidate of a small topology comes up
sooner. ``random-as-run`` is the same expectation for orders drawn that way
(:func:`sampling_weights`), and the summary gives the speed-up against it too. The allowance
(and the exhaustive table's size) counts the search split only. The cost ceiling of a
generated problem sits in the widest gap between neighbouring candidates' true costs near
its quantile (at their geometric mean), and a hand-made problem's ceiling moves to the
middle of the gap it falls in (the same candidates stay feasible), so no candidate's
feasibility hangs on the noise of the search tasks; each table says how far the nearest
candidate is. Each row also gives what the run spent in all (``$ spent``: racing on after
reaching costs too), and how its certificate fared against the truth (``in set``, ``false``,
``vs opt``, the true regret of what it shipped and the leader's cost over the shipped
one's). Baselines besides random search: every candidate on every search task (grid: whether
the search tasks can identify the target at all), the most expensive feasible candidate
first (cost-greedy, by worst-case estimate), the best single model under the ceiling, and
TPE.

**Resampled search sets.** One draw of search tasks can make a strategy look lucky or
unlucky on a problem, so each problem runs on ``--search-sets`` (default 5) independent
draws of search tasks, each with its own search table. Per search set, speed-up is random's
expected effort over the strategy's median effort over seeds; per problem, the median over
its sets; the summary is the geometric mean over problems, with a hierarchical bootstrap 95%
interval (problems drawn with replacement, then each one's sets).

**Held-out problems.** ``--held-out N`` runs N problems generated from a seed that nobody
looks at while developing (``HELD_OUT_SEED``) instead of the suite, and prints only their
aggregate: a check, once per change, that the defaults were not fitted to the problems
whose tables everyone reads.

    python benchmarks/search_suite.py [--seeds 5] [--search-sets 5] [--jobs 2] [--only ...]
    python benchmarks/search_suite.py --held-out 10     # aggregate only
    python benchmarks/search_suite.py --quick           # one small problem, for the tests

The last line is ``RESULT best_strategy=<name> speedup_dollars_vs_random=<x>
speedup_paid_dollars_vs_random=<x> speedup_dollars_interval=<low>-<high> ci_low=<low>
speedup_evals_vs_random=<x> speedup_vs_tpe=<x> speedup_dollars_vs_random_as_run=<x>
worse_than_random=<problems> shipped_in_true_set=<share> false_claims=<share>
problems=<n>``; with ``--held-out`` the speed-up figures are named
``heldout_speedup_dollars_vs_random`` and so on. Dollars are list prices; *paid* dollars
count each LLM-cache entry once (:class:`CallTable`, from the calls the traces name), as a
store that shares calls between candidates charges them, and are nan for tables whose traces
were written before they named their calls.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import functools
import hashlib
import json
import math
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from orchestrator.sim import get_profile, register_profile
from orchestrator.sim.profiles import PROFILES, SimProfile
from orchestrator.worst_case import worst_case_run
from search import Evaluator, Objective, SearchSpace, create_search, ranking
from search.evaluation import bundled_dataset
from search.runner import Search
from search.settings import SearchSettings
from search.strategies import Outcome, SearchStrategy, get_strategy

RANDOM = "random-exact"  # random search's expected effort, over 10,000 orders (no seeds)
AS_RUN = "random-as-run"  # the same for orders drawn as the random strategy draws them
HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "suite"
SIM_SOURCES = HERE.parent / "orchestrator" / "sim"
# "Within two accuracy points": on 80 search tasks the standard error of a paired difference
# between two good candidates is about two points, so no search can tell finer apart.
TARGET = 0.02
# Resampled search sets: set k draws its search tasks from seed ``data_seed + k * SET_STRIDE``
# (set 0 is the problem's own; truth tasks start at ``data_seed + 500_000``).
SET_STRIDE = 10_007
# Held-out problems (``--held-out``) come from this seed, drawn once and never looked at
# while developing: only their aggregate is printed, once per change.
HELD_OUT_SEED = 48_611
BOOTSTRAP = 2_000  # resamples for the summary's interval

# Topologies a generated problem draws from, each with settings fixed to keep spaces small.
MENU: dict[str, dict[str, Any]] = {
    "single": {"temperature": 0.0},
    "plan_solve": {},
    "self_refine": {"rounds": 1, "plan": False},
    "vote_ensemble": {"n": 3, "weighted": False},
    "best_of_n": {"n": 3},
    "debate": {"n": 3, "rounds": 1, "init": "plain", "confidence": False, "aggregate": "vote"},
}


@dataclass(frozen=True)
class Problem:
    """One search problem: a space, a task mix, and (once the truth is known) a ceiling."""

    name: str
    description: str
    topologies: tuple[str, ...]
    pool: tuple[str, ...]
    fixed: dict[str, dict[str, Any]]
    levels: tuple[str, ...]
    data_seed: int
    quantile: float | None = None  # where the ceiling goes among the candidates' costs
    ceiling: float | None = None  # or a fixed ceiling (the hand-made problems)
    profiles: tuple[SimProfile, ...] = ()  # generated models to register
    search_set: int = 0  # which resampled set of search tasks (0: the problem's own)

    @property
    def space(self) -> SearchSpace:
        register(self.profiles)
        return SearchSpace(topologies=self.topologies, pool=list(self.pool), fixed=self.fixed)

    def fingerprint(self, truth_tasks: int) -> str:
        register(self.profiles)
        sources = sorted(SIM_SOURCES.glob("*.py")) + sorted(SIM_SOURCES.glob("*.yaml"))
        payload = {
            "problem": [self.topologies, self.pool, self.fixed, self.levels, self.data_seed],
            "profiles": [p.model_dump(mode="json") for p in self.profiles],
            "pool": [get_profile(ref[4:]).model_dump(mode="json") for ref in self.pool],
            "sim": [hashlib.sha256(path.read_bytes()).hexdigest() for path in sources],
            "truth_tasks": truth_tasks,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def register(profiles: Sequence[SimProfile]) -> None:
    for profile in profiles:
        register_profile(profile, replace=True)


def hand_made() -> list[Problem]:
    """The three settings of the earlier benchmark."""
    return [
        Problem(
            name="cheap-teams",
            description="four cheap-to-mid models, voting and judged ensembles",
            topologies=("single", "vote_ensemble", "best_of_n"),
            pool=("sim:atlas-nano", "sim:lynx-small", "sim:orca-small", "sim:atlas-mini"),
            fixed={"single": {"temperature": 0.0}, "best_of_n": {"n": 3}},
            levels=("easy", "medium", "hard"),
            data_seed=11,
            ceiling=0.0006,
        ),
        Problem(
            name="refine-or-vote",
            description="mid and large models; self-refine, plan-solve and voting",
            topologies=("single", "plan_solve", "self_refine", "vote_ensemble"),
            pool=("sim:atlas-nano", "sim:atlas-mini", "sim:orca-medium", "sim:lynx-large"),
            fixed={
                "single": {"temperature": 0.0},
                "self_refine": {"plan": False, "rounds": 2},
                "vote_ensemble": {"n": 3, "weighted": True},
            },
            levels=("easy", "medium", "hard"),
            data_seed=11,
            ceiling=0.0025,
        ),
        Problem(
            name="hard-premium",
            description="hard tasks; the premium model alone is over the ceiling",
            topologies=("single", "self_refine", "best_of_n"),
            pool=("sim:atlas-nano", "sim:lynx-small", "sim:atlas-mini", "sim:atlas-pro"),
            fixed={
                "single": {"temperature": 0.0},
                "self_refine": {"plan": False, "rounds": 1},
                "best_of_n": {"n": 2},
            },
            levels=("hard",),
            data_seed=11,
            ceiling=0.003,
        ),
    ]


def _new_profile(rng: random.Random, name: str, family: str) -> SimProfile:
    """A model like one of the built-in tiers, with its own skill, price and family."""
    base = rng.choice(PROFILES)
    values = base.model_dump()
    skill = math.exp(rng.gauss(0.0, 0.35))  # > 1: more errors
    for key in ("reasoning", "arithmetic"):
        values[key] = round(1.0 - min(0.5, (1.0 - base.model_dump()[key]) * skill), 4)
    price = math.exp(rng.gauss(0.0, 0.5))
    for key in ("input_price", "output_price"):
        values[key] = round(base.model_dump()[key] * price, 4)
    values.update(name=name, family=family)
    return SimProfile.model_validate(values)


def generated(
    seed: int, count: int = 12, *, prefix: str = "gen", data_base: int = 1000
) -> list[Problem]:
    """``count`` problems drawn from ``seed``: pools, spaces, task mixes and ceilings.

    Problem ``i`` draws its tasks from seed ``data_base + i``.
    """
    rng = random.Random(seed)
    problems = []
    builtin = [p.name for p in PROFILES]
    for index in range(count):
        size = rng.randint(3, 4)
        fresh = rng.randint(1, 2)
        profiles = []
        for j in range(fresh):
            family = rng.choice([rng.choice(PROFILES).family, f"fam{seed}x{index}x{j}"])
            profiles.append(_new_profile(rng, f"gen{seed}-{index}-{j}", family))
        chosen = rng.sample(builtin, size - fresh)
        pool = tuple(f"sim:{n}" for n in [*chosen, *(p.name for p in profiles)])
        topologies = tuple(sorted(rng.sample(sorted(MENU), rng.randint(2, 3))))
        if "single" not in topologies and rng.random() < 0.6:
            topologies = ("single", *topologies)
        levels = tuple(sorted(rng.sample(["easy", "medium", "hard"], rng.randint(1, 3))))
        problems.append(
            Problem(
                name=f"{prefix}-{index:02d}",
                description=f"{len(pool)} models ({fresh} drawn afresh), "
                f"{'+'.join(topologies)}, {'/'.join(levels)} tasks",
                topologies=topologies,
                pool=pool,
                fixed={t: MENU[t] for t in topologies if MENU[t]},
                levels=levels,
                data_seed=data_base + index,
                quantile=round(rng.uniform(0.3, 0.9), 2),
                profiles=tuple(profiles),
            )
        )
    return problems


def suite(args: argparse.Namespace) -> list[Problem]:
    if args.held_out:
        return generated(HELD_OUT_SEED, args.held_out, prefix="held", data_base=20_000)
    problems = [*hand_made(), *generated(args.problem_seed)]
    if args.quick:
        problems = [p for p in problems if p.name == "gen-03"]
    if args.problems:
        problems = [p for p in problems if p.name in set(args.problems)]
    return problems


# --- truth --------------------------------------------------------------------------------


@dataclass
class Truth:
    """The true accuracy and cost of every candidate of a problem, and its target set."""

    accuracy: dict[str, float]
    cost: dict[str, float]
    ceiling: float
    search_evaluations: int  # the exhaustive table on the search tasks
    search_dollars: float
    search_paid: float = math.nan  # the same, each LLM-cache entry paid once (nan: unknown)
    worst: dict[str, float] = field(default_factory=dict)  # worst-case estimate per task
    singles: dict[str, str] = field(default_factory=dict)  # hash -> model of single(model)

    # Cached: the fields never change once the truth is built, and random search's 10,000
    # orders ask for the target set at every step.
    @functools.cached_property
    def feasible(self) -> dict[str, bool]:
        return {h: c <= self.ceiling for h, c in self.cost.items()}

    @functools.cached_property
    def optimum(self) -> str:
        feasible = self.feasible
        return max((h for h in self.accuracy if feasible[h]), key=lambda h: self.accuracy[h])

    @functools.cached_property
    def target(self) -> set[str]:
        best = self.accuracy[self.optimum]
        return {h for h, ok in self.feasible.items() if ok and self.accuracy[h] >= best - TARGET}

    def reached(self, candidate: str | None) -> bool:
        return candidate is not None and candidate in self.target


def _evaluate_chunk(
    payload: tuple[Problem, list[str], int, int],
) -> dict[str, tuple[float, float]]:
    """Accuracy and cost per task of some candidates (by hash) on the truth tasks."""
    problem, hashes, n_tasks, concurrency = payload
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = problem.space
    wanted = set(hashes)
    candidates = [c for c in space.grid() if c.hash in wanted]
    data = bundled_dataset(
        "arithmetic", n=n_tasks, seed=problem.data_seed + 500_000, levels=problem.levels
    )
    out = {}
    for candidate in candidates:
        evaluator = Evaluator(data, "numeric", store=":memory:", max_concurrency=concurrency)
        summary = evaluator.evaluate(candidate.spec)
        out[candidate.hash] = (summary.mean, summary.cost_per_task)
    return out


def _table_chunk(payload: tuple[Problem, list[str], argparse.Namespace]) -> None:
    """Some candidates (by hash) on every search task of the problem, into its store."""
    problem, hashes, args = payload
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    wanted = set(hashes)
    specs = [c.spec for c in problem.space.grid() if c.hash in wanted]
    evaluator = Evaluator(
        search_data(problem, args), "numeric", store=store_path(problem), max_concurrency=32
    )
    evaluator.evaluate_many(specs)


def truth(problem: Problem, args: argparse.Namespace, pool: Any) -> Truth:
    """The problem's truth (cached) and its search table (in its store)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{problem.name}-{problem.fingerprint(args.truth_tasks)}.json"
    space = problem.space
    candidates = list(space.grid())
    if path.exists():
        cached = json.loads(path.read_text())
    else:
        hashes = [c.hash for c in candidates]
        chunks = [hashes[i :: args.jobs * 4] for i in range(args.jobs * 4)]
        jobs = [(problem, chunk, args.truth_tasks, 32) for chunk in chunks if chunk]
        cached = {}
        for part in pool.map(_evaluate_chunk, jobs):
            cached.update(part)
        path.write_text(json.dumps(cached))
    accuracy = {h: v[0] for h, v in cached.items()}
    cost = {h: v[1] for h, v in cached.items()}
    if problem.ceiling is not None:
        ceiling = middle_of_gap(list(cost.values()), problem.ceiling)
    else:
        assert problem.quantile is not None
        ceiling = ceiling_in_gap(list(cost.values()), problem.quantile)
    # The search table: every candidate on every search task, into the problem's store
    # (the pool's processes write their shares into the one SQLite file).
    data = search_data(problem, args)
    every = [c.hash for c in candidates]
    shares = [every[i :: args.jobs * 4] for i in range(args.jobs * 4)]
    for _ in pool.map(_table_chunk, [(problem, share, args) for share in shares if share]):
        pass
    # The allowance is every candidate on every *search* task: what an exhaustive search
    # pays. The table also holds the held-out tasks (runs test their pick there, from it).
    hashes = {c.hash for c in candidates}
    rows = search_table(problem, args)
    mine = [
        cost
        for workflow, cells in rows.items()
        if workflow in hashes
        for _, cost in cells.values()
    ]
    longest = max((t.question for t in data), key=len)
    worst = {c.hash: worst_case_run(c.spec, question=longest).dollars for c in candidates}
    singles = {c.hash: c.params["model"] for c in candidates if c.topology == "single"}
    calls = call_table(problem, args)
    return Truth(
        accuracy=accuracy,
        cost=cost,
        ceiling=ceiling,
        search_evaluations=len(mine),
        search_dollars=math.fsum(mine),
        search_paid=calls.price_of(calls.union(hashes)) if calls else math.nan,
        worst=worst,
        singles=singles,
    )


def ceiling_in_gap(costs: Sequence[float], quantile: float, *, window: float = 0.1) -> float:
    """A cost ceiling near ``quantile`` of ``costs``, in the widest gap between two of them.

    A ceiling on or just beside a candidate's true cost makes its feasibility a coin flip on
    the search tasks (candidates a hair over it are traps). So among neighbouring costs whose
    ranks lie within ``window`` of the quantile, the pair with the largest ratio is chosen and
    the ceiling is their geometric mean: as far from both, relatively, as that window allows.
    """
    ordered = sorted(set(costs))
    if len(ordered) < 2:
        return ordered[0] if ordered else math.inf
    n = len(ordered)
    low = max(1, math.floor(round((quantile - window) * n, 9)))
    high = min(n - 1, max(low, math.ceil(round((quantile + window) * n, 9))))
    at = max(range(low, high + 1), key=lambda i: (ordered[i] / ordered[i - 1], -i))
    return math.sqrt(ordered[at - 1] * ordered[at])


def middle_of_gap(costs: Sequence[float], ceiling: float) -> float:
    """A hand-set ceiling moved to the middle (geometric) of the gap it falls in.

    The same candidates are feasible on the truth tasks, but none sits a hair from the line.
    """
    below = max((c for c in costs if c <= ceiling), default=None)
    above = min((c for c in costs if c > ceiling), default=None)
    if below is None or above is None or below <= 0:
        return ceiling
    return math.sqrt(below * above)


def gap_around(costs: Sequence[float], ceiling: float) -> float:
    """How far (a ratio) the nearest candidate's cost is from ``ceiling``, either side."""
    return min((max(c, ceiling) / min(c, ceiling) for c in costs if c > 0), default=math.inf)


def search_data(problem: Problem, args: argparse.Namespace) -> Any:
    seed = problem.data_seed + SET_STRIDE * problem.search_set
    return bundled_dataset("arithmetic", n=args.search_tasks, seed=seed, levels=problem.levels)


def store_path(problem: Problem) -> Path:
    suffix = f"-{problem.search_set}" if problem.search_set else ""
    return CACHE / f"{problem.name}-search{suffix}.db"


# --- strategies ---------------------------------------------------------------------------


def strategies() -> dict[str, Callable[[], SearchStrategy]]:
    """Every strategy, with settings fixed up front (not tuned per problem)."""

    def memory() -> optuna.storages.InMemoryStorage:
        return optuna.storages.InMemoryStorage()

    made: dict[str, Callable[[], SearchStrategy]] = {
        "random": lambda: get_strategy("random"),
        "grid": lambda: get_strategy("grid"),  # what exhaustive search on the tasks picks
        "tpe": lambda: get_strategy("tpe", n_trials=400, pruner="none", storage=memory()),
        "tpe+wilcoxon": lambda: get_strategy("tpe", n_trials=400, storage=memory()),
        "bandit": lambda: get_strategy("bandit", arms=64, min_tasks=10),
        "tpe+bandit": lambda: get_strategy(
            "tpe+bandit", tpe__n_trials=60, tpe__storage=memory(), bandit__min_tasks=10
        ),
        "mcts": lambda: get_strategy("mcts", iterations=10_000, persist=False),
        "mcts-widen": lambda: get_strategy(
            "mcts", iterations=10_000, persist=False, widening=1.0, backup="max"
        ),
        "knapsack+tpe": lambda: get_strategy(
            "knapsack+tpe", tpe__n_trials=400, tpe__storage=memory()
        ),
    }
    try:
        get_strategy("auto")
    except Exception:
        return made
    made["auto"] = lambda: get_strategy("auto")
    # The ablation of auto's futility stop: near-ties raced to the last task.
    made["auto-nofutility"] = lambda: get_strategy("auto", futility=0.0)
    # The ablation of ranking by gain per dollar: contenders ranked by optimistic gain alone.
    made["auto-by-gain"] = lambda: get_strategy("auto", per_dollar=False)
    return made


@dataclass
class Run:
    """Effort when the target was first reached, and the regret curve.

    ``reached`` is (evaluations, list-price dollars, dollars paid with each LLM-cache entry
    paid once); the last is nan where the search table's traces do not name their calls.
    """

    reached: tuple[float, float, float] | None
    points: list[tuple[int, float, str | None]]  # evaluations, dollars, incumbent
    claim: Claim | None = None  # what the certificate shipped and claimed (strategy runs)


@dataclass(frozen=True)
class Claim:
    """What a search's certificate shipped, and the margin it claimed over what it tried."""

    shipped: str | None  # None: "no winner"
    margin: float | None
    tried: frozenset[str]

    def judged(self, truth: Truth) -> tuple[bool | None, bool | None, bool | None]:
        """(shipped in the target set, claim false about what it tried, false about the optimum).

        ``None`` where truth cannot judge: nothing shipped, or it shipped a baseline outside
        the problem's space (self-consistency of a model the space does not vote with).
        """
        if self.shipped is None or self.shipped not in truth.accuracy or self.margin is None:
            return None, None, None
        mine = truth.accuracy[self.shipped]
        tried = [h for h in self.tried if h in truth.accuracy and truth.feasible[h]]
        best_tried = max((truth.accuracy[h] for h in tried), default=mine)
        optimum = truth.accuracy[truth.optimum]
        # A claim is false when a candidate is truly better by more than the margin; the
        # truth tables have their own noise (300-1,000 tasks), so a hair over is not counted.
        slack = 1e-9
        return (
            self.shipped in truth.target,
            best_tried - mine > self.margin + slack,
            optimum - mine > self.margin + slack,
        )

    def shipped_regret(self, truth: Truth) -> float | None:
        """True accuracy points the shipped workflow is below the optimum (None: unjudged)."""
        if self.shipped is None or self.shipped not in truth.accuracy:
            return None
        return truth.accuracy[truth.optimum] - truth.accuracy[self.shipped]


def run_strategy(problem: Problem, name: str, seed: int, truth: Truth, args: Any) -> Run:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    points: list[tuple[int, float, str | None]] = []
    paid: list[float] = []
    calls = call_table(problem, args)
    meter = calls.meter() if calls else None

    metered: set[tuple[str, str]] = set()

    def priced(search: Search) -> float:
        # Every evaluation asked for, as work_dollars counts them, each cache entry once.
        if calls is None or meter is None:
            return math.nan
        for workflow, tasks in search._asked.items():
            for task in tasks:
                if (workflow, task) not in metered:
                    metered.add((workflow, task))
                    meter.add(calls.calls.get((workflow, task)))
        return meter.dollars

    def track(search: Search, outcome: Outcome) -> None:
        leader = search.leader()
        points.append(
            (search.evaluations, search.work_dollars, leader.workflow if leader else None)
        )
        paid.append(priced(search))

    search = create_search(
        space=problem.space,
        dataset=search_data(problem, args),
        strategy=strategies()[name](),
        store=store_path(problem),
        name=f"{problem.name}-{name}-{seed}-{time.time_ns()}",
        objective=Objective(max_cost_per_task=truth.ceiling),
        seed=seed,
        settings=SearchSettings(
            split_seed=0,
            test_size=args.test_size,
            max_evaluations=truth.search_evaluations,
            parallel=1,
            isolated=True,
        ),
        callbacks=[track],
        max_concurrency=1,
    )
    result = asyncio.run(search.arun())
    # After the finalists: the strategy's leader by the objective. What ships may be a simpler
    # workflow within noise of it (the certificate); the suite measures what the search found.
    certificate = result.certificate
    leader = final_leader(certificate, truth)
    if leader is not None:
        points.append((result.evaluations, search.work_dollars, leader))
        paid.append(priced(search))
    claim = Claim(
        shipped=certificate.shipped if certificate is not None else None,
        margin=certificate.margin if certificate is not None else None,
        tried=frozenset(c.workflow for c in result.candidates),
    )
    return Run(reached=_reached(points, truth, paid), points=points, claim=claim)


def final_leader(certificate: Any, truth: Truth) -> str | None:
    """The best finalist of the problem's space (the certificate lists the leader first).

    Every search also runs baselines outside the space (each model alone at temperature 0,
    self-consistency of the best one), after the strategy and the same for every strategy.
    The truth knows nothing of one outside the space, and it is not the strategy's find, so
    a baseline outside the space that leads is passed over for the best finalist inside it.
    """
    if certificate is None:
        return None
    return next((s.workflow for s in certificate.standings if s.workflow in truth.accuracy), None)


def _reached(
    points: Sequence[tuple[int, float, str | None]],
    truth: Truth,
    paid: Sequence[float] = (),
) -> tuple[float, float, float] | None:
    """When the incumbent entered the target set for good (``None`` if it ended outside).

    ``paid`` runs beside ``points``: the dollars paid by then with shared calls paid once.
    """
    entered = None
    for i, (evaluations, dollars, incumbent) in enumerate(points):
        if not truth.reached(incumbent):
            entered = None
        elif entered is None:
            entered = (float(evaluations), dollars, paid[i] if paid else math.nan)
    return entered


def cost_greedy(problem: Problem, truth: Truth, args: Any) -> Run:
    """Most expensive (by worst-case estimate) first, each on every task; feasibility seen."""
    n = truth.search_evaluations / len(truth.accuracy)
    per_dollars = truth.search_dollars / truth.search_evaluations
    points: list[tuple[int, float, str | None]] = []
    best: str | None = None
    evaluations, dollars = 0, 0.0
    table_cost = _table_costs(problem, args)
    for h in sorted(truth.worst, key=lambda h: -truth.worst[h]):
        evaluations += int(n)
        dollars += table_cost.get(h, per_dollars * n)
        observed_feasible = truth.cost[h] <= truth.ceiling  # a full evaluation shows its cost
        if observed_feasible and (best is None or truth.accuracy[h] > truth.accuracy[best]):
            best = h
        points.append((evaluations, dollars, best))
    return Run(reached=_reached(points, truth), points=points)


def best_single(problem: Problem, truth: Truth, args: Any) -> Run:
    """Every single model under the ceiling, each on every task; then the best of them."""
    n = truth.search_evaluations / len(truth.accuracy)
    table_cost = _table_costs(problem, args)
    points: list[tuple[int, float, str | None]] = []
    best: str | None = None
    evaluations, dollars = 0, 0.0
    for h in truth.singles:
        evaluations += int(n)
        dollars += table_cost.get(h, 0.0)
        if truth.cost[h] <= truth.ceiling and (
            best is None or truth.accuracy[h] > truth.accuracy[best]
        ):
            best = h
        points.append((evaluations, dollars, best))
    return Run(reached=_reached(points, truth), points=points)


_SPLITS: dict[tuple[str, int, int, float], set[str]] = {}


def search_task_ids(problem: Problem, args: Any) -> set[str]:
    """The search split every strategy run sees (the rest is its held-out test)."""
    key = (problem.name, problem.search_set, args.search_tasks, args.test_size)
    if key not in _SPLITS:
        _SPLITS[key] = _split(problem, args)
    return _SPLITS[key]


def _split(problem: Problem, args: Any) -> set[str]:
    search = create_search(
        space=problem.space,
        dataset=search_data(problem, args),
        strategy="random",
        store=":memory:",
        settings=SearchSettings(split_seed=0, test_size=args.test_size),
    )
    return {t.id for t in search.search_tasks}


def sampling_weights(problem: Problem, *, draws: int = 20_000, seed: int = 0) -> dict[str, float]:
    """How often ``random`` draws each candidate: the space's own sampler, counted.

    rolegraph's random search picks a topology uniformly, then its parameters, and draws
    again when it has tried the candidate: its orders are Plackett-Luce draws with these
    weights, not uniform ones. A candidate of a small topology (each model alone) comes up
    far sooner than one of many votes.
    """
    rng = random.Random(seed)
    space = problem.space
    counts: dict[str, int] = {}
    for _ in range(draws):
        h = space.sample(rng).hash
        counts[h] = counts.get(h, 0) + 1
    return {h: c / draws for h, c in counts.items()}


def random_expected(
    problem: Problem,
    truth: Truth,
    args: Any,
    *,
    orders: int = 10_000,
    seed: int = 0,
    weights: dict[str, float] | None = None,
) -> tuple[Run, list[tuple[float, float]]]:
    """Random search's effort to reach the target, over many random orders of the candidates.

    Random search tries distinct candidates in a uniformly random order, each on every search
    task, so its whole run is fixed by that order and the search table: its expected effort
    needs no search at all. With ``weights`` (:func:`sampling_weights`) the orders are drawn
    as the ``random`` strategy draws them; without, uniformly. Returns a run at the expected
    effort (regret curve of one order) and the effort of every order.
    """

    wanted = search_task_ids(problem, args)
    scores: dict[str, list[float]] = {}
    costs: dict[str, list[float]] = {}
    for workflow, cells in search_table(problem, args).items():
        if workflow in truth.accuracy:
            scores[workflow] = [score for score, _ in cells.values()]
            costs[workflow] = [cost for _, cost in cells.values()]
    hashes = sorted(h for h in truth.accuracy if h in scores)
    objective = Objective(max_cost_per_task=truth.ceiling)
    mean = {h: sum(scores[h]) / len(scores[h]) for h in hashes}
    per_task = {h: sum(costs[h]) / len(costs[h]) for h in hashes}
    paid = {h: sum(costs[h]) for h in hashes}
    n = len(wanted)

    keys = {h: (objective.value(mean[h], per_task[h]), -per_task[h]) for h in hashes}
    feasible = {h for h in hashes if objective.feasible(per_task[h])}

    def better(a: str, b: str | None) -> bool:
        if b is None:
            return True
        verdict = ranking.compare(keys[a], keys[b])
        return verdict > 0 or (verdict == 0 and a < b)

    calls = call_table(problem, args) if weights is None else None
    owned = {h: calls.union([h]) for h in hashes} if calls else {}
    paid_efforts: list[float] = []
    rng = np.random.default_rng(seed)
    if weights is not None:
        # Never drawn in the sample: as rare as the rarest drawn, not impossible.
        floor = min(weights.values()) if weights else 1.0
        logw = np.log([weights.get(h, floor) for h in hashes])
    efforts: list[tuple[float, float]] = []
    first: list[tuple[int, float, str | None]] = []
    for i in range(orders):
        if weights is None:
            picks = rng.permutation(len(hashes))
        else:  # Plackett-Luce by the Gumbel trick: sorted perturbed log weights
            picks = np.argsort(-(logw + rng.gumbel(size=len(hashes))))
        order = [hashes[j] for j in picks]
        points: list[tuple[int, float, str | None]] = []
        shared: list[float] = []
        meter = calls.meter() if calls else None
        incumbent, evaluations, dollars = None, 0, 0.0
        for h in order:
            evaluations += n
            dollars += paid[h]
            if meter is not None:
                meter.add(owned[h])
                shared.append(meter.dollars)
            if h in feasible and better(h, incumbent):
                incumbent = h
            points.append((evaluations, dollars, incumbent))
        reached = _reached(points, truth, shared)
        if reached is None:
            reached = (truth.search_evaluations, truth.search_dollars, truth.search_paid)
        efforts.append(reached[:2])
        paid_efforts.append(reached[2])
        if i == 0:
            first = points
    expected = (
        statistics.fmean(e for e, _ in efforts),
        statistics.fmean(d for _, d in efforts),
        statistics.fmean(paid_efforts),
    )
    if all(e >= truth.search_evaluations for e, _ in efforts):
        return Run(reached=None, points=first), efforts  # no order reaches it
    return Run(reached=expected, points=first), efforts


def _table_costs(problem: Problem, args: Any) -> dict[str, float]:
    """List-price dollars of each candidate on every search task (its exhaustive share)."""
    return {
        workflow: math.fsum(cost for _, cost in cells.values())
        for workflow, cells in search_table(problem, args).items()
    }


def search_table(problem: Problem, args: Any) -> dict[str, dict[str, tuple[float, float]]]:
    """Each candidate's (score, cost) per search task, as the current code evaluates it.

    The store keeps a row per evaluation key, and a key holds the roles' prompts and
    contracts: after an edit to them, a candidate has an old row and a new one for the same
    task. Counting both doubled what random search pays for the candidates other strategies
    had run, so only the newest row of each (candidate, task) counts: the one the table was
    just rebuilt with.
    """
    import sqlite3

    wanted = search_task_ids(problem, args)
    table: dict[str, dict[str, tuple[float, float]]] = {}
    with sqlite3.connect(store_path(problem)) as db:
        rows = db.execute(
            "SELECT workflow, task_id, score, cost FROM evaluations ORDER BY created_at, rowid"
        )
        for workflow, task, score, cost in rows:
            if task in wanted:
                table.setdefault(workflow, {})[task] = (score, cost)
    return table


class CallTable:
    """Each (candidate, search task)'s model calls, as LLM-cache entries, and their prices.

    Read from the traces in the problem's store (the newest row per candidate and task, as
    :func:`search_table` counts). Candidates that ask a model the same thing share a cache
    entry (twins, a vote's member and the model alone): paid once, it is free after.
    """

    def __init__(self, calls: dict[tuple[str, str], np.ndarray], price: np.ndarray) -> None:
        self.calls = calls  # (workflow, task) -> ids of the cache entries it calls
        self.price = price  # entry id -> list price of its call
        self._by_workflow: dict[str, list[np.ndarray]] = {}
        for (workflow, _), ids in calls.items():
            self._by_workflow.setdefault(workflow, []).append(ids)

    def union(self, workflows: Iterable[str]) -> np.ndarray:
        """The entries some search task of these candidates calls."""
        parts = [ids for w in set(workflows) for ids in self._by_workflow.get(w, ())]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def price_of(self, ids: np.ndarray) -> float:
        return float(self.price[ids].sum())

    def meter(self) -> PaidMeter:
        return PaidMeter(self)


class PaidMeter:
    """Dollars paid for a growing set of evaluations, each cache entry paid once."""

    def __init__(self, table: CallTable) -> None:
        self.table = table
        self.paid = np.zeros(len(table.price), dtype=bool)
        self.dollars = 0.0

    def add(self, ids: np.ndarray | None) -> None:
        if ids is None or not len(ids):
            return
        new = ids[~self.paid[ids]]
        if len(new):
            new = np.unique(new) if len(new) > 1 else new
            self.paid[new] = True
            self.dollars += float(self.table.price[new].sum())


_CALL_TABLES: dict[tuple[Path, int, float], CallTable | None] = {}


def call_table(problem: Problem, args: Any) -> CallTable | None:
    """The problem's :class:`CallTable` (``None`` when a row's trace names no calls)."""
    import sqlite3

    key = (store_path(problem), args.search_tasks, args.test_size)
    if key in _CALL_TABLES:
        return _CALL_TABLES[key]
    wanted = search_task_ids(problem, args)
    entries: dict[str, int] = {}
    prices: list[float] = []
    rows: dict[tuple[str, str], list[int]] = {}
    known = True
    with sqlite3.connect(store_path(problem)) as db:
        found = db.execute(
            "SELECT workflow, task_id, trace FROM evaluations ORDER BY created_at, rowid"
        )
        for workflow, task, trace in found:
            if task not in wanted:
                continue
            ids = []
            for node in json.loads(trace) if trace else ():
                keyed = node.get("call_keys")
                if keyed is None and node.get("calls"):
                    known = False  # written before traces named their calls
                for digest, price in keyed or ():
                    if digest not in entries:
                        entries[digest] = len(prices)
                        prices.append(price)
                    ids.append(entries[digest])
            rows[(workflow, task)] = ids
    table = None
    if known:
        calls = {k: np.array(v, dtype=np.int64) for k, v in rows.items()}
        table = CallTable(calls, np.array(prices, dtype=float))
    _CALL_TABLES[key] = table
    return table


def strategy_seed(problem: Problem, seed: int) -> int:
    """The seed of a strategy's ``seed``-th run on ``problem``'s search set.

    Each set has seeds of its own: with one seed for every set, a seeded strategy drew the
    same first candidates on each (TPE reached the target with its first two on all three
    sets of gen-03 and hard-premium), so its luck was counted once per set instead of once.
    """
    return seed + 1_000 * problem.search_set


def _unit(
    problem_name: str, search_set: int, name: str, seed: int, truth: Truth, args: Any
) -> Run:
    problem = next(p for p in suite(args) if p.name == problem_name)
    return run_strategy(replace(problem, search_set=search_set), name, seed, truth, args)


def _init(problems: Sequence[Problem], cache: Path) -> None:
    global CACHE
    CACHE = cache
    for problem in problems:
        register(problem.profiles)


# --- reporting ----------------------------------------------------------------------------


def _effort(run: Run, truth: Truth, which: int) -> float:
    allowance = (truth.search_evaluations, truth.search_dollars, truth.search_paid)[which]
    return run.reached[which] if run.reached is not None else allowance


def _regret(run: Run, truth: Truth, share: float) -> float:
    best = truth.accuracy[truth.optimum]
    budget = share * truth.search_dollars
    incumbent = None
    for _, dollars, leader in run.points:
        if dollars > budget:
            break
        incumbent = leader
    if incumbent is None or not truth.feasible.get(incumbent, False):
        return best
    return best - truth.accuracy[incumbent]


def _geo(values: Sequence[float]) -> float:
    values = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def main() -> None:
    global CACHE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--search-sets", type=int, default=5, help="resampled search sets")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="strategies to run (default: all)")
    parser.add_argument("--problems", nargs="*", help="problems to run (default: all)")
    parser.add_argument("--problem-seed", type=int, default=2026)
    parser.add_argument(
        "--held-out",
        type=int,
        default=0,
        metavar="N",
        help="run N problems of the held-out seed instead, printing only their aggregate",
    )
    parser.add_argument("--truth-tasks", type=int, default=1000)
    parser.add_argument("--search-tasks", type=int, default=100)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true", help="one small problem, for the tests")
    parser.add_argument("--cache", type=Path, default=CACHE, help="truth tables and stores")
    args = parser.parse_args()
    CACHE = args.cache
    if args.quick:
        args.seeds, args.truth_tasks, args.search_tasks, args.jobs = 1, 300, 100, 1
        args.search_sets = 1
        args.only = args.only or ["random", "auto"]
    if args.search_sets < 1:
        parser.error("--search-sets must be at least 1")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    started = time.perf_counter()
    problems = suite(args)
    quiet = bool(args.held_out)  # held-out problems: the aggregate only
    names = [n for n in strategies() if not args.only or n in args.only]
    kind = "held-out problems (aggregate only)" if quiet else "problems"
    print(f"# search suite (simulated models), {len(problems)} {kind}, {args.search_sets} "
          f"search sets, {args.seeds} seeds, truth {args.truth_tasks} tasks, "
          f"search {args.search_tasks} tasks")  # fmt: skip
    tally = Tally(names)
    with concurrent.futures.ProcessPoolExecutor(
        args.jobs, initializer=_init, initargs=(problems, CACHE)
    ) as pool:
        for problem in problems:
            for search_set in range(args.search_sets):
                one_set(replace(problem, search_set=search_set), names, tally, args, pool, quiet)
    print(f"\n## summary over {len(problems)} problems: speed-up = random's effort / the "
          f"strategy's; per problem the median over its {args.search_sets} search sets; the "
          f"geometric mean over problems, with a {BOOTSTRAP:,}-resample bootstrap 95% "
          "interval (problems, then sets)")  # fmt: skip
    rows = []
    for n in names:
        dollars, evals, tpe = (
            summarise(tally.speed[n]["$"]),
            summarise(tally.speed[n]["evals"]),
            summarise(tally.vs_tpe[n]),
        )
        lost = [p for p, values in tally.speed[n]["$"].items() if statistics.median(values) < 1]
        as_run = summarise(tally.speed[n]["$ as run"])
        paid = summarise(tally.speed[n]["$ paid"])
        rows.append((n, dollars, evals[0], tpe[0], lost, as_run, paid))
        slow_sets = sum(v < 1 for values in tally.speed[n]["$"].values() for v in values)
        all_sets = sum(len(values) for values in tally.speed[n]["$"].values())
        where = f"{len(lost)} problems" if quiet else (", ".join(lost) or "none")
        print(f"{n:14} dollars x{dollars[0]:.2f} [{dollars[1]:.2f}, {dollars[2]:.2f}]  "
              f"evaluations x{evals[0]:.2f} [{evals[1]:.2f}, {evals[2]:.2f}]  "
              f"vs tpe x{tpe[0]:.2f}  slower than random (dollars) on: {where}; "
              f"on {slow_sets} of {all_sets} search sets; dollars vs {AS_RUN} "
              f"x{as_run[0]:.2f} [{as_run[1]:.2f}, {as_run[2]:.2f}]; paid dollars (shared "
              f"calls once) x{paid[0]:.2f} [{paid[1]:.2f}, {paid[2]:.2f}]")  # fmt: skip
    print("\n## certificates (what ships, and whether its claim holds against the truth)")
    for n in names:
        (hit, runs_), (false, judged), (false_opt, judged_opt) = tally.claims.get(
            n, [[0, 0], [0, 0], [0, 0]]
        )
        print(f"{n:14} shipped in the target set {hit}/{runs_} ({_share(hit, runs_)}); "
              f"claim false about what it tried {false}/{judged} ({_share(false, judged)}), "
              f"about the true optimum {false_opt}/{judged_opt} "
              f"({_share(false_opt, judged_opt)}); shipped regret median "
              f"{_median(tally.shipped_regrets.get(n, []))}")  # fmt: skip
    best = max(rows, key=lambda r: r[1][0])
    (hit, runs_), _, (false_opt, judged_opt) = tally.claims.get(best[0], [[0, 0], [0, 0], [0, 0]])
    point, low, high = best[1]
    print(f"\nwall time {time.perf_counter() - started:.0f}s")
    held = "heldout_" if quiet else ""  # a held-out run says so in every figure's name
    print(f"RESULT best_strategy={best[0]} {held}speedup_dollars_vs_random={point:.2f} "
          f"{held}speedup_paid_dollars_vs_random={best[6][0]:.2f} "
          f"{held}speedup_dollars_interval={low:.2f}-{high:.2f} {held}ci_low={low:.2f} "
          f"{held}speedup_evals_vs_random={best[2]:.2f} {held}speedup_vs_tpe={best[3]:.2f} "
          f"{held}speedup_dollars_vs_random_as_run={best[5][0]:.2f} "
          f"{held}worse_than_random={len(best[4])} shipped_in_true_set={_share(hit, runs_)} "
          f"false_claims={_share(false_opt, judged_opt)} problems={len(problems)}")  # fmt: skip


@dataclass
class Tally:
    """What the summary gathers, per strategy: speed-ups per problem (one per search set)."""

    names: Sequence[str]
    speed: dict[str, dict[str, dict[str, list[float]]]] = field(init=False)
    vs_tpe: dict[str, dict[str, list[float]]] = field(init=False)
    # Per strategy, [hits, judged] for: shipped in the target set; the certificate's claim
    # false about what it tried; false about the true optimum.
    claims: dict[str, list[list[int]]] = field(default_factory=dict)
    shipped_regrets: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.speed = {n: {"$": {}, "evals": {}, "$ as run": {}, "$ paid": {}} for n in self.names}
        self.vs_tpe = {n: {} for n in self.names}


def one_set(
    problem: Problem,
    names: Sequence[str],
    tally: Tally,
    args: argparse.Namespace,
    pool: concurrent.futures.ProcessPoolExecutor,
    quiet: bool,
) -> None:
    """Every strategy on one search set of one problem, into ``tally`` (and printed)."""
    t0 = time.perf_counter()
    table = truth(problem, args, pool)
    runs: dict[str, list[Run]] = {}
    futures = {
        (n, s): pool.submit(
            _unit, problem.name, problem.search_set, n, strategy_seed(problem, s), table, args
        )
        for n in names
        for s in range(args.seeds)
    }
    for (n, _), future in futures.items():
        runs.setdefault(n, []).append(future.result())
    # Random search's exact expectation: the baseline of every speed-up, whatever runs.
    exact, efforts = random_expected(problem, table, args)
    runs[RANDOM] = [exact]
    runs[AS_RUN] = [random_expected(problem, table, args, weights=sampling_weights(problem))[0]]
    spread = sorted(d for _, d in efforts)
    reached = sum(e < table.search_evaluations for e, _ in efforts) / len(efforts)
    note = (f"{RANDOM}: random search over {len(efforts):,} orders reaches the "
            f"target in {reached:.0%} of them; dollars p10 "
            f"${spread[len(spread) // 10]:.4f}, median "
            f"${statistics.median(spread):.4f}, p90 "
            f"${spread[9 * len(spread) // 10]:.4f}, mean "
            f"${statistics.fmean(spread):.4f}")  # fmt: skip
    runs["cost-greedy"] = [cost_greedy(problem, table, args)]
    runs["best-single"] = [best_single(problem, table, args)]
    _report(problem, table, runs, names, tally, time.perf_counter() - t0, quiet=quiet)
    if not quiet:
        print(note)
    if quiet:
        print(f"{problem.name} set {problem.search_set} done", flush=True)


def summarise(
    per_problem: dict[str, list[float]], *, resamples: int = BOOTSTRAP, seed: int = 0
) -> tuple[float, float, float]:
    """Geometric mean over problems of each problem's median over its search sets.

    With a hierarchical bootstrap 95% interval: problems drawn with replacement, then each
    drawn problem's search sets with replacement.
    """
    values = {p: v for p, v in per_problem.items() if v}
    if not values:
        return math.nan, math.nan, math.nan
    point = _geo([statistics.median(v) for v in values.values()])
    rng = random.Random(seed)
    lists = list(values.values())
    draws = sorted(
        _geo(
            [
                statistics.median(rng.choices(chosen, k=len(chosen)))
                for chosen in rng.choices(lists, k=len(lists))
            ]
        )
        for _ in range(resamples)
    )
    return point, draws[int(0.025 * resamples)], draws[int(0.975 * resamples) - 1]


def _median(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.3f}" if values else "nan"


def _share(hits: int, of: int) -> str:
    return f"{hits / of:.2f}" if of else "nan"


def _report(
    problem: Problem,
    table: Truth,
    runs: dict[str, list[Run]],
    names: Sequence[str],
    tally: Tally,
    seconds: float,
    *,
    quiet: bool = False,
) -> None:
    def show(text: str) -> None:
        if not quiet:
            print(text)

    optimum = table.optimum
    show(f"\n## {problem.name}, search set {problem.search_set}: {problem.description}")
    gap = gap_around(list(table.cost.values()), table.ceiling)
    show(f"{len(table.accuracy)} candidates, ceiling ${table.ceiling:.6f}/task, the nearest "
          f"candidate's true cost {100 * (gap - 1):.1f}% away "
          f"({sum(table.feasible.values())} feasible, {len(table.target)} in the target set), "
          f"optimum accuracy {table.accuracy[optimum]:.3f} at ${table.cost[optimum]:.6f}; "
          f"exhaustive search table {table.search_evaluations} evaluations, "
          f"${table.search_dollars:.4f} ({seconds:.0f}s)")  # fmt: skip
    show(f"{'strategy':14} {'evals':>8} {'$':>9} {'reached':>8} "
          f"{'regret@5%':>9} {'@10%':>6} {'@25%':>6} {'final':>6} "
          f"{'in set':>7} {'false':>6} {'vs opt':>6} {'shipped':>7} {'$ ratio':>7} "
          f"{'$ spent':>8} {'$ paid':>8}")  # fmt: skip
    median = {}
    for n, done in runs.items():
        evals = statistics.median(_effort(r, table, 0) for r in done)
        dollars = statistics.median(_effort(r, table, 1) for r in done)
        paid = statistics.median(_effort(r, table, 2) for r in done)
        median[n] = (evals, dollars, paid)
        regrets = [
            statistics.median(_regret(r, table, s) for r in done)
            for s in (0.05, 0.1, 0.25, math.inf)
        ]
        reached = sum(r.reached is not None for r in done)
        judged = [r.claim.judged(table) for r in done if r.claim is not None]
        cells = []
        for which in range(3):
            known = [j[which] for j in judged if j[which] is not None]
            tally.claims.setdefault(n, [[0, 0], [0, 0], [0, 0]])[which][0] += sum(known)
            tally.claims[n][which][1] += len(known)
            cells.append(f"{sum(known)}/{len(known)}" if judged else "-")
        # What ships (the certificate's pick) against the leader: its true regret, and the
        # leader's true cost per task over its own.
        shipped = [x for r in done if r.claim and (x := r.claim.shipped_regret(table)) is not None]
        ratios = [
            table.cost[leader] / table.cost[r.claim.shipped]
            for r in done
            if r.claim and r.claim.shipped in table.cost and (leader := r.points[-1][2])
            and leader in table.cost and table.cost[r.claim.shipped] > 0
        ]  # fmt: skip
        # Everything the run spent, to its end: a strategy that keeps racing after it has
        # reached pays for that too.
        spent = statistics.median(r.points[-1][1] if r.points else 0.0 for r in done)
        ship = f"{statistics.median(shipped):.3f}" if shipped else "-"
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
        for value in shipped:
            tally.shipped_regrets.setdefault(n, []).append(value)
        show(f"{n:14} {evals:>8.0f} {dollars:>9.4f} {reached:>4}/{len(done):<3} "
              f"{regrets[0]:>9.3f} {regrets[1]:>6.3f} {regrets[2]:>6.3f} "
              f"{regrets[3]:>6.3f} {cells[0]:>7} {cells[1]:>6} {cells[2]:>6} "
              f"{ship:>7} {ratio:>7} {spent:>8.4f} {paid:>8.4f}")  # fmt: skip
    for n in names:
        evals, dollars, _ = median[n]
        base = median[RANDOM]  # random search's exact expectation
        tally.speed[n]["$"].setdefault(problem.name, []).append(base[1] / dollars)
        tally.speed[n]["evals"].setdefault(problem.name, []).append(base[0] / evals)
        as_run = median[AS_RUN]
        tally.speed[n]["$ as run"].setdefault(problem.name, []).append(as_run[1] / dollars)
        paid, paid_base = median[n][2], base[2]
        if math.isfinite(paid) and math.isfinite(paid_base) and paid > 0:
            tally.speed[n]["$ paid"].setdefault(problem.name, []).append(paid_base / paid)
        if "tpe" in median:
            tally.vs_tpe[n].setdefault(problem.name, []).append(median["tpe"][0] / evals)


if __name__ == "__main__":
    main()
