"""What a search may spend, before it spends anything: a range of dollars, calls and time.

:func:`estimate_search` reads a built :class:`~search.Search` (its space, task
split, strategy, settings and budget) and returns a :class:`SearchEstimate`:
a low and a high end for evaluations, model calls, dollars and wall time, and
how much of the space the plan and the budget cover. Nothing is evaluated.

- **High end.** Every candidate the plan may propose is evaluated on every
  search task, the most expensive candidates first, each at its worst case
  (:func:`~orchestrator.worst_case.estimate_evaluation`: the numbers every
  call holds at run time: output caps, every loop round and tool round,
  the longest question), then capped by the budget and ``max_evaluations``.
  A budget is a hard limit, so with one the high end never exceeds it.
- **Low end.** The fewest evaluations the plan allows (a pruner stopping
  every candidate it may stop as early as it may, an optimiser revisiting
  candidates it has tried, which is free), the cheapest candidates, and each
  model-calling agent called once with a short reply
  (:data:`LOW_REPLY_TOKENS`) and no loop or tool rounds.
- **Not counted.** Results and model calls already in the store cost
  nothing; a resumed search, or one sharing a store with others, spends less,
  possibly less than the low end. The LLM-call cache also serves calls that
  several candidates share (identical agents on the same task).

Example:
    >>> from search import create_search
    >>> search = create_search(space={"topologies": ["single"], "pool": ["sim:atlas-nano"]},
    ...                        dataset="bundled:arithmetic", strategy="grid", store=None)
    >>> estimate = estimate_search(search)
    >>> estimate.dollars.low <= estimate.dollars.high
    True
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.budget import MESSAGE_OVERHEAD_TOKENS, Budget, output_cap, split_budget
from orchestrator.models import resolve_model
from orchestrator.pricing import PriceTable, default_prices
from orchestrator.roles import get_role
from orchestrator.spec import WorkflowSpec
from orchestrator.trace import Usage
from orchestrator.worst_case import REPLY_CHARS_PER_TOKEN, estimate_evaluation
from search.baselines import self_consistency_baseline, single_baselines
from search.evaluation.target import EvalTarget
from search.space import Candidate, SearchSpace, Space
from search.strategies.base import SearchStrategy
from search.strategies.plan import PlanRequest, StagePlan

if TYPE_CHECKING:
    from search.runner import Search

__all__ = [
    "Range",
    "StagePlan",
    "SearchEstimate",
    "estimate_search",
    "strategy_plan",
    "LOW_REPLY_TOKENS",
    "SAMPLE_LIMIT",
    "REAL_CALL_LATENCY_S",
    "TOKENS_PER_SECOND",
    "OVERHEAD_S",
]

LOW_REPLY_TOKENS = 64
"""Reply length (tokens) of every call at the low end: a short answer with brief reasoning."""
SAMPLE_LIMIT = 5000
"""Spaces with more parameter combinations than this are estimated from a seeded sample."""
REAL_CALL_LATENCY_S = (0.3, 1.0)
"""Seconds before a real (not simulated) model's first token: low and high end."""
TOKENS_PER_SECOND = (100.0, 40.0)
"""A real model's output speed in tokens per second: low-end time and high-end time."""
OVERHEAD_S = (0.002, 0.05)
"""rolegraph's own CPU seconds per evaluation (compile, prompts, parsing, store), low and high."""


