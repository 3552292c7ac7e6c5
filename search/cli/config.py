"""Search configs for the CLI: reading a file, checking every key, and building the search.

A config is a mapping (YAML or JSON, or a ``config`` dict in a Python script)
whose keys are the fields of :class:`SearchConfig`. Every problem is a
:class:`ConfigError` that names the file and the key, raised before anything
is evaluated.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.rate_limiters import BaseRateLimiter, InMemoryRateLimiter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.budget import Budget
from orchestrator.errors import RolegraphError
from orchestrator.models import resolve_model
from orchestrator.yamlio import load_json, load_yaml
from search.errors import SearchError
from search.evaluation.settings import EvalSettings
from search.objective import Objective
from search.runner import Search, create_search
from search.settings import SearchSettings
from search.space import SearchSpace
from topologies import SpaceError

__all__ = [
    "ConfigError",
    "SearchConfig",
    "Prepared",
    "EXAMPLES",
    "load_config",
    "parse_config",
    "prepare",
    "rate_limited_models",
]

EXAMPLES: dict[str, dict[str, Any]] = {
    "arithmetic": {
        "description": "Multi-step arithmetic word problems on simulated models (offline).",
        "dataset": {"bundled": "arithmetic", "n": 80, "seed": 0},
        "metric": "numeric",
        "space": {
            "topologies": ["single", "plan_solve", "self_refine", "vote_ensemble", "best_of_n"],
            "pool": [
                "sim:atlas-nano",
                "sim:lynx-small",
                "sim:orca-small",
                "sim:atlas-mini",
                "sim:atlas-pro",
            ],
            "fixed": {"single": {"temperature": 0.0}},
        },
        "strategy": "auto",
        "budget": {"dollars": 5.0},
        "objective": {"point_value": 0.0005},
        "question": "Maya has 18 shells. Maya buys 4 bags with 6 shells in each. Maya gives "
        "away half of the shells. Maya loses 5 shells. How many shells does Maya "
        "have now?",
        "answer": "16",
    },
}
"""Bundled examples for ``rolegraph search --example NAME``."""


class ConfigError(SearchError):
    """A search config is malformed; the message names the file and the key.

    Attributes:
        key: The offending key (dotted for nested ones), if one is at fault.
        source: The config file, or ``"config"``.
    """

    def __init__(self, message: str, *, key: str | None = None, source: str = "config") -> None:
        where = f"{source}: " if source else ""
        at = f"config key {key!r}: " if key else ""
        super().__init__(f"{where}{at}{message}")
        self.key = key
        self.source = source


class SearchConfig(BaseModel):
    """The keys a search config may have. Unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    description: str = Field(default="", description="What the search is for (not used).")
    imports: list[str] = Field(
        default_factory=list,
        description="Modules to import first: they register custom roles, tools, topologies.",
    )
    dataset: str | dict[str, Any] = Field(
        description="A path (.jsonl/.json/.csv), 'bundled:NAME' or 'hf:PATH'; or a mapping: "
        "{path, question, answer, id, choices, kind, name, split, hf_options}, "
        "{bundled, n, seed, levels} or {benchmark, n, seed, subject}."
    )
    metric: str | None = Field(
        default=None, description="Metric name; default the benchmark's, else 'numeric'."
    )
    space: dict[str, Any] = Field(description="SearchSpace fields: topologies, pool, fixed.")
    strategy: str = Field(
        default="auto", description="Strategy name (default 'auto'); 'a+b' chains stages."
    )
    strategy_options: dict[str, Any] = Field(
        default_factory=dict, description="Options of the strategy (stage__option in a pipeline)."
    )
    budget: float | dict[str, Any] | None = Field(
        default=None, description="Dollars, or {dollars, tokens, calls, evaluations}."
    )
    objective: dict[str, Any] = Field(
        default_factory=dict, description="Objective fields: point_value, max_cost_per_task."
    )
    question: str | None = Field(default=None, description="A question for the deployed winner.")
    answer: str | None = Field(
        default=None, description="The question's right answer, printed beside the winner's."
    )
    store: str = Field(default="rolegraph.db", description="The SQLite store.")
    name: str | None = Field(default=None, description="Search name; the same name resumes.")
    seed: int = Field(default=0, description="Seed of the split and the strategy.")
    test_size: float | None = Field(default=None, description="Share held out for the test.")
    max_evaluations: int | None = Field(
        default=None, ge=1, description="Most evaluations the search may ask for."
    )
    concurrency: int | None = Field(
        default=None, ge=1, description="Evaluations running at once (max_concurrency)."
    )
    rate_limit: float | None = Field(
        default=None, gt=0, description="Model requests per second, over every pool model."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="SearchSettings fields (parallel, finalists, ...)."
    )
    evaluation: dict[str, Any] = Field(
        default_factory=dict, description="EvalSettings fields (repetitions, call_timeout, ...)."
    )


