"""The records a workflow spec is made of: agents, edges, declared loops, and their rules."""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from orchestrator.errors import InvalidEdgeError, SpecFormatError
from orchestrator.models import register_model

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
    "SpecRecord",
]

START = "__start__"
"""Pseudo-agent before the entry agents (LangGraph's ``START``)."""
END = "__end__"
"""Pseudo-agent after the exit agent (LangGraph's ``END``)."""

AGENT_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$"
"""Agent names: 1-64 ASCII letters, digits, ``_`` or ``-``, starting with a letter or ``_``."""
SPEC_NAME_PATTERN = r"^[A-Za-z0-9_](?:[A-Za-z0-9_.\- ]{0,98}[A-Za-z0-9_.\-])?$"
"""Workflow names: 1-100 ASCII letters, digits, ``_``, ``-``, ``.`` or inner spaces,
starting with a letter, digit or ``_``."""
MAX_LOOP_ROUNDS = 100
"""Largest ``Loop.max_rounds`` a spec may declare."""
MAX_OUTPUT_TOKENS = 1_000_000
"""Largest ``Agent.max_tokens`` a spec may declare."""

_NAME_RULES = {
    "agent": "agent names use 1-64 ASCII letters, digits, '_' or '-' and start with a "
    "letter or '_'",
    "workflow": "workflow names use 1-100 ASCII letters, digits, '_', '-', '.' or inner "
    "spaces and start with a letter, digit or '_'",
}
_MAX_DATA_VALUES = 10_000
_MAX_DATA_DEPTH = 32


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def check_data(value: Any, field: str) -> Any:
    """Check that ``value`` is plain JSON data of bounded size; return it unchanged."""
    stack = [(value, 1)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > _MAX_DATA_VALUES or depth > _MAX_DATA_DEPTH:
            raise ValueError(
                f"{field} holds more than {_MAX_DATA_VALUES:,} values or is nested more than "
                f"{_MAX_DATA_DEPTH} levels deep; keep it small"
            )
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise ValueError(f"{field} keys must be strings, got {_short(key)}")
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{field} numbers must be finite, got {item}")
        elif isinstance(item, int) and not isinstance(item, bool):
            if item.bit_length() > 63:
                raise ValueError(f"{field} integers must fit in 64 bits, got {_short(item)}")
        elif not (item is None or isinstance(item, str | bool)):
            raise ValueError(
                f"{field} may hold only strings, numbers, booleans, null, lists and "
                f"mappings, not {type(item).__name__}"
            )
    return value


def _whole_number(value: Any, field: str) -> Any:
    """Refuse booleans, floats and strings where a count is expected."""
    if value is None:
        return None
    if isinstance(value, bool | float | str):
        raise ValueError(f"{field} must be a whole number, not {_short(value)}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{field} must be a whole number, not {_short(value)}") from None


def _record_name(kind: str, data: Any) -> str:
    get = data.get if isinstance(data, Mapping) else (lambda key: getattr(data, key, None))
    if kind == "agent" and isinstance(get("name"), str):
        return f"agent {get('name')!r}"
    if kind in {"edge", "loop"} and isinstance(get("source"), str):
        return f"{kind} {get('source')} -> {get('target')}"
    if kind == "workflow":
        return f"workflow {get('name')!r}" if isinstance(get("name"), str) else "workflow spec"
    return kind


def _format_error(
    exc: ValidationError, kind: str, data: Any, fields: list[str]
) -> SpecFormatError:
    """One :class:`SpecFormatError` naming the record, the field and what to do."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = ".".join(str(part) for part in first["loc"])
    what = _record_name(kind, data)
    error_type = first["type"]
    if error_type == "extra_forbidden":
        message = (
            f"{what}: unknown field {loc!r}; remove it or fix its spelling "
            f"(known fields: {', '.join(fields)})"
        )
    elif error_type == "missing":
        message = f"{what}: field {loc!r} is required; add it"
    elif not first["loc"]:
        shape = "a [source, target] pair or a mapping" if kind == "edge" else "a mapping"
        message = (
            f"{what} must be {shape} with the fields {', '.join(fields)}, "
            f"not {type(first.get('input')).__name__}"
        )
    elif first["loc"] == ("name",) and error_type.startswith("string_"):
        message = f"{what}: {_NAME_RULES[kind]} (got {_short(first.get('input'))}); rename it"
    else:
        context = first.get("ctx") or {}
        if "error" in context:  # our own validators' messages already quote the value
            message = f"{what}: field {loc!r}: {context['error']}"
        else:
            problem = first["msg"].replace("a valid tuple", "a list")
            message = f"{what}: field {loc!r}: {problem} (got {_short(first.get('input'))})"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    agent = data.get("name") if kind == "agent" and isinstance(data, Mapping) else None
    edge = None
    if kind in {"edge", "loop"} and isinstance(data, Mapping):
        edge = (str(data.get("source")), str(data.get("target")))
    return SpecFormatError(
        message, agent=agent if isinstance(agent, str) else None, edge=edge, field=loc or None
    )


class SpecRecord(BaseModel):
    """Base of the spec records: pydantic's errors become :class:`SpecFormatError` s."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _kind: ClassVar[str] = "record"

    @model_validator(mode="wrap")
    @classmethod
    def _named_errors(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            raise _format_error(exc, cls._kind, data, list(cls.model_fields)) from None


class Agent(SpecRecord):
    """One role agent: a role, a model, a prompt, a temperature and optional tools.

    Example:
        >>> Agent(name="solver", role="solver", model="sim:atlas-mini", temperature=0.7)
        Agent(name='solver', role='solver', model='sim:atlas-mini', ...)
    """

    _kind: ClassVar[str] = "agent"

    name: str = Field(
        pattern=AGENT_NAME_PATTERN,
        description="Unique name; also the LangGraph node name. 1-64 ASCII letters, digits, "
        "'_' or '-', starting with a letter or '_'.",
    )
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
    max_tokens: int | None = Field(
        default=None, gt=0, le=MAX_OUTPUT_TOKENS, description="Cap on output tokens."
    )
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

    @field_validator("temperature", mode="before")
    @classmethod
    def _temperature(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"temperature must be a number from 0 to 2, not {value}")
        return value

    @field_validator("max_tokens", mode="before")
    @classmethod
    def _max_tokens(cls, value: Any) -> Any:
        return _whole_number(value, "max_tokens")

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_data(value, "options")

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


class Edge(SpecRecord):
    """A forward edge: ``target`` runs after ``source`` and sees its output.

    ``source`` may be :data:`START` and ``target`` may be :data:`END`; never
    the other way round.
    """

    _kind: ClassVar[str] = "edge"

    source: str = Field(description="Agent that runs first, or START.")
    target: str = Field(description="Agent that runs after it, or END.")

    @model_validator(mode="after")
    def _ends(self) -> Edge:
        source, target = self.source, self.target
        if source == END:
            raise InvalidEdgeError(
                f"edge {source} -> {target}: {END} ends the workflow, so no edge can leave "
                f"it; to make {target!r} the exit, write the edge as ({target!r}, {END!r})",
                edge=(source, target),
            )
        if target == START:
            raise InvalidEdgeError(
                f"edge {source} -> {target}: {START} begins the workflow, so no edge can "
                f"enter it; to make {source!r} an entry, write the edge as ({START!r}, "
                f"{source!r})",
                edge=(source, target),
            )
        if source == START and target == END:
            raise InvalidEdgeError(
                f"edge {source} -> {target} skips every agent; connect {START} to an entry "
                f"agent and the exit agent to {END}",
                edge=(source, target),
            )
        return self


class Loop(SpecRecord):
    """A declared, bounded back edge: after ``source``, go back to ``target``.

    The loop is taken while its condition holds, at most ``max_rounds`` times
    per run; otherwise ``source`` continues along its forward edges.
    """

    _kind: ClassVar[str] = "loop"

    source: str = Field(description="Agent whose output decides.")
    target: str = Field(description="Earlier agent to go back to.")
    max_rounds: int | None = Field(
        default=None,
        description=f"Most times the loop is taken in one run: 1 to {MAX_LOOP_ROUNDS}. Required.",
    )
    when: Literal["rejected", "always"] = Field(
        default="rejected",
        description="'rejected': only when the source flagged a problem (a verifier "
        "rejected, or a rectifier revised); 'always': every time.",
    )

    @field_validator("max_rounds", mode="before")
    @classmethod
    def _max_rounds(cls, value: Any) -> Any:
        return _whole_number(value, "max_rounds")

    @property
    def id(self) -> str:
        """Key of the loop's counter."""
        return f"{self.source}->{self.target}"


def coerce_edge(value: Any) -> Any:
    """An edge given as a ``(source, target)`` pair, as the fields of an :class:`Edge`."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return {"source": value[0], "target": value[1]}
    return value
