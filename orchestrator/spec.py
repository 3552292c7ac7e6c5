"""Workflow specs: immutable, validated, serialisable and content-hashed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import yaml
from pydantic import (
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from orchestrator.errors import InputFormatError, SpecFormatError
from orchestrator.parts import (
    AGENT_NAME_PATTERN,
    END,
    MAX_LOOP_ROUNDS,
    MAX_OUTPUT_TOKENS,
    SPEC_NAME_PATTERN,
    START,
    Agent,
    Edge,
    Loop,
    SpecRecord,
    check_data,
    coerce_edge,
)
from orchestrator.validation import Structure, analyze
from orchestrator.yamlio import load_data_file, load_json, load_yaml

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "START",
    "END",
    "AGENT_NAME_PATTERN",
    "SPEC_NAME_PATTERN",
    "MAX_LOOP_ROUNDS",
    "MAX_OUTPUT_TOKENS",
    "Agent",
    "Edge",
    "Loop",
    "WorkflowSpec",
]


class WorkflowSpec(SpecRecord):
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

    _kind: ClassVar[str] = "workflow"

    name: str = Field(
        default="workflow",
        pattern=SPEC_NAME_PATTERN,
        description="Display name; not part of the hash. 1-100 ASCII letters, digits, '_', "
        "'-', '.' or inner spaces, starting with a letter, digit or '_'.",
    )
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
        return [coerce_edge(item) for item in value] if isinstance(value, list | tuple) else value

    @field_validator("entry", mode="before")
    @classmethod
    def _entry(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_data(value, "metadata")

    @model_validator(mode="after")
    def _validate_graph(self) -> WorkflowSpec:
        self._structure = analyze(self)
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied; the result is validated like a new spec."""
        if not update:
            return super().model_copy(deep=deep)
        return self.model_validate({**self.model_dump(), **update})

    def with_metadata(self, metadata: Mapping[str, Any]) -> Self:
        """A copy with other metadata, checked; the graph is unchanged, so not re-analysed.

        Metadata is not hashed, so the copy keeps the analysis and the cached hash: a
        search space tags thousands of built specs this way.
        """
        return super().model_copy(update={"metadata": check_data(dict(metadata), "metadata")})

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
    def from_json(cls, text: str | bytes, *, source: str = "<string>") -> WorkflowSpec:
        """Parse and validate JSON text.

        Raises:
            SpecFormatError: The text is not valid JSON, or not a spec.
            SpecError: The spec's graph is invalid (a subclass names the problem).
        """
        try:
            data = load_json(text, source=source)
        except InputFormatError as exc:
            raise SpecFormatError(str(exc)) from exc
        return cls._from_data(data, source)

    def to_yaml(self) -> str:
        """YAML text; :meth:`from_yaml` reads it back to an equal spec."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str | bytes, *, source: str = "<string>") -> WorkflowSpec:
        """Parse and validate YAML text with :func:`~orchestrator.yamlio.load_yaml`.

        Aliases that expand too far, duplicate keys and deep nesting are refused.

        Raises:
            SpecFormatError: The text is not valid YAML, or not a spec.
            SpecError: The spec's graph is invalid (a subclass names the problem).
        """
        try:
            data = load_yaml(text, source=source)
        except InputFormatError as exc:
            raise SpecFormatError(str(exc)) from exc
        return cls._from_data(data, source)

    @classmethod
    def _from_data(cls, data: Any, source: str) -> WorkflowSpec:
        if not isinstance(data, dict):
            got = "nothing" if data is None else f"a {type(data).__name__}"
            optional = ", ".join(f for f in cls.model_fields if f != "agents")
            raise SpecFormatError(
                f"{source} holds {got}, not a workflow spec; a spec is a mapping with "
                f"'agents' (and optionally {optional})"
            )
        return cls.model_validate(data)

    def save(self, path: str | Path) -> Path:
        """Write to ``.json``, ``.yaml`` or ``.yml`` by suffix."""
        target = Path(path)
        text = self.to_yaml() if target.suffix in {".yaml", ".yml"} else self.to_json()
        target.write_text(text, encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> WorkflowSpec:
        """Read a spec saved by :meth:`save`: YAML for ``.yaml``/``.yml``, else JSON.

        Raises:
            FileNotFoundError: No such file.
            SpecFormatError: The file is not UTF-8, not valid JSON/YAML, or not a spec.
            SpecError: The spec's graph is invalid.
        """
        source = Path(path)
        try:
            data = load_data_file(source)
        except InputFormatError as exc:
            raise SpecFormatError(str(exc)) from exc
        return cls._from_data(data, str(source))

    # --- views ----------------------------------------------------------------------------

    def to_networkx(self) -> nx.DiGraph:
        """The graph, with ``kind`` = ``"edge"`` or ``"loop"`` on each edge."""
        return self.structure.full_graph.copy()
