"""Lenient parsing of model replies into role contracts: JSON first, then patterns."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from langchain_core.messages import AIMessage
from pydantic import BaseModel, ValidationError

__all__ = ["OutputParseError", "parse_reply", "parse_text", "message_text"]

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()

# Field-specific phrasings seen in free-text replies, tried after ``field: value``.
_UNTIL_END = r"([^\n*]+?)(?=\s*(?:\.(?:\s|$)|\n|$|[;,]\s*confidence))"
_FIELD_PATTERNS: dict[str, tuple[str, ...]] = {
    "answer": (
        rf"final answer\s*(?:is|:)?\s*\**\s*{_UNTIL_END}",
        rf"the answer is\s*\**\s*{_UNTIL_END}",
        rf"answer\s*[:=]\s*\**\s*{_UNTIL_END}",
    ),
    "confidence": (r"confidence\s*(?:is|[:=])?\s*([0-9.]+\s*%?)",),
    "verdict": (r"\b(accept(?:ed)?|reject(?:ed)?|correct|incorrect)\b",),
    "critique": (r"critique\s*[:=]\s*(.+)", r"(?:error|problem|issue)\s*[:=]\s*(.+)"),
    "choice": (r"(?:choice|candidate|pick|choose|option)\s*(?:is|[:=#])?\s*(\d+)",),
    "reason": (r"reason\s*[:=]\s*(.+)",),
}


class OutputParseError(ValueError):
    """A reply could not be read as the role's contract."""


def message_text(message: AIMessage) -> str:
    """The text of a message, whatever shape its content has."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object in ``text``: fenced blocks first, then bare ones."""
    found: list[dict[str, Any]] = []
    sources = [*_FENCE.findall(text), text]
    for source in sources:
        start = source.find("{")
        while start != -1:
            try:
                value, end = _DECODER.raw_decode(source, start)
            except json.JSONDecodeError:
                start = source.find("{", start + 1)
                continue
            if isinstance(value, dict):
                found.append(value)
            start = source.find("{", end)
    return found


def _strip(value: str) -> str:
    return value.strip().strip("\"'`*").strip().rstrip(".").strip()


def _from_patterns(text: str, contract: type[BaseModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in contract.model_fields:
        if field == "steps":
            steps = re.findall(r"^\s*(?:\d+[.)]|[-*])\s+(.+)$", text, re.MULTILINE)
            if steps:
                values["steps"] = steps
            continue
        patterns = (*_FIELD_PATTERNS.get(field, ()), rf"\b{field}\s*[:=]\s*([^\n]+)")
        for pattern in patterns:
            match = re.search(pattern, text, re.IGNORECASE)
            if match:
                values[field] = _strip(match.group(1))
                break
    return values


def parse_text(text: str, contract: type[T]) -> T:
    """Read ``text`` as ``contract``: any JSON object that fits, else field patterns.

    Raises:
        OutputParseError: Neither JSON nor patterns give a valid contract.
    """
    errors: list[str] = []
    for obj in _json_objects(text):
        try:
            return contract.model_validate(obj)
        except ValidationError as exc:
            errors.append(f"JSON did not fit: {exc.errors()[0]['msg']}")
    values = _from_patterns(text, contract)
    if values:
        try:
            return contract.model_validate(values)
        except ValidationError as exc:
            errors.append(f"patterns did not fit: {exc.errors()[0]['msg']}")
    snippet = text.strip().replace("\n", " ")[:120]
    detail = "; ".join(errors) or "no JSON object and no recognisable fields"
    raise OutputParseError(f"could not parse {contract.__name__} from {snippet!r}: {detail}")


def parse_reply(message: AIMessage, contract: type[T]) -> T:
    """Read a model reply as ``contract``, from tool-call arguments or from its text."""
    for call in message.tool_calls:
        try:
            return contract.model_validate(call["args"])
        except ValidationError:
            continue
    return parse_text(message_text(message), contract)
