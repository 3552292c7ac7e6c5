"""route(): a deployable router over a finished search's front, learned from its records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel

from orchestrator.budget import Budget
from orchestrator.pricing import PriceTable
from orchestrator.spec import Agent
from search.errors import SearchError
from search.objective import Objective
from search.results import SearchResult
from search.routing.features import FeatureSpec, as_features
from search.routing.records import Arm, outcomes, pick_arms, queries, verified_arm
from search.routing.selection import POLICIES, choose_policy, make_policy
from search.routing.workflow import RoutedWorkflow, RouterConfig
from search.store import Store, get_store

__all__ = ["route", "search_objective"]


def search_objective(result: SearchResult, store: Store) -> Objective:
    """The objective the search ran with (kept in the store), else accuracy alone."""
    record = store.get_search(result.name)
    stored = record.config.get("objective") if record is not None else None
    return Objective.model_validate(stored) if stored else Objective()


def route(
    result: SearchResult,
    *,
    tasks: Iterable[Any],
    store: Store | str | Path,
    k: int | None = None,
    policy: str = "auto",
    cost_cap: float | None = None,
    deadline: float | None = None,
    verifier: str | Agent | Sequence[str | Agent] | None = None,
    features: FeatureSpec = None,
    objective: Objective | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    explore_budget: int = 0,
    folds: int = 5,
    seed: int = 0,
    name: str | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    cache: BaseCache | None = None,
    prices: PriceTable | None = None,
    metric: Any = None,
    budget: Budget | None = None,
) -> RoutedWorkflow:
    """Build a router over the top ``k`` workflows of ``result``'s front.

    The policy learns from the stored per-task results of the search split only
    (``result.search_task_ids``); the held-out split is left for
    :func:`~search.routing.evaluate_routing`. From ``tasks`` the router reads only ids
    and questions, never answers; with a ``verifier``, the evaluator scores the verified
    arm on the search split against them, as the search scored every arm.

    Args:
        result: A finished search.
        tasks: The tasks the search ran on (a Dataset's ``tasks``, or any with ``id`` and
            ``question``).
        store: The search's store: its records, and where decisions and feedback go.
        k: How many arms (default 3): the shipped workflow, the cheapest, then by objective.
        policy: ``"auto"`` (cross-validation) or a name in :data:`POLICIES`.
        cost_cap: Hard dollars per request, checked on each arm's worst case.
        deadline: Seconds per request: arms expected (90th percentile of their stored run
            times) to take longer are never chosen, a cascade is cut where its expected
            time would pass it, and a running cascade stops escalating once it has.
        verifier: A model reference or a verifier :class:`~orchestrator.Agent`, or several:
            the cheapest arm is added again with each verifier after its exit, so a
            cascade can escalate on its rejection (FrugalGPT); the cascade's fit keeps
            the one that pays best on the search split, if any. Each such arm is
            evaluated on the search split (stored results are free; misses are charged
            to ``budget``).
        features: ``"text"`` (default), a function of the question, a ``Features``, or a
            LangChain ``Embeddings``.
        objective: What to maximise; default the search's own.
        options: Per-policy constructor options, by policy name.
        explore_budget: Exploratory decisions LinUCB may make online (0: none).
        folds: Cross-validation folds for ``"auto"``.
        seed: Fold seed.
        name: The router's name; default ``"<search>-router"``.
        models: Instances for model references, as in :func:`orchestrator.deploy`.
        cache: LLM-call cache for the arms.
        prices: Price table (costs and worst cases).
        metric: The search's metric, to score the verified arm (default: by its name).
        budget: Charged for the verified arm's evaluations that are not stored.

    Raises:
        SearchError: The result records no search split, or the store lacks its records.
    """
    db = get_store(store)
    if not result.search_task_ids:
        raise SearchError(
            f"search {result.name!r} does not record its split; run it again with this "
            "version (stored evaluations are free) and route the new result"
        )
    goal = objective or search_objective(result, db)
    task_list = list(tasks)
    arms = pick_arms(result, store=db, k=k, objective=goal, scores=_search_scores(result, db))
    checkers = [verifier] if isinstance(verifier, str | Agent) else list(verifier or ())
    cheap = list(arms)
    for checker in checkers:
        arms.append(
            _verified(cheap, checker, result, task_list, db, metric, models, prices, budget)
        )
    extractor = as_features(features)
    rows = queries(task_list, result.search_task_ids)
    data = outcomes(
        db,
        dataset=result.dataset,
        arms=arms,
        rows=rows,
        features=extractor,
        models=models,
        prices=prices,
    )
    chosen_options = {name: dict(value) for name, value in (options or {}).items()}
    linucb = chosen_options.setdefault("linucb", {})
    linucb.setdefault("explore_budget", explore_budget)
    validation = None
    chosen = policy
    if policy == "auto":
        validation = choose_policy(
            data,
            objective=goal,
            cap=cost_cap,
            deadline=deadline,
            candidates=tuple(POLICIES),
            options=chosen_options,
            folds=folds,
            seed=seed,
        )
        chosen = validation.chosen
    fitted = make_policy(chosen, objective=goal, **chosen_options.get(chosen, {})).fit(data)
    config = RouterConfig(
        name=name or f"{result.name}-router",
        search=result.name,
        dataset=result.dataset,
        arms=tuple(arms),
        policy=fitted.get_state(),
        options=fitted.options(),
        features=extractor.name,
        cost_cap=cost_cap,
        deadline=deadline,
        cross_validation=validation,
        trained_on=data.n,
    )
    return RoutedWorkflow(
        config,
        features=None if extractor.name == "text" else extractor,
        store=db,
        models=models,
        cache=cache,
        prices=prices,
    )


def _search_scores(result: SearchResult, store: Store) -> dict[str, dict[str, float]]:
    """Each front member's stored score per search task (seeds averaged)."""
    wanted = set(result.search_task_ids)
    table: dict[str, dict[str, float]] = {}
    for stats in result.front:
        seen: dict[str, list[float]] = {}
        for record in store.evaluations(workflow=stats.workflow, dataset=result.dataset):
            if record.task_id in wanted:
                seen.setdefault(record.task_id, []).append(record.score)
        table[stats.workflow] = {t: sum(v) / len(v) for t, v in seen.items()}
    return table


def _verified(
    arms: list[Arm],
    verifier: str | Agent,
    result: SearchResult,
    tasks: list[Any],
    store: Store,
    metric: Any,
    models: Mapping[str, BaseChatModel] | None,
    prices: PriceTable | None,
    budget: Budget | None,
) -> Arm:
    """The cheapest arm with ``verifier`` after it, evaluated on the search split."""
    from search.evaluation.datasets import Dataset
    from search.evaluation.evaluator import Evaluator

    cheapest = min(arms, key=lambda a: (a.cost_per_task, -a.mean))
    checked = verified_arm(cheapest, verifier)
    wanted = set(result.search_task_ids)
    split = Dataset(name=result.dataset, tasks=tuple(t for t in tasks if t.id in wanted))
    evaluator = Evaluator(
        split,
        metric if metric is not None else result.metric_ref,
        store=store,
        models=models,
        prices=prices,
        budget=budget,
    )
    scored = evaluator.evaluate(checked.spec)
    return checked.model_copy(update={"mean": scored.mean, "cost_per_task": scored.cost_per_task})
