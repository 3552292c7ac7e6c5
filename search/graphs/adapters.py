"""How a task's question becomes a graph's input, and how the answer is read from its output.

Two conventions cover most graphs, and each has a default pair:

- a ``messages`` state (``MessagesState``, ``create_react_agent``): the
  question goes in as one human message, the answer is the text of the last
  AI message;
- a ``question``/``answer`` state: the question goes in under ``question``,
  the answer comes out under ``answer``.

:func:`default_adapters` picks the pair from the graph's input schema. Any
other shape takes two small functions of your own.

Example:
    >>> messages_input("What is 2 + 3?")["messages"][0].content
    'What is 2 + 3?'
    >>> question_input("What is 2 + 3?")
    {'question': 'What is 2 + 3?'}
    >>> answer_output({"question": "What is 2 + 3?", "answer": "5"})
    '5'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from orchestrator.parsing import message_text
from search.graphs.errors import GraphSpaceError

__all__ = [
    "InputFn",
    "OutputFn",
    "messages_input",
    "messages_output",
    "question_input",
    "answer_output",
    "default_adapters",
    "input_keys",
]

InputFn = Callable[[str], Mapping[str, Any]]
"""Turns a task's question into the graph's input state."""
OutputFn = Callable[[Mapping[str, Any]], str | None]
"""Reads the answer (text, or ``None`` for no answer) from the graph's output state."""


def messages_input(question: str) -> dict[str, Any]:
    """The input of a ``messages`` state: the question as one human message."""
    return {"messages": [HumanMessage(question)]}


def messages_output(state: Mapping[str, Any]) -> str | None:
    """The text of the last AI message of a ``messages`` state (``None`` if there is none)."""
    messages: Sequence[Any] = state.get("messages") or ()
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            text = message_text(message).strip()
            return text or None
        if isinstance(message, BaseMessage):
            continue
    return None


def question_input(question: str) -> dict[str, Any]:
    """The input of a ``question``/``answer`` state."""
    return {"question": question}


def answer_output(state: Mapping[str, Any]) -> str | None:
    """The ``answer`` of a ``question``/``answer`` state, as text."""
    answer = state.get("answer")
    if answer is None:
        return None
    if isinstance(answer, BaseMessage):
        return message_text(answer) if isinstance(answer, AIMessage) else str(answer.content)
    return str(answer)


def default_adapters(graph: Any) -> tuple[InputFn, OutputFn]:
    """The input and output functions for ``graph``'s state, read from its input schema.

    Raises:
        GraphSpaceError: The state has neither a ``messages`` nor a ``question`` key;
            pass ``input=`` and ``output=`` functions for it.
    """
    fields = _input_fields(graph)
    if "question" in fields:
        return question_input, answer_output
    if "messages" in fields:
        return messages_input, messages_output
    shown = ", ".join(sorted(fields)) or "none found"
    raise GraphSpaceError(
        f"cannot tell how to give a question to graph {getattr(graph, 'name', graph)!r}: its "
        f"input has neither a 'messages' nor a 'question' key (keys: {shown}); pass "
        "input=lambda question: {...} and output=lambda state: ... to GraphSpace"
    )


def input_keys(graph: Any) -> set[str]:
    """The keys of ``graph``'s input state (from its input schema, else its channels)."""
    return _input_fields(graph)


def _input_fields(graph: Any) -> set[str]:
    try:
        schema = graph.get_input_jsonschema()
    except Exception:  # a schema LangGraph cannot render: fall back to the channels
        return set(getattr(graph, "channels", {}) or {})
    return set((schema or {}).get("properties") or {})
