r"""Reading the number an answer states: a bare number, a sentence's result or a JSON reply.

Models rarely answer with a bare number. They write ``17 + 25 = 42``, ``The
answer is 42.``, ``\boxed{42}``, GSM8K's ``#### 42`` or a JSON object such as
``{"answer": "42", "confidence": 0.9}``. :func:`read_number` reads each of
these, and refuses hedges such as ``about 3 or 4``: a number is read only when
the text states it as its result.

Example:
    >>> read_number("17 + 25 = 42"), read_number('{"answer": "42", "confidence": 0.9}')
    (42.0, 42.0)
    >>> read_number("about 3 or 4") is None
    True
"""

from __future__ import annotations

import json
import re
from typing import Any

from orchestrator.answers import parse_number

__all__ = ["read_number", "json_answer", "ANSWER_KEYS"]

ANSWER_KEYS: tuple[str, ...] = ("answer", "final_answer", "result", "value")
"""Keys of a JSON reply that hold its answer, in order of preference."""

_NUM = r"-?\$?\d[\d,]*(?:\.\d+)?%?|-?\.\d+"
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S | re.I)
_BOXED = re.compile(r"\\boxed\{\s*(" + _NUM + r")\s*\}")
_MARKER = re.compile(r"####\s*(" + _NUM + ")")
# A number stated as a result: after '=', 'is', 'equals', 'answer:' and the like.
_CUE = re.compile(
    r"(?:=|\bequals?\b|\bis\b|\bare\b|\bgives\b|\bget\b|\banswer\b\**\s*:?|\bresult\b\**\s*:?"
    r"|\btotal\b\**\s*:?|\btherefore\b,?|\bthus\b,?|\bhence\b,?|\bso\b,?)\s*\**\s*(" + _NUM + r")",
    re.I,
)
# A stated confidence is not the answer: '(confidence: 0.9)', 'Confidence: 90%'.
_CONFIDENCE = re.compile(r"\(?\bconfidence\b\s*(?:level|score)?\s*[:=]?\s*" + _NUM + r"\)?", re.I)


def _number(token: str) -> float | None:
    return parse_number(token.replace(",", ""))


def json_answer(text: str) -> str | None:
    """The answer field of a JSON object reply (fenced or not), as text; ``None`` otherwise."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        data: Any = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ANSWER_KEYS:
        if key in data and data[key] is not None and not isinstance(data[key], dict | list):
            return str(data[key])
    return None


def read_number(text: str | None) -> float | None:
    r"""The number ``text`` states as its answer, or ``None`` when it states none clearly.

    In order: a JSON reply's ``answer`` field; a lone number (``"42 apples"``);
    ``\boxed{..}``; GSM8K's ``#### ..``; the last number stated as a result
    (``= 42``, ``is 42``, ``Answer: 42``, ``Therefore, 42``), stated confidences
    ignored. Hedges (``about 3 or 4``) state no result.
    """
    if text is None:
        return None
    inner = json_answer(text)
    if inner is not None:
        return read_number(inner)
    lone = parse_number(text)
    if lone is not None:
        return lone
    for pattern in (_BOXED, _MARKER):
        found = pattern.findall(text)
        if found:
            return _number(found[-1])
    plain = _CONFIDENCE.sub(" ", text)
    lone = parse_number(plain)
    if lone is not None:
        return lone
    stated = _CUE.findall(plain)
    return _number(stated[-1]) if stated else None
