"""Workflow specs: immutable, validated, serialisable and content-hashed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import yaml
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from orchestrator.models import register_model

if TYPE_CHECKING:
    import networkx as nx
    from langgraph.graph.state import CompiledStateGraph

    from orchestrator.validation import Structure

__all__ = ["START", "END", "Agent", "Edge", "Loop", "WorkflowSpec"]

START = "__start__"
"""Pseudo-agent before the entry agents (LangGraph's ``START``)."""
END = "__end__"
"""Pseudo-agent after the exit agent (LangGraph's ``END``)."""

_NAME = r"^[A-Za-z_][A-Za-z0-9_\-]*$"


class Agent(BaseModel):
    """One role agent: a role, a model, a prompt, a temperature and optional tools.

    Example:
        >>> Agent(name="solver", role="solver", model="sim:atlas-mini", temperature=0.7)
        Agent(name='solver', role='solver', model='sim:atlas-mini', ...)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME, description="Unique name; also the LangGraph node name.")
    role: str = Field(description="A built-in or registered role, e.g. 'solver'.")
    model: str | None = Field(
        default=None,
        description="'provider:model' string, or a registered instance's reference. "
        "A BaseChatModel instance is accepted and registered.",
    )
    prompt: str | None = Field(
        default=None, description="System prompt replacing the role's default."
    )
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    max_tokens: int | None = Field(default=None, gt=0, description="Cap on output tokens.")
    tools: tuple[str, ...] = Field(default=(), description="Names of registered tools.")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Role options, e.g. {'weighted': True} for a vote or {'focus': ...}.",
    )

    @field_validator("model", mode="before")
    @classmethod
    def _model_ref(cls, value: Any) -> Any:
        if isinstance(value, BaseChatModel):
            return register_model(value)
        return value

    if TYPE_CHECKING:  # the validator above also accepts model instances

        def __init__(
            self,
            *,
            name: str,
            role: str,
            model: str | BaseChatModel | None = None,
            prompt: str | None = None,
            temperature: float = 0.0,
            max_tokens: int | None = None,
            tools: tuple[str, ...] | list[str] = (),
            options: dict[str, Any] | None = None,
        ) -> None: ...

    def __repr_args__(self) -> Any:
        yield from ((k, v) for k, v in super().__repr_args__() if k in {"name", "role", "model"})


class Edge(BaseModel):
    """A forward edge: ``target`` runs after ``source`` and sees its output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="Agent that runs first.")
    target: str = Field(description="Agent that runs after it.")


class Loop(BaseModel):
    """A declared, bounded back edge: after ``source``, go back to ``target``.

    The loop is taken while its condition holds, at most ``max_rounds`` times
    per run; otherwise ``source`` continues along its forward edges.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="Agent whose output decides.")
    target: str = Field(description="Earlier agent to go back to.")
    max_rounds: int | None = Field(
        default=None, description="Most times the loop is taken in one run. Required."
    )
    when: Literal["rejected", "always"] = Field(
        default="rejected",
        description="'rejected': only when the source flagged a problem (a verifier "
        "rejected, or a rectifier revised); 'always': every time.",
    )

    @property
    def id(self) -> str:
        """Key of the loop's counter."""
        return f"{self.source}->{self.target}"


