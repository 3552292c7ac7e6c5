"""The strategy registry: built-in and users' strategies by name; ``"a+b"`` makes a pipeline."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from search.errors import SearchError
from search.strategies.auto import AutoStrategy
from search.strategies.bandit import BanditStrategy
from search.strategies.base import SearchStrategy
from search.strategies.boad import BOADStrategy
from search.strategies.knapsack import KnapsackStrategy
from search.strategies.mcts import MCTSStrategy
from search.strategies.optuna import OptunaStrategy
from search.strategies.pipeline import Pipeline
from search.strategies.simple import GridStrategy, RandomStrategy

__all__ = ["register_strategy", "get_strategy", "list_strategies"]

_FACTORIES: dict[str, Callable[..., SearchStrategy]] = {
    "auto": AutoStrategy,
    "random": RandomStrategy,
    "grid": GridStrategy,
    "tpe": lambda **kw: OptunaStrategy(sampler="tpe", **kw),
    "nsga2": lambda **kw: OptunaStrategy(sampler="nsga2", **{"multi_objective": True, **kw}),
    "gp": lambda **kw: OptunaStrategy(sampler="gp", **{"multi_objective": True, **kw}),
    "bandit": lambda **kw: BanditStrategy(policy="ucb", **kw),
    "ucb": lambda **kw: BanditStrategy(policy="ucb", **kw),
    "thompson": lambda **kw: BanditStrategy(policy="thompson", **kw),
    "knapsack": KnapsackStrategy,
    "boad": BOADStrategy,
    "mcts": MCTSStrategy,
    "aflow": lambda **kw: MCTSStrategy(**{"selection": "aflow", **kw}),
}
_LOCK = threading.Lock()


def register_strategy(name: str, factory: Callable[..., SearchStrategy]) -> None:
    """Make a strategy available by name (to ``create_search`` and the CLI)."""
    if "+" in name:
        raise SearchError("'+' joins pipeline stages; it cannot be part of a name")
    with _LOCK:
        _FACTORIES[name] = factory


def list_strategies(*, edits_topologies: bool | None = None) -> list[str]:
    """Registered strategy names; join them with ``+`` for a pipeline.

    Args:
        edits_topologies: Only the strategies whose
            :attr:`~search.strategies.SearchStrategy.capabilities` say they edit
            rolegraph topologies (``True``) or do not (``False``, those that can
            search a graph space); ``None``: all. A strategy that cannot be made
            with its default options here (a missing extra) is left out of a filtered list.
    """
    with _LOCK:
        names = sorted(_FACTORIES)
    if edits_topologies is None:
        return names
    found = []
    for name in names:
        try:
            strategy = _FACTORIES[name]()
        except Exception:  # e.g. an optional extra that is not installed
            continue
        if strategy.capabilities.edits_topologies == edits_topologies:
            found.append(name)
    return found


def _build(stage: str, options: dict[str, Any]) -> SearchStrategy:
    try:
        return _FACTORIES[stage](**options)
    except TypeError as exc:
        match = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
        if match is None:
            raise
        raise SearchError(
            f"strategy {stage!r} does not take {match.group(1)!r}; see its class's arguments"
        ) from None
    except ValueError as exc:
        raise SearchError(f"strategy {stage!r}: {exc}") from None


def get_strategy(name: str, **options: Any) -> SearchStrategy:
    """A strategy by name; ``"a+b"`` chains stages into a :class:`Pipeline`.

    Options go to the strategy; for a pipeline, prefix each with its stage's
    name, e.g. ``tpe__n_trials=20``.

    Raises:
        SearchError: An unknown name, an option it does not take or a bad value,
            or an option that names no stage.
    """
    stages = name.split("+")
    unknown = [stage for stage in stages if stage not in _FACTORIES]
    if unknown:
        raise SearchError(
            f"unknown strategy {unknown[0]!r}; known: {', '.join(list_strategies())}"
            " (join names with '+' for a pipeline)"
        )
    if len(stages) == 1:
        return _build(name, options)
    per_stage: dict[str, dict[str, Any]] = {stage: {} for stage in stages}
    keep = options.pop("keep", 5)
    for key, value in options.items():
        stage, sep, option = key.partition("__")
        if not sep or stage not in per_stage:
            raise SearchError(
                f"option {key!r} names no stage; in a pipeline write <stage>__<option>"
            )
        per_stage[stage][option] = value
    return Pipeline(*(_build(stage, per_stage[stage]) for stage in stages), keep=keep)
