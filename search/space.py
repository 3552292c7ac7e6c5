"""The search space: registered topologies x their parameters x a pool of components."""

from __future__ import annotations

import abc
import random
import warnings
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator import WorkflowSpec
from orchestrator.errors import SpecError
from orchestrator.models import check_model_ref, indistinct_models
from orchestrator.pricing import Price, PriceTable, default_prices
from search.evaluation.target import EvalTarget
from topologies import SpaceError, get_topology
from topologies.params import TrialLike

__all__ = ["Component", "ComponentPool", "Candidate", "Space", "SearchSpace", "TOPOLOGY_PARAM"]

TOPOLOGY_PARAM = "topology"
"""Name of the Optuna parameter that picks the topology."""

_EXTRA = "spec:"


class Component(BaseModel):
    """A component a team can include, with its price."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Model reference, e.g. 'sim:atlas-mini' or 'openai:gpt-4o'.")
    kind: Literal["model"] = Field(default="model", description="What kind of component.")
    price: Price | None = Field(
        default=None, description="USD per 1M tokens; None means the price table's."
    )
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Most calls of this entry at once (its adaptive limit's cap); None means "
        "the search's max_concurrency.",
    )


class ComponentPool(BaseModel):
    """The models (and their prices) the search may put in any agent slot.

    Example:
        >>> pool = ComponentPool.of(["sim:atlas-nano", "sim:atlas-pro"])
        >>> pool.models
        ['sim:atlas-nano', 'sim:atlas-pro']
    """

    model_config = ConfigDict(frozen=True)

    components: tuple[Component, ...] = Field(description="The components on offer.")

    @classmethod
    def of(cls, models: Sequence[str | Component]) -> ComponentPool:
        """A pool from model references (or components)."""
        return cls(
            components=tuple(m if isinstance(m, Component) else Component(name=m) for m in models)
        )

    @model_validator(mode="after")
    def _check(self) -> ComponentPool:
        if not self.components:
            raise SpaceError("the component pool is empty; offer at least one model")
        names = [c.name for c in self.components]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SpaceError(f"the component pool lists {duplicates} twice")
        for component in self.components:
            try:
                check_model_ref(component.name)
            except SpecError as exc:
                raise SpaceError(f"pool component {component.name!r}: {exc}") from None
        for first, second in indistinct_models(names):
            warnings.warn(
                f"pool entries {first!r} and {second!r} cannot differ: they differ only in "
                "settings every agent overrides (an unpinned temperature, the output cap), "
                "so the pool offers one model twice; pin the setting on the instance, "
                "e.g. temperature=0.7, to make them differ",
                UserWarning,
                stacklevel=2,
            )
        return self

    @property
    def models(self) -> list[str]:
        """Model references, in pool order."""
        return [c.name for c in self.components if c.kind == "model"]

    def prices(self, table: PriceTable | None = None) -> PriceTable:
        """A price table with this pool's explicit prices on top of ``table``."""
        table = table or default_prices()
        explicit = {c.name: c.price for c in self.components if c.price is not None}
        return table.with_prices(explicit) if explicit else table

    def concurrency(self) -> dict[str, int]:
        """The entries' own caps on calls at once, by reference."""
        return {c.name: c.max_concurrency for c in self.components if c.max_concurrency}

    def restrict(self, names: Sequence[str]) -> ComponentPool:
        """The sub-pool of ``names`` (in pool order)."""
        unknown = sorted(set(names) - {c.name for c in self.components})
        if unknown:
            raise SpaceError(f"{unknown} are not in the pool")
        return ComponentPool(components=tuple(c for c in self.components if c.name in names))


