"""What part each parameter of a topology plays: who answers, how answers combine, who checks.

A topology declares its :class:`Structure` next to its parameter space. The
search's workflow edits (add a verifier, widen a team, add a planner, ...)
read it instead of knowing topologies by name, so a topology a user registers
with ``@topology(structure=...)`` gets the same structural edits as the
built-in ones. A workflow's :meth:`Structure.shape` is the set of parts it has
for given parameter values; an edit moves to the topology (and values) whose
shape differs by the one part it adds, removes or replaces.

Example:
    >>> refine = Structure(solver="solver", checker="verifier", fixer="rectifier", loop="rounds")
    >>> sorted(refine.shape({"solver": "sim:a", "verifier": "sim:b", "rounds": 2}))
    ['check', 'solver']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from topologies.params import Categorical, Integer, ModelSlot, ModelTeam, Param, SpaceError

__all__ = ["Structure", "Combine", "Part", "PARTS"]

Combine = Literal["vote", "judge", "aggregator"]
"""How a team's answers become one: a vote, a judge's pick, or an aggregator's answer."""

Part = Literal[
    "solver", "team", "vote", "judge", "aggregator", "check", "planner", "debate", "deep"
]
"""A part a workflow's shape can have."""

PARTS: tuple[Part, ...] = (
    "solver",
    "team",
    "vote",
    "judge",
    "aggregator",
    "check",
    "planner",
    "debate",
    "deep",
)
"""Every part, in the order shapes are described."""


class Structure(BaseModel):
    """Which parameter of a topology plays which structural part.

    Every field names a parameter of the topology's space (or is ``None``).
    Exactly one of ``solver`` and ``team`` says who answers; a team of one
    counts as a solver.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    solver: str | None = Field(default=None, description="Model slot of the one answering agent.")
    team: str | None = Field(
        default=None,
        description="Model team answering in parallel; its size is the team's size parameter.",
    )
    combine: Combine | None = Field(
        default=None, description="How the team's answers become one, when it is fixed."
    )
    combine_switch: str | None = Field(
        default=None, description="Categorical parameter whose value picks how answers combine."
    )
    combine_kinds: dict[str, Combine] = Field(
        default_factory=dict, description="For ``combine_switch``: its value -> how they combine."
    )
    judge: str | None = Field(
        default=None, description="Model slot of the judge that picks one answer."
    )
    aggregator: str | None = Field(
        default=None, description="Model slot of the agent that combines the answers."
    )
    weighted: str | None = Field(
        default=None, description="Boolean parameter: votes weighted by confidence."
    )
    checker: str | None = Field(
        default=None, description="Model slot of the agent that checks the answer in a loop."
    )
    fixer: str | None = Field(
        default=None, description="Model slot of the agent that revises a rejected answer."
    )
    loop: str | None = Field(
        default=None, description="Integer parameter: most check-and-revise rounds."
    )
    planner: str | None = Field(default=None, description="Model slot of the planner.")
    planner_switch: str | None = Field(
        default=None, description="Boolean parameter that turns the planner on."
    )
    depth: str | None = Field(
        default=None, description="Integer parameter: levels of decomposition (its lowest: one)."
    )
    rounds: str | None = Field(
        default=None, description="Integer parameter: debate rounds after the first answers."
    )
    toggles: tuple[str, ...] = Field(
        default=(),
        description="Categorical parameters that change how the final answer is made "
        "(e.g. whether an answer agent combines or re-solves).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Structure:
        if self.solver is not None and self.team is not None:
            raise SpaceError("a structure has a solver or a team, not both")
        if self.combine_switch is not None and not self.combine_kinds:
            raise SpaceError("combine_switch needs combine_kinds (switch value -> kind)")
        if self.fixer is not None and self.checker is None:
            raise SpaceError("a fixer revises what a checker rejects: declare the checker")
        return self

    # --- declared parameters ----------------------------------------------------------

    def names(self) -> dict[str, str]:
        """Every declared field and the parameter it names."""
        fields = self.model_dump(exclude={"combine", "combine_kinds", "toggles"})
        named = {field: value for field, value in fields.items() if value is not None}
        named.update({f"toggle:{name}": name for name in self.toggles})
        return named

    def check_against(self, params: Sequence[Param], topology: str) -> None:
        """Raise :class:`SpaceError` unless each declared name is a parameter of the right kind.

        Raises:
            SpaceError: A name is not a parameter, or has the wrong type for its part.
        """
        by_name = {param.name: param for param in params}
        kinds: dict[str, type[Param] | tuple[type[Param], ...]] = {
            "solver": ModelSlot,
            "judge": ModelSlot,
            "aggregator": ModelSlot,
            "checker": ModelSlot,
            "fixer": ModelSlot,
            "planner": ModelSlot,
            "team": ModelTeam,
            "loop": Integer,
            "depth": Integer,
            "rounds": Integer,
            "weighted": Categorical,
            "planner_switch": Categorical,
            "combine_switch": Categorical,
        }
        for field, name in self.names().items():
            param = by_name.get(name)
            if param is None:
                raise SpaceError(
                    f"{topology}: structure {field.removeprefix('toggle:')}={name!r} is not a "
                    f"parameter of its space {sorted(by_name)}"
                )
            kind = kinds.get(field, Categorical)
            if not isinstance(param, kind):
                raise SpaceError(
                    f"{topology}: structure {field}={name!r} must be a "
                    f"{getattr(kind, '__name__', kind)} parameter, not {type(param).__name__}"
                )

    # --- shapes -----------------------------------------------------------------------

    def combine_of(self, values: Mapping[str, Any]) -> Combine | None:
        """How answers combine for these values (``None`` without a team)."""
        if self.combine_switch is not None and self.combine_switch in values:
            return self.combine_kinds.get(str(values[self.combine_switch]))
        return self.combine

    def team_size(self, values: Mapping[str, Any]) -> int | None:
        """The number of team members in ``values`` (``None`` without a team)."""
        if self.team is None or self.team not in values:
            return None
        return len(values[self.team])

    def shape(
        self, values: Mapping[str, Any], *, lowest_depth: int | None = None
    ) -> frozenset[Part]:
        """The parts a workflow with these parameter values has.

        A team of one is a ``"solver"``; ``"deep"`` is a depth above ``lowest_depth``.
        """
        parts: set[Part] = set()
        size = self.team_size(values)
        if self.solver is not None and self.solver in values:
            parts.add("solver")
        elif size is not None:
            if size <= 1:
                parts.add("solver")
            else:
                parts.add("team")
                combine = self.combine_of(values)
                if combine is not None:
                    parts.add(combine)
        if self.loop is not None and self.loop in values:
            parts.add("check")
        switched_on = self.planner_switch is None or bool(values.get(self.planner_switch))
        if self.planner is not None and self.planner in values and switched_on:
            parts.add("planner")
        if self.rounds is not None and self.rounds in values:
            parts.add("debate")
        if self.depth is not None and self.depth in values:
            floor = lowest_depth if lowest_depth is not None else 1
            if int(values[self.depth]) > floor:
                parts.add("deep")
        return frozenset(parts)
