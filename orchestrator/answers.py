"""Answer normalisation and voting, shared by the vote role and the metrics."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

__all__ = ["normalize_answer", "parse_number", "plurality"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NUMBER = re.compile(r"[-+]?\$?\d[\d,]*(?:\.\d+)?%?")
_CODE = re.compile(r"^\s*(?:def|class|import|from|return|async\s+def)\b", re.MULTILINE)


def parse_number(text: str) -> float | None:
    """Return the number ``text`` states, or ``None``.

    Accepts ``"42"``, ``"-3.5"``, ``"1,200"``, ``"$7"`` and a lone number inside
    a short phrase such as ``"42 apples"``. Two or more numbers are ambiguous.
    """
    found = _NUMBER.findall(text)
    if len(found) != 1:
        return None
    token = found[0].replace(",", "").replace("$", "").rstrip("%")
    try:
        return float(Decimal(token))
    except InvalidOperation:
        return None


def normalize_answer(text: str | None) -> str:
    """Canonical form of an answer for comparison and voting.

    Numbers compare by value (``"42.0"`` equals ``"42"``); code (several lines, one
    a ``def``, ``class``, ``import`` or ``return``) compares by its non-blank lines,
    operators kept; other text is lower-cased, without punctuation, articles or
    extra spaces.
    """
    if text is None:
        return ""
    if "\n" in text.strip() and _CODE.search(text):
        return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())
    number = parse_number(text)
    if number is not None:
        return str(int(number)) if number.is_integer() else repr(number)
    lowered = text.lower()
    lowered = "".join(ch for ch in lowered if ch not in string.punctuation)
    lowered = _ARTICLES.sub(" ", lowered)
    return " ".join(lowered.split())


def plurality(
    answers: Iterable[tuple[str | None, float]],
) -> tuple[str | None, float, dict[str, float]]:
    """Weighted plurality vote.

    Args:
        answers: ``(answer, weight)`` pairs; ``None`` answers abstain.

    Returns:
        The winning answer (as first written by a voter), its share of the
        total weight, and the tally per normalised answer. Ties go to the
        answer that was seen first, so the result is deterministic.
    """
    tally: dict[str, float] = {}
    first_form: dict[str, str] = {}
    for answer, weight in answers:
        if answer is None or not str(answer).strip():
            continue
        key = normalize_answer(answer)
        tally[key] = tally.get(key, 0.0) + max(0.0, weight)
        first_form.setdefault(key, str(answer).strip())
    if not tally:
        return None, 0.0, {}
    total = sum(tally.values())
    best = max(tally, key=lambda key: tally[key])  # max keeps the first of equal keys
    share = tally[best] / total if total > 0 else 1.0 / len(tally)
    return first_form[best], share, tally
