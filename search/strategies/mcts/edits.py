"""Named edit operators: moves from one workflow to its neighbours in a search space.

An :class:`EditOperator` turns a :class:`~search.space.Candidate` into the
candidates one named change away (:class:`Edit` s): add or remove a verifier,
raise or lower a loop bound, widen or narrow an ensemble, swap a model, add or
remove a debate round or a planner, replace the aggregator. Edits move between
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
    >>> [e.key for e in get_operator("add_verifier").apply(start, space)]
    ['add_verifier(verifier=sim:atlas-nano)', 'add_verifier(verifier=sim:atlas-mini)']
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import RolegraphError
from orchestrator.spec import Loop
from search.space import Candidate, SearchSpace
from topologies import get_topology
from topologies.params import Categorical, Float, Integer, ModelSlot, ModelTeam, Param

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
    "DEFAULT_OPERATORS",
    "get_operator",
    "list_operators",
    "neighbours",
    "fill_params",
    "median_model",
]

_LOOP_PARAMS = {"self_refine": "rounds", "plan_execute_judge": "revisions"}
"""Parameters that bound a declared verify-and-revise loop, per topology."""
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
    for agent in candidate.spec.agents:
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
            spec = parent.spec.model_copy(update=update)
        except (RolegraphError, ValueError):
            return None
        if spec.hash == parent.hash:
            return None
        child = Candidate(spec=spec, origin=f"mcts:{self.name}")
        return Edit(operator=self.name, detail=detail, candidate=child)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# --- operators -------------------------------------------------------------------------


class AddVerifier(EditOperator):
    """``single``/``plan_solve`` -> ``self_refine``: a verifier checks, a rectifier revises."""

    name = "add_verifier"
    description = (
        "Check the answer with a verifier and revise rejected answers: single or "
        "plan_solve becomes self_refine (the verifier's model also revises), or plan_solve "
        "becomes plan_execute_judge (the judge sends rejected answers back to the planner)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per verifier model (and target topology)."""
        params = candidate.params
        if candidate.topology == "single":
            base: dict[str, Any] = {"solver": params["model"], "plan": False}
        elif candidate.topology == "plan_solve":
            base = {"solver": params["solver"], "plan": True, "planner": params["planner"]}
        else:
            return []
        edits = [
            self.move(
                space,
                candidate,
                "self_refine",
                {**base, "verifier": model, "rectifier": model},
                f"verifier={model}",
            )
            for model in space.pool.models
        ]
        if candidate.topology == "plan_solve" and "plan_execute_judge" in space.topologies:
            n = _lowest(space, "plan_execute_judge", "executors")
            solver = params["solver"]
            team = {"executors": n, "models": [solver] * int(n), "answerer": solver}
            edits.extend(
                self.move(
                    space,
                    candidate,
                    "plan_execute_judge",
                    {"planner": params["planner"], **team, "judge": model},
                    f"plan_execute_judge judge={model}",
                )
                for model in space.pool.models
            )
        return [e for e in edits if e is not None]