@dataclass
class Prepared:
    """A built search, with what the CLI needs around it."""

    search: Search
    question: str | None = None
    models: dict[str, BaseChatModel] = field(default_factory=dict)
    answer: str | None = None
    rate_limit: float | None = None


def _loc(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"])


def _pydantic_problem(exc: ValidationError, source: str, prefix: str = "") -> ConfigError:
    first = exc.errors(include_url=False)[0]
    key = ".".join(p for p in (prefix, _loc(first)) if p) or None
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return ConfigError("is not a known key", key=key, source=source)
    got = f" (got {first['input']!r})" if first["type"] != "missing" else ""
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return ConfigError(f"{message}{got}{more}", key=key, source=source)


def load_config(path: Path) -> dict[str, Any]:
    """Read a config file: ``.yaml``/``.yml``, ``.json``, or a ``.py`` script.

    A script defines ``search`` (a :class:`Search`, returned as ``{"search": ...}``)
    or ``config`` (a mapping); its folder is importable, as when Python runs it. YAML
    and JSON go through the safe loaders.

    Raises:
        FileNotFoundError: No such file.
        InputFormatError: Invalid YAML or JSON (with line and column).
        ConfigError: An unsupported file type, or no mapping in the file.
    """
    source = str(path)
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        data = load_yaml(path.read_bytes(), source=source)
    elif suffix == ".json":
        data = load_json(path.read_bytes(), source=source)
    elif suffix == ".py":
        if not path.is_file():
            raise FileNotFoundError(2, "No such file or directory", str(path))
        spec = importlib.util.spec_from_file_location(f"_rolegraph_config_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ConfigError("cannot be imported as a Python module", source=source)
        folder = str(path.resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)  # a module beside the config imports, as with `python`
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        found = getattr(module, "search", None) or getattr(module, "config", None)
        if isinstance(found, Search):
            return {"search": found}
        if not isinstance(found, Mapping):
            raise ConfigError(
                "must define 'search' (create_search(...)) or 'config' (a dict)", source=source
            )
        data = dict(found)
    else:
        raise ConfigError(
            f"unsupported config file type {path.suffix or '(none)'!r}: use .yaml, .json or .py",
            source=source,
        )
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"holds {type(data).__name__}, not a mapping of search settings", source=source
        )
    return dict(data)


def parse_config(data: Mapping[str, Any], *, source: str = "config") -> SearchConfig:
    """Check a config's keys and their types.

    Raises:
        ConfigError: An unknown key (with the closest known one), a missing
            key, or a value of the wrong type; the message names the key.
    """
    known = sorted(SearchConfig.model_fields)
    for key in data:
        if key not in SearchConfig.model_fields:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"unknown key{hint} Known keys: {', '.join(known)}",
                key=str(key),
                source=source,
            )
    try:
        return SearchConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise _pydantic_problem(exc, source) from None


def _dataset(value: str | Mapping[str, Any], source: str) -> tuple[Any, Any]:
    """The dataset (and a benchmark's metric) a config's ``dataset`` names."""
    from search.evaluation.datasets import bundled_dataset, load_dataset

    if isinstance(value, str):
        return load_dataset(value), None
    options = dict(value)
    if "bundled" in options:
        name = options.pop("bundled")
        return bundled_dataset(name, **options), None
    if "benchmark" in options:
        from search.evaluation.benchmarks import load_benchmark

        bench = load_benchmark(options.pop("benchmark"), **options)
        return bench.dataset, bench.metric
    if "path" not in options:
        raise ConfigError(
            "a dataset mapping needs 'path', 'bundled' or 'benchmark'",
            key="dataset",
            source=source,
        )
    return load_dataset(options.pop("path"), **options), None


