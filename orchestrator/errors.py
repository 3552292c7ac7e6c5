"""Exceptions raised by rolegraph.

Spec errors are raised while a workflow is built or loaded, before any model
is called. They deliberately do not subclass ``ValueError``: pydantic would
otherwise fold them into a generic ``ValidationError`` and hide which agent or
edge is at fault.
"""

from __future__ import annotations

__all__ = [
    "RolegraphError",
    "RunLimitError",
    "InputFormatError",
    "SpecError",
    "SpecFormatError",
    "InvalidEdgeError",
    "DuplicateAgentError",
    "UnknownAgentError",
    "UnknownRoleError",
    "UnknownModelError",
    "UnknownToolError",
    "MissingModelError",
    "UndeclaredCycleError",
    "UnboundedLoopError",
    "InvalidLoopError",
    "UnreachableAgentError",
    "NoExitError",
    "DeadEndError",
    "JudgeCandidatesError",
    "RectifierCritiqueError",
    "MissingIntegrationError",
    "ModelCallError",
    "ModelTimeoutError",
    "BudgetExhaustedError",
    "ServeConfigError",
    "ExportError",
]


class RolegraphError(Exception):
    """Base class of every rolegraph error."""


class InputFormatError(RolegraphError):
    """Text could not be read as JSON or YAML, or it breaks a loader limit.

    The loaders in :mod:`orchestrator.yamlio` raise it for syntax errors,
    duplicate keys, unsupported tags, aliases that expand too far and
    nesting that is too deep.

    Attributes:
        source: Where the text came from (a file name, or ``"<string>"``).
        line: 1-based line of the problem, when known.
        column: 1-based column of the problem, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str = "<string>",
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.column = column


class SpecError(RolegraphError):
    """A workflow spec is invalid. Raised before anything runs.

    Attributes:
        agent: The offending agent's name, when one agent is at fault.
        edge: The offending ``(source, target)`` pair, when an edge is at fault.
    """

    def __init__(
        self,
        message: str,
        *,
        agent: str | None = None,
        edge: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.agent = agent
        self.edge = edge


class SpecFormatError(SpecError):
    """A spec's data is malformed.

    It is not a mapping, its text is not valid JSON or YAML, a field is unknown
    or missing, or a value has the wrong type or is out of range.

    Attributes:
        field: Dotted path of the offending field (``"loops.0.max_rounds"``), when known.
    """

    def __init__(
        self,
        message: str,
        *,
        agent: str | None = None,
        edge: tuple[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, agent=agent, edge=edge)
        self.field = field


class InvalidEdgeError(SpecError):
    """An edge touches ``__start__`` or ``__end__`` the wrong way round."""


class DuplicateAgentError(SpecError):
    """Two agents share a name."""


class UnknownAgentError(SpecError):
    """An edge, loop, entry or exit names an agent that does not exist."""


class UnknownRoleError(SpecError):
    """An agent has a role that is neither built in nor registered."""


class UnknownModelError(SpecError):
    """An agent's model string names an unknown provider or simulated profile."""


class UnknownToolError(SpecError):
    """An agent names a tool that is not registered."""


class MissingModelError(SpecError):
    """An agent whose role calls a model has no model."""


class UndeclaredCycleError(SpecError):
    """The edges contain a cycle that is not a declared, bounded loop."""


class UnboundedLoopError(SpecError):
    """A loop has no positive ``max_rounds``."""


class InvalidLoopError(SpecError):
    """A loop does not go back to an earlier agent."""


class UnreachableAgentError(SpecError):
    """An agent cannot be reached from the entry."""


class NoExitError(SpecError):
    """The workflow has no single exit agent."""


class DeadEndError(SpecError):
    """An agent's output can never reach the exit."""


class JudgeCandidatesError(SpecError):
    """A judge (or vote) is fed fewer than two candidate answers."""


class RectifierCritiqueError(SpecError):
    """A rectifier has no verifier feeding it a critique."""


class MissingIntegrationError(RolegraphError, ImportError):
    """A model provider's integration package is not installed."""


class ModelCallError(RolegraphError):
    """A model call failed after its retries."""


class ModelTimeoutError(ModelCallError, TimeoutError):
    """A model call took longer than its timeout."""


class RunLimitError(RolegraphError):
    """A graph run stopped before its end: it hit a limit of one run, or was interrupted.

    The message says which: ``model call cap: ...``, ``recursion limit: ...`` or
    ``interrupted at <node>``. An evaluation that raises it is a failed evaluation.
    """


class BudgetExhaustedError(RolegraphError):
    """A model call or evaluation would exceed the budget, so it was not started.

    Attributes:
        resource: Which limit would be exceeded (``"dollars"``, ``"tokens"``,
            ``"calls"`` or ``"evaluations"``).
        final: True when nothing else could free budget (the budget is used up for
            work of this size); False when this work gave way to other running work.
    """

    def __init__(self, message: str, *, resource: str, final: bool = True) -> None:
        super().__init__(message)
        self.resource = resource
        self.final = final


class ServeConfigError(RolegraphError):
    """The server's settings are unsafe or invalid, e.g. no token on a public address."""


class ExportError(RolegraphError):
    """A workflow cannot be exported where asked, e.g. an unreadable ``langgraph.json``."""