class RemoveVerifier(EditOperator):
    """``self_refine`` -> ``single`` (or ``plan_solve`` when it plans)."""

    name = "remove_verifier"
    description = (
        "Drop the verify-and-revise loop (self_refine becomes single or plan_solve; "
        "plan_execute_judge with one executor becomes plan_solve)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """The solver alone, keeping its planner if it has one."""
        params = candidate.params
        if candidate.topology == "plan_execute_judge":
            if params["executors"] != _lowest(space, "plan_execute_judge", "executors"):
                return []
            edits = (
                self.move(
                    space,
                    candidate,
                    "plan_solve",
                    {"planner": params["planner"], "solver": model},
                    f"solver={model}",
                )
                for model in _distinct(_team(params["models"]))
            )
            return [e for e in edits if e is not None]
        if candidate.topology != "self_refine":
            return []
        if params.get("plan"):
            edit = self.move(
                space,
                candidate,
                "plan_solve",
                {"planner": params["planner"], "solver": params["solver"]},
                "",
            )
        else:
            edit = self.move(space, candidate, "single", {"model": params["solver"]}, "")
        return [edit] if edit else []


class _LoopBound(EditOperator):
    step: ClassVar[int] = 1

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """The bound of the topology's loop, or of each of a hand-designed spec's loops."""
        if candidate.topology is None:
            return self._spec_loops(candidate)
        name = _LOOP_PARAMS.get(candidate.topology)
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
        loops = candidate.spec.loops
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
    """One more verify-and-revise round."""

    name = "raise_loop_bound"
    description = (
        "Allow one more verify-and-revise round (self_refine rounds, plan_execute_judge "
        "revisions, or a loop's max_rounds)."
    )
    step = 1


class LowerLoopBound(_LoopBound):
    """One fewer verify-and-revise round."""

    name = "lower_loop_bound"
    description = "Allow one fewer verify-and-revise round."
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


class WidenEnsemble(EditOperator):
    """One more team member; a single solver becomes a vote ensemble or a best-of-n."""

    name = "widen_ensemble"
    description = (
        "Add one member to a team: a single solver becomes a vote ensemble or best-of-n "
        "of copies, a plan_solve's solver becomes a supervisor's or a tree's workers; "
        "ensembles, debates and worker teams get one more agent."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per model the new member may use."""
        topology = candidate.topology
        if topology is None:
            return []
        edits: list[Edit | None] = []
        if topology == "plan_solve":
            planner, solver = candidate.params["planner"], candidate.params["solver"]
            for target, size_name, team_name in (
                ("supervisor", "workers", "models"),
                ("tree", "breadth", "workers"),
            ):
                if target not in space.topologies:
                    continue
                n = _lowest(space, target, size_name)
                edits.append(
                    self.move(
                        space,
                        candidate,
                        target,
                        {
                            "planner": planner,
                            size_name: n,
                            team_name: [solver] * int(n),
                            "aggregator": solver,
                        },
                        f"{target} {size_name}={n}",
                    )
                )
        if topology == "single":
            model = candidate.params["model"]
            for target, extra in (("vote_ensemble", {}), ("best_of_n", {"judge": model})):
                if target not in space.topologies:
                    continue
                n = _lowest(space, target, "n")
                edits.append(
                    self.move(
                        space,
                        candidate,
                        target,
                        {"n": n, "models": [model] * int(n), **extra},
                        f"{target} n={n}",
                    )
                )
        for team, size in _sized_teams(topology):
            if team.name not in candidate.params:
                continue
            members = _team(candidate.params[team.name])
            n = len(members) + size.step
            for model in space.pool.models:
                edits.append(
                    self.move(
                        space,
                        candidate,
                        topology,
                        {**candidate.params, size.name: n, team.name: sorted([*members, model])},
                        f"{team.name}+{model}",
                    )
                )
        return [e for e in edits if e is not None]


class NarrowEnsemble(EditOperator):
    """One fewer team member; an ensemble at its smallest becomes a single solver."""

    name = "narrow_ensemble"
    description = (
        "Remove one member of a team; a vote ensemble or best-of-n at its smallest "
        "becomes a single solver, a supervisor or one-level tree becomes plan_solve."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per distinct member that may go."""
        topology = candidate.topology
        if topology is None:
            return []
        edits: list[Edit | None] = []
        for team, size in _sized_teams(topology):
            if team.name not in candidate.params:
                continue
            members = _team(candidate.params[team.name])
            n = len(members) - size.step
            for model in _distinct(members):
                rest = list(members)
                rest.remove(model)
                if n >= size.low:
                    edits.append(
                        self.move(
                            space,
                            candidate,
                            topology,
                            {**candidate.params, size.name: n, team.name: rest},
                            f"{team.name}-{model}",
                        )
                    )
                elif topology in ("vote_ensemble", "best_of_n"):
                    edits.append(
                        self.move(space, candidate, "single", {"model": model}, f"single={model}")
                    )
                elif topology == "supervisor" or (
                    topology == "tree"
                    and candidate.params["depth"] == _lowest(space, "tree", "depth")
                ):
                    edits.append(
                        self.move(
                            space,
                            candidate,
                            "plan_solve",
                            {"planner": candidate.params["planner"], "solver": model},
                            f"plan_solve solver={model}",
                        )
                    )
        return [e for e in edits if e is not None]


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
        agents = candidate.spec.agents
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


class AddDebateRound(EditOperator):
    """One more debate round; a vote ensemble becomes a one-round debate."""

    name = "add_debate_round"
    description = (
        "Let the agents see each other's answers for one more round (a vote ensemble "
        "becomes a debate)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """At most one edit."""
        params = candidate.params
        edit: Edit | None = None
        if candidate.topology == "debate":
            rounds = int(params["rounds"]) + 1
            edit = self.move(space, candidate, "debate", {**params, "rounds": rounds}, "")
        elif candidate.topology == "vote_ensemble":
            edit = self.move(
                space,
                candidate,
                "debate",
                {
                    "n": params["n"],
                    "models": params["models"],
                    "rounds": _lowest(space, "debate", "rounds"),
                    "aggregate": "vote",
                    "weighted": params.get("weighted", False),
                },
                "",
            )
        return [edit] if edit else []


class RemoveDebateRound(EditOperator):
    """One fewer debate round; a debate at its fewest becomes a vote ensemble or best-of-n."""

    name = "remove_debate_round"
    description = (
        "One fewer debate round; a debate at its fewest rounds becomes a vote ensemble "
        "(or best-of-n when a judge decides)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """At most one edit."""
        if candidate.topology != "debate":
            return []
        params = candidate.params
        rounds = int(params["rounds"]) - 1
        edit = self.move(space, candidate, "debate", {**params, "rounds": rounds}, "")
        if edit is None and rounds < _lowest(space, "debate", "rounds"):
            team = {"n": params["n"], "models": params["models"]}
            if params.get("aggregate") == "judge":
                edit = self.move(
                    space, candidate, "best_of_n", {**team, "judge": params["judge"]}, ""
                )
            else:
                weighted = params.get("weighted", False)
                edit = self.move(
                    space, candidate, "vote_ensemble", {**team, "weighted": weighted}, ""
                )
        return [edit] if edit else []


class AddPlanner(EditOperator):
    """A planner goes first: ``single`` -> ``plan_solve``, self_refine plans, a deeper tree."""

    name = "add_planner"
    description = (
        "A planner writes a plan first (single becomes plan_solve; self_refine gets a "
        "planner; a tree decomposes one level deeper)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per planner model (or the deeper tree)."""
        params = candidate.params
        edits: list[Edit | None] = []
        if candidate.topology == "single":
            for model in space.pool.models:
                edits.append(
                    self.move(
                        space,
                        candidate,
                        "plan_solve",
                        {"planner": model, "solver": params["model"]},
                        f"planner={model}",
                    )
                )
        elif candidate.topology == "self_refine" and not params.get("plan"):
            for model in space.pool.models:
                edits.append(
                    self.move(
                        space,
                        candidate,
                        "self_refine",
                        {**params, "plan": True, "planner": model},
                        f"planner={model}",
                    )
                )
        elif candidate.topology == "tree":
            depth = int(params["depth"]) + 1
            edits.append(
                self.move(space, candidate, "tree", {**params, "depth": depth}, f"depth={depth}")
            )
        return [e for e in edits if e is not None]


class RemovePlanner(EditOperator):
    """Drop the planner: ``plan_solve`` -> ``single``, no self_refine plan, a shallower tree."""

    name = "remove_planner"
    description = (
        "Drop the planner (plan_solve becomes single; self_refine stops planning; a tree "
        "decomposes one level less)."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """At most one edit."""
        params = candidate.params
        edit: Edit | None = None
        if candidate.topology == "plan_solve":
            edit = self.move(space, candidate, "single", {"model": params["solver"]}, "")
        elif candidate.topology == "self_refine" and params.get("plan"):
            rest = {k: v for k, v in params.items() if k != "planner"}
            edit = self.move(space, candidate, "self_refine", {**rest, "plan": False}, "")
        elif candidate.topology == "tree":
            depth = int(params["depth"]) - 1
            edit = self.move(
                space, candidate, "tree", {**params, "depth": depth}, f"depth={depth}"
            )
        return [edit] if edit else []


class ReplaceAggregator(EditOperator):
    """Vote <-> judge, weighted vote on or off, or the answer agent's role."""

    name = "replace_aggregator"
    description = (
        "Change how answers are combined: a vote becomes a judge's pick or back "
        "(vote_ensemble <-> best_of_n, debate aggregate), a vote becomes confidence-weighted "
        "or plain, or plan_execute_judge's answer agent re-solves instead of combining."
    )

    def apply(self, candidate: Candidate, space: SearchSpace) -> list[Edit]:
        """One edit per judge model, or one toggle."""
        topology = candidate.topology
        params = candidate.params
        pool = space.pool.models
        edits: list[Edit | None] = []
        if topology == "vote_ensemble":
            team = {"n": params["n"], "models": params["models"]}
            for model in pool:
                edits.append(
                    self.move(
                        space, candidate, "best_of_n", {**team, "judge": model}, f"judge={model}"
                    )
                )
            weighted = not params.get("weighted", False)
            edits.append(
                self.move(
                    space,
                    candidate,
                    "vote_ensemble",
                    {**params, "weighted": weighted},
                    f"weighted={weighted}",
                )
            )
        elif topology == "best_of_n":
            team = {"n": params["n"], "models": params["models"]}
            edits.append(self.move(space, candidate, "vote_ensemble", team, "vote"))
        elif topology == "debate":
            rest = {k: v for k, v in params.items() if k not in ("judge", "weighted")}
            if params.get("aggregate") == "judge":
                edits.append(
                    self.move(space, candidate, "debate", {**rest, "aggregate": "vote"}, "vote")
                )
            else:
                for model in pool:
                    edits.append(
                        self.move(
                            space,
                            candidate,
                            "debate",
                            {**rest, "aggregate": "judge", "judge": model},
                            f"judge={model}",
                        )
                    )
                weighted = not params.get("weighted", False)
                edits.append(
                    self.move(
                        space,
                        candidate,
                        "debate",
                        {**params, "weighted": weighted},
                        f"weighted={weighted}",
                    )
                )
        elif topology == "plan_execute_judge":
            role = "solver" if params.get("answer_role") == "aggregator" else "aggregator"
            edits.append(
                self.move(
                    space,
                    candidate,
                    topology,
                    {**params, "answer_role": role},
                    f"answer_role={role}",
                )
            )
        return [e for e in edits if e is not None]


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
