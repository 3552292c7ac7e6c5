"""Static checks on workflow specs, with networkx, before anything runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import networkx as nx

from orchestrator.errors import (
    DeadEndError,
    DuplicateAgentError,
    InvalidLoopError,
    JudgeCandidatesError,
    MissingModelError,
    NoExitError,
    RectifierCritiqueError,
    SpecError,
    UnboundedLoopError,
    UndeclaredCycleError,
    UnknownAgentError,
    UnknownModelError,
    UnknownToolError,
    UnreachableAgentError,
)
from orchestrator.models import check_model_ref
from orchestrator.parts import MAX_LOOP_ROUNDS, Agent, Edge, Loop
from orchestrator.roles import Role, get_role
from orchestrator.tools import list_tools


class SpecGraph(Protocol):
    """What the analysis reads of a spec (:class:`~orchestrator.spec.WorkflowSpec` has it)."""

    @property
    def name(self) -> str:
        """The workflow's name."""
        ...

    @property
    def agents(self) -> Sequence[Agent]:
        """Its agents."""
        ...

    @property
    def edges(self) -> Sequence[Edge]:
        """Its forward edges, as given."""
        ...

    @property
    def loops(self) -> Sequence[Loop]:
        """Its declared loops."""
        ...

    @property
    def entry(self) -> Sequence[str]:
        """Its declared entry agents (may be empty)."""
        ...

    @property
    def exit(self) -> str | None:
        """Its declared exit agent, if any."""
        ...


__all__ = ["Structure", "analyze"]

_START, _END = "__start__", "__end__"


@dataclass(frozen=True)
class Structure:
    """What validation learned about a spec's graph; the compiler builds from it."""

    forward_edges: tuple[Edge, ...]
    forward: nx.DiGraph
    full_graph: nx.DiGraph
    entries: tuple[str, ...]
    exit: str
    order: tuple[str, ...]
    feeders: dict[str, tuple[str, ...]]
    successors: dict[str, tuple[str, ...]]
    loop_from: dict[str, Loop]
    loop_bodies: dict[str, frozenset[str]]
    deferred: frozenset[str]
    max_steps: int


def _is_critic(role: Role) -> bool:
    return role.output is not None and "critique" in role.output.model_fields


def _check_agents(spec: SpecGraph) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    tools = set(list_tools())
    for agent in spec.agents:
        if agent.name in roles:
            raise DuplicateAgentError(f"two agents are named {agent.name!r}", agent=agent.name)
        if agent.name in (_START, _END):
            raise SpecError(f"{agent.name!r} is reserved; rename the agent", agent=agent.name)
        try:
            role = get_role(agent.role)
        except SpecError as exc:
            raise type(exc)(f"agent {agent.name!r}: {exc}", agent=agent.name) from None
        roles[agent.name] = role
        if role.uses_model and agent.model is None:
            raise MissingModelError(
                f"agent {agent.name!r} has role {agent.role!r}, which calls a model, "
                "but no model; set model='provider:model'",
                agent=agent.name,
            )
        if agent.model is not None:
            try:
                check_model_ref(agent.model)
            except UnknownModelError as exc:
                raise UnknownModelError(f"agent {agent.name!r}: {exc}", agent=agent.name) from None
        for tool in agent.tools:
            if tool not in tools:
                raise UnknownToolError(
                    f"agent {agent.name!r} uses unknown tool {tool!r}; known tools: "
                    f"{', '.join(sorted(tools))}. Register one with register_tool()",
                    agent=agent.name,
                )
    if not roles:
        raise NoExitError("the workflow has no agents")
    return roles


def _check_refs(spec: SpecGraph, names: set[str]) -> None:
    for edge in spec.edges:
        for end, label in ((edge.source, "source"), (edge.target, "target")):
            if end not in names and end not in (_START, _END):
                raise UnknownAgentError(
                    f"edge {edge.source} -> {edge.target}: {label} {end!r} is not an agent",
                    edge=(edge.source, edge.target),
                )
    for loop in spec.loops:
        for end in (loop.source, loop.target):
            if end not in names:
                raise UnknownAgentError(
                    f"loop {loop.source} -> {loop.target}: {end!r} is not an agent",
                    edge=(loop.source, loop.target),
                )
    for entry in spec.entry:
        if entry not in names:
            raise UnknownAgentError(f"entry {entry!r} is not an agent", agent=entry)
    if spec.exit is not None and spec.exit not in names:
        raise UnknownAgentError(f"exit {spec.exit!r} is not an agent", agent=spec.exit)


def _check_loops(spec: SpecGraph) -> dict[str, Loop]:
    loop_from: dict[str, Loop] = {}
    for loop in spec.loops:
        if loop.max_rounds is None or loop.max_rounds < 1:
            raise UnboundedLoopError(
                f"loop {loop.source} -> {loop.target} has no bound; set max_rounds to a "
                f"positive number (got {loop.max_rounds})",
                edge=(loop.source, loop.target),
            )
        if loop.max_rounds > MAX_LOOP_ROUNDS:
            raise UnboundedLoopError(
                f"loop {loop.source} -> {loop.target}: max_rounds={loop.max_rounds} is more "
                f"than the {MAX_LOOP_ROUNDS} rounds a loop may run; set a smaller bound",
                edge=(loop.source, loop.target),
            )
        if loop.source in loop_from:
            raise InvalidLoopError(
                f"agent {loop.source!r} starts two loops; give each loop its own source",
                agent=loop.source,
            )
        loop_from[loop.source] = loop
    return loop_from