def _step(key: str, source: str, build: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``build``; a bad value becomes a :class:`ConfigError` naming ``key``."""
    try:
        return build(*args, **kwargs)
    except ConfigError:
        raise
    except ValidationError as exc:
        raise _pydantic_problem(exc, source, key) from None
    except TypeError as exc:
        raise ConfigError(str(exc), key=key, source=source) from None
    except (RolegraphError, SpaceError, ValueError) as exc:
        raise ConfigError(" ".join(str(exc).split()), key=key, source=source) from None


def _known_keys(key: str, value: Mapping[str, Any], model: type[BaseModel], source: str) -> None:
    """Reject keys ``model`` does not have (pydantic would drop them without a word)."""
    for name in value:
        if name not in model.model_fields:
            known = sorted(model.model_fields)
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"unknown key{hint} Known keys: {', '.join(known)}",
                key=f"{key}.{name}",
                source=source,
            )


def rate_limited_models(
    pool: list[str], limiter: BaseRateLimiter | float
) -> dict[str, BaseChatModel]:
    """One instance per pool model, all sharing ``limiter`` (or a new one at that many req/s).

    LangChain applies a chat model's ``rate_limiter`` to requests that miss
    the cache, so cached calls are never slowed. The limiter is not part of a
    model's identity (:func:`~orchestrator.models.model_fingerprint`), so
    evaluations keep their keys with or without it.
    """
    if not isinstance(limiter, BaseRateLimiter):
        # A bucket of one: requests are spread evenly instead of arriving in bursts.
        limiter = InMemoryRateLimiter(
            requests_per_second=float(limiter),
            check_every_n_seconds=min(0.1, 0.5 / float(limiter)),
            max_bucket_size=1,
        )
    return {ref: resolve_model(ref).model_copy(update={"rate_limiter": limiter}) for ref in pool}


def prepare(
    data: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, *, source: str = "config"
) -> Prepared:
    """Build the search a config describes; command-line ``overrides`` win.

    Every part is checked before anything is evaluated: the keys, the space
    (and that every pool model's provider package is installed), the
    dataset, the metric, the strategy and its options, the budget, the
    objective and the settings.

    Raises:
        ConfigError: A bad key or value; the message names the key.
    """
    if "search" in data and isinstance(data["search"], Search):
        return Prepared(search=data["search"], question=None)
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "strategy" in given:
        data = {k: v for k, v in data.items() if k != "strategy_options"}
    config = parse_config({**data, **given}, source=source)
    if config.imports:
        from orchestrator.plugins import import_modules

        folder = Path(source).parent if Path(source).is_file() else None
        _step("imports", source, import_modules, config.imports, folder=folder)
    _known_keys("space", config.space, SearchSpace, source)
    space = _step("space", source, SearchSpace.model_validate, config.space)
    models: dict[str, BaseChatModel] = {}
    if config.rate_limit is not None:
        models = _step(
            "space.pool", source, rate_limited_models, space.pool.models, config.rate_limit
        )
    else:
        for ref in space.pool.models:  # a missing provider package fails here, not mid-search
            _step("space.pool", source, resolve_model, ref)
    dataset, bench_metric = _step("dataset", source, _dataset, config.dataset, source)
    metric: Any = config.metric or bench_metric or "numeric"
    if isinstance(metric, str):
        from search.evaluation.metrics import get_metric

        metric = _step("metric", source, get_metric, metric)
    from search.strategies import get_strategy, list_strategies

    unknown = [s for s in config.strategy.split("+") if s not in list_strategies()]
    if unknown:
        raise ConfigError(
            f"unknown strategy {unknown[0]!r}; known: {', '.join(list_strategies())} "
            "(join names with '+' for a pipeline)",
            key="strategy",
            source=source,
        )
    strategy = _step(
        "strategy_options", source, get_strategy, config.strategy, **config.strategy_options
    )
    budget: dict[str, Any] | None = (
        {"dollars": config.budget} if isinstance(config.budget, int | float) else config.budget
    )
    resolved_budget = None
    if budget is not None:
        _known_keys("budget", budget, Budget, source)
        resolved_budget = _step("budget", source, Budget.model_validate, budget)
    _known_keys("objective", config.objective, Objective, source)
    objective = _step("objective", source, Objective.model_validate, config.objective)
    settings = _step("settings", source, SearchSettings, **config.settings)
    if config.test_size is not None or config.max_evaluations is not None:
        settings = _step(
            "settings",
            source,
            settings.replace,
            **{
                k: v
                for k, v in {
                    "test_size": config.test_size,
                    "max_evaluations": config.max_evaluations,
                }.items()
                if v is not None
            },
        )
    evaluation = _step("evaluation", source, EvalSettings, **config.evaluation)
    if config.concurrency is not None:
        evaluation = _step(
            "concurrency", source, evaluation.replace, max_concurrency=config.concurrency
        )
    search = create_search(
        space=space,
        dataset=dataset,
        metric=metric,
        strategy=strategy,
        budget=resolved_budget,
        objective=objective,
        store=config.store,
        name=config.name,
        seed=config.seed,
        settings=settings,
        evaluation=evaluation,
        models=models or None,
    )
    return Prepared(
        search=search,
        question=config.question,
        models=models,
        rate_limit=config.rate_limit,
        answer=config.answer,
    )