class Range(BaseModel):
    """A low and a high end; ``high`` is ``None`` when nothing bounds it."""

    model_config = ConfigDict(frozen=True)

    low: float = Field(description="The low end.")
    high: float | None = Field(description="The high end; None means unbounded.")

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the range (a small tolerance for rounding)."""
        above = value >= self.low * (1 - 1e-9) - 1e-12
        return above and (self.high is None or value <= self.high * (1 + 1e-9) + 1e-12)


class SearchEstimate(BaseModel):
    """A search's likely range of evaluations, calls, dollars and time, before it runs."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The search's name.")
    strategy: str = Field(description="The strategy.")
    simulated: bool = Field(description="Whether the pool holds simulated 'sim:' models.")
    space_size: int = Field(description="Distinct candidates (or parameter combinations).")
    space_exact: bool = Field(description="Whether space_size counts built, distinct specs.")
    sampled: int = Field(description="Candidates the per-candidate costs were computed from.")
    search_tasks: int = Field(description="Tasks in the search split.")
    test_tasks: int = Field(description="Tasks in the held-out test split.")
    repetitions: int = Field(description="Seeds per task for candidates that sample.")
    plan: tuple[StagePlan, ...] = Field(description="Each stage's plan.")
    candidates: Range = Field(description="Distinct candidates the search may evaluate.")
    evaluations: Range = Field(description="Workflow x task evaluations run, the test included.")
    calls: Range = Field(description="Model calls, the test included.")
    dollars: Range = Field(description="Dollars, the test included.")
    plan_dollars: float | None = Field(
        description="The plan's worst case before the budget caps it; None if open-ended."
    )
    wall_s: Range = Field(description="Wall-clock seconds.")
    budget: Budget | None = Field(description="The search's budget (search and test together).")
    search_budget_dollars: float | None = Field(
        description="The part of the dollar budget the search may spend (the rest is the test's)."
    )
    budget_candidates: Range | None = Field(
        description="Median candidates the search budget pays for on every search task: "
        "at their worst case (low) and with short replies (high)."
    )
    max_evaluations: int | None = Field(description="The search's cap on evaluations asked.")
    concurrency: int = Field(description="Evaluations running at once.")
    parallel: int = Field(description="Proposals evaluated at once.")
    rate_limit: float | None = Field(description="Requests per second allowed, if limited.")
    proposals: int | None = Field(
        description="Proposals the strategy makes at most, if its plan says."
    )
    bound: str = Field(description="What sets the high end of the dollars: 'budget' or 'plan'.")
    method: tuple[str, ...] = Field(description="How the estimate was made, in a few lines.")

    @property
    def plan_share(self) -> float | None:
        """Share of the space the plan may evaluate at most."""
        if self.candidates.high is None or not self.space_size:
            return None
        return min(1.0, self.candidates.high / self.space_size)


@dataclass(frozen=True)
class _Cost:
    """One candidate's cost per evaluation at the low and the high end."""

    low_dollars: float
    high_dollars: float
    low_calls: int
    high_calls: int
    low_depth: int
    high_depth: int
    low_latency: float
    high_latency: float
    seeds: int


# --- the plan ---------------------------------------------------------------------------


def strategy_plan(
    strategy: SearchStrategy, space: Space, tasks: int, *, size: int | None = None
) -> list[StagePlan]:
    """Each stage's plan: how many candidates it may propose and on how many tasks.

    The strategy says so itself (:meth:`~search.strategies.SearchStrategy.plan`);
    one with no plan is bounded by the budget alone.

    Args:
        strategy: The strategy (a pipeline gives one plan per stage).
        space: The search space.
        tasks: Tasks in the search split.
        size: Distinct candidates in the space; computed when not given.
    """
    total = space.size() if size is None else size
    return list(strategy.plan(PlanRequest(space=space, size=total, tasks=tasks)))


# --- per-candidate costs ----------------------------------------------------------------


def _model(
    ref: str, models: Mapping[str, BaseChatModel], cache: dict[str, BaseChatModel]
) -> BaseChatModel:
    if ref in models:
        return models[ref]
    if ref not in cache:
        cache[ref] = resolve_model(ref)
    return cache[ref]


def _latency(model: BaseChatModel, tokens: int, end: int) -> float:
    """Seconds one call takes: the simulator's own model, or a real model's assumed speed."""
    profile = getattr(model, "sim_profile", None)
    if profile is not None:
        scale = float(getattr(model, "latency_scale", 0.0) or 0.0)
        return scale * (profile.latency_s + profile.seconds_per_token * tokens)
    return REAL_CALL_LATENCY_S[end] + tokens / TOKENS_PER_SECOND[end]


def _longest_chain(graph: nx.DiGraph, weight: Mapping[str, int]) -> int:
    best: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        before = max((best[p] for p in graph.predecessors(node)), default=0)
        best[node] = before + weight.get(node, 0)
    return max(best.values(), default=0)


