"""Parameter spaces: what a topology's builder can turn, declared as data.

A :class:`ParamSpace` is a tuple of :class:`Param` s. Each parameter knows its
finite values (for grids, bandits and MCTS), how to ask an Optuna trial for a
value (define-by-run), and whether a value is allowed. Model parameters draw
from a *pool* of model references supplied when the space is used, so one
space serves any set of models.

Parameters can be conditional: ``when={"aggregator": ("judge",)}`` makes a
parameter exist only when ``aggregator`` is ``"judge"``.
"""

from __future__ import annotations

import abc
import itertools
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator.errors import RolegraphError
from orchestrator.models import register_model

__all__ = [
    "SpaceError",
    "Param",
    "Categorical",
    "Integer",
    "Float",
    "ModelSlot",
    "ModelTeam",
    "ParamSpace",
    "TrialLike",
]


class SpaceError(RolegraphError):
    """A parameter value, pool or space is invalid.

    Like :class:`~orchestrator.errors.SpecError` it is not a ``ValueError``, so
    pydantic lets it through unwrapped and the message names the parameter.
    """


def _model_ref(value: Any) -> Any:
    """A chat-model instance becomes its registered reference; anything else is unchanged."""
    return register_model(value) if isinstance(value, BaseChatModel) else value


def _is_single_model(value: Any) -> bool:
    return isinstance(value, str | BaseChatModel)


class TrialLike(Protocol):
    """The part of ``optuna.trial.Trial`` a space uses."""

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """Suggest one of ``choices``."""
        ...

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1) -> int:
        """Suggest an integer in ``[low, high]``."""
        ...

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        """Suggest a float in ``[low, high]``."""
        ...


class Param(BaseModel, abc.ABC):
    """One tunable parameter of a builder."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Keyword argument of the builder it feeds.")
    description: str = Field(default="", description="What it changes, for humans.")
    when: dict[str, tuple[Any, ...]] = Field(
        default_factory=dict,
        description="Active only when each named parameter takes one of the listed values.",
    )

    def active(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter exists given the other values."""
        return all(values.get(name) in allowed for name, allowed in self.when.items())

    @abc.abstractmethod
    def values(self, pool: Sequence[str] = ()) -> list[Any]:
        """Every value, in a stable order (floats are discretised)."""

    @abc.abstractmethod
    def suggest(self, trial: TrialLike, key: str, pool: Sequence[str] = ()) -> Any:
        """Ask an Optuna trial for a value under the parameter name ``key``."""

    def check(self, value: Any, pool: Sequence[str] = ()) -> Any:
        """Return ``value`` (normalised) or raise :class:`SpaceError`."""
        if value not in self.values(pool):
            raise SpaceError(f"{self.name}={value!r} is outside {self.values(pool)!r}")
        return value

    @property
    def default(self) -> Any:
        """The value used when none is given; ``None`` means 'the first value'."""
        return None


class Categorical(Param):
    """One of a fixed set of plain values (str, int, float, bool or None)."""

    choices: tuple[str | int | float | bool | None, ...] = Field(description="The values.")

    @model_validator(mode="after")
    def _non_empty(self) -> Categorical:
        if not self.choices:
            raise SpaceError(f"categorical parameter {self.name!r} has no choices")
        return self

    def values(self, pool: Sequence[str] = ()) -> list[Any]:
        """The choices."""
        return list(self.choices)

    def suggest(self, trial: TrialLike, key: str, pool: Sequence[str] = ()) -> Any:
        """Suggest a categorical value."""
        return trial.suggest_categorical(key, list(self.choices))