class Candidate(BaseModel):
    """One point of the space: a workflow spec (or another target), and where it came from.

    Candidates of a :class:`SearchSpace` hold a ``spec``. Candidates of a space
    over something else, such as a user's own LangGraph graph
    (:class:`search.graphs.GraphSpace`), hold that as ``graph`` and no spec.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    spec: WorkflowSpec | None = Field(default=None, description="The workflow to evaluate.")
    graph: EvalTarget | None = Field(
        default=None, description="What to evaluate when it is not a workflow spec."
    )
    topology: str | None = Field(default=None, description="Registered topology, if any.")
    params: dict[str, Any] = Field(default_factory=dict, description="Its parameters.")
    origin: str = Field(default="", description="What proposed it (strategy, edit, seed).")

    @model_validator(mode="after")
    def _one_target(self) -> Candidate:
        if (self.spec is None) == (self.graph is None):
            raise SpaceError("a candidate holds either a workflow spec or a graph target")
        return self

    @property
    def target(self) -> WorkflowSpec | EvalTarget:
        """What the evaluator runs: the spec, or the graph target."""
        if self.spec is not None:
            return self.spec
        assert self.graph is not None  # the validator saw to it
        return self.graph

    @property
    def workflow(self) -> WorkflowSpec:
        """The workflow spec.

        Raises:
            SpaceError: The candidate is a graph target, not a workflow (strategies that
                edit workflows, such as MCTS, do not apply to it).
        """
        if self.spec is None:
            raise SpaceError(
                f"candidate {self.label!r} is a graph, not a workflow spec; strategies that "
                "edit workflow topologies (mcts, knapsack, boad) do not apply to it"
            )
        return self.spec

    @cached_property
    def hash(self) -> str:
        """The content hash of what it runs: equal specs (or graph settings) are one candidate."""
        return self.target.hash

    @property
    def models(self) -> tuple[str, ...]:
        """The model references it uses."""
        if self.spec is None:
            return self.graph.models if self.graph is not None else ()
        return tuple(a.model for a in self.spec.agents if a.model is not None)

    @property
    def label(self) -> str:
        """A short human-readable description."""
        if self.topology is None:
            return self.target.name
        shown = ", ".join(f"{k}={_short(self.params[k])}" for k in _param_order(self))
        return f"{self.topology}({shown})"


def _param_order(candidate: Candidate) -> list[str]:
    """The candidate's parameter names in its topology's declared order, then the rest sorted.

    A candidate built from the space and one restored from the store may hold
    their parameters in different dict orders; labels must not depend on that.
    """
    if candidate.graph is not None:
        return list(candidate.params)  # a graph's slots, then its parameters, as declared
    try:
        declared = get_topology(candidate.topology or "").space.names
    except KeyError:  # a topology not registered in this process
        declared = []
    known = [name for name in declared if name in candidate.params]
    return known + sorted(name for name in candidate.params if name not in set(declared))


def _short(value: Any) -> str:
    """Compact display: ``sim:`` dropped, repeated team members counted (``2*atlas-nano``)."""
    if isinstance(value, list | tuple):
        counts: dict[str, int] = {}
        for item in value:
            counts[_short(item)] = counts.get(_short(item), 0) + 1
        return "+".join(name if n == 1 else f"{n}*{name}" for name, n in counts.items())
    text = str(value)
    return text.split(":", 1)[1] if text.startswith("sim:") else text


class Space(BaseModel, abc.ABC):
    """What a search explores: candidates built over a pool of models.

    Strategies see only this face. Its two kinds are :class:`SearchSpace`
    (rolegraph's registered topologies) and :class:`search.graphs.GraphSpace`
    (a user's own LangGraph graph). Each also has ``topologies``: the names a
    candidate's ``topology`` takes (a graph space has one, the graph's name).
    """

    model_config = ConfigDict(frozen=True)

    pool: ComponentPool = Field(description="Models any agent slot may take.")

    if TYPE_CHECKING:  # a field of one kind, a property of the other

        @property
        def topologies(self) -> tuple[str, ...]:
            """The names a candidate's ``topology`` takes."""
            ...

    @model_validator(mode="before")
    @classmethod
    def _coerce_pool(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("pool"), list | tuple):
            data = {**data, "pool": ComponentPool.of(data["pool"])}
        return data

    @abc.abstractmethod
    def candidate(
        self, topology: str, params: Mapping[str, Any] | None = None, *, origin: str = ""
    ) -> Candidate:
        """The candidate of ``topology`` with ``params``.

        Raises:
            SpaceError: The topology is not in the space or a parameter is invalid.
        """

    @abc.abstractmethod
    def grid(self, *, origin: str = "grid") -> Iterator[Candidate]:
        """Every candidate, once per distinct hash."""

    @abc.abstractmethod
    def size(self) -> int:
        """Number of distinct candidates."""

    @abc.abstractmethod
    def combinations(self) -> int:
        """Number of parameter combinations: an upper bound on :meth:`size` that is cheap."""

    @abc.abstractmethod
    def sample(self, rng: random.Random, *, origin: str = "random") -> Candidate:
        """A random candidate."""

    @abc.abstractmethod
    def suggest(self, trial: TrialLike, *, origin: str = "optuna") -> Candidate:
        """Ask an Optuna trial for a candidate (define-by-run)."""

    @abc.abstractmethod
    def trial_params(self, candidate: Candidate) -> dict[str, Any]:
        """The Optuna parameters that make :meth:`suggest` return ``candidate``."""

    @abc.abstractmethod
    def narrow(self, models: Sequence[str]) -> Space:
        """The same space over a smaller pool (what a knapsack stage hands on)."""

    def check_strategy(self, strategy: Any) -> None:
        """Refuse, before anything runs, a strategy that cannot search this space.

        Raises:
            SpaceError: It cannot.
        """

    def describe(self) -> dict[str, Any]:
        """The space as JSON data (what a search records)."""
        return self.model_dump(mode="json")


class SearchSpace(Space):
    """Topologies x parameters x component pool, plus any hand-designed specs.

    Every candidate maps to exactly one spec (and so one hash). Optuna sees a
    ``topology`` categorical and, under it, that topology's parameters
    prefixed with its name (define-by-run).

    Example:
        >>> space = SearchSpace(topologies=["single", "vote_ensemble"],
        ...                     pool=["sim:atlas-nano", "sim:lynx-small"])
        >>> space.size() > 2
        True
    """

    topologies: tuple[str, ...] = Field(description="Registered topology names.")
    fixed: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per topology, parameters held fixed instead of searched.",
    )
    extra: tuple[WorkflowSpec, ...] = Field(
        default=(), description="Hand-designed specs offered as candidates too."
    )

    @model_validator(mode="before")
    @classmethod
    def _coerce(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("topologies"), str):
            data = {**data, "topologies": (data["topologies"],)}
        return data

    @model_validator(mode="after")
    def _check(self) -> SearchSpace:
        if not self.topologies and not self.extra:
            raise SpaceError("the search space has no topologies and no specs")
        for name in self.topologies:
            try:
                topology = get_topology(name)
            except KeyError as exc:
                raise SpaceError(str(exc.args[0])) from None
            fixed = self.fixed.get(name, {})
            unknown = sorted(set(fixed) - set(topology.space.names))
            if unknown:
                raise SpaceError(f"fixed parameters {unknown} are not in {name}'s space")
            topology.space.validate_values(fixed, self.pool.models)
            if topology.space.size(self.pool.models, fixed=fixed) == 0:
                raise SpaceError(f"topology {name} has no valid parameter combination")
        strays = sorted(set(self.fixed) - set(self.topologies))
        if strays:
            raise SpaceError(f"fixed parameters given for topologies not in the space: {strays}")
        return self

    # --- candidates -----------------------------------------------------------------------

    def candidate(
        self, topology: str, params: Mapping[str, Any] | None = None, *, origin: str = ""
    ) -> Candidate:
        """Build the candidate for ``topology`` with ``params`` (fixed ones added).

        Raises:
            SpaceError: The topology is not in the space or a parameter is invalid.
        """
        if topology not in self.topologies:
            raise SpaceError(f"topology {topology!r} is not in this space {self.topologies}")
        fixed = self.fixed.get(topology, {})
        given = dict(params or {})
        clashes = sorted(k for k in fixed if k in given and given[k] != fixed[k])
        if clashes:
            raise SpaceError(
                f"{topology}: {', '.join(f'{k}={given[k]!r}' for k in clashes)} but this space "
                f"fixes {', '.join(f'{k}={fixed[k]!r}' for k in clashes)}"
            )
        values = {**given, **fixed}
        spec = get_topology(topology).build(values, pool=self.pool.models)
        return Candidate(
            spec=spec, topology=topology, params=spec.metadata.get("params", values), origin=origin
        )

    def _extras(self, origin: str) -> list[Candidate]:
        return [Candidate(spec=spec, origin=origin or "hand-designed") for spec in self.extra]

    def _free(self, topology: str) -> Any:
        space = get_topology(topology).space
        fixed = self.fixed.get(topology, {})
        return space, fixed

    def grid(self, *, origin: str = "grid") -> Iterator[Candidate]:
        """Every candidate, once per distinct spec hash."""
        seen: set[str] = set()
        for name in self.topologies:
            space, fixed = self._free(name)
            for values in space.grid(self.pool.models, fixed=fixed):
                candidate = self.candidate(name, values, origin=origin)
                if candidate.hash not in seen:
                    seen.add(candidate.hash)
                    yield candidate
        for candidate in self._extras(origin):
            if candidate.hash not in seen:
                seen.add(candidate.hash)
                yield candidate

    def size(self) -> int:
        """Number of distinct candidates (builds every spec; see :meth:`combinations`)."""
        return sum(1 for _ in self.grid())

    def combinations(self) -> int:
        """Number of parameter combinations, an upper bound on :meth:`size` that is cheap."""
        total = len(self.extra)
        for name in self.topologies:
            space, fixed = self._free(name)
            total += space.size(self.pool.models, fixed=fixed)
        return total

    def sample(self, rng: random.Random, *, origin: str = "random") -> Candidate:
        """A uniformly chosen topology (or hand-designed spec), then random parameters."""
        options = [*self.topologies, *(f"{_EXTRA}{s.hash}" for s in self.extra)]
        choice = rng.choice(options)
        if choice.startswith(_EXTRA):
            return next(c for c in self._extras(origin) if c.hash == choice[len(_EXTRA) :])
        space, fixed = self._free(choice)
        values = space.sample(rng, self.pool.models, fixed=fixed)
        return self.candidate(choice, values, origin=origin)

    def suggest(self, trial: TrialLike, *, origin: str = "optuna") -> Candidate:
        """Ask an Optuna trial for a candidate (define-by-run)."""
        options = [*self.topologies, *(f"{_EXTRA}{s.hash}" for s in self.extra)]
        choice = trial.suggest_categorical(TOPOLOGY_PARAM, options)
        if choice.startswith(_EXTRA):
            return next(c for c in self._extras(origin) if c.hash == choice[len(_EXTRA) :])
        space, fixed = self._free(choice)
        values = space.suggest(trial, self.pool.models, prefix=f"{choice}.", fixed=fixed)
        return self.candidate(choice, values, origin=origin)

    def trial_params(self, candidate: Candidate) -> dict[str, Any]:
        """The Optuna parameters that make :meth:`suggest` return ``candidate``.

        Used to enqueue hand-designed or previously found candidates.
        """
        if candidate.topology is None:
            if candidate.hash not in {s.hash for s in self.extra}:
                raise SpaceError("a candidate without a topology must be one of the space's specs")
            return {TOPOLOGY_PARAM: f"{_EXTRA}{candidate.hash}"}
        space, fixed = self._free(candidate.topology)
        out: dict[str, Any] = {TOPOLOGY_PARAM: candidate.topology}
        prefix = f"{candidate.topology}."
        for param in space.params:
            if param.name in fixed or param.name not in candidate.params:
                continue
            value = candidate.params[param.name]
            if isinstance(value, list | tuple):  # a team: its size, then one slot per member
                if getattr(param, "size", None) is None:
                    out[f"{prefix}{param.name}.size"] = len(value)
                for i, member in enumerate(sorted(value)):
                    out[f"{prefix}{param.name}.{i}"] = member
            else:
                out[f"{prefix}{param.name}"] = value
        return out

    def narrow(self, models: Sequence[str]) -> SearchSpace:
        """The same space over a smaller pool (what a knapsack stage hands on)."""
        return self.model_copy(update={"pool": self.pool.restrict(models)})


def topology_space(space: Space, *, strategy: str) -> SearchSpace:
    """``space`` as a space of rolegraph topologies, for strategies that edit workflows.

    Raises:
        SpaceError: It is another kind of space (a user's graph).
    """
    if isinstance(space, SearchSpace):
        return space
    raise SpaceError(
        f"strategy {strategy!r} edits rolegraph workflow topologies and cannot search "
        f"{type(space).__name__} {'/'.join(space.topologies)!r}"
    )
