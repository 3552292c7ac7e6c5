"""Registered topologies: a builder function plus its declared parameter space."""

from __future__ import annotations

import functools
import inspect
import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ParamSpec, cast

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator import WorkflowSpec
from orchestrator.models import register_model
from topologies.params import Param, ParamSpace, SpaceError
from topologies.structure import Structure

__all__ = ["Topology", "topology", "register_topology", "get_topology", "list_topologies"]

P = ParamSpec("P")


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseChatModel):
        return register_model(value)
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class Topology(BaseModel):
    """A workflow shape: a keyword-only builder and the space of its parameters.

    Example:
        >>> topo = get_topology("single")
        >>> spec = topo.build(model="sim:atlas-mini")
        >>> spec.metadata["topology"]
        'single'
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str = Field(description="Registry name, e.g. 'self_refine'.")
    description: str = Field(default="", description="One line for humans.")
    builder: Callable[..., WorkflowSpec] = Field(description="Builds the spec from parameters.")
    space: ParamSpace = Field(default_factory=ParamSpace, description="Tunable parameters.")
    structure: Structure | None = Field(
        default=None,
        description="Which parameter plays which structural part; workflow edits read it. "
        "None: only generic edits (swap a model, tune a setting).",
    )

    @model_validator(mode="after")
    def _structure_fits(self) -> Topology:
        if self.structure is not None:
            self.structure.check_against(self.space.params, self.name)
        return self

    def build(
        self, params: Mapping[str, Any] | None = None, *, pool: Sequence[str] = (), **kwargs: Any
    ) -> WorkflowSpec:
        """Validate parameters against the space, build the spec and tag its metadata.

        Parameters of the space are checked (models against ``pool`` when one
        is given); the builder's defaults fill in the rest. Other keyword
        arguments of the builder (fixed settings such as a temperature) pass
        through unchecked: they are not searched. ``metadata["params"]`` holds
        every active parameter and every fixed setting given, so
        ``build(spec.metadata["params"])`` rebuilds the same spec.

        Raises:
            SpaceError: A parameter is unknown, inactive or out of range.
        """
        values = {**(params or {}), **kwargs}
        signature = inspect.signature(self.builder).parameters
        defaults = {
            name: arg.default for name, arg in signature.items() if arg.default is not arg.empty
        }
        names = set(self.space.names)
        open_ended = any(arg.kind is arg.VAR_KEYWORD for arg in signature.values())
        fixed = {k: v for k, v in values.items() if k not in names}
        unknown = sorted(k for k in fixed if k not in signature and not open_ended)
        if unknown:
            raise SpaceError(
                f"{self.name} has no parameters {unknown}; its space has {self.space.names}"
            )
        searched = {k: v for k, v in values.items() if k in names}
        checked = self.space.validate_values(searched, pool, defaults=defaults)
        resolved = self.space.complete(checked, defaults)
        spec = self.builder(**resolved, **fixed)
        metadata = {
            **spec.metadata,
            "topology": self.name,
            "params": _jsonable({**resolved, **fixed}),
        }
        return spec.with_metadata(metadata)

    def grid(self, pool: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """Every parameter combination."""
        return self.space.grid(pool)

    def sample(self, rng: random.Random, pool: Sequence[str] = ()) -> dict[str, Any]:
        """A random parameter combination."""
        return self.space.sample(rng, pool)


_REGISTRY: dict[str, Topology] = {}
_LOCK = threading.Lock()


def register_topology(entry: Topology, *, replace: bool = False) -> Topology:
    """Make a topology available by name to searches and the CLI.

    Raises:
        ValueError: The name is taken and ``replace`` is false.
    """
    with _LOCK:
        current = _REGISTRY.get(entry.name)
        if current is not None and not replace and current.builder is not entry.builder:
            raise ValueError(f"topology {entry.name!r} is already registered; pass replace=True")
        _REGISTRY[entry.name] = entry
    return entry


def get_topology(name: str) -> Topology:
    """Look a topology up by name.

    Raises:
        KeyError: No topology has that name; the message lists the known ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown topology {name!r}; known: {', '.join(list_topologies())}"
        ) from None


def list_topologies() -> list[str]:
    """Names of every registered topology."""
    return sorted(_REGISTRY)


def topology(
    name: str | None = None,
    *,
    space: ParamSpace | Sequence[Param] = (),
    structure: Structure | Mapping[str, Any] | None = None,
    description: str | None = None,
    replace: bool = False,
) -> Callable[[Callable[P, WorkflowSpec]], Callable[P, WorkflowSpec]]:
    """Register a keyword-only builder function, its parameter space and its structure.

    ``structure`` says which parameter plays which part (a
    :class:`~topologies.structure.Structure`, or its fields as a mapping), so
    the search's workflow edits apply to the new topology too.

    Calling the decorated function directly validates its arguments against
    the space (models are not restricted to a pool) and tags the spec's
    metadata with the topology name and parameters.

    Example:
        >>> from orchestrator import Workflow
        >>> @topology("echo_demo", space=[], replace=True)
        ... def echo_demo(*, model: str = "sim:atlas-nano") -> WorkflowSpec:
        ...     return Workflow("echo").add_agent("s", role="solver", model=model).build()
        >>> echo_demo().metadata["topology"]
        'echo_demo'
    """
    declared = space if isinstance(space, ParamSpace) else ParamSpace(params=tuple(space))
    parts = Structure.model_validate(structure) if isinstance(structure, Mapping) else structure

    def decorate(builder: Callable[P, WorkflowSpec]) -> Callable[P, WorkflowSpec]:
        signature = inspect.signature(builder)
        positional = [
            p.name
            for p in signature.parameters.values()
            if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD)
        ]
        if positional:
            raise TypeError(f"builder {builder.__name__} must be keyword-only; {positional}")
        undeclared = [n for n in declared.names if n not in signature.parameters]
        if undeclared:
            raise SpaceError(f"{builder.__name__} has no arguments for parameters {undeclared}")
        entry = Topology(
            name=name or builder.__name__,
            description=description or (inspect.getdoc(builder) or "").split("\n")[0],
            builder=builder,
            space=declared,
            structure=parts,
        )
        register_topology(entry, replace=replace)

        @functools.wraps(builder)
        def build(*args: P.args, **kwargs: P.kwargs) -> WorkflowSpec:
            return entry.build(kwargs)

        cast(Any, build).topology = entry
        return build

    return decorate