def _candidate_cost(
    spec: WorkflowSpec,
    *,
    seeds: int,
    longest: str,
    mean_chars: int,
    prices: PriceTable,
    models: Mapping[str, BaseChatModel],
    cache: dict[str, BaseChatModel],
) -> _Cost:
    worst = estimate_evaluation(spec, question=longest, prices=prices, models=models)
    structure = spec.structure
    low_calls: dict[str, int] = {}
    low_dollars = 0.0
    low_latency = 0.0
    high_latency = 0.0
    for agent in spec.agents:
        role = get_role(agent.role)
        if agent.model is None or not role.uses_model:
            continue
        model = _model(agent.model, models, cache)
        cap = output_cap(agent.max_tokens, model)
        high_latency = max(high_latency, _latency(model, cap, 1))
        # A rectifier is called only after a rejection: at the low end, never.
        if agent.role == "rectifier":
            continue
        templates = [
            (role.system, role.user),
            *((v.system, v.user) for v in role.variants.values()),
        ]
        base = min(len(agent.prompt or system) + len(user) for system, user in templates)
        quoted = LOW_REPLY_TOKENS * REPLY_CHARS_PER_TOKEN * len(structure.feeders[agent.name])
        chars = base + mean_chars + quoted
        inp = math.ceil(chars / REPLY_CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS
        usage = Usage(
            input_tokens=inp, output_tokens=LOW_REPLY_TOKENS, total_tokens=inp + LOW_REPLY_TOKENS
        )
        low_dollars += prices.cost(agent.model, usage)
        low_calls[agent.name] = 1
        low = _latency(model, LOW_REPLY_TOKENS, 0)
        low_latency = low if not low_latency else min(low_latency, low)
    return _Cost(
        low_dollars=low_dollars,
        high_dollars=worst.dollars,
        low_calls=sum(low_calls.values()),
        high_calls=worst.calls,
        low_depth=_longest_chain(structure.forward, low_calls),
        high_depth=worst.calls,  # the worst case: every call one after another
        low_latency=low_latency,
        high_latency=high_latency,
        seeds=seeds,
    )


def _graph_cost(
    target: EvalTarget,
    *,
    seeds: int,
    longest: str,
    mean_chars: int,
    prices: PriceTable,
    models: Mapping[str, BaseChatModel],
    cache: dict[str, BaseChatModel],
) -> _Cost:
    """A user's graph's cost per evaluation: its worst case, or one short cheap call.

    How many calls a graph makes is its own code's business: the low end is one
    short call of its cheapest slot model, the high end ``max_calls_per_run`` calls.
    """
    worst = target.worst_case(question=longest, models=models, prices=prices)
    inp = math.ceil(mean_chars / REPLY_CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS
    usage = Usage(
        input_tokens=inp, output_tokens=LOW_REPLY_TOKENS, total_tokens=inp + LOW_REPLY_TOKENS
    )
    refs = list(target.models)
    low_dollars = min((prices.cost(ref, usage) for ref in refs), default=0.0)
    chosen = [_model(ref, models, cache) for ref in refs]
    return _Cost(
        low_dollars=low_dollars,
        high_dollars=worst.dollars,
        low_calls=1,
        high_calls=worst.calls,
        low_depth=1,
        high_depth=worst.calls,  # every call one after another
        low_latency=min((_latency(m, LOW_REPLY_TOKENS, 0) for m in chosen), default=0.0),
        high_latency=max((_latency(m, output_cap(None, m), 1) for m in chosen), default=0.0),
        seeds=seeds,
    )


def _candidates(space: Space, limit: int, seed: int) -> tuple[list[Candidate], int, bool]:
    """The space's candidates (or a seeded sample of a big one), its size, and if exact."""
    combinations = space.combinations()
    if combinations <= limit:
        found = list(space.grid(origin="estimate"))
        return found, len(found), True
    rng = random.Random(seed)
    seen: dict[str, Candidate] = {}
    for _ in range(limit * 3):
        candidate = space.sample(rng, origin="estimate")
        seen.setdefault(candidate.hash, candidate)
        if len(seen) >= limit:
            break
    return list(seen.values()), combinations, False


# --- the estimate -----------------------------------------------------------------------


def _fill(
    slots: Sequence[int], costs: Sequence[_Cost], *, cap: int | None, end: str
) -> tuple[int, int, float, float]:
    """Evaluations, calls, dollars and model seconds of ``slots`` filled with ``costs``.

    ``costs`` is already in the order to use (cheapest first for the low end,
    dearest first for the high end); the largest slots go to the first costs.
    """
    evaluations = calls = 0
    dollars = seconds = 0.0
    left = cap
    if not costs:
        return 0, 0, 0.0, 0.0
    for slot, cost in zip(sorted(slots, reverse=True), _cycle(costs), strict=False):
        n = slot * cost.seeds
        if left is not None:
            n = min(n, left)
            left -= n
        per_calls = cost.low_calls if end == "low" else cost.high_calls
        per_dollars = cost.low_dollars if end == "low" else cost.high_dollars
        per_seconds = (
            cost.low_depth * cost.low_latency
            if end == "low"
            else cost.high_depth * cost.high_latency
        )
        evaluations += n
        calls += n * per_calls
        dollars += n * per_dollars
        seconds += n * per_seconds
        if left == 0:
            break
    return evaluations, calls, dollars, seconds


def _cycle(costs: Sequence[_Cost]) -> Iterable[_Cost]:
    while True:
        yield from costs


def _min_none(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _rate_limit(models: Mapping[str, BaseChatModel], pool: Sequence[str]) -> float | None:
    rates = []
    for ref in pool:
        limiter = getattr(models.get(ref), "rate_limiter", None)
        rate = getattr(limiter, "requests_per_second", None)
        if rate is None:
            return None
        rates.append(float(rate))
    return min(rates) if rates else None


def _baselines(
    search: Search,
    known: Sequence[Candidate],
    *,
    cost_of: Callable[[Candidate], _Cost],
    covered: bool,
) -> tuple[list[_Cost], list[_Cost]]:
    """The baselines' costs at the low and the high end (search.baselines).

    Those the space holds cost nothing more at the low end (the strategy may have run
    them), and at the high end too when the plan runs the whole space (``covered``).
    Self-consistency is of the best single model, unknown before the search: the
    cheapest at the low end (none under a cost ceiling, which may skip it), the
    dearest at the high end.
    """
    if not isinstance(search.space, SearchSpace):
        return [], []  # a user's graph has no single-agent form
    pool = search.space.pool.models
    held = {c.hash for c in known}
    singles = single_baselines(pool)
    votes = [self_consistency_baseline(m, pool) for m in pool]
    high_held = held if covered else set()
    unknown = [cost_of(c) for c in votes if c.hash not in held]
    # The space may hold the one that runs; a cost ceiling may skip it: then none, low.
    free = len(unknown) < len(votes) or search.objective.max_cost_per_task is not None
    cheapest = [] if free else sorted(unknown, key=lambda c: c.low_dollars * c.seeds)[:1]
    priced = [cost_of(c) for c in votes if c.hash not in high_held]
    dearest = sorted(priced, key=lambda c: c.high_dollars * c.seeds, reverse=True)[:1]
    low = [cost_of(c) for c in singles if c.hash not in held] + cheapest
    high = [cost_of(c) for c in singles if c.hash not in high_held] + dearest
    return low, high


def estimate_search(
    search: Search, *, sample: int = SAMPLE_LIMIT, rate_limit: float | None = None
) -> SearchEstimate:
    """A range for what ``search`` will evaluate, call, spend and take, before it runs.

    Args:
        search: A search built by :func:`~search.create_search` (not run).
        sample: Spaces with more parameter combinations than this are estimated
            from a seeded sample of this many candidates.
        rate_limit: Requests per second the models are limited to; by default
            read from the rate limiters of the search's model instances.

    Returns:
        The estimate; :attr:`SearchEstimate.method` says how it was made.
    """
    space = search.space
    evaluator = search.evaluator
    models: Mapping[str, BaseChatModel] = evaluator.models
    prices = evaluator.prices or space.pool.prices(default_prices())
    tasks = len(search.search_tasks)
    test_tasks = len(search.test_tasks)
    every = [*search.search_tasks, *search.test_tasks]
    longest = max((task.question for task in every), key=len, default="")
    mean_chars = round(sum(len(t.question) for t in every) / len(every)) if every else 0

    found, size, exact = _candidates(space, sample, search.seed)
    resolved: dict[str, BaseChatModel] = {}

    def cost_of(candidate: Candidate) -> _Cost:
        if candidate.graph is not None and candidate.spec is None:
            return _graph_cost(
                candidate.graph,
                seeds=len(evaluator.seeds_for(candidate.graph)),
                longest=longest,
                mean_chars=mean_chars,
                prices=prices,
                models=models,
                cache=resolved,
            )
        return _candidate_cost(
            candidate.workflow,
            seeds=len(evaluator.seeds_for(candidate.workflow)),
            longest=longest,
            mean_chars=mean_chars,
            prices=prices,
            models=models,
            cache=resolved,
        )

    costs = [cost_of(c) for c in found]
    cheapest = sorted(costs, key=lambda c: c.low_dollars * c.seeds)
    dearest = sorted(costs, key=lambda c: c.high_dollars * c.seeds, reverse=True)

    plans = strategy_plan(search.strategy, space, tasks, size=size)
    open_ended = any(plan.high_slots is None for plan in plans)
    high_slots = [s for plan in plans for s in (plan.high_slots or ())][:size]
    # At the end the runner may complete candidates a stage evaluated on a few tasks only.
    if any(slot < tasks for slot in high_slots):
        high_slots += [tasks] * min(search.finalists, len(high_slots))
    low_slots = [s for plan in plans for s in plan.low_slots][:size]

    budget = search.budget
    search_budget, test_budget = split_budget(budget, search.settings.test_share)
    cap_evals = _min_none(
        search.max_evaluations, search_budget.evaluations if search_budget else None
    )
    cap = int(cap_evals) if cap_evals is not None else None
    low_e, low_c, low_d, low_s = _fill(low_slots, cheapest, cap=cap, end="low")
    high_e, high_c, high_d, high_s = _fill(high_slots, dearest, cap=cap, end="high")
    # A plan that runs every candidate of the space on every task runs the baselines it holds.
    covers = exact and len(high_slots) >= size and all(slot >= tasks for slot in high_slots)
    base_low, base_high = _baselines(
        search, found if exact else [], cost_of=cost_of, covered=covers
    )
    left_low = None if cap is None else max(0, cap - low_e)
    left_high = None if cap is None else max(0, cap - high_e)
    b = _fill([tasks] * len(base_low), base_low, cap=left_low, end="low")
    low_e, low_c, low_d, low_s = low_e + b[0], low_c + b[1], low_d + b[2], low_s + b[3]
    b = _fill([tasks] * len(base_high), base_high, cap=left_high, end="high")
    high_e, high_c, high_d, high_s = high_e + b[0], high_c + b[1], high_d + b[2], high_s + b[3]
    t_low = _fill([test_tasks], cheapest[:1], cap=None, end="low") if test_tasks else (0, 0, 0, 0)
    t_high = _fill([test_tasks], dearest[:1], cap=None, end="high") if test_tasks else (0, 0, 0, 0)

    search_dollars = search_budget.dollars if search_budget else None
    test_dollars = test_budget.dollars if test_budget else None
    plan_dollars = None if open_ended else high_d + t_high[2]
    dollars_high: float | None
    if open_ended:
        dollars_high = budget.dollars if budget and budget.dollars is not None else None
        bound = "budget" if dollars_high is not None else "nothing"
    else:
        search_high = _min_none(high_d, search_dollars)
        test_high = _min_none(t_high[2], test_dollars)
        assert search_high is not None and test_high is not None
        dollars_high = search_high + test_high
        bound = "budget" if search_dollars is not None and high_d > search_dollars else "plan"
    dollars_low = min(low_d, search_dollars or math.inf) + min(t_low[2], test_dollars or math.inf)

    evals_high: float | None = None if open_ended and cap is None else high_e + t_high[0]
    if open_ended and cap is not None:
        evals_high = cap + t_high[0]
    calls_cap = budget.calls if budget else None
    calls_high: float | None = None if evals_high is None else high_c + t_high[1]
    if open_ended and evals_high is not None and dearest:
        calls_high = evals_high * max(c.high_calls for c in dearest)
    calls_high = _min_none(calls_high, calls_cap)
    calls_low = min(low_c + t_low[1], calls_cap) if calls_cap is not None else low_c + t_low[1]

    concurrency = evaluator.max_concurrency
    parallel = search.parallel
    at_once = max(1, min(concurrency, parallel * max(1, tasks)))
    rate = rate_limit if rate_limit is not None else _rate_limit(models, space.pool.models)
    wall_low = max((low_s + t_low[3]) / at_once, calls_low / rate if rate else 0.0)
    wall_low += (low_e + t_low[0]) * OVERHEAD_S[0]
    wall_high: float | None = None
    if evals_high is not None and calls_high is not None:
        model_seconds = high_s + t_high[3]
        if open_ended and dearest:
            model_seconds = evals_high * max(c.high_depth * c.high_latency for c in dearest)
        wall_high = max(model_seconds / at_once, calls_high / rate if rate else 0.0)
        wall_high += evals_high * OVERHEAD_S[1]

    budget_candidates = None
    if search_dollars is not None and costs:
        median = sorted(costs, key=lambda c: c.high_dollars)[len(costs) // 2]
        full_high = median.high_dollars * median.seeds * tasks
        by_low = sorted(costs, key=lambda c: c.low_dollars)[len(costs) // 2]
        full_low = by_low.low_dollars * by_low.seeds * tasks
        budget_candidates = Range(
            low=search_dollars / full_high if full_high else math.inf,
            high=search_dollars / full_low if full_low else None,
        )

    counted = [plan.proposals for plan in plans]
    proposals = None if any(n is None for n in counted) else sum(n or 0 for n in counted)
    simulated = any(ref.startswith("sim:") for ref in space.pool.models)
    method = (
        f"High end: each planned candidate on all {tasks} search tasks, the dearest "
        f"{'of a sample of ' + str(len(found)) if not exact else 'in the space'} first, at "
        "its worst case (output caps, every loop and tool round, the longest question: what "
        "each call holds at run time), capped by the budget and max_evaluations.",
        "Low end: the fewest evaluations the plan allows (earliest pruning, revisits free), "
        f"the cheapest candidates, every agent called once with a {LOW_REPLY_TOKENS}-token "
        "reply and no loop or tool rounds.",
        "Wall time: calls one after another within an evaluation, "
        f"{at_once} evaluations at once"
        + (f", at most {rate:g} requests/s" if rate else "")
        + (
            "; simulated models answer at once (latency_scale=0)"
            if simulated
            else f"; real models {REAL_CALL_LATENCY_S[0]:g}-{REAL_CALL_LATENCY_S[1]:g} s to "
            f"the first token, {TOKENS_PER_SECOND[1]:g}-{TOKENS_PER_SECOND[0]:g} tokens/s"
        )
        + f"; plus {OVERHEAD_S[0] * 1000:g}-{OVERHEAD_S[1] * 1000:g} ms of rolegraph's own "
        "work per evaluation.",
        "Both ends include the single-agent baselines every search runs (each pool model "
        "alone, self-consistency of the best) beside what the space and plan hold.",
        "Results and calls already in the store are free: a resumed search, or one sharing "
        "calls with earlier searches, spends less.",
    )
    return SearchEstimate(
        name=search.name,
        strategy=search.strategy.name,
        simulated=simulated,
        space_size=size,
        space_exact=exact,
        sampled=len(found),
        search_tasks=tasks,
        test_tasks=test_tasks,
        repetitions=evaluator.repetitions,
        plan=tuple(plans),
        candidates=Range(
            low=float(len(low_slots)), high=None if open_ended else float(len(high_slots))
        ),
        evaluations=Range(low=float(low_e + t_low[0]), high=evals_high),
        calls=Range(low=float(calls_low), high=calls_high),
        dollars=Range(low=dollars_low, high=dollars_high),
        plan_dollars=plan_dollars,
        wall_s=Range(low=wall_low, high=wall_high),
        budget=budget,
        search_budget_dollars=search_dollars,
        budget_candidates=budget_candidates,
        max_evaluations=search.max_evaluations,
        concurrency=concurrency,
        parallel=parallel,
        rate_limit=rate,
        proposals=proposals,
        bound=bound,
        method=method,
    )
