"""The automatic version of a user's graph: everything that decides what it does, hashed.

A graph search keys its results by the graph's name and version, so a version
that misses an edit serves stale results. :func:`graph_version` covers:

- the compiled graph's structure: nodes, edges, branches, subgraphs and its
  input schema;
- the code of every node, branch, tool and function reachable from the
  factory and the graph (closures, bound tools, ``functools.partial``,
  module-level names, code in other modules), as a normalised syntax tree,
  so comments and formatting do not count;
- what prebuilt agents keep inside LangGraph's own objects: the prompt, the
  tools (their code and schemas), structured-output schemas;
- prompts and other values held anywhere along the way, and the run's static
  ``config``/``context``.

A factory is called once with placeholder models (one per slot, which answer
nothing), so the version does not depend on the pool. An explicit
``GraphSpace(version=...)`` always wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

from orchestrator.codehash import code_fingerprint
from search.graphs.errors import GraphSpaceError
from topologies.params import Param

__all__ = ["SlotPlaceholder", "graph_version", "placeholder_graph"]


class SlotPlaceholder(BaseChatModel):
    """Stands in for a slot's model while the factory is built to be versioned."""

    slot: str

    @property
    def _llm_type(self) -> str:
        return "rolegraph-slot-placeholder"

    def __fingerprint__(self) -> list[str]:
        """A slot counts by its name: which model fills it is a setting, not code."""
        return ["slot", self.slot]

    def bind_tools(
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind the tools' schemas, as a tool-calling model would."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise GraphSpaceError(
            f"slot {self.slot!r} was called while its graph was built to read its version; "
            "make model calls inside nodes, not in the factory"
        )


def probe_params(params: Sequence[Param]) -> dict[str, Any]:
    """The first value of each parameter (its default where it has one), as a grid starts."""
    values: dict[str, Any] = {}
    for param in params:
        if param.active(values):
            values[param.name] = param.default if param.default is not None else param.values()[0]
    return values


def placeholder_graph(
    build: Callable[..., Any], slots: Sequence[str], params: Sequence[Param]
) -> Any:
    """The factory's graph with a placeholder per slot and each parameter's first value."""
    models = {slot: SlotPlaceholder(slot=slot) for slot in slots}
    return build(models, **probe_params(params))


def graph_version(
    *,
    build: Callable[..., Any] | None,
    graph: Any,
    slots: Sequence[str],
    params: Sequence[Param],
    static: Mapping[str, Any] | None = None,
) -> str:
    """``code-`` and 12 hex digits covering everything that decides what the graph does.

    Raises:
        GraphSpaceError: Neither a factory nor a graph to version.
    """
    parts: list[str] = []
    if build is not None:
        parts.append(code_fingerprint(build, libraries=True))
        try:
            built = placeholder_graph(build, slots, params)
        except Exception:  # a factory that needs real models: its own code still counts
            built = None
        parts.append(code_fingerprint(built, libraries=True))
    elif graph is not None:
        parts.append(code_fingerprint(graph, libraries=True))
    else:
        raise GraphSpaceError("give GraphSpace a factory or a graph to version")
    parts.append(code_fingerprint(dict(static or {}), libraries=True))
    return "code-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]