class Integer(Param):
    """An integer in ``[low, high]`` with a step."""

    low: int = Field(description="Smallest value.")
    high: int = Field(description="Largest value.")
    step: int = Field(default=1, ge=1, description="Spacing of allowed values.")

    @model_validator(mode="after")
    def _ordered(self) -> Integer:
        if self.low > self.high:
            raise SpaceError(f"integer parameter {self.name!r} has low > high")
        return self

    def values(self, pool: Sequence[str] = ()) -> list[Any]:
        """Every allowed integer."""
        return list(range(self.low, self.high + 1, self.step))

    def suggest(self, trial: TrialLike, key: str, pool: Sequence[str] = ()) -> Any:
        """Suggest an integer."""
        return trial.suggest_int(key, self.low, self.high, step=self.step)

    def check(self, value: Any, pool: Sequence[str] = ()) -> Any:
        """Accept an in-range integer on the step grid."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpaceError(f"{self.name} must be an integer, got {value!r}")
        if not self.low <= value <= self.high or (value - self.low) % self.step:
            raise SpaceError(
                f"{self.name}={value} is outside {self.low}..{self.high} (step {self.step})"
            )
        return value


class Float(Param):
    """A float in ``[low, high]``; grids use ``grid_points`` evenly spaced values."""

    low: float = Field(description="Smallest value.")
    high: float = Field(description="Largest value.")
    log: bool = Field(default=False, description="Sample on a log scale.")
    grid_points: int = Field(default=3, ge=2, description="Values used when enumerating.")

    def values(self, pool: Sequence[str] = ()) -> list[Any]:
        """``grid_points`` values from low to high."""
        if self.log:
            a, b = math.log(self.low), math.log(self.high)
            return [
                round(math.exp(a + (b - a) * i / (self.grid_points - 1)), 6)
                for i in range(self.grid_points)
            ]
        return [
            round(self.low + (self.high - self.low) * i / (self.grid_points - 1), 6)
            for i in range(self.grid_points)
        ]

    def suggest(self, trial: TrialLike, key: str, pool: Sequence[str] = ()) -> Any:
        """Suggest a float."""
        return trial.suggest_float(key, self.low, self.high, log=self.log)

    def check(self, value: Any, pool: Sequence[str] = ()) -> Any:
        """Accept any number in range."""
        if not isinstance(value, int | float) or not self.low <= value <= self.high:
            raise SpaceError(f"{self.name}={value!r} is outside [{self.low}, {self.high}]")
        return float(value)


class ModelSlot(Param):
    """One model reference, from its own ``choices`` or else from the search's pool."""

    choices: tuple[str, ...] = Field(
        default=(), description="Allowed models; empty means the pool given at search time."
    )

    def values(self, pool: Sequence[str] = ()) -> list[Any]:
        """The allowed model references."""
        options = list(self.choices or pool)
        if not options:
            raise SpaceError(f"model slot {self.name!r} has no models; give a pool")
        return options

    def suggest(self, trial: TrialLike, key: str, pool: Sequence[str] = ()) -> Any:
        """Suggest a model reference."""
        return trial.suggest_categorical(key, self.values(pool))

    def check(self, value: Any, pool: Sequence[str] = ()) -> Any:
        """Accept a model in the choices or pool; without either, any model string.

        A chat-model instance is registered and replaced by its reference.
        """
        value = _model_ref(value)
        if not isinstance(value, str):
            raise SpaceError(f"{self.name} must be a model string, got {value!r}")
        if (self.choices or pool) and value not in self.values(pool):
            raise SpaceError(f"{self.name}={value!r} is not in {self.values(pool)}")
        return value


