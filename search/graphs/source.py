"""The user's graph and how rolegraph talks to it, shared by every point of a graph space."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from search.graphs.adapters import InputFn, OutputFn

__all__ = ["GraphSource"]


@dataclass(frozen=True)
class GraphSource:
    """The user's graph and how rolegraph talks to it; shared by every point of a space."""

    name: str
    version: str
    input: InputFn
    output: OutputFn
    build: Callable[..., Any] | None = None
    graph: Any = None
    prefixes: Mapping[str, str] = field(default_factory=dict)
    max_tokens: int | None = None
    max_calls_per_run: int = 10
    recursion_limit: int = 25
    context: Any = None
    """The run context, or a function of the question that returns it."""
    config: Any = None
    """A config merged into each run's, or a function of the question that returns it."""
    prompt_chars: int = 8000
    takes_inputs: bool = False
    """Whether a LangSmith example's ``inputs`` may be the graph's input (no input function
    was given, and the inputs' keys are keys of the graph's input state)."""
    adapters: Mapping[str, str] = field(default_factory=dict)
    """Identities of the input and output functions (they change results too)."""

    @property
    def form(self) -> str:
        """``"factory"`` or ``"configurable"``."""
        return "factory" if self.build is not None else "configurable"
