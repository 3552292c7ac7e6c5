"""``Workflow``: a mutable builder that produces a validated :class:`WorkflowSpec`."""

from __future__ import annotations

from typing import Any, Literal, Self

from langchain_core.language_models import BaseChatModel

from orchestrator.errors import NoExitError, SpecFormatError
from orchestrator.spec import END, START, Agent, Edge, Loop, WorkflowSpec

__all__ = ["Workflow"]


class Workflow:
    """Build a workflow step by step, then :meth:`build` a frozen, validated spec.

    Like LangGraph's ``StateGraph``, the builder does not run; ``build()``
    validates and returns a :class:`WorkflowSpec`, which you deploy.

    Example:
        >>> wf = Workflow("self-refine")
        >>> wf.add_agent("solver", role="solver", model="sim:atlas-mini")  # doctest: +ELLIPSIS
        <...Workflow...>
        >>> wf.add_agent("check", role="verifier", model="sim:atlas-pro")  # doctest: +ELLIPSIS
        <...Workflow...>
        >>> wf.add_agent("fix", role="rectifier", model="sim:atlas-mini")  # doctest: +ELLIPSIS
        <...Workflow...>
        >>> spec = (wf.add_edge("solver", "check").add_edge("check", "fix")
        ...           .add_loop("fix", "check", max_rounds=2).build())
        >>> spec.structure.exit
        'fix'
    """

    def __init__(self, name: str = "workflow", *, description: str = "") -> None:
        """Start an empty workflow."""
        self.name = name
        self.description = description
        self.agents: list[Agent] = []
        self.edges: list[Edge] = []
        self.loops: list[Loop] = []
        self.entry: list[str] = []
        self.exit: str | None = None
        self.metadata: dict[str, Any] = {}

    def add_agent(
        self,
        agent: Agent | str,
        *,
        role: str | None = None,
        model: str | BaseChatModel | None = None,
        prompt: str | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        tools: tuple[str, ...] | list[str] = (),
        options: dict[str, Any] | None = None,
    ) -> Self:
        """Add an :class:`Agent`, or build one from a name and keyword settings.

        Raises:
            SpecFormatError: No role, or a setting of the wrong type or out of range.
        """
        if isinstance(agent, Agent):
            self.agents.append(agent)
            return self
        if not isinstance(agent, str):
            raise SpecFormatError(
                f"add_agent() takes an Agent or an agent name, not {type(agent).__name__}"
            )
        if role is None:
            from orchestrator.roles import list_roles

            raise SpecFormatError(
                f"agent {agent!r} needs a role: add_agent({agent!r}, role=...) with one of "
                f"{', '.join(list_roles())}, or a role you registered",
                agent=agent,
                field="role",
            )
        self.agents.append(
            Agent(
                name=agent,
                role=role,
                model=model,
                prompt=prompt,
                temperature=temperature,
                max_tokens=max_tokens,
                tools=tuple(tools),
                options=options or {},
            )
        )
        return self

    def add_agents(self, *agents: Agent) -> Self:
        """Add several :class:`Agent` records."""
        for agent in agents:
            self.add_agent(agent)
        return self

    def add_edge(self, source: str | list[str], target: str) -> Self:
        """Add a forward edge; a list of sources makes a join.

        ``add_edge(START, name)`` makes ``name`` an entry and ``add_edge(name, END)``
        makes it the exit.

        Raises:
            InvalidEdgeError: The edge leaves ``END`` or enters ``START``.
            NoExitError: A second, different agent is connected to ``END``.
        """
        sources = source if isinstance(source, list) else [source]
        for item in sources:
            edge = Edge(source=item, target=target)  # checks START/END are the right way round
            if item == START:
                self.entry.append(target)
            elif target == END:
                if self.exit not in (None, item):
                    raise NoExitError(
                        f"two exits: {self.exit!r} and {item!r}; a workflow has one exit. "
                        "Join them with a vote, judge or aggregator first",
                        agent=item,
                    )
                self.exit = item
            else:
                self.edges.append(edge)
        return self

    def add_loop(
        self,
        source: str,
        target: str,
        *,
        max_rounds: int,
        when: Literal["rejected", "always"] = "rejected",
    ) -> Self:
        """Declare a bounded loop from ``source`` back to the earlier ``target``."""
        self.loops.append(Loop(source=source, target=target, max_rounds=max_rounds, when=when))
        return self

    def set_entry(self, *names: str) -> Self:
        """Name the first agents explicitly."""
        self.entry = list(names)
        return self

    def set_exit(self, name: str) -> Self:
        """Name the agent whose answer is the result."""
        self.exit = name
        return self

    def build(self) -> WorkflowSpec:
        """Validate and freeze.

        Raises:
            SpecError: The graph is invalid; the error names the agent or edge.
        """
        return WorkflowSpec(
            name=self.name,
            description=self.description,
            agents=tuple(self.agents),
            edges=tuple(self.edges),
            loops=tuple(self.loops),
            entry=tuple(self.entry),
            exit=self.exit,
            metadata=dict(self.metadata),
        )

    def __repr__(self) -> str:
        return f"Workflow(name={self.name!r}, agents={len(self.agents)})"