class ModelTeam(Param):
    """A multiset of model references (order does not matter), of bounded size.

    Values are sorted tuples, so ``("a", "b")`` and ``("b", "a")`` are one team.
    If ``size`` names another parameter, the team has exactly that many members.
    """

    choices: tuple[str, ...] = Field(
        default=(), description="Allowed models; empty means the pool given at search time."
    )
    min_size: int = Field(default=1, ge=1, description="Fewest members.")
    max_size: int = Field(default=5, ge=1, description="Most members.")
    size: str | None = Field(default=None, description="Parameter that fixes the team size.")

    def _pool(self, pool: Sequence[str]) -> list[str]:
        options = sorted(set(self.choices or pool))
        if not options:
            raise SpaceError(f"model team {self.name!r} has no models; give a pool")
        return options

    def values(self, pool: Sequence[str] = ()) -> list[Any]:
        """Every team of every allowed size."""
        options = self._pool(pool)
        return [
            team
            for n in range(self.min_size, self.max_size + 1)
            for team in itertools.combinations_with_replacement(options, n)
        ]

    def teams_of(self, n: int, pool: Sequence[str] = ()) -> list[tuple[str, ...]]:
        """Every team of exactly ``n`` members."""
        return list(itertools.combinations_with_replacement(self._pool(pool), n))

    def suggest(self, trial: TrialLike, key: str, pool: Sequence[str] = ()) -> Any:
        """Suggest a size (unless fixed) and one model per member, then sort."""
        options = self._pool(pool)
        n = trial.suggest_int(f"{key}.size", self.min_size, self.max_size)
        return tuple(sorted(trial.suggest_categorical(f"{key}.{i}", options) for i in range(n)))

    def suggest_sized(self, trial: TrialLike, key: str, n: int, pool: Sequence[str] = ()) -> Any:
        """Suggest ``n`` members."""
        options = self._pool(pool)
        return tuple(sorted(trial.suggest_categorical(f"{key}.{i}", options) for i in range(n)))

    def check(self, value: Any, pool: Sequence[str] = ()) -> Any:
        """Accept any sequence of allowed models of an allowed size; return it sorted.

        Chat-model instances are registered and replaced by their references.
        """
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise SpaceError(f"{self.name} must be a list of models, got {value!r}")
        value = [_model_ref(m) for m in value]
        if not all(isinstance(m, str) for m in value):
            raise SpaceError(f"{self.name} must contain model strings, got {value!r}")
        if self.choices or pool:
            options = set(self._pool(pool))
            unknown = [m for m in value if m not in options]
            if unknown:
                raise SpaceError(f"{self.name} has models outside the pool: {unknown}")
        if not self.min_size <= len(value) <= self.max_size:
            raise SpaceError(
                f"{self.name} has {len(value)} members; allowed {self.min_size}..{self.max_size}"
            )
        return tuple(sorted(value))