def _edge(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 2:
        return {"source": value[0], "target": value[1]}
    return value


class WorkflowSpec(BaseModel):
    """A validated workflow: agents, forward edges and declared loops.

    The only cycles allowed are :class:`Loop` s. Construction validates the
    whole graph and raises a :class:`~orchestrator.errors.SpecError` naming
    the offending agent or edge, so an invalid spec never exists.

    Example:
        >>> spec = WorkflowSpec(
        ...     agents=[Agent(name="s", role="solver", model="sim:atlas-nano")], edges=[])
        >>> len(spec.hash)
        16
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="workflow", description="Display name; not part of the hash.")
    description: str = Field(default="", description="Free text; not part of the hash.")
    agents: tuple[Agent, ...] = Field(description="The agents.")
    edges: tuple[Edge, ...] = Field(default=(), description="Forward edges.")
    loops: tuple[Loop, ...] = Field(default=(), description="Declared bounded loops.")
    entry: tuple[str, ...] = Field(
        default=(), description="First agents; empty means every agent without predecessors."
    )
    exit: str | None = Field(
        default=None, description="Agent whose answer is the result; None means the only sink."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Free-form, e.g. topology and parameters; not hashed."
    )

    _structure: Structure = PrivateAttr()

    @field_validator("edges", mode="before")
    @classmethod
    def _edges(cls, value: Any) -> Any:
        return [_edge(item) for item in value] if isinstance(value, list | tuple) else value

    @field_validator("entry", mode="before")
    @classmethod
    def _entry(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _validate_graph(self) -> WorkflowSpec:
        from orchestrator.validation import analyze

        self._structure = analyze(self)
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied; the result is validated like a new spec."""
        if not update:
            return super().model_copy(deep=deep)
        return self.model_validate({**self.model_dump(), **update})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkflowSpec):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash((self.hash, self.name))

    # --- identity -----------------------------------------------------------------------

    @property
    def structure(self) -> Structure:
        """The validated graph analysis (entries, exit, loop bodies, joins)."""
        return self._structure

    def canonical(self) -> dict[str, Any]:
        """The hashed content: order-free, defaults dropped, entry and exit resolved."""
        structure = self.structure
        return {
            "agents": sorted(
                (a.model_dump(mode="json", exclude_defaults=True) for a in self.agents),
                key=lambda a: a["name"],
            ),
            "edges": sorted([e.source, e.target] for e in structure.forward_edges),
            "loops": sorted(
                (lp.model_dump(mode="json", exclude_defaults=True) for lp in self.loops),
                key=lambda lp: (lp["source"], lp["target"]),
            ),
            "entry": sorted(structure.entries),
            "exit": structure.exit,
        }

    @cached_property
    def hash(self) -> str:
        """Stable content hash (16 hex digits), equal across processes and orderings."""
        payload = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def agent(self, name: str) -> Agent:
        """The agent called ``name``."""
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise KeyError(f"no agent {name!r} in workflow {self.name!r}")

    # --- serialisation --------------------------------------------------------------------

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text; :meth:`from_json` reads it back to an equal spec."""
        return self.model_dump_json(indent=indent, exclude_defaults=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkflowSpec:
        """Parse and validate JSON text."""
        return cls.model_validate_json(text)

    def to_yaml(self) -> str:
        """YAML text; :meth:`from_yaml` reads it back to an equal spec."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str) -> WorkflowSpec:
        """Parse and validate YAML text."""
        return cls.model_validate(yaml.safe_load(text))

    def save(self, path: str | Path) -> Path:
        """Write to ``.json``, ``.yaml`` or ``.yml`` by suffix."""
        target = Path(path)
        text = self.to_yaml() if target.suffix in {".yaml", ".yml"} else self.to_json()
        target.write_text(text, encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> WorkflowSpec:
        """Read a spec saved by :meth:`save`."""
        source = Path(path)
        text = source.read_text(encoding="utf-8")
        return cls.from_yaml(text) if source.suffix in {".yaml", ".yml"} else cls.from_json(text)

    # --- views ----------------------------------------------------------------------------

    def to_networkx(self) -> nx.DiGraph:
        """The graph, with ``kind`` = ``"edge"`` or ``"loop"`` on each edge."""
        return self.structure.full_graph.copy()

    def to_mermaid(self) -> str:
        """A Mermaid flowchart: agents labelled with role and model, loops dashed."""
        from orchestrator.render import spec_mermaid

        return spec_mermaid(self)

    def compile(self, **kwargs: Any) -> CompiledStateGraph:
        """Compile to a LangGraph graph; see :func:`orchestrator.compile_workflow`."""
        from orchestrator.compile import compile_workflow

        return compile_workflow(self, **kwargs)