def analyze(spec: SpecGraph) -> Structure:
    """Validate ``spec`` and describe its graph.

    Raises:
        SpecError: A subclass naming the offending agent or edge.
    """
    roles = _check_agents(spec)
    names = set(roles)
    order_index = {agent.name: i for i, agent in enumerate(spec.agents)}
    _check_refs(spec, names)
    loop_from = _check_loops(spec)
    loop_pairs = {(lp.source, lp.target) for lp in spec.loops}

    entries = list(spec.entry)
    exit_agent = spec.exit
    forward = nx.DiGraph()
    forward.add_nodes_from(agent.name for agent in spec.agents)
    kept: list[Edge] = []
    for edge in spec.edges:
        if edge.source == _START:
            entries.append(edge.target)
        elif edge.target == _END:
            if exit_agent not in (None, edge.source):
                raise NoExitError(
                    f"two exits: {exit_agent!r} and {edge.source!r}; a workflow has one exit",
                    agent=edge.source,
                )
            exit_agent = edge.source
        elif (edge.source, edge.target) in loop_pairs:
            continue  # the declared loop already covers this edge
        elif not forward.has_edge(edge.source, edge.target):
            forward.add_edge(edge.source, edge.target)
            kept.append(edge)

    try:
        cycle = nx.find_cycle(forward)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle is not None:
        path = " -> ".join([*(u for u, _ in cycle), cycle[0][0]])
        back = cycle[-1]
        raise UndeclaredCycleError(
            f"cycle {path} is not a declared loop; declare its back edge as "
            f"Loop(source={back[0]!r}, target={back[1]!r}, max_rounds=N)",
            edge=(back[0], back[1]),
        )

    for loop in spec.loops:
        if loop.target != loop.source and not nx.has_path(forward, loop.target, loop.source):
            raise InvalidLoopError(
                f"loop {loop.source} -> {loop.target} does not go back: {loop.target!r} does "
                f"not come before {loop.source!r} along the edges",
                edge=(loop.source, loop.target),
            )

    full = nx.DiGraph()
    full.add_nodes_from(forward.nodes)
    full.add_edges_from(forward.edges, kind="edge")
    for loop in spec.loops:
        full.add_edge(loop.source, loop.target, kind="loop", max_rounds=loop.max_rounds)

    if not entries:
        entries = [n for n in forward.nodes if forward.in_degree(n) == 0]
    entries = sorted(set(entries), key=order_index.__getitem__)
    reached: set[str] = set(entries)
    for entry in entries:
        reached |= nx.descendants(full, entry)
    unreachable = [name for name in order_index if name not in reached]
    if unreachable:
        raise UnreachableAgentError(
            f"agent {unreachable[0]!r} is not reachable from the entry "
            f"({', '.join(entries)}); add an edge into it or list it in entry",
            agent=unreachable[0],
        )

    if exit_agent is None:
        sinks = sorted(
            (n for n in forward.nodes if forward.out_degree(n) == 0), key=order_index.__getitem__
        )
        if len(sinks) != 1:
            raise NoExitError(
                f"no single exit: agents {', '.join(repr(s) for s in sinks)} all end the "
                "workflow; join them with a vote, judge or aggregator, or set exit=",
            )
        exit_agent = sinks[0]
    if not roles[exit_agent].produces_answer:
        raise NoExitError(
            f"exit agent {exit_agent!r} has role {roles[exit_agent].name!r}, which produces "
            "no answer; end the workflow with an agent that answers",
            agent=exit_agent,
        )
    leads_to_exit = nx.ancestors(full, exit_agent) | {exit_agent}
    dead = [name for name in order_index if name not in leads_to_exit]
    if dead:
        raise DeadEndError(
            f"agent {dead[0]!r} never leads to the exit {exit_agent!r}; its work would be "
            "wasted. Connect it onward or remove it",
            agent=dead[0],
        )

    feeders: dict[str, tuple[str, ...]] = {}
    for name in order_index:
        sources = set(forward.predecessors(name))
        sources |= {lp.source for lp in spec.loops if lp.target == name}
        feeders[name] = tuple(sorted(sources, key=order_index.__getitem__))
        role = roles[name]
        answering = [s for s in feeders[name] if roles[s].produces_answer]
        if len(answering) < role.min_candidates:
            raise JudgeCandidatesError(
                f"{role.name} {name!r} needs at least {role.min_candidates} candidate answers "
                f"but is fed {len(answering)}"
                + (f" ({', '.join(answering)})" if answering else ""),
                agent=name,
            )
        if role.needs_critique and not any(_is_critic(roles[s]) for s in feeders[name]):
            raise RectifierCritiqueError(
                f"{role.name} {name!r} has no verifier feeding it a critique; add an edge "
                "from a verifier",
                agent=name,
            )

    bodies: dict[str, frozenset[str]] = {}
    for loop in spec.loops:
        inside = nx.descendants(forward, loop.target) & nx.ancestors(forward, loop.source)
        bodies[loop.id] = frozenset(inside | {loop.source, loop.target})
    deferred = set()
    for name in order_index:
        preds = list(forward.predecessors(name))
        if len(preds) < 2:
            continue
        if any(p in body and name not in body for body in bodies.values() for p in preds):
            deferred.add(name)

    order = tuple(nx.lexicographical_topological_sort(forward, key=order_index.__getitem__))
    rounds = sum(lp.max_rounds or 0 for lp in spec.loops)
    return Structure(
        forward_edges=tuple(kept),
        forward=forward,
        full_graph=full,
        entries=tuple(entries),
        exit=exit_agent,
        order=order,
        feeders=feeders,
        successors={
            n: tuple(sorted(forward.successors(n), key=order_index.__getitem__))
            for n in order_index
        },
        loop_from=loop_from,
        loop_bodies=bodies,
        deferred=frozenset(deferred),
        max_steps=(len(order) + 2) * (1 + rounds) + 5,
    )