class ParamSpace(BaseModel):
    """The declared parameters of one builder.

    Example:
        >>> space = ParamSpace(params=(Integer(name="rounds", low=1, high=3),
        ...                            ModelSlot(name="solver")))
        >>> space.size(pool=["sim:atlas-nano", "sim:atlas-pro"])
        6
    """

    model_config = ConfigDict(frozen=True)

    params: tuple[Param, ...] = Field(default=(), description="Parameters in dependency order.")

    @model_validator(mode="after")
    def _check(self) -> ParamSpace:
        seen: set[str] = set()
        for param in self.params:
            if param.name in seen:
                raise SpaceError(f"parameter {param.name!r} is declared twice")
            missing = [name for name in param.when if name not in seen]
            if missing:
                raise SpaceError(
                    f"parameter {param.name!r} depends on {missing}, which must come before it"
                )
            if isinstance(param, ModelTeam) and param.size and param.size not in seen:
                raise SpaceError(f"team {param.name!r} is sized by undeclared {param.size!r}")
            seen.add(param.name)
        return self

    def __iter__(self) -> Iterator[Param]:  # type: ignore[override]
        return iter(self.params)

    @property
    def names(self) -> list[str]:
        """Parameter names in order."""
        return [param.name for param in self.params]

    def _options(
        self,
        param: Param,
        chosen: Mapping[str, Any],
        pool: Sequence[str],
        fixed: Mapping[str, Any],
    ) -> list[Any]:
        if param.name in fixed:
            return [fixed[param.name]]
        if isinstance(param, ModelTeam) and param.size is not None:
            return param.teams_of(int(chosen[param.size]), pool)
        return param.values(pool)

    def grid(
        self, pool: Sequence[str] = (), *, fixed: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every valid combination, respecting conditions; ``fixed`` values are held."""
        held = dict(fixed or {})

        def expand(index: int, chosen: dict[str, Any]) -> Iterator[dict[str, Any]]:
            if index == len(self.params):
                yield dict(chosen)
                return
            param = self.params[index]
            if not param.active(chosen):
                yield from expand(index + 1, chosen)
                return
            for value in self._options(param, chosen, pool, held):
                chosen[param.name] = value
                yield from expand(index + 1, chosen)
                del chosen[param.name]

        yield from expand(0, {})

    def size(self, pool: Sequence[str] = (), *, fixed: Mapping[str, Any] | None = None) -> int:
        """Number of combinations in :meth:`grid`."""
        return sum(1 for _ in self.grid(pool, fixed=fixed))

    def sample(
        self,
        rng: random.Random,
        pool: Sequence[str] = (),
        *,
        fixed: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One combination drawn parameter by parameter; ``fixed`` values are held."""
        held = dict(fixed or {})
        chosen: dict[str, Any] = {}
        for param in self.params:
            if param.active(chosen):
                chosen[param.name] = rng.choice(self._options(param, chosen, pool, held))
        return chosen

    def suggest(
        self,
        trial: TrialLike,
        pool: Sequence[str] = (),
        *,
        prefix: str = "",
        fixed: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Ask an Optuna trial for every active parameter (define-by-run); ``fixed`` are held."""
        held = dict(fixed or {})
        chosen: dict[str, Any] = {}
        for param in self.params:
            if not param.active(chosen):
                continue
            key = f"{prefix}{param.name}"
            if param.name in held:
                chosen[param.name] = held[param.name]
            elif isinstance(param, ModelTeam) and param.size is not None:
                chosen[param.name] = param.suggest_sized(trial, key, int(chosen[param.size]), pool)
            else:
                chosen[param.name] = param.suggest(trial, key, pool)
        return chosen

    def validate_values(
        self,
        values: Mapping[str, Any],
        pool: Sequence[str] = (),
        *,
        partial: bool = True,
        defaults: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Check ``values``; with ``partial``, missing parameters are left to the builder.

        ``defaults`` (the builder's defaults) stand in for parameters that are
        not given, when deciding which parameters are active and how large a
        sized team is. A team sized by another parameter may be given as one
        model, which is repeated to that size, or as a list without its size,
        which then sets the size.

        Raises:
            SpaceError: An unknown or inactive parameter, or a value out of range.
        """
        known = set(self.names)
        unknown = sorted(set(values) - known)
        if unknown:
            raise SpaceError(f"unknown parameters {unknown}; this space has {self.names}")
        fallback = dict(defaults or {})
        given = self._size_teams(values, fallback)
        checked: dict[str, Any] = {}
        for param in self.params:
            context = {**fallback, **given, **checked}
            if param.name not in given:
                if not partial and param.active(context):
                    raise SpaceError(f"parameter {param.name!r} is missing")
                continue
            if not param.active(context):
                raise SpaceError(f"parameter {param.name!r} is inactive given {param.when}")
            value = given[param.name]
            size_name = param.size if isinstance(param, ModelTeam) else None
            if (
                size_name is not None
                and size_name in given
                and len(value) != int(given[size_name])
            ):
                raise SpaceError(
                    f"{param.name} has {len(value)} members but {size_name}={given[size_name]}"
                )
            checked[param.name] = param.check(value, pool)
        return checked

    def _size_teams(
        self, values: Mapping[str, Any], fallback: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Repeat a one-model team to its size, or take the size from a listed team."""
        given = dict(values)
        for param in self.params:
            if not isinstance(param, ModelTeam) or param.size is None or param.name not in given:
                continue
            team = given[param.name]
            if _is_single_model(team):
                n = given.get(param.size, fallback.get(param.size))
                if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                    given[param.name] = [team] * n
            elif param.size not in given and isinstance(team, Sequence):
                given[param.size] = len(team)
        return given

    def complete(self, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
        """Every active parameter: ``values`` (already checked) plus defaults for the rest.

        Defaults are normalised like given values: a one-model team default is
        repeated to its size, and a listed default is cycled to the size given.
        """
        done: dict[str, Any] = {}
        for param in self.params:
            if not param.active({**defaults, **done}):
                continue
            if param.name in values:
                done[param.name] = values[param.name]
                continue
            if param.name not in defaults:
                continue
            value = _model_ref(defaults[param.name])
            if isinstance(param, ModelTeam):
                members = [value] if _is_single_model(value) else [_model_ref(m) for m in value]
                n = done.get(param.size) if param.size is not None else None
                if isinstance(n, int) and members:
                    members = [members[i % len(members)] for i in range(n)]
                value = tuple(sorted(members))
            done[param.name] = value
        return done
