"""A search space built from a LangGraph graph you already have.

Give rolegraph your graph in one of two forms, name its model slots, offer a
pool of models and declare any parameters; the search then picks a model per
slot and a value per parameter with the same evaluator, store, budget,
strategies, held-out test and Pareto front as for rolegraph's own workflows.

- **A factory** ``build(models, **params) -> CompiledStateGraph``: ``models``
  maps each slot name to a chat model, ``params`` are the declared
  parameters' values.
- **A configurable graph**: a compiled graph whose chat models are
  ``init_chat_model(configurable_fields=("model", "model_provider"),
  config_prefix=<slot>)``; declared parameters are read from
  ``config["configurable"]``. Needs ``pip install 'rolegraph[langchain]'``.

Example:
    >>> def build(models, *, max_reviews=1):          # doctest: +SKIP
    ...     ...                                        # your StateGraph, using models["writer"]
    ...     return builder.compile()
    >>> space = GraphSpace(build=build, slots=["researcher", "writer", "reviewer"],
    ...                    pool=["sim:atlas-nano", "sim:atlas-mini"],
    ...                    params=[Integer(name="max_reviews", low=0, high=2)],
    ...                    name="research-team", version="1")   # doctest: +SKIP
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from orchestrator.budget import BudgetLedger
from orchestrator.codehash import code_fingerprint
from orchestrator.pricing import PriceTable
from search.graphs.adapters import default_adapters
from search.graphs.candidate import GraphSource, GraphTarget
from search.graphs.config import GraphConfig, load_config
from search.graphs.deployed import DeployedGraph
from search.graphs.errors import GraphSpaceError
from search.graphs.export import factory_path
from search.graphs.version import graph_version, placeholder_graph
from search.space import TOPOLOGY_PARAM, Candidate, Space, _short
from topologies.params import ModelSlot, ModelTeam, Param, ParamSpace, TrialLike

__all__ = ["GraphSpace"]


class GraphSpace(Space):
    """Your graph's model slots x a pool of models x declared parameters.

    Args:
        build: The factory form: ``build(models, **params)`` returns a compiled graph.
        graph: The configurable form: a compiled graph with configurable chat models.
        slots: Slot names (each takes a model from ``pool``), or ``ModelSlot`` params
            whose ``choices`` restrict that slot.
        pool: Models any slot may take.
        params: Other parameters to search: ``Categorical``, ``Integer``, ``Float``
            (from :mod:`topologies.params`), passed to the factory as keywords or set
            as ``configurable`` keys.
        name: The graph's name (default: the factory's or the graph's name).
        version: The graph's version. Results are keyed by name and version, so a new
            version never mixes with the old. Default: a hash of everything that decides
            what the graph does (:func:`search.graphs.version.graph_version`): its
            structure, the code of every node, tool and function reachable from it
            (comments and formatting do not count), prompts and static config. Give one
            to force a new version (or keep results across an edit you know is harmless).
        prefixes: Configurable form: a slot's ``config_prefix`` where it is not the
            slot's name.
        input: How a question becomes the graph's input (default from its state:
            ``messages`` or ``question``).
        output: How the answer is read from its output (default from its state).
        context: The run context of a graph with a ``context_schema`` (what its nodes
            read as ``runtime.context``), or a function ``question -> context``.
        config: A ``RunnableConfig`` merged into each run's config (``configurable``
            keys, tags, metadata, ``recursion_limit``), or ``question -> config``.
        max_calls_per_run: Model calls one run may make: the next call fails the run
            with ``model call cap``. Admission holds this many calls' worst case.
        recursion_limit: Super-steps one run may take (default 25, unless ``config``
            sets its own); a looping graph fails fast with ``recursion limit``.
        max_tokens: Output cap bound on every slot model (default: the model's own,
            else 1,024).
        prompt_chars: Characters a prompt may hold besides the question, for admission.

    Raises:
        GraphSpaceError: Neither or both forms, no slots, a clash between a slot and a
            parameter, or an input/output function missing where the state has no
            default.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, populate_by_name=True)

    build: Callable[..., Any] | None = Field(
        default=None, exclude=True, description="Factory: build(models, **params) -> graph."
    )
    graph: Any = Field(default=None, exclude=True, description="A configurable compiled graph.")
    name: str = Field(default="", description="The graph's name.")
    version: str = Field(default="", description="Its version (given, or a code hash).")
    slots: tuple[ModelSlot, ...] = Field(default=(), description="The model slots.")
    params: tuple[Param, ...] = Field(default=(), description="Other parameters searched.")
    prefixes: dict[str, str] = Field(
        default_factory=dict, description="Configurable form: config_prefix of each slot."
    )
    input: Callable[[str], Mapping[str, Any]] | None = Field(
        default=None, exclude=True, description="Question -> the graph's input."
    )
    output: Callable[[Mapping[str, Any]], str | None] | None = Field(
        default=None, exclude=True, description="The graph's output -> the answer."
    )
    context: Any = Field(
        default=None,
        exclude=True,
        description="The run's context (context_schema), or question -> context.",
    )
    run_config: Any = Field(
        default=None,
        alias="config",
        exclude=True,
        description="A RunnableConfig merged into each run's, or question -> config.",
    )
    max_calls_per_run: int = Field(
        default=10, ge=1, description="Model calls one run may make (a cap, and admission)."
    )
    recursion_limit: int = Field(
        default=25, ge=1, description="Super-steps one run may take (LangGraph's limit)."
    )
    max_tokens: int | None = Field(
        default=None, ge=1, description="Output cap of every slot model's calls."
    )
    prompt_chars: int = Field(
        default=8000, ge=0, description="Prompt characters besides the question, for admission."
    )
    _source: GraphSource | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _graph_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        build, graph = data.get("build"), data.get("graph")
        if (build is None) == (graph is None):
            raise GraphSpaceError(
                "give either build= (a factory: build(models, **params) -> compiled graph) "
                "or graph= (a compiled graph with configurable chat models), not both"
            )
        if build is not None and not callable(build):
            raise GraphSpaceError(f"build= must be a function, got {type(build).__name__}")
        if graph is not None and not callable(getattr(graph, "ainvoke", None)):
            raise GraphSpaceError(f"graph= must be a compiled graph, got {type(graph).__name__}")
        name = data.get("name") or getattr(build, "__name__", None) or getattr(graph, "name", "")
        if not name or name == "<lambda>":
            raise GraphSpaceError("name the graph: GraphSpace(..., name='my-graph')")
        data["name"] = str(name)
        data["slots"] = tuple(
            s if isinstance(s, ModelSlot) else ModelSlot(name=str(s))
            for s in data.get("slots") or ()
        )
        data["params"] = tuple(data.get("params") or ())
        if not data.get("version"):
            data["version"] = graph_version(
                build=build,
                graph=graph,
                slots=[s.name for s in data["slots"]],
                params=data["params"],
                static={
                    "config": data.get("config", data.get("run_config")),
                    "context": data.get("context"),
                },
            )
        return data

    @model_validator(mode="after")
    def _check(self) -> GraphSpace:
        if not self.slots:
            raise GraphSpaceError(
                f"graph {self.name!r} has no model slots; name them: slots=[...]"
            )
        names = [p.name for p in (*self.slots, *self.params)]
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise GraphSpaceError(f"{clashes} are declared twice (as slots or parameters)")
        for param in self.params:
            if isinstance(param, ModelSlot | ModelTeam):
                raise GraphSpaceError(
                    f"parameter {param.name!r} is a model slot; list it in slots=[...]"
                )
        strays = sorted(set(self.prefixes) - {s.name for s in self.slots})
        if strays:
            raise GraphSpaceError(f"prefixes given for unknown slots {strays}")
        ParamSpace(params=(*self.slots, *self.params))  # dependency order, duplicates
        if self.param_space.size(self.pool.models) == 0:
            raise GraphSpaceError(f"graph {self.name!r} has no valid combination of settings")
        return self

    # --- the graph ------------------------------------------------------------------------

    @property
    def param_space(self) -> ParamSpace:
        """Slots, then parameters, as one parameter space."""
        return ParamSpace(params=(*self.slots, *self.params))

    @property
    def source(self) -> GraphSource:
        """The graph and how to talk to it (built once)."""
        if self._source is None:
            self._source = self._make_source()
        return self._source

    def _make_source(self) -> GraphSource:
        to_input, to_output = self.input, self.output
        if to_input is None or to_output is None:
            probe = self.graph if self.graph is not None else self._probe()
            default_in, default_out = default_adapters(probe)
            to_input = to_input or default_in
            to_output = to_output or default_out
        return GraphSource(
            name=self.name,
            version=self.version,
            input=to_input,
            output=to_output,
            build=self.build,
            graph=self.graph,
            prefixes=dict(self.prefixes),
            max_tokens=self.max_tokens,
            max_calls_per_run=self.max_calls_per_run,
            recursion_limit=self.recursion_limit,
            context=self.context,
            config=self.run_config,
            prompt_chars=self.prompt_chars,
            takes_inputs=self.input is None,
            adapters={"input": _identify(to_input), "output": _identify(to_output)},
        )

    def _probe(self) -> Any:
        """The factory's graph built once, to read its state (placeholder models first)."""
        assert self.build is not None
        try:
            return placeholder_graph(self.build, [s.name for s in self.slots], self.params)
        except Exception:  # a factory that needs real models at build time
            pass
        values = next(self.param_space.grid(self.pool.models))
        slots = {s.name for s in self.slots}
        from orchestrator.models import resolve_model

        models = {k: resolve_model(v) for k, v in values.items() if k in slots}
        return self.build(models, **{k: v for k, v in values.items() if k not in slots})

    def target(self, config: GraphConfig) -> GraphTarget:
        """The point of this space with ``config``'s settings."""
        return GraphTarget(self.source, config)

    def config(self, values: Mapping[str, Any]) -> GraphConfig:
        """Settings from parameter values (slot models and parameters, checked).

        Raises:
            SpaceError: An unknown parameter or a value out of range.
        """
        checked = self.param_space.validate_values(values, self.pool.models, partial=False)
        slots = [s.name for s in self.slots]
        return GraphConfig(
            graph=self.name,
            version=self.version,
            models={name: checked[name] for name in slots},
            params={p.name: checked[p.name] for p in self.params if p.name in checked},
            form="factory" if self.build is not None else "configurable",
            prefixes=dict(self.prefixes),
            factory=factory_path(self.build) if self.build is not None else None,
        )

    # --- candidates (the Space protocol the strategies use) -------------------------------

    @property
    def topologies(self) -> tuple[str, ...]:
        """The one "topology" of this space: the graph's name."""
        return (self.name,)

    def candidate(
        self, topology: str, params: Mapping[str, Any] | None = None, *, origin: str = ""
    ) -> Candidate:
        """The candidate with these slot models and parameter values.

        ``topology`` is the graph's name (the one "topology" of this space).
        """
        if topology != self.name:
            raise GraphSpaceError(f"this space searches graph {self.name!r}, not {topology!r}")
        config = self.config(params or {})
        return Candidate(
            graph=self.target(config),
            topology=self.name,
            params={**config.models, **config.params},
            origin=origin,
        )

    def point(self, **values: Any) -> Candidate:
        """The candidate with these settings, e.g. ``space.point(writer="sim:atlas-mini")``."""
        return self.candidate(self.name, values, origin="given")

    def grid(self, *, origin: str = "grid") -> Iterator[Candidate]:
        """Every combination of slot models and parameter values."""
        for values in self.param_space.grid(self.pool.models):
            yield self.candidate(self.name, values, origin=origin)

    def size(self) -> int:
        """Number of candidates."""
        return self.param_space.size(self.pool.models)

    def combinations(self) -> int:
        """Number of candidates (each combination is one)."""
        return self.size()

    def sample(self, rng: random.Random, *, origin: str = "random") -> Candidate:
        """Random settings."""
        values = self.param_space.sample(rng, self.pool.models)
        return self.candidate(self.name, values, origin=origin)

    def suggest(self, trial: TrialLike, *, origin: str = "optuna") -> Candidate:
        """Ask an Optuna trial for settings (the same parameter names as a topology's)."""
        trial.suggest_categorical(TOPOLOGY_PARAM, [self.name])
        values = self.param_space.suggest(trial, self.pool.models, prefix=f"{self.name}.")
        return self.candidate(self.name, values, origin=origin)

    def trial_params(self, candidate: Candidate) -> dict[str, Any]:
        """The Optuna parameters that make :meth:`suggest` return ``candidate``."""
        out: dict[str, Any] = {TOPOLOGY_PARAM: self.name}
        for param in self.param_space.params:
            if param.name in candidate.params:
                out[f"{self.name}.{param.name}"] = candidate.params[param.name]
        return out

    def narrow(self, models: Sequence[str]) -> GraphSpace:
        """The same space over a smaller pool."""
        return self.model_copy(update={"pool": self.pool.restrict(models)})

    def label(self, config: GraphConfig) -> str:
        """A short description of settings, e.g. ``research(writer=atlas-mini, ...)``."""
        values = {**config.models, **config.params}
        shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items())
        return f"{self.name}({shown})"

    # --- strategies, deployment ------------------------------------------------------------

    def check_strategy(self, strategy: Any) -> None:
        """Refuse a strategy whose capabilities say it edits workflow topologies.

        Raises:
            GraphSpaceError: The strategy, or a stage of a pipeline, cannot search a graph.
        """
        if not strategy.capabilities.edits_topologies:
            return
        from search.strategies.registry import list_strategies

        usable = list_strategies(edits_topologies=False)
        raise GraphSpaceError(
            f"strategy {strategy.name!r} edits rolegraph workflow topologies and cannot "
            f"search your graph {self.name!r}; use one of {', '.join(usable)} "
            "or a pipeline of them, e.g. 'tpe+bandit'"
        )

    def deploy(
        self,
        settings: GraphConfig | str | Path | Any,
        *,
        models: Mapping[str, Any] | None = None,
        cache: Any = None,
        prices: PriceTable | None = None,
        budget: BudgetLedger | None = None,
        seed: int = 0,
        record_prompts: bool = True,
        call_timeout: float | None = None,
    ) -> DeployedGraph:
        """Your graph with the chosen settings, ready to call.

        Args:
            settings: A :class:`GraphConfig`, a path to one, or a search result
                (its ``best_graph``).
            models: Chat model instances for model references.
            cache: An LLM-call cache (``store.llm_cache()``); hits cost nothing.
            prices: Price table for costs.
            budget: A budget ledger every call holds its worst case on.
            seed: Default sampling seed.
            record_prompts: Keep each call's prompt in the trace.
            call_timeout: Seconds allowed per model call (async runs).

        Raises:
            GraphSpaceError: The settings belong to another graph or version.
        """
        config = _settings(settings)
        if (config.graph, config.version) != (self.name, self.version):
            raise GraphSpaceError(
                f"these settings are for graph {config.graph!r} version {config.version!r}, "
                f"but this space is {self.name!r} version {self.version!r}"
            )
        checked = self.config({**config.models, **config.params})
        return DeployedGraph.create(
            self.target(checked),
            models=models,
            cache=cache,
            prices=prices or self.pool.prices(),
            call_timeout=call_timeout,
            record_prompts=record_prompts,
            seed=seed,
            ledger=budget,
        )


def _settings(value: GraphConfig | str | Path | Any) -> GraphConfig:
    if isinstance(value, GraphConfig):
        return value
    if isinstance(value, str | Path):
        return load_config(value)
    best = getattr(value, "best_graph", None)
    if isinstance(best, GraphConfig):
        return best
    raise GraphSpaceError(
        f"expected graph settings (a GraphConfig, a path to one, or a search result with "
        f"best_graph), got {type(value).__name__}"
    )


def _identify(fn: Callable[..., Any]) -> str:
    """A function's identity for keys: its qualified name and its code (closures followed)."""
    name = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
    return f"{name}@{code_fingerprint(fn)}"
