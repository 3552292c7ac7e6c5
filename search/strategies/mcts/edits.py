"""Named edit operators: moves from one workflow to its neighbours in a search space.

An :class:`EditOperator` turns a :class:`~search.space.Candidate` into the
candidates one named change away (:class:`Edit` s): add or remove a verifier,
raise or lower a loop bound, widen or narrow an ensemble, swap a model, add or
remove a debate round or a planner, replace the aggregator. The structural
operators read what each topology declares (:class:`~topologies.Structure`:
who answers, how answers combine, who checks, plans and debates), never a
topology's name, so a topology a user registers gets them too. Edits move between
registered topologies and their parameters through
:meth:`SearchSpace.candidate <search.space.SearchSpace.candidate>`, so a
workflow inside the space only ever leads to workflows inside it: an edit that
would leave the space (a topology it lacks, a fixed parameter, a bound) is not
offered. Hand-designed specs without a topology get the edits that apply to any
graph: swap an agent's model, change a loop's bound.

Example:
    >>> space = SearchSpace(topologies=["single", "self_refine"],
    ...                     pool=["sim:atlas-nano", "sim:atlas-mini"])
    >>> start = space.candidate("single", {"model": "sim:atlas-nano", "temperature": 0.0})
    >>> [e.detail for e in get_operator("add_verifier").apply(start, space)]
    ['self_refine verifier=sim:atlas-nano', 'self_refine verifier=sim:atlas-mini']
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import RolegraphError
from orchestrator.spec import Loop
from search.space import Candidate, SearchSpace
from topologies import Structure, get_topology
from topologies.params import Categorical, Float, Integer, ModelSlot, ModelTeam, Param
from topologies.structure import Part

__all__ = [
    "Edit",
    "Experience",
    "EditOperator",
    "AddVerifier",
    "RemoveVerifier",
    "RaiseLoopBound",
    "LowerLoopBound",
    "WidenEnsemble",
    "NarrowEnsemble",
    "SwapModel",
    "AddDebateRound",
    "RemoveDebateRound",
    "AddPlanner",
    "RemovePlanner",
    "ReplaceAggregator",
    "TuneSetting",
    "StructuralOperator",
    "shape_of",
    "DEFAULT_OPERATORS",
    "get_operator",
    "list_operators",
    "neighbours",
    "fill_params",
    "median_model",
]

_MAX_SPEC_LOOP_ROUNDS = 5
"""Largest loop bound the edits give a hand-designed spec."""


class Edit(BaseModel):
    """One concrete change of a workflow: which operator, what exactly, and the result."""

    model_config = ConfigDict(frozen=True)

    operator: str = Field(description="Name of the operator, e.g. 'add_verifier'.")
    detail: str = Field(default="", description="What changes, e.g. 'verifier=sim:atlas-mini'.")
    candidate: Candidate = Field(description="The workflow after the edit.")

    @property
    def key(self) -> str:
        """Stable name of the edit, e.g. ``add_verifier(verifier=sim:atlas-mini)``."""
        return f"{self.operator}({self.detail})" if self.detail else self.operator


class Experience(BaseModel):
    """What happened when an edit was tried from a workflow (AFlow's experience record).

    An edit is tried at most once from a node; one that did not improve on its
    parent, or that led to a workflow already in the tree, is never tried again
    from there, and proposers are told so.
    """

    model_config = ConfigDict(frozen=True)

    edit: str = Field(description="The edit's key.")
    operator: str = Field(description="The edit's operator.")
    child: str | None = Field(default=None, description="Hash of the workflow it led to.")
    before: float | None = Field(default=None, description="The parent's objective value.")
    after: float | None = Field(
        default=None, description="The child's objective value, once evaluated."
    )
    outcome: Literal["pending", "improved", "failed", "duplicate", "invalid"] = Field(
        description="'improved' (after > before), 'failed' (did not improve, pruned "
        "included), 'duplicate' (led to a workflow already in the tree), 'invalid' "
        "(a proposer asked for an edit that does not apply), or 'pending'."
    )
    proposer: str = Field(default="", description="Who chose the edit, e.g. 'random' or 'llm'.")
    note: str = Field(default="", description="The proposer's reason, or why it fell back.")

    @property
    def failed(self) -> bool:
        """Whether the edit must not be tried again from this parent."""
        return self.outcome in ("failed", "duplicate", "invalid")


# --- helpers ---------------------------------------------------------------------------


def _lowest(space: SearchSpace, topology: str, name: str) -> Any:
    """The value ``name`` takes when an edit does not choose it: fixed, else the first."""
    fixed = space.fixed.get(topology, {})
    if name in fixed:
        return fixed[name]
    param = _param(topology, name)
    return param.values(space.pool.models)[0] if param is not None else None


def _param(topology: str, name: str) -> Param | None:
    for param in get_topology(topology).space.params:
        if param.name == name:
            return param
    return None


def fill_params(
    space: SearchSpace, topology: str, given: Mapping[str, Any], model: str
) -> dict[str, Any]:
    """Every active parameter of ``topology``: given, else fixed, else its first value.

    Given parameters that are inactive under the others are dropped; missing
    model slots and teams default to ``model``.
    """
    fixed = space.fixed.get(topology, {})
    pool = space.pool.models
    out: dict[str, Any] = {}
    for param in get_topology(topology).space.params:
        if not param.active(out):
            continue
        if param.name in given:
            out[param.name] = given[param.name]
        elif param.name in fixed:
            out[param.name] = fixed[param.name]
        elif isinstance(param, ModelSlot):
            options = param.values(pool)
            out[param.name] = model if model in options else options[0]
        elif isinstance(param, ModelTeam):
            size = out.get(param.size) if param.size else param.min_size
            out[param.name] = [model] * int(size or param.min_size)
        else:
            out[param.name] = param.values(pool)[0]
    return out


def _main_model(candidate: Candidate, space: SearchSpace) -> str:
    """The model a new slot should start with: the workflow's first model, else the median."""
    for value in candidate.params.values():
        if isinstance(value, str) and value in space.pool.models:
            return value
        if isinstance(value, list | tuple) and value and value[0] in space.pool.models:
            return str(value[0])
    for agent in candidate.workflow.agents:
        if agent.model in space.pool.models:
            return agent.model
    return median_model(space)


def median_model(space: SearchSpace) -> str:
    """The pool model of median list price (the lower one of an even pool)."""
    table = space.pool.prices()

    def price(model: str) -> float:
        found = table.price(model)
        return found.input + found.output if found is not None else float("inf")

    ranked = sorted(space.pool.models, key=price)
    return ranked[(len(ranked) - 1) // 2]


def _team(value: Any) -> list[str]:
    return sorted(str(m) for m in value)


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# --- the extension point ---------------------------------------------------------------


class EditOperator(abc.ABC):
    """One named kind of change. :meth:`apply` lists every concrete edit of a workflow.

    Subclasses set :attr:`name` and :attr:`description` (shown to proposers)
    and implement :meth:`apply`. Build results with :meth:`move` (a registered
    topology and its parameters) or :meth:`rebuild` (a hand-designed spec):
    both return ``None`` when the result would leave the space or is invalid.

    Example:
        >>> class Hotter(EditOperator):
        ...     name = "hotter"
        ...     description = "Raise a single solver's temperature."
        ...     def apply(self, candidate, space):
        ...         if candidate.topology != "single":
        ...             return []
        ...         params = {**candidate.params, "temperature": 1.0}
        ...         edit = self.move(space, candidate, "single", params, "temperature=1.0")
        ...         return [edit] if edit else []
    """

    name: ClassVar[str] = "edit"
    description: ClassVar[str] = ""

    @abc.abstractmethod
    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """Every edit of ``candidate`` this operator offers, in a stable order."""

    def applicable(self, candidate: Candidate, space: SearchSpace) -> bool:
        """Whether the operator offers any edit of ``candidate``."""
        return bool(self.apply(candidate, space))

    def move(
        self,
        space: SearchSpace,
        parent: Candidate,
        topology: str,
        params: Mapping[str, Any],
        detail: str,
    ) -> Edit | None:
        """The edit to ``topology(params)``, or ``None`` if that is outside ``space``.

        Parameters not given take their fixed or first value (models: the
        parent's first model), so edits land on points of the space's grid.
        """
        if topology not in space.topologies:
            return None
        values = fill_params(space, topology, params, _main_model(parent, space))
        try:
            child = space.candidate(topology, values, origin=f"mcts:{self.name}")
        except RolegraphError:  # SpaceError, or a SpecError from the builder
            return None
        if child.hash == parent.hash:
            return None
        return Edit(operator=self.name, detail=detail, candidate=child)

    def rebuild(self, parent: Candidate, detail: str, **update: Any) -> Edit | None:
        """The edit that replaces fields of a hand-designed spec, or ``None`` if invalid."""
        try:
            spec = parent.workflow.model_copy(update=update)
        except (RolegraphError, ValueError):
            return None
        if spec.hash == parent.hash:
            return None
        child = Candidate(spec=spec, origin=f"mcts:{self.name}")
        return Edit(operator=self.name, detail=detail, candidate=child)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# --- operators -------------------------------------------------------------------------


# --- reading a workflow's structure -----------------------------------------------------


def _structure(topology: str | None) -> Structure | None:
    return get_topology(topology).structure if topology is not None else None


def _lowest_depth(space: SearchSpace, topology: str) -> int | None:
    structure = _structure(topology)
    if structure is None or structure.depth is None:
        return None
    return int(_lowest(space, topology, structure.depth))


def shape_of(candidate: Candidate, space: SearchSpace) -> frozenset[Part] | None:
    """The parts a candidate's workflow has (``None`` when its topology declares none)."""
    structure = _structure(candidate.topology)
    if structure is None or candidate.topology is None:
        return None
    depth = _lowest_depth(space, candidate.topology)
    return structure.shape(candidate.params, lowest_depth=depth)


def _carry(candidate: Candidate) -> dict[str, Any]:
    """The candidate's values by structural part, to carry over to another topology."""
    structure = _structure(candidate.topology)
    params = candidate.params
    if structure is None:
        return {}
    carried: dict[str, Any] = {}
    if structure.solver is not None and structure.solver in params:
        carried["solver"] = params[structure.solver]
    if structure.team is not None and structure.team in params:
        members = _team(params[structure.team])
        carried["team" if len(members) > 1 else "solver"] = (
            members if len(members) > 1 else members[0]
        )
    for part in ("judge", "aggregator", "checker", "fixer", "planner", "loop", "rounds"):
        name = getattr(structure, part)
        if name is not None and name in params:
            carried[part] = params[name]
    if structure.weighted is not None and structure.weighted in params:
        carried["weighted"] = params[structure.weighted]
    return carried


def _size_param(topology: str, team: str) -> Integer | None:
    for param in get_topology(topology).space.params:
        if isinstance(param, ModelTeam) and param.name == team and param.size is not None:
            size = _param(topology, param.size)
            return size if isinstance(size, Integer) else None
    return None


def _realize(
    space: SearchSpace,
    topology: str,
    shape: frozenset[Part],
    carried: Mapping[str, Any],
    main: str,
    given: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Parameters of ``topology`` that give a workflow of ``shape``, or ``None`` if none do.

    Parts the shape keeps take the carried values; parts it adds take ``given``
    values, else the workflow's main model or the parameter's lowest value.
    """
    structure = _structure(topology)
    if structure is None:
        return None
    values = {**carried, **(given or {})}
    params: dict[str, Any] = {}
    if "solver" in shape:
        model = values.get("solver", main)
        if structure.solver is not None:
            params[structure.solver] = model
        elif structure.team is not None:
            size = _size_param(topology, structure.team)
            if size is None or size.low > 1:
                return None
            params[size.name] = 1
            params[structure.team] = [model]
        else:
            return None
    elif "team" in shape:
        if structure.team is None:
            return None
        size = _size_param(topology, structure.team)
        members = values.get("team")
        if members is None:
            if size is None:
                return None
            n = next((v for v in size.values() if v > 1), None)
            if n is None:
                return None
            members = [values.get("solver", main)] * n
        if size is not None:
            params[size.name] = len(members)
        params[structure.team] = sorted(members)
        kinds = [kind for kind in ("vote", "judge", "aggregator") if kind in shape]
        if len(kinds) != 1:
            return None
        kind = kinds[0]
        if structure.combine_switch is not None:
            choice = next((v for v, k in structure.combine_kinds.items() if k == kind), None)
            if choice is None:
                return None
            switch = _param(topology, structure.combine_switch)
            values_of = switch.values() if switch is not None else []
            params[structure.combine_switch] = next(
                (v for v in values_of if str(v) == choice), choice
            )
        elif structure.combine != kind:
            return None
        for part in ("judge", "aggregator"):
            name = getattr(structure, part)
            if kind == part and name is not None:
                params[name] = values.get(part, values.get("solver", main))
        if kind == "vote" and structure.weighted is not None and "weighted" in values:
            params[structure.weighted] = values["weighted"]
    else:
        return None
    if ("check" in shape) != (structure.loop is not None):
        return None
    if structure.loop is not None:
        if "loop" in values:
            params[structure.loop] = values["loop"]
        for part in ("checker", "fixer"):
            name = getattr(structure, part)
            if name is not None:
                params[name] = values.get(part, values.get("checker", main))
    wants_planner = "planner" in shape
    if structure.planner is None or (structure.planner_switch is None and not wants_planner):
        if wants_planner:
            return None
    else:
        if structure.planner_switch is not None:
            params[structure.planner_switch] = wants_planner
        if wants_planner:
            params[structure.planner] = values.get("planner", main)
    if ("debate" in shape) != (structure.rounds is not None):
        return None
    if structure.rounds is not None and "rounds" in values:
        params[structure.rounds] = values["rounds"]
    if structure.depth is not None:
        lowest = _lowest_depth(space, topology) or 1
        params[structure.depth] = lowest + 1 if "deep" in shape else lowest
    elif "deep" in shape:
        return None
    return params


class StructuralOperator(EditOperator, abc.ABC):
    """An operator that reads the topologies' declared :class:`~topologies.Structure`.

    :meth:`jump` moves a workflow to another shape: to whichever topologies of
    the space realise it, carrying each part's models and settings over.
    """

    def jump(
        self,
        space: SearchSpace,
        parent: Candidate,
        shape: frozenset[Part],
        detail: str = "{topology}",
        given: Mapping[str, Any] | None = None,
    ) -> list[Edit]:
        """Edits to every topology of the space that realises ``shape``.

        ``detail`` is formatted per target with ``{topology}``, ``{n}`` (its team
        size), ``{size}`` (the size's parameter) and each structural part's
        parameter name (``{checker}``, ``{planner}``, ...).
        """
        carried = _carry(parent)
        # New slots copy the agent that answers: a judge or an answer agent starts as the solver.
        team = carried.get("team")
        main = carried.get("solver") or (team[0] if team else _main_model(parent, space))
        edits: list[Edit] = []
        for topology in space.topologies:
            params = _realize(space, topology, shape, carried, main, given)
            structure = _structure(topology)
            if params is None or structure is None:
                continue
            fixed = space.fixed.get(topology, {})
            for param in get_topology(topology).space.params:
                if isinstance(param, ModelSlot) and param.name not in params | fixed:
                    params[param.name] = main  # other agents start on the answering model
            names = {field: "" for field in Structure.model_fields} | structure.names()
            members = params.get(structure.team or "", ())
            size = _size_param(topology, structure.team) if structure.team else None
            label = detail.format_map(
                {
                    **names,
                    "topology": topology,
                    "n": len(members),
                    "size": size.name if size else "",
                }
            )
            edit = self.move(space, parent, topology, params, label)
            if edit is not None and shape_of(edit.candidate, space) == shape:
                edits.append(edit)
        return edits

    def nudge(
        self, space: SearchSpace, parent: Candidate, changes: Mapping[str, Any], detail: str
    ) -> Edit | None:
        """The same topology with some parameters changed."""
        assert parent.topology is not None
        return self.move(space, parent, parent.topology, {**parent.params, **changes}, detail)


_COMBINES: tuple[Part, ...] = ("vote", "judge", "aggregator")
"""How a team's answers can become one."""


def _models(space: SearchSpace) -> list[str]:
    return list(space.pool.models)


# --- operators -------------------------------------------------------------------------


class AddVerifier(StructuralOperator):
    """A checker (and fixer) loop: ``single`` -> ``self_refine``, a plan gets judged, ..."""

    name = "add_verifier"
    description = (
        "Check the answer in a loop and revise rejected answers: a workflow without a check "
        "becomes the topology that adds one (single -> self_refine, whose checker's model also "
        "revises; plan_solve -> self_refine with a plan, or plan_execute_judge)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per checker model and topology that adds the check."""
        shape = shape_of(candidate, space)
        if shape is None or "check" in shape:
            return []
        target: frozenset[Part] = shape | {"check"}
        edits: list[Edit] = []
        for model in _models(space):
            detail, given = f"{{topology}} {{checker}}={model}", {"checker": model, "fixer": model}
            edits += self.jump(space, candidate, target, detail, given)
        return edits


class RemoveVerifier(StructuralOperator):
    """Drop the check-and-revise loop: ``self_refine`` -> ``single`` or ``plan_solve``."""

    name = "remove_verifier"
    description = "Drop the check-and-revise loop (self_refine becomes single or plan_solve)."

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """The workflow without its loop, in every topology that has that shape."""
        shape = shape_of(candidate, space)
        if shape is None or "check" not in shape:
            return []
        return self.jump(space, candidate, shape - {"check"})


class _LoopBound(EditOperator):
    step: ClassVar[int] = 1

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """The declared loop's bound, or each loop's bound of a hand-designed spec."""
        if candidate.topology is None:
            return self._spec_loops(candidate)
        structure = _structure(candidate.topology)
        name = structure.loop if structure is not None else None
        if name is None or name not in candidate.params:
            return []
        value = int(candidate.params[name]) + self.step
        edit = self.move(
            space,
            candidate,
            candidate.topology,
            {**candidate.params, name: value},
            f"{name}={value}",
        )
        return [edit] if edit else []

    def _spec_loops(self, candidate: Candidate) -> list[Edit]:
        edits: list[Edit] = []
        loops = candidate.workflow.loops
        for i, loop in enumerate(loops):
            if loop.max_rounds is None:
                continue
            bound = loop.max_rounds + self.step
            if not 1 <= bound <= _MAX_SPEC_LOOP_ROUNDS:
                continue
            changed: list[Loop] = list(loops)
            changed[i] = loop.model_copy(update={"max_rounds": bound})
            edit = self.rebuild(candidate, f"{loop.id} max_rounds={bound}", loops=changed)
            if edit is not None:
                edits.append(edit)
        return edits


class RaiseLoopBound(_LoopBound):
    """One more check-and-revise round."""

    name = "raise_loop_bound"
    description = "Allow one more check-and-revise round (a topology's loop, or a spec's loop)."
    step = 1


class LowerLoopBound(_LoopBound):
    """One fewer check-and-revise round."""

    name = "lower_loop_bound"
    description = "Allow one fewer check-and-revise round."
    step = -1


def _sized_teams(topology: str) -> list[tuple[ModelTeam, Integer]]:
    """The topology's teams whose size is an integer parameter."""
    params = {p.name: p for p in get_topology(topology).space.params}
    out = []
    for param in params.values():
        if isinstance(param, ModelTeam) and param.size is not None:
            size = params.get(param.size)
            if isinstance(size, Integer):
                out.append((param, size))
    return out


class WidenEnsemble(StructuralOperator):
    """One more team member; a lone solver becomes a team (voted, judged or aggregated)."""

    name = "widen_ensemble"
    description = (
        "Add one member to a team; a lone solver becomes a team of copies whose answers are "
        "voted on, judged or aggregated (single -> vote_ensemble or best_of_n, plan_solve -> "
        "supervisor or tree)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per model the new member may use, and per team topology."""
        topology = candidate.topology
        if topology is None:
            return []
        edits: list[Edit] = []
        shape = shape_of(candidate, space)
        if shape is not None and "solver" in shape:
            for kind in _COMBINES:
                target = (shape - {"solver"}) | {"team", kind}
                edits += self.jump(space, candidate, target, "{topology} {size}={n}")
        for team, size in _sized_teams(topology):
            if team.name not in candidate.params:
                continue
            members = _team(candidate.params[team.name])
            n = len(members) + size.step
            for model in _models(space):
                changes = {size.name: n, team.name: sorted([*members, model])}
                edit = self.nudge(space, candidate, changes, f"{team.name}+{model}")
                if edit is not None:
                    edits.append(edit)
        return edits


class NarrowEnsemble(StructuralOperator):
    """One fewer team member; a team at its smallest becomes a lone solver."""

    name = "narrow_ensemble"
    description = (
        "Remove one member of a team; a team at its smallest becomes its member alone "
        "(vote_ensemble or best_of_n -> single, supervisor or a one-level tree -> plan_solve)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per distinct member that may go."""
        topology = candidate.topology
        if topology is None:
            return []
        shape = shape_of(candidate, space)
        edits: list[Edit] = []
        for team, size in _sized_teams(topology):
            if team.name not in candidate.params:
                continue
            members = _team(candidate.params[team.name])
            n = len(members) - size.step
            for model in _distinct(members):
                rest = list(members)
                rest.remove(model)
                if n >= size.low:
                    changes = {size.name: n, team.name: rest}
                    edit = self.nudge(space, candidate, changes, f"{team.name}-{model}")
                    if edit is not None:
                        edits.append(edit)
                elif shape is not None and "team" in shape:
                    alone: frozenset[Part] = (shape - {"team", *_COMBINES}) | {"solver"}
                    given = {"solver": model}
                    label = f"{{topology}} {{solver}}={model}"
                    edits += self.jump(space, candidate, alone, label, given)
        return edits


class SwapModel(EditOperator):
    """Another pool model for one slot, one team member, or one agent of a spec."""

    name = "swap_model"
    description = "Give one agent (a model slot or one team member) another model from the pool."

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per slot (or member) and replacement model."""
        pool = space.pool.models
        if candidate.topology is None:
            return self._spec_agents(candidate, pool)
        topology = candidate.topology
        params = candidate.params
        edits: list[Edit | None] = []
        for param in get_topology(topology).space.params:
            if param.name not in params:
                continue
            if isinstance(param, ModelSlot):
                for model in pool:
                    if model != params[param.name]:
                        edits.append(
                            self.move(
                                space,
                                candidate,
                                topology,
                                {**params, param.name: model},
                                f"{param.name}={model}",
                            )
                        )
            elif isinstance(param, ModelTeam):
                members = _team(params[param.name])
                for old in _distinct(members):
                    for model in pool:
                        if model == old:
                            continue
                        team = list(members)
                        team[team.index(old)] = model
                        edits.append(
                            self.move(
                                space,
                                candidate,
                                topology,
                                {**params, param.name: sorted(team)},
                                f"{param.name}:{old}->{model}",
                            )
                        )
        return [e for e in edits if e is not None]

    def _spec_agents(self, candidate: Candidate, pool: Sequence[str]) -> list[Edit]:
        edits: list[Edit] = []
        agents = candidate.workflow.agents
        for i, agent in enumerate(agents):
            if agent.model is None:
                continue
            for model in pool:
                if model == agent.model:
                    continue
                changed = list(agents)
                changed[i] = agent.model_copy(update={"model": model})
                edit = self.rebuild(candidate, f"{agent.name}={model}", agents=changed)
                if edit is not None:
                    edits.append(edit)
        return edits


class AddDebateRound(StructuralOperator):
    """One more debate round; a team that answers once starts to debate."""

    name = "add_debate_round"
    description = (
        "Let the team see each other's answers for one more round (a vote ensemble becomes "
        "a debate)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """The next round, or the debate version of a team."""
        shape = shape_of(candidate, space)
        if shape is None:
            return []
        structure = _structure(candidate.topology)
        assert structure is not None
        if structure.rounds is not None and structure.rounds in candidate.params:
            rounds = int(candidate.params[structure.rounds]) + 1
            edit = self.nudge(space, candidate, {structure.rounds: rounds}, "")
            return [edit] if edit else []
        if "team" not in shape or "debate" in shape:
            return []
        return self.jump(space, candidate, shape | {"debate"})


class RemoveDebateRound(StructuralOperator):
    """One fewer debate round; a debate at its fewest becomes a plain team."""

    name = "remove_debate_round"
    description = (
        "One fewer debate round; a debate at its fewest rounds becomes a vote ensemble "
        "(or best-of-n when a judge decides)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """The previous round, or the team without debate."""
        shape = shape_of(candidate, space)
        structure = _structure(candidate.topology)
        if shape is None or structure is None or structure.rounds is None:
            return []
        rounds = int(candidate.params[structure.rounds]) - 1
        edit = self.nudge(space, candidate, {structure.rounds: rounds}, "")
        if edit is not None:
            return [edit]
        if rounds < int(_lowest(space, str(candidate.topology), structure.rounds)):
            return self.jump(space, candidate, shape - {"debate"})
        return []


class AddPlanner(StructuralOperator):
    """A planner goes first: ``single`` -> ``plan_solve``, a planner switched on, a deeper tree."""

    name = "add_planner"
    description = (
        "A planner writes a plan first (single becomes plan_solve; self_refine gets a "
        "planner; a tree decomposes one level deeper)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per planner model (or the deeper decomposition)."""
        shape = shape_of(candidate, space)
        structure = _structure(candidate.topology)
        if shape is None or structure is None:
            return []
        edits: list[Edit] = []
        if "planner" not in shape:
            for model in _models(space):
                detail, given = f"{{topology}} {{planner}}={model}", {"planner": model}
                edits += self.jump(space, candidate, shape | {"planner"}, detail, given)
        elif structure.depth is not None:
            depth = int(candidate.params[structure.depth]) + 1
            edit = self.nudge(space, candidate, {structure.depth: depth}, f"depth={depth}")
            edits += [edit] if edit else []
        return edits


class RemovePlanner(StructuralOperator):
    """Drop the planner (or one level of decomposition)."""

    name = "remove_planner"
    description = (
        "Drop the planner (plan_solve becomes single; self_refine stops planning; a tree "
        "decomposes one level less)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """The workflow without its planner, or with one level less."""
        shape = shape_of(candidate, space)
        structure = _structure(candidate.topology)
        if shape is None or structure is None or "planner" not in shape:
            return []
        if structure.depth is not None:
            depth = int(candidate.params[structure.depth]) - 1
            edit = self.nudge(space, candidate, {structure.depth: depth}, f"depth={depth}")
            return [edit] if edit else []
        return self.jump(space, candidate, shape - {"planner"})


class ReplaceAggregator(StructuralOperator):
    """Vote <-> judge, weighted vote on or off, or how the final answer is made."""

    name = "replace_aggregator"
    description = (
        "Change how answers are combined: a vote becomes a judge's pick or back "
        "(vote_ensemble <-> best_of_n, a debate's ending), a vote becomes confidence-weighted "
        "or plain, or an answer agent re-solves instead of combining."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per judge model, or one per other setting."""
        shape = shape_of(candidate, space)
        structure = _structure(candidate.topology)
        if shape is None or structure is None:
            return []
        params = candidate.params
        edits: list[Edit] = []
        current = next((kind for kind in _COMBINES if kind in shape), None)
        if current is not None:
            for kind in _COMBINES[:2]:
                if kind == current:
                    continue
                target = (shape - {current}) | {kind}
                if kind == "judge":
                    for model in _models(space):
                        detail = f"{{topology}} {{judge}}={model}"
                        edits += self.jump(space, candidate, target, detail, {"judge": model})
                else:
                    edits += self.jump(space, candidate, target)
        switches = [structure.weighted, *structure.toggles]
        for name in (n for n in switches if n is not None and n in params):
            param = _param(str(candidate.topology), name)
            for value in param.values() if param is not None else ():
                if value != params[name]:
                    edit = self.nudge(space, candidate, {name: value}, f"{name}={value}")
                    edits += [edit] if edit else []
        return edits


class TuneSetting(EditOperator):
    """Any other setting to a neighbouring value, so every point of the space is reachable."""

    name = "tune_setting"
    description = (
        "Change one other setting to a neighbouring value (a temperature, how a debate "
        "starts, whether agents see confidences, ...)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per neighbouring value of each plain (non-model) parameter."""
        topology = candidate.topology
        if topology is None:
            return []
        params = candidate.params
        pool = space.pool.models
        sizes = {size.name for _, size in _sized_teams(topology)}
        edits: list[Edit | None] = []
        for param in get_topology(topology).space.params:
            if param.name not in params or param.name in sizes:
                continue
            if not isinstance(param, Categorical | Integer | Float):
                continue
            values = param.values(pool)
            current = params[param.name]
            if isinstance(param, Categorical):
                options = [v for v in values if v != current]
            else:
                position = min(range(len(values)), key=lambda i: abs(values[i] - current))
                options = [values[i] for i in (position - 1, position + 1) if 0 <= i < len(values)]
                options = [v for v in options if v != current]
            for value in options:
                edits.append(
                    self.move(
                        space,
                        candidate,
                        topology,
                        {**params, param.name: value},
                        f"{param.name}={value}",
                    )
                )
        return [e for e in edits if e is not None]


DEFAULT_OPERATORS: tuple[EditOperator, ...] = (
    AddVerifier(),
    RemoveVerifier(),
    RaiseLoopBound(),
    LowerLoopBound(),
    WidenEnsemble(),
    NarrowEnsemble(),
    SwapModel(),
    AddDebateRound(),
    RemoveDebateRound(),
    AddPlanner(),
    RemovePlanner(),
    ReplaceAggregator(),
    TuneSetting(),
)
"""Every built-in operator, named ones first: a change two operators offer is kept once."""

_BY_NAME = {operator.name: operator for operator in DEFAULT_OPERATORS}


def list_operators() -> list[str]:
    """Names of the built-in operators."""
    return list(_BY_NAME)


def get_operator(name: str) -> EditOperator:
    """A built-in operator by name.

    Raises:
        KeyError: No operator has that name; the message lists them.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown edit operator {name!r}; known: {', '.join(_BY_NAME)}") from None


def neighbours(
    candidate: Candidate,
    space: SearchSpace,
    operators: Sequence[EditOperator] = DEFAULT_OPERATORS,
) -> list[Edit]:
    """Every edit of ``candidate``, one per resulting workflow (the first operator wins)."""
    seen = {candidate.hash}
    edits: list[Edit] = []
    for operator in operators:
        for edit in operator.apply(candidate, space):
            if edit.candidate.hash not in seen:
                seen.add(edit.candidate.hash)
                edits.append(edit)
    return edits
